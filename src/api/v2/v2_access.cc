#include "api/v2/v2_access.h"

#include "core/log.h"

namespace kiln::api::v2 {
namespace {

// A name without a version that an endpoint answers to is the endpoint;
// anything else is the repository model of that name, checked as the
// registered model it is served from.
net::ObjectLocator ModelOrEndpoint(const serving::EndpointRouter* endpoints) {
  return [endpoints](const net::HttpRequest& req) -> StatusOr<std::vector<ObjectRef>> {
    const std::string name(req.PathParam("model"));
    if (endpoints && req.PathParam("version").empty() && endpoints->Route(name, {}).has_value()) {
      return std::vector<ObjectRef>{{ObjectKind::kEndpoint, name}};
    }
    return std::vector<ObjectRef>{{ObjectKind::kRegisteredModel, name}};
  };
}

net::AccessRule RepositoryChange(const char* action) {
  net::AccessRule rule = net::AdminAccess(/*mutation=*/true);
  rule.action = action;
  return rule;
}

}  // namespace

VisibleModels::VisibleModels(const net::HttpRequest& req) {
  if (!req.access) return;
  if (auto ids = req.access->Visible(ObjectKind::kRegisteredModel)) names_.emplace(ids->begin(), ids->end());
}

void ApplyV2Access(net::Router& router, const serving::EndpointRouter* endpoints) {
  struct Entry {
    std::string method;
    std::string pattern;
    net::AccessRule rule;
  };
  const net::AccessRule viewer = net::ObjectAccess(Role::kViewer, ModelOrEndpoint(endpoints), false);
  std::vector<Entry> table = {
      {"GET", "/v2", net::PublicAccess()},
      {"GET", "/v2/health/live", net::PublicAccess()},
      {"GET", "/v2/health/ready", net::PublicAccess()},
      {"GET", "/v2/models", net::AuthenticatedAccess()},
      {"GET", "/v2/models/stats", net::AuthenticatedAccess()},
      {"POST", "/v2/repository/index", net::AuthenticatedAccess()},
      {"POST", "/v2/repository/models/{model}/load", RepositoryChange("v2.repository.load")},
      {"POST", "/v2/repository/models/{model}/unload", RepositoryChange("v2.repository.unload")},
  };
  for (const std::string base : {"/v2/models/{model}", "/v2/models/{model}/versions/{version}"}) {
    for (const char* suffix : {"", "/ready", "/config", "/stats"}) table.push_back({"GET", base + suffix, viewer});
    table.push_back({"POST", base + "/infer", viewer});
  }
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
    if (!found) log::Error(std::string("V2 access: no undecided route ") + e.method + " " + e.pattern);
  }
}

}  // namespace kiln::api::v2
