// onnx::Tensor: the values the native ONNX executor computes with. Typed
// storage (one std::vector per element type) so kernels read and write
// elements directly instead of reinterpreting bytes; the serving adapter
// converts to and from the protocols' byte tensors at the edge.
//
// Only the element types tabular models use are represented: FLOAT, DOUBLE,
// INT64, INT32, BOOL and STRING. Anything else is refused where it enters
// (initializers, Cast targets, graph inputs).
//
// Value type; not synchronised.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"

namespace kiln::onnx {

enum class DType { kFloat, kDouble, kInt64, kInt32, kBool, kString };

std::string_view DTypeName(DType t);
// TensorProto.DataType numbering (FLOAT = 1 ...); InvalidArgument for types
// the executor does not represent.
StatusOr<DType> DTypeFromOnnx(int32_t elem_type);
int32_t DTypeToOnnx(DType t);

template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::kFloat; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::kDouble; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::kInt64; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::kInt32; };
// BOOL is stored as one byte per element (std::vector<bool> has no data()).
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::kBool; };
template <> struct DTypeOf<std::string> { static constexpr DType value = DType::kString; };

// Product of the dimensions; InvalidArgument for a negative dimension or a
// product that would overflow (shapes come from untrusted files and requests).
StatusOr<int64_t> ElementCount(const std::vector<int64_t>& shape);
std::string ShapeText(const std::vector<int64_t>& shape);

class Tensor {
 public:
  // Variant order matches DType.
  using Storage = std::variant<std::vector<float>, std::vector<double>, std::vector<int64_t>, std::vector<int32_t>,
                               std::vector<uint8_t>, std::vector<std::string>>;

  Tensor() = default;
  // The caller guarantees values.size() == product of shape.
  template <typename T>
  Tensor(std::vector<int64_t> shape, std::vector<T> values)
      : shape_(std::move(shape)), storage_(std::in_place_type<std::vector<T>>, std::move(values)) {}
  // Zero-initialised (empty strings) tensor of `count` elements.
  static Tensor Zeros(DType dtype, std::vector<int64_t> shape, size_t count);

  DType dtype() const { return static_cast<DType>(storage_.index()); }
  const std::vector<int64_t>& shape() const { return shape_; }
  void set_shape(std::vector<int64_t> shape) { shape_ = std::move(shape); }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  size_t size() const;

  template <typename T> bool is() const { return std::holds_alternative<std::vector<T>>(storage_); }
  template <typename T> const std::vector<T>& data() const { return std::get<std::vector<T>>(storage_); }
  template <typename T> std::vector<T>& mutable_data() { return std::get<std::vector<T>>(storage_); }
  const Storage& storage() const { return storage_; }

 private:
  std::vector<int64_t> shape_;
  Storage storage_;
};

// Elements of a numeric (or BOOL) tensor as double, in row-major order;
// InvalidArgument for STRING. `what` names the caller in the message.
StatusOr<std::vector<double>> NumericValues(const Tensor& t, std::string_view what);

}  // namespace kiln::onnx
