#include "api/mlflow/search_scope.h"

namespace kiln::api::mlflow {

void AddVisibilityScope(const net::HttpRequest& req, ObjectKind kind, const char* attribute,
                        std::vector<storage::FilterClause>* scope) {
  if (!req.access) return;
  std::optional<std::vector<std::string>> visible = req.access->Visible(kind, Role::kViewer);
  if (!visible) return;
  scope->push_back({storage::SearchEntity::kAttribute, attribute, storage::CompareOp::kIn, std::move(*visible)});
}

}  // namespace kiln::api::mlflow
