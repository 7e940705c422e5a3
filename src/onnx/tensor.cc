#include "onnx/tensor.h"

namespace kiln::onnx {

std::string_view DTypeName(DType t) {
  switch (t) {
    case DType::kFloat: return "float";
    case DType::kDouble: return "double";
    case DType::kInt64: return "int64";
    case DType::kInt32: return "int32";
    case DType::kBool: return "bool";
    case DType::kString: return "string";
  }
  return "?";
}

StatusOr<DType> DTypeFromOnnx(int32_t elem_type) {
  switch (elem_type) {
    case 1: return DType::kFloat;
    case 11: return DType::kDouble;
    case 7: return DType::kInt64;
    case 6: return DType::kInt32;
    case 9: return DType::kBool;
    case 8: return DType::kString;
    default:
      return InvalidArgument("ONNX element type " + std::to_string(elem_type) +
                             " is not supported (float, double, int64, int32, bool and string are)");
  }
}

int32_t DTypeToOnnx(DType t) {
  switch (t) {
    case DType::kFloat: return 1;
    case DType::kDouble: return 11;
    case DType::kInt64: return 7;
    case DType::kInt32: return 6;
    case DType::kBool: return 9;
    case DType::kString: return 8;
  }
  return 0;
}

StatusOr<int64_t> ElementCount(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return InvalidArgument("shape " + ShapeText(shape) + " has a negative dimension");
    if (__builtin_mul_overflow(n, d, &n)) return InvalidArgument("shape " + ShapeText(shape) + " is too large");
  }
  return n;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

Tensor Tensor::Zeros(DType dtype, std::vector<int64_t> shape, size_t count) {
  switch (dtype) {
    case DType::kFloat: return Tensor(std::move(shape), std::vector<float>(count));
    case DType::kDouble: return Tensor(std::move(shape), std::vector<double>(count));
    case DType::kInt64: return Tensor(std::move(shape), std::vector<int64_t>(count));
    case DType::kInt32: return Tensor(std::move(shape), std::vector<int32_t>(count));
    case DType::kBool: return Tensor(std::move(shape), std::vector<uint8_t>(count));
    case DType::kString: return Tensor(std::move(shape), std::vector<std::string>(count));
  }
  return {};
}

size_t Tensor::size() const {
  return std::visit([](const auto& v) { return v.size(); }, storage_);
}

StatusOr<std::vector<double>> NumericValues(const Tensor& t, std::string_view what) {
  return std::visit(
      [&](const auto& v) -> StatusOr<std::vector<double>> {
        using T = typename std::decay_t<decltype(v)>::value_type;
        if constexpr (std::is_same_v<T, std::string>) {
          return InvalidArgument(std::string(what) + " takes a numeric tensor, not strings");
        } else {
          return std::vector<double>(v.begin(), v.end());
        }
      },
      t.storage());
}

}  // namespace kiln::onnx
