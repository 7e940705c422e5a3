#include "serving/xgboost_runtime.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <system_error>

#include "serving/tabular_input.h"

namespace kiln::serving {

XgboostRuntime::XgboostRuntime(std::unique_ptr<const XgboostModel> model) : model_(std::move(model)) {
  const auto features = static_cast<int64_t>(model_->num_features());
  const auto outputs = static_cast<int64_t>(model_->num_outputs());
  inputs_.push_back({"input-0", DataType::kFp32, {-1, features}});
  outputs_.push_back({"output-0", DataType::kFp32, outputs == 1 ? std::vector<int64_t>{-1}
                                                                : std::vector<int64_t>{-1, outputs}});
}

StatusOr<std::unique_ptr<XgboostRuntime>> XgboostRuntime::FromBytes(std::string_view bytes,
                                                                    std::string_view file_name) {
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<XgboostModel> model, XgboostModel::Parse(bytes, file_name));
  return std::unique_ptr<XgboostRuntime>(new XgboostRuntime(std::move(model)));
}

StatusOr<std::unique_ptr<XgboostRuntime>> XgboostRuntime::LoadFile(const std::string& path) {
  const std::string prefix = "cannot load XGBoost model " + path + ": ";
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) return NotFound(prefix + "the file does not exist");
  if (!std::filesystem::is_regular_file(status)) return InvalidArgument(prefix + "not a regular file");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return InvalidArgument(prefix + ec.message());
  if (size > XgboostModel::kMaxModelBytes) {
    return InvalidArgument(prefix + std::to_string(size) + " bytes, over the " +
                           std::to_string(XgboostModel::kMaxModelBytes) + "-byte limit");
  }
  std::string bytes;
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) return InvalidArgument(prefix + "the file cannot be opened");
    bytes.resize(static_cast<size_t>(size));
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    // A file that shrank while being read is refused rather than half-parsed.
    if (static_cast<size_t>(in.gcount()) != bytes.size()) return InvalidArgument(prefix + "short read");
  } catch (const std::bad_alloc&) {
    return ResourceExhausted(prefix + "out of memory reading it");
  }
  auto runtime = FromBytes(bytes, std::filesystem::path(path).filename().string());
  if (!runtime.ok()) return Status(runtime.status().code(), prefix + runtime.status().message());
  return runtime;
}

StatusOr<std::vector<Tensor>> XgboostRuntime::Execute(const std::vector<Tensor>& inputs) {
  const int64_t features = num_features();
  KILN_ASSIGN_OR_RETURN(DenseRows rows, DenseFloatRows(inputs, inputs_[0], features));
  const size_t outputs = model_->num_outputs();
  try {
    Tensor out;
    out.name = outputs_[0].name;
    out.dtype = DataType::kFp32;
    out.shape = outputs == 1 ? std::vector<int64_t>{rows.rows}
                             : std::vector<int64_t>{rows.rows, static_cast<int64_t>(outputs)};
    std::vector<float> values(static_cast<size_t>(rows.rows) * outputs);
    KILN_RETURN_IF_ERROR(model_->PredictBatch(rows.values.data(), static_cast<size_t>(rows.rows),
                                              static_cast<size_t>(features), values.data()));
    out.data.resize(values.size() * sizeof(float));
    if (!values.empty()) std::memcpy(out.data.data(), values.data(), out.data.size());
    std::vector<Tensor> result;
    result.push_back(std::move(out));
    return result;
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("xgboost model: out of memory for a batch of " + std::to_string(rows.rows) + " rows");
  }
}

}  // namespace kiln::serving
