#include "serving/xgboost_runtime.h"

#include <xgboost/c_api.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "serving/tabular_input.h"

namespace kiln::serving {
namespace {

// libxgboost's messages carry a source location and a stack trace; keep the
// sentence a user can act on.
Status XgbError(const std::string& what) {
  std::string msg = XGBGetLastError();
  if (size_t trace = msg.find("\nStack trace"); trace != std::string::npos) msg.resize(trace);
  if (size_t loc = msg.find(": "); loc != std::string::npos && msg.starts_with("[")) msg = msg.substr(loc + 2);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ' || msg.back() == ':')) msg.pop_back();
  return InvalidArgument(what + ": " + msg);
}

// XGBoost 2.x renamed the ranking objectives' parameter block
// (lambda_rank_param -> lambdarank_param); Debian's 1.7 refuses such a
// model. Prediction never reads those parameters, so a JSON/UBJSON model
// gets the block 1.7 expects and is loaded from memory.
StatusOr<std::string> RankModelFor17(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("cannot read " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  nlohmann::json model = path.ends_with(".ubj")
                             ? nlohmann::json::from_ubjson(bytes, /*strict=*/true, /*allow_exceptions=*/false)
                             : nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (model.is_discarded() || !model.is_object()) return InvalidArgument("not a JSON/UBJSON XGBoost model");
  auto learner = model.find("learner");
  if (learner == model.end() || !learner->is_object() || !learner->contains("objective")) {
    return InvalidArgument("no learner objective in the model");
  }
  nlohmann::json& objective = (*learner)["objective"];
  if (!objective.is_object() || !objective.value("name", "").starts_with("rank:")) {
    return InvalidArgument("not a ranking model");
  }
  if (!objective.contains("lambda_rank_param")) {
    objective["lambda_rank_param"] = {{"num_pairsample", "1"}, {"fix_list_weight", "0"}};
  }
  return model.dump();
}

}  // namespace

StatusOr<std::unique_ptr<XgboostRuntime>> XgboostRuntime::LoadFile(const std::string& path) {
  BoosterHandle handle = nullptr;
  if (XGBoosterCreate(nullptr, 0, &handle) != 0) return XgbError("cannot create an XGBoost booster");
  std::unique_ptr<XgboostRuntime> rt(new XgboostRuntime(handle));
  if (XGBoosterLoadModel(handle, path.c_str()) != 0) {
    Status direct = XgbError("cannot load XGBoost model " + path);
    auto patched = RankModelFor17(path);
    if (!patched.ok()) return direct;
    if (XGBoosterLoadModelFromBuffer(handle, patched->data(), patched->size()) != 0) {
      return XgbError("cannot load XGBoost model " + path);
    }
  }
  if (XGBoosterSetParam(handle, "nthread", "1") != 0) return XgbError("cannot configure the XGBoost booster");
  bst_ulong features = 0;
  if (XGBoosterGetNumFeature(handle, &features) != 0) return XgbError("cannot read the model's feature count");
  rt->num_features_ = static_cast<int64_t>(features);

  bst_ulong len = 0;
  const char* config = nullptr;
  if (XGBoosterSaveJsonConfig(handle, &len, &config) != 0) return XgbError("cannot read the model's configuration");
  nlohmann::json cfg = nlohmann::json::parse(std::string_view(config, len), nullptr, /*allow_exceptions=*/false);
  if (cfg.is_discarded()) return InvalidArgument("XGBoost returned an unreadable configuration for " + path);
  const auto& learner = cfg["learner"];
  if (learner.contains("objective") && learner["objective"].contains("name")) {
    rt->objective_ = learner["objective"]["name"].get<std::string>();
  }
  if (learner.contains("learner_model_param") && learner["learner_model_param"].contains("num_class")) {
    rt->num_class_ = std::stoll(learner["learner_model_param"]["num_class"].get<std::string>());
  }
  rt->inputs_ = {{"input-0", DataType::kFp32, {-1, rt->num_features_}}};
  if (rt->objective_ == "multi:softprob" && rt->num_class_ > 1) {
    rt->outputs_ = {{"output-0", DataType::kFp32, {-1, rt->num_class_}}};
  } else {
    rt->outputs_ = {{"output-0", DataType::kFp32, {-1}}};
  }
  return rt;
}

XgboostRuntime::~XgboostRuntime() {
  if (booster_) XGBoosterFree(static_cast<BoosterHandle>(booster_));
}

StatusOr<std::vector<Tensor>> XgboostRuntime::Execute(const std::vector<Tensor>& inputs) {
  KILN_ASSIGN_OR_RETURN(DenseRows rows, DenseFloatRows(inputs, inputs_[0], num_features_));
  // Array interface (version 3) pointing at our buffer; predictions are
  // taken with the model's full iteration range.
  char array[256];
  std::snprintf(array, sizeof(array),
                R"({"data":[%llu,true],"shape":[%lld,%lld],"typestr":"<f4","version":3})",
                static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(rows.values.data())),
                static_cast<long long>(rows.rows), static_cast<long long>(num_features_));
  // libxgboost 1.7 aborts without "cache_id" in the configuration.
  static constexpr const char* kConfig =
      R"({"type":0,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false,"missing":NaN,"cache_id":0})";
  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* result = nullptr;
  Tensor out;
  out.name = outputs_[0].name;
  out.dtype = DataType::kFp32;
  {
    std::lock_guard lock(mu_);
    if (XGBoosterPredictFromDense(static_cast<BoosterHandle>(booster_), array, kConfig, nullptr, &shape, &dims,
                                  &result) != 0) {
      return XgbError("XGBoost prediction failed");
    }
    int64_t count = 1;
    for (bst_ulong i = 0; i < dims; ++i) count *= static_cast<int64_t>(shape[i]);
    const int64_t per_row = rows.rows > 0 ? count / rows.rows : 0;
    out.shape = per_row > 1 ? std::vector<int64_t>{rows.rows, per_row} : std::vector<int64_t>{rows.rows};
    out.data.resize(static_cast<size_t>(count) * sizeof(float));
    if (count > 0) std::memcpy(out.data.data(), result, out.data.size());  // the buffer is the booster's
  }
  std::vector<Tensor> outputs;
  outputs.push_back(std::move(out));
  return outputs;
}

}  // namespace kiln::serving
