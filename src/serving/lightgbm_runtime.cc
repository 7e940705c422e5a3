#include "serving/lightgbm_runtime.h"

#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <new>
#include <system_error>

namespace kiln::serving {
namespace {

constexpr const char* kInputName = "input-0";
constexpr const char* kOutputName = "output-0";

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace

LightGbmRuntime::LightGbmRuntime(std::unique_ptr<const LightGbmModel> model) : model_(std::move(model)) {
  const auto features = static_cast<int64_t>(model_->num_features());
  const auto outputs = static_cast<int64_t>(model_->num_outputs());
  inputs_.push_back({kInputName, DataType::kFp32, {-1, features}});
  outputs_.push_back({kOutputName, DataType::kFp32, outputs == 1 ? std::vector<int64_t>{-1}
                                                                 : std::vector<int64_t>{-1, outputs}});
  row_cost_ = static_cast<int64_t>(model_->max_path_nodes() + model_->num_features());
}

StatusOr<std::unique_ptr<LightGbmRuntime>> LightGbmRuntime::FromText(std::string_view text) {
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<LightGbmModel> model, LightGbmModel::Parse(text));
  return std::unique_ptr<LightGbmRuntime>(new LightGbmRuntime(std::move(model)));
}

StatusOr<std::unique_ptr<LightGbmRuntime>> LightGbmRuntime::LoadFile(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) return NotFound("lightgbm model file '" + path + "' does not exist");
  if (!std::filesystem::is_regular_file(status)) {
    return InvalidArgument("lightgbm model file '" + path + "' is not a regular file");
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return InvalidArgument("lightgbm model file '" + path + "': " + ec.message());
  if (size > kMaxModelFileBytes) {
    return InvalidArgument("lightgbm model file '" + path + "' is " + std::to_string(size) + " bytes, over the " +
                           std::to_string(kMaxModelFileBytes) + "-byte limit");
  }
  std::string text;
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) return InvalidArgument("lightgbm model file '" + path + "' cannot be opened");
    text.resize(static_cast<size_t>(size));
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    // A file that shrank while being read is refused rather than half-parsed.
    if (static_cast<size_t>(in.gcount()) != text.size()) {
      return InvalidArgument("lightgbm model file '" + path + "' could not be read completely");
    }
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("lightgbm model file '" + path + "': out of memory reading it");
  }
  auto runtime = FromText(text);
  if (!runtime.ok()) return Status(runtime.status().code(), path + ": " + runtime.status().message());
  return runtime;
}

StatusOr<std::vector<Tensor>> LightGbmRuntime::Execute(const std::vector<Tensor>& inputs) {
  if (inputs.size() != 1) {
    return InvalidArgument("lightgbm model takes exactly one input ('" + std::string(kInputName) + "'), got " +
                           std::to_string(inputs.size()));
  }
  const Tensor& in = inputs[0];
  const size_t features = model_->num_features();
  const size_t outputs = model_->num_outputs();
  const std::string expected = "[-1, " + std::to_string(features) + "]";

  if (in.dtype != DataType::kFp32 && in.dtype != DataType::kFp64) {
    return InvalidArgument("input '" + in.name + "' has datatype " + std::string(DataTypeName(in.dtype)) +
                           "; lightgbm models take FP32 or FP64");
  }
  const bool one_row = in.shape.size() == 1;
  if (!(one_row || in.shape.size() == 2) || in.shape.back() != static_cast<int64_t>(features) || in.shape[0] < 0) {
    return InvalidArgument("input '" + in.name + "' has shape " + ShapeText(in.shape) + "; expected " + expected);
  }
  const size_t rows = one_row ? 1 : static_cast<size_t>(in.shape[0]);
  const size_t elem = ElementSize(in.dtype);
  const size_t row_bytes = features * elem;
  size_t needed = 0;
  // A lying shape must not overflow the size check.
  const bool overflow = __builtin_mul_overflow(rows, row_bytes, &needed);
  if (overflow || needed != in.data.size()) {
    return InvalidArgument("input '" + in.name + "' has " + std::to_string(in.data.size()) + " bytes; shape " +
                           ShapeText(in.shape) + " of " + std::string(DataTypeName(in.dtype)) + " needs " +
                           (overflow ? std::string("more than fits in memory") : std::to_string(needed)));
  }

  try {
    Tensor out;
    out.name = kOutputName;
    out.dtype = DataType::kFp32;
    out.shape = outputs == 1 ? std::vector<int64_t>{static_cast<int64_t>(rows)}
                             : std::vector<int64_t>{static_cast<int64_t>(rows), static_cast<int64_t>(outputs)};
    out.data.resize(rows * outputs * sizeof(float));

    std::vector<double> row(features);
    std::vector<double> scores(outputs);
    const char* src = in.data.data();
    char* dst = out.data.data();
    for (size_t r = 0; r < rows; ++r) {
      // memcpy: the tensor's bytes carry no alignment guarantee.
      if (in.dtype == DataType::kFp64) {
        std::memcpy(row.data(), src + r * row_bytes, row_bytes);
      } else {
        for (size_t f = 0; f < features; ++f) {
          float v;
          std::memcpy(&v, src + r * row_bytes + f * sizeof(float), sizeof(float));
          row[f] = v;
        }
      }
      KILN_RETURN_IF_ERROR(model_->Predict(row.data(), features, scores.data()));
      for (size_t c = 0; c < outputs; ++c) {
        const auto v = static_cast<float>(scores[c]);
        std::memcpy(dst + (r * outputs + c) * sizeof(float), &v, sizeof(float));
      }
    }
    std::vector<Tensor> result;
    result.push_back(std::move(out));
    return result;
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("lightgbm model: out of memory for a batch of " + std::to_string(rows) + " rows");
  }
}

}  // namespace kiln::serving
