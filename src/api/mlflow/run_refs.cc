#include "api/mlflow/run_refs.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace kiln::api::mlflow {

StatusOr<RunRefs> ParseRunRefs(std::string_view body) {
  using nlohmann::json;
  // Depth 1 holds the request's own fields, depth 3 the fields of each
  // metrics[] element; everything else is dropped as soon as it is read.
  json::parser_callback_t keep = [](int depth, json::parse_event_t event, json& parsed) {
    if (event != json::parse_event_t::key) return true;
    const auto& k = parsed.get_ref<const std::string&>();
    if (depth == 1) return k == "run_id" || k == "run_uuid" || k == "model_id" || k == "metrics";
    if (depth == 3) return k == "model_id";
    return depth < 3;
  };
  json doc = json::parse(body.begin(), body.end(), keep, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return InvalidArgument("Malformed request: the body is not a JSON object.");
  RunRefs refs;
  auto text = [](const json& j, const char* key) -> std::string {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  refs.run_id = text(doc, "run_id");
  if (refs.run_id.empty()) refs.run_id = text(doc, "run_uuid");
  auto add = [&refs](std::string id) {
    if (!id.empty() && std::find(refs.model_ids.begin(), refs.model_ids.end(), id) == refs.model_ids.end()) {
      refs.model_ids.push_back(std::move(id));
    }
  };
  add(text(doc, "model_id"));
  if (auto m = doc.find("metrics"); m != doc.end() && m->is_array()) {
    for (const auto& e : *m) {
      if (e.is_object()) add(text(e, "model_id"));
    }
  }
  return refs;
}

}  // namespace kiln::api::mlflow
