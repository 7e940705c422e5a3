// The operator set domains kiln's ONNX executor knows. The empty domain of
// the ONNX files is the default one and is normalised to "ai.onnx".
#pragma once

namespace kiln::onnx {

inline constexpr const char* kDomainOnnx = "ai.onnx";
inline constexpr const char* kDomainMl = "ai.onnx.ml";

}  // namespace kiln::onnx
