#include "api/mlflow/handler_util.h"

namespace kiln::api::mlflow {

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

net::Handler Json(JsonHandler fn) {
  return [fn = std::move(fn)](net::HttpRequest& req) {
    auto fields = RequestFields::From(req);
    if (!fields.ok()) return ErrorResponse(fields.status());
    auto result = fn(*fields, req);
    if (!result.ok()) return ErrorResponse(result.status());
    return JsonOk(Dump(*result));
  };
}

namespace {

template <typename T>
StatusOr<std::vector<T>> DecodeKeyValues(const RequestFields& f, const std::string& key) {
  KILN_ASSIGN_OR_RETURN(auto objects, f.Objects(key));
  std::vector<T> out;
  out.reserve(objects.size());
  for (size_t i = 0; i < objects.size(); ++i) {
    std::string ctx = key + "[" + std::to_string(i) + "]";
    KILN_ASSIGN_OR_RETURN(auto k, RequestFields::StringIn(objects[i], "key", ctx));
    KILN_ASSIGN_OR_RETURN(auto v, RequestFields::StringIn(objects[i], "value", ctx));
    if (!k) return MissingParameter(ctx + ".key");
    out.push_back(T{*k, v.value_or("")});
  }
  return out;
}

}  // namespace

StatusOr<std::vector<storage::Tag>> DecodeTags(const RequestFields& f, const std::string& key) {
  return DecodeKeyValues<storage::Tag>(f, key);
}

StatusOr<std::vector<storage::Param>> DecodeParams(const RequestFields& f, const std::string& key) {
  return DecodeKeyValues<storage::Param>(f, key);
}

StatusOr<std::vector<storage::Metric>> DecodeMetrics(const RequestFields& f, const std::string& key) {
  KILN_ASSIGN_OR_RETURN(auto objects, f.Objects(key));
  std::vector<storage::Metric> out;
  out.reserve(objects.size());
  for (size_t i = 0; i < objects.size(); ++i) {
    std::string ctx = key + "[" + std::to_string(i) + "]";
    storage::Metric m;
    KILN_ASSIGN_OR_RETURN(auto k, RequestFields::StringIn(objects[i], "key", ctx));
    KILN_ASSIGN_OR_RETURN(auto v, RequestFields::DoubleIn(objects[i], "value", ctx));
    KILN_ASSIGN_OR_RETURN(auto ts, RequestFields::Int64In(objects[i], "timestamp", ctx));
    KILN_ASSIGN_OR_RETURN(auto step, RequestFields::Int64In(objects[i], "step", ctx));
    KILN_ASSIGN_OR_RETURN(auto model_id, RequestFields::StringIn(objects[i], "model_id", ctx));
    KILN_ASSIGN_OR_RETURN(auto dataset_name, RequestFields::StringIn(objects[i], "dataset_name", ctx));
    KILN_ASSIGN_OR_RETURN(auto dataset_digest, RequestFields::StringIn(objects[i], "dataset_digest", ctx));
    if (!k) return MissingParameter(ctx + ".key");
    if (!v) return MissingParameter(ctx + ".value");
    if (!ts) return MissingParameter(ctx + ".timestamp");
    m.key = *k;
    m.value = *v;
    m.timestamp = *ts;
    m.step = step.value_or(0);
    m.model_id = model_id.value_or("");
    m.dataset_name = dataset_name.value_or("");
    m.dataset_digest = dataset_digest.value_or("");
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace kiln::api::mlflow
