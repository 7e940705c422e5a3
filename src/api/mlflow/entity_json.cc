#include "api/mlflow/entity_json.h"

#include <cmath>

namespace kiln::api::mlflow {

using nlohmann::json;

json DoubleJson(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

json TagsJson(const std::vector<storage::Tag>& tags) {
  json out = json::array();
  for (const auto& t : tags) out.push_back({{"key", t.key}, {"value", t.value}});
  return out;
}

json ExperimentJson(const storage::Experiment& e) {
  json j = {{"experiment_id", e.experiment_id},
            {"name", e.name},
            {"artifact_location", e.artifact_location},
            {"lifecycle_stage", e.lifecycle_stage},
            {"last_update_time", e.last_update_time},
            {"creation_time", e.creation_time}};
  if (!e.tags.empty()) j["tags"] = TagsJson(e.tags);
  return j;
}

json RunInfoJson(const storage::RunInfo& info) {
  json j = {{"run_id", info.run_id},
            {"run_uuid", info.run_id},
            {"run_name", info.run_name},
            {"experiment_id", info.experiment_id},
            {"user_id", info.user_id},
            {"status", info.status},
            {"start_time", info.start_time},
            {"artifact_uri", info.artifact_uri},
            {"lifecycle_stage", info.lifecycle_stage}};
  if (info.end_time) j["end_time"] = *info.end_time;
  return j;
}

json MetricJson(const storage::Metric& m, bool with_run_id) {
  json j = {{"key", m.key}, {"value", DoubleJson(m.value)}, {"timestamp", m.timestamp}, {"step", m.step}};
  if (with_run_id && !m.run_id.empty()) j["run_id"] = m.run_id;
  if (!m.model_id.empty()) j["model_id"] = m.model_id;
  if (!m.dataset_name.empty()) j["dataset_name"] = m.dataset_name;
  if (!m.dataset_digest.empty()) j["dataset_digest"] = m.dataset_digest;
  return j;
}

json RunJson(const storage::Run& run) {
  json data = json::object();
  if (!run.metrics.empty()) {
    json metrics = json::array();
    for (const auto& m : run.metrics) metrics.push_back(MetricJson(m));
    data["metrics"] = std::move(metrics);
  }
  if (!run.params.empty()) {
    json params = json::array();
    for (const auto& p : run.params) params.push_back({{"key", p.key}, {"value", p.value}});
    data["params"] = std::move(params);
  }
  if (!run.tags.empty()) data["tags"] = TagsJson(run.tags);

  json inputs = json::object();
  if (!run.dataset_inputs.empty()) {
    json arr = json::array();
    for (const auto& di : run.dataset_inputs) {
      json ds = {{"name", di.dataset.name},
                 {"digest", di.dataset.digest},
                 {"source_type", di.dataset.source_type},
                 {"source", di.dataset.source}};
      if (!di.dataset.schema.empty()) ds["schema"] = di.dataset.schema;
      if (!di.dataset.profile.empty()) ds["profile"] = di.dataset.profile;
      json entry = {{"dataset", std::move(ds)}};
      if (!di.tags.empty()) entry["tags"] = TagsJson(di.tags);
      arr.push_back(std::move(entry));
    }
    inputs["dataset_inputs"] = std::move(arr);
  }
  if (!run.model_inputs.empty()) {
    json arr = json::array();
    for (const auto& mi : run.model_inputs) arr.push_back({{"model_id", mi.model_id}});
    inputs["model_inputs"] = std::move(arr);
  }
  json j = {{"info", RunInfoJson(run.info)}, {"data", std::move(data)}, {"inputs", std::move(inputs)}};
  if (!run.model_outputs.empty()) {
    json arr = json::array();
    for (const auto& mo : run.model_outputs) arr.push_back({{"model_id", mo.model_id}, {"step", mo.step}});
    j["outputs"] = {{"model_outputs", std::move(arr)}};
  }
  return j;
}

json LoggedModelJson(const storage::LoggedModel& m) {
  json info = {{"model_id", m.model_id},
               {"experiment_id", m.experiment_id},
               {"name", m.name},
               {"artifact_uri", m.artifact_uri},
               {"creation_timestamp_ms", m.creation_timestamp},
               {"last_updated_timestamp_ms", m.last_updated_timestamp},
               {"status", m.status}};
  if (!m.status_message.empty()) info["status_message"] = m.status_message;
  if (!m.model_type.empty()) info["model_type"] = m.model_type;
  if (!m.source_run_id.empty()) info["source_run_id"] = m.source_run_id;
  if (!m.tags.empty()) info["tags"] = TagsJson(m.tags);
  json data = json::object();
  if (!m.params.empty()) {
    json params = json::array();
    for (const auto& p : m.params) params.push_back({{"key", p.key}, {"value", p.value}});
    data["params"] = std::move(params);
  }
  if (!m.metrics.empty()) {
    json metrics = json::array();
    for (const auto& x : m.metrics) metrics.push_back(MetricJson(x, true));
    data["metrics"] = std::move(metrics);
  }
  return {{"info", std::move(info)}, {"data", std::move(data)}};
}

}  // namespace kiln::api::mlflow
