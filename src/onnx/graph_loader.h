// Turns ONNX protobuf bytes or a ModelProto into a Graph. Everything the
// model file says is checked here, so that a loaded graph can run: unknown
// operator domains, unsupported element types, external tensor data, values
// used before they are produced (or cycles), duplicate producers, and
// initializers whose data does not match their shape are InvalidArgument
// with a message naming the offending element. Operators are checked later,
// when the executor builds kernels.
//
// Stateless functions; thread-safe.
#pragma once

#include <cstddef>

#include "core/status.h"
#include "onnx/graph.h"

namespace onnx {
class ModelProto;
class TensorProto;
}  // namespace onnx

namespace kiln::onnx {

// Larger models are refused: protobuf itself cannot parse messages of 2 GiB.
inline constexpr size_t kMaxModelBytes = size_t{1} << 30;

StatusOr<Graph> ParseModel(const void* data, size_t size);
StatusOr<Graph> GraphFromModelProto(const ::onnx::ModelProto& model);
StatusOr<Tensor> TensorFromProto(const ::onnx::TensorProto& proto);

}  // namespace kiln::onnx
