#include "registry/registry_json.h"

#include <string>

namespace kiln::registry {

using nlohmann::json;

namespace {

json TagsJson(const std::vector<storage::Tag>& tags) {
  json out = json::array();
  for (const auto& t : tags) out.push_back({{"key", t.key}, {"value", t.value}});
  return out;
}

void PutIfSet(json& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}

}  // namespace

json ModelVersionJson(const storage::ModelVersion& v) {
  json j = {{"name", v.name},
            {"version", std::to_string(v.version)},
            {"creation_timestamp", v.creation_timestamp},
            {"last_updated_timestamp", v.last_updated_timestamp},
            {"current_stage", v.current_stage},
            {"source", v.source},
            {"status", v.status}};
  PutIfSet(j, "user_id", v.user_id);
  PutIfSet(j, "description", v.description);
  PutIfSet(j, "run_id", v.run_id);
  PutIfSet(j, "status_message", v.status_message);
  PutIfSet(j, "run_link", v.run_link);
  PutIfSet(j, "model_id", v.model_id);
  if (!v.tags.empty()) j["tags"] = TagsJson(v.tags);
  if (!v.aliases.empty()) j["aliases"] = v.aliases;
  return j;
}

json RegisteredModelJson(const storage::RegisteredModel& m) {
  json j = {{"name", m.name},
            {"creation_timestamp", m.creation_timestamp},
            {"last_updated_timestamp", m.last_updated_timestamp}};
  PutIfSet(j, "user_id", m.user_id);
  PutIfSet(j, "description", m.description);
  if (!m.latest_versions.empty()) {
    json versions = json::array();
    for (const auto& v : m.latest_versions) versions.push_back(ModelVersionJson(v));
    j["latest_versions"] = std::move(versions);
  }
  if (!m.tags.empty()) j["tags"] = TagsJson(m.tags);
  if (!m.aliases.empty()) {
    json aliases = json::array();
    for (const auto& a : m.aliases) aliases.push_back({{"alias", a.alias}, {"version", std::to_string(a.version)}});
    j["aliases"] = std::move(aliases);
  }
  return j;
}

json RegistryEventJson(const storage::RegistryEvent& e) {
  auto snapshot = [](const std::string& text) -> json {
    if (text.empty()) return nullptr;
    json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
    return parsed.is_discarded() ? json(nullptr) : parsed;
  };
  return {{"id", std::to_string(e.id)},     {"timestamp", e.timestamp},
          {"actor", e.actor},               {"action", e.action},
          {"name", e.name},                 {"version", e.version},
          {"before", snapshot(e.before_json)}, {"after", snapshot(e.after_json)}};
}

json ModelPackageJson(const model_format::ModelPackage& p, const std::string& artifact_uri, bool external) {
  if (external) {
    // Nothing was read, so nothing about flavors, files or signature is claimed.
    return {{"artifact_uri", artifact_uri}, {"storage", "external"}, {"external", true},
            {"servable", false},            {"reason", p.reason}};
  }
  json files = json::array();
  for (const auto& f : p.files) files.push_back({{"path", f.path}, {"size", f.size}});
  json j = {{"artifact_uri", artifact_uri},
            {"storage", "copy"},
            {"external", false},
            {"flavors", p.flavors},
            {"loader_module", p.loader_module},
            {"runtime", p.runtime},
            {"model_file", p.model_file},
            {"model_format", p.model_format},
            {"servable", p.servable},
            {"reason", p.reason},
            {"files", std::move(files)},
            {"requirements", p.requirements},
            {"mlflow_version", p.mlflow_version},
            {"model_uuid", p.model_uuid},
            {"utc_time_created", p.utc_time_created}};
  if (!p.signature_inputs.is_null() || !p.signature_outputs.is_null()) {
    j["signature"] = {{"inputs", p.signature_inputs}, {"outputs", p.signature_outputs}, {"params", p.signature_params}};
  } else {
    j["signature"] = nullptr;
  }
  return j;
}

}  // namespace kiln::registry
