// Tensors as the inference protocols carry them: a name, a V2 datatype, a
// shape and row-major little-endian bytes. The serving runtimes read and
// write these; the protocol adapters (V2 REST/gRPC, V1) convert to and from
// their wire forms.
//
// Value types; not synchronised.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::serving {

enum class DataType { kBool, kUint8, kUint16, kUint32, kUint64, kInt8, kInt16, kInt32, kInt64, kFp16, kFp32, kFp64, kBytes };

// "FP32" etc. as the V2 protocol spells them; nullopt for anything else.
std::optional<DataType> ParseDataType(std::string_view name);
std::string_view DataTypeName(DataType t);
// Bytes per element; 0 for BYTES (variable length).
size_t ElementSize(DataType t);

// What a model declares about one input or output. -1 is a variable dimension.
struct TensorSpec {
  std::string name;
  DataType dtype = DataType::kFp32;
  std::vector<int64_t> shape;
};

// The most elements one request tensor may hold, whatever the protocol
// (2^28: 1 GiB of FP32), so every decoder accepts the same tensors.
inline constexpr int64_t kMaxTensorElements = int64_t{1} << 28;

// Appends one little-endian value to tensor bytes.
template <typename T>
void AppendValue(std::vector<char>& out, T v) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));
}

struct Tensor {
  std::string name;
  DataType dtype = DataType::kFp32;
  std::vector<int64_t> shape;
  std::vector<char> data;  // row-major; BYTES: 4-byte LE length + bytes per element

  int64_t ElementCount() const;
};

}  // namespace kiln::serving
