#include "serving/tabular_input.h"

#include <cstring>
#include <string>

namespace kiln::serving {
namespace {

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace

StatusOr<DenseRows> DenseFloatRows(const std::vector<Tensor>& inputs, const TensorSpec& spec, int64_t features) {
  if (inputs.size() != 1) {
    return InvalidArgument("expected 1 input ('" + spec.name + "'), got " + std::to_string(inputs.size()));
  }
  const Tensor& t = inputs[0];
  if (t.name != spec.name) return InvalidArgument("unexpected input '" + t.name + "', expected '" + spec.name + "'");
  if (t.dtype != DataType::kFp32 && t.dtype != DataType::kFp64) {
    return InvalidArgument("input '" + t.name + "' has datatype " + std::string(DataTypeName(t.dtype)) +
                           ", expected FP32 or FP64");
  }
  DenseRows out;
  if (t.shape.size() == 2 && t.shape[1] == features && t.shape[0] >= 0) {
    out.rows = t.shape[0];
  } else if (t.shape.size() == 1 && t.shape[0] == features) {
    out.rows = 1;
  } else {
    return InvalidArgument("input '" + t.name + "' has shape " + ShapeText(t.shape) + ", expected [-1, " +
                           std::to_string(features) + "]");
  }
  const size_t count = static_cast<size_t>(out.rows) * static_cast<size_t>(features);
  const size_t width = ElementSize(t.dtype);
  if (t.data.size() != count * width) {
    return InvalidArgument("input '" + t.name + "' carries " + std::to_string(t.data.size()) + " bytes, its shape " +
                           ShapeText(t.shape) + " needs " + std::to_string(count * width));
  }
  out.values.resize(count);
  if (t.dtype == DataType::kFp32) {
    if (count) std::memcpy(out.values.data(), t.data.data(), count * sizeof(float));
  } else {
    for (size_t i = 0; i < count; ++i) {
      double d;
      std::memcpy(&d, t.data.data() + i * sizeof(double), sizeof(double));
      out.values[i] = static_cast<float>(d);
    }
  }
  return out;
}

}  // namespace kiln::serving
