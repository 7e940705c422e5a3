#include "api/mlflow/run_refs.h"

#include <algorithm>

namespace kiln::api::mlflow {

RunRefs RunRefsOf(const nlohmann::json& doc) {
  RunRefs refs;
  if (!doc.is_object()) return refs;
  auto text = [](const nlohmann::json& j, const char* key) -> std::string {
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
