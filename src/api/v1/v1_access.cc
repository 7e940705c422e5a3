// KServe V1's access rules (listed with V2's in api/v2/v2_access.h).
#include "api/v2/v2_access.h"
#include "core/log.h"

namespace kiln::api::v1 {

void ApplyV1Access(net::Router& router) {
  struct Entry {
    const char* method;
    const char* pattern;
    net::AccessRule rule;
  };
  // "/v1/models/fraud:predict": the model is the segment before the verb.
  auto model = [](std::string_view param) {
    return [param](const net::HttpRequest& req) -> StatusOr<std::vector<ObjectRef>> {
      std::string name(req.PathParam(param));
      if (param == "model_verb") {
        const size_t colon = name.rfind(':');
        if (colon != std::string::npos) name.resize(colon);
      }
      return std::vector<ObjectRef>{{ObjectKind::kRegisteredModel, name}};
    };
  };
  std::vector<Entry> table = {
      {"GET", "/", net::PublicAccess()},
      {"GET", "/v1/models", net::AuthenticatedAccess()},
      {"GET", "/v1/models/{model}", net::ObjectAccess(Role::kViewer, model("model"), false)},
      {"POST", "/v1/models/{model_verb}", net::ObjectAccess(Role::kViewer, model("model_verb"), false)},
  };
  // Every route of that method and pattern that has no decision yet (the
  // MLflow UI registers its own GET / before KServe's, for one).
  for (auto& e : table) {
    bool found = false;
    for (net::Route* r : router.mutable_routes()) {
      if (r->method != e.method || r->pattern != e.pattern || r->access.kind != net::AccessKind::kUnset) continue;
      r->access = e.rule;
      found = true;
    }
    // A stale entry: the gate then finds the route that replaced it without
    // a decision and refuses to start.
    if (!found) log::Error(std::string("V1 access: no undecided route ") + e.method + " " + e.pattern);
  }
}

}  // namespace kiln::api::v1
