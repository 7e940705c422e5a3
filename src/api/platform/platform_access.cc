#include "api/platform/platform_access.h"

#include <algorithm>
#include <cctype>

#include "api/platform/endpoint_json.h"
#include "core/log.h"

namespace kiln::api::platform {
namespace {

using nlohmann::json;

ObjectRef Endpoint(std::string name) { return {ObjectKind::kEndpoint, std::move(name)}; }
ObjectRef Model(std::string name) { return {ObjectKind::kRegisteredModel, std::move(name)}; }

void AddUnique(std::vector<ObjectRef>& out, ObjectRef o) {
  if (std::find(out.begin(), out.end(), o) == out.end()) out.push_back(std::move(o));
}

std::string PathName(const net::HttpRequest& req) { return std::string(req.PathParam("name")); }

net::ObjectLocator PathEndpoint() {
  return [](const net::HttpRequest& req) -> StatusOr<std::vector<ObjectRef>> {
    return std::vector<ObjectRef>{Endpoint(PathName(req))};
  };
}

// The models a create or patch body routes to (routes[].model, mirror.model),
// read leniently: the handler reports a malformed body in its own words.
void BodyModels(const std::string& body, std::vector<ObjectRef>& out) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return;
  auto add = [&out](const json& route) {
    if (route.is_object() && route.contains("model") && route["model"].is_string()) {
      AddUnique(out, Model(route["model"].get<std::string>()));
    }
  };
  if (j.contains("routes") && j["routes"].is_array()) {
    for (const auto& r : j["routes"]) add(r);
  }
  if (j.contains("mirror")) add(j["mirror"]);
}

// The feature views an endpoint's feature binding reads (body
// "features": {"project", "feature_service" | "features": ["view:feature"]}):
// whoever binds them must be able to read them, or an endpoint would hand out
// features its creator cannot see. A feature service, or a binding without a
// project, is checked as its whole project (or everything): stricter, never
// looser.
Status CheckBindingReadable(const net::HttpRequest& req) {
  if (req.access == nullptr) return Status::Ok();
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("features") || !j["features"].is_object()) {
    return Status::Ok();
  }
  const json& f = j["features"];
  const std::string project =
      f.contains("project") && f["project"].is_string() ? f["project"].get<std::string>() : std::string();
  std::vector<ObjectRef> needed;
  if (project.empty()) {
    needed.push_back(ObjectRef::Global());
  } else if (f.contains("feature_service") || !f.contains("features") || !f["features"].is_array()) {
    needed.push_back({ObjectKind::kFeatureProject, project});
  } else {
    for (const auto& ref : f["features"]) {
      if (!ref.is_string()) continue;
      const std::string s = ref.get<std::string>();
      const size_t colon = s.find(':');
      AddUnique(needed, {ObjectKind::kFeatureView, project + "/" + (colon == std::string::npos ? s : s.substr(0, colon))});
    }
  }
  for (const auto& object : needed) {
    if (!req.access->Allows(object, Role::kViewer)) {
      return PermissionDenied("permission denied: binding features needs viewer on " + object.ToString());
    }
  }
  return Status::Ok();
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// "<model>-<stage>", as EndpointService names a stage's endpoint.
StatusOr<ModelDeployRequest> DeployRequest(const net::HttpRequest& req, bool need_version) {
  return ParseModelDeploy(req.body, need_version);
}
std::string StageEndpoint(const ModelDeployRequest& r) { return r.model_name + "-" + Lower(r.target_stage); }

std::string Snapshot(deploy::EndpointService& endpoints, const std::string& name) {
  if (name.empty()) return "";
  auto view = endpoints.GetEndpoint(name);
  return view.ok() ? Dump(EndpointJson(*view)) : std::string();
}

net::ObjectSnapshot PathSnapshot(deploy::EndpointService& endpoints) {
  deploy::EndpointService* svc = &endpoints;
  return [svc](const net::HttpRequest& req) { return Snapshot(*svc, PathName(req)); };
}

net::AccessRule Mutation(net::AccessRule rule, std::string action, net::ObjectSnapshot snapshot) {
  rule.action = std::move(action);
  rule.snapshot = std::move(snapshot);
  return rule;
}

net::AccessRule Create(deploy::EndpointService& endpoints) {
  deploy::EndpointService* svc = &endpoints;
  auto rule = net::ObjectAccess(
      Role::kEditor,
      [](const net::HttpRequest& req) -> StatusOr<std::vector<ObjectRef>> {
        KILN_ASSIGN_OR_RETURN(deploy::EndpointCreate create, ParseCreateEndpoint(req.body));
        KILN_RETURN_IF_ERROR(CheckBindingReadable(req));
        std::vector<ObjectRef> out{ObjectRef::Global()};
        for (const auto& r : create.spec.routes) AddUnique(out, Model(r.model));
        if (create.spec.mirror) AddUnique(out, Model(create.spec.mirror->route.model));
        return out;
      },
      true);
  rule.created = [](const net::HttpRequest&, const net::HttpResponse& res) {
    json j = json::parse(res.body, nullptr, false);
    if (j.is_discarded() || !j.contains("name") || !j["name"].is_string()) return std::vector<ObjectRef>{};
    return std::vector<ObjectRef>{Endpoint(j["name"].get<std::string>())};
  };
  return Mutation(std::move(rule), "platform.endpoints.create", [svc](const net::HttpRequest& req) {
    json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("name") || !j["name"].is_string()) return std::string();
    return Snapshot(*svc, j["name"].get<std::string>());
  });
}

net::AccessRule Patch(deploy::EndpointService& endpoints) {
  auto rule = net::ObjectAccess(
      Role::kEditor,
      [](const net::HttpRequest& req) -> StatusOr<std::vector<ObjectRef>> {
        std::vector<ObjectRef> out{Endpoint(PathName(req))};
        BodyModels(req.body, out);
        KILN_RETURN_IF_ERROR(CheckBindingReadable(req));
        return out;
      },
      true);
  return Mutation(std::move(rule), "platform.endpoints.update", PathSnapshot(endpoints));
}

net::AccessRule Delete(deploy::EndpointService& endpoints) {
  auto rule = net::ObjectAccess(Role::kManager, PathEndpoint(), true);
  rule.deleted = [](const net::HttpRequest& req, const net::HttpResponse&) {
    return std::vector<ObjectRef>{Endpoint(PathName(req))};
  };
  return Mutation(std::move(rule), "platform.endpoints.delete", PathSnapshot(endpoints));
}

// The stage endpoint when it exists; the global scope when deploy is about
// to create it. A store error is answered as the handler would (503).
StatusOr<bool> EndpointExists(deploy::EndpointService& endpoints, const std::string& name) {
  auto view = endpoints.GetEndpoint(name);
  if (view.ok()) return true;
  if (view.status().code() == StatusCode::kNotFound) return false;
  return view.status();
}

net::AccessRule ModelDeploy(deploy::EndpointService& endpoints, bool deploy) {
  deploy::EndpointService* svc = &endpoints;
  auto rule = net::ObjectAccess(
      Role::kEditor,
      [svc, deploy](const net::HttpRequest& req) -> StatusOr<std::vector<ObjectRef>> {
        KILN_ASSIGN_OR_RETURN(ModelDeployRequest r, DeployRequest(req, deploy));
        std::vector<ObjectRef> out{Model(r.model_name)};
        const std::string name = StageEndpoint(r);
        KILN_ASSIGN_OR_RETURN(bool exists, EndpointExists(*svc, name));
        if (exists) {
          out.push_back(Endpoint(name));
        } else if (deploy) {
          out.push_back(ObjectRef::Global());
        }
        return out;
      },
      true);
  if (deploy) {
    rule.created = [](const net::HttpRequest&, const net::HttpResponse& res) {
      json j = json::parse(res.body, nullptr, false);
      if (j.is_discarded() || !j.value("created", false) || !j.contains("endpoint") || !j["endpoint"].is_string()) {
        return std::vector<ObjectRef>{};
      }
      return std::vector<ObjectRef>{Endpoint(j["endpoint"].get<std::string>())};
    };
  }
  return Mutation(std::move(rule), deploy ? "platform.models.deploy" : "platform.models.rollback",
                  [svc, deploy](const net::HttpRequest& req) {
                    auto r = DeployRequest(req, deploy);
                    return r.ok() ? Snapshot(*svc, StageEndpoint(*r)) : std::string();
                  });
}

struct Entry {
  const char* method;
  const char* pattern;
  net::AccessRule rule;
};

}  // namespace

void ApplyPlatformAccess(net::Router& router, deploy::EndpointService& endpoints) {
  const auto viewer = net::ObjectAccess(Role::kViewer, PathEndpoint(), false);
  auto editor_action = [&endpoints](std::string action) {
    return Mutation(net::ObjectAccess(Role::kEditor, PathEndpoint(), true), std::move(action), PathSnapshot(endpoints));
  };
  std::vector<Entry> table = {
      {"POST", "/api/v1/endpoints", Create(endpoints)},
      // Filtered by the handler (req.access->Visible(kEndpoint)).
      {"GET", "/api/v1/endpoints", net::AuthenticatedAccess(false)},
      {"GET", "/api/v1/endpoints/{name}", viewer},
      {"PATCH", "/api/v1/endpoints/{name}", Patch(endpoints)},
      {"DELETE", "/api/v1/endpoints/{name}", Delete(endpoints)},
      {"POST", "/api/v1/endpoints/{name}:rollback", editor_action("platform.endpoints.rollback")},
      {"POST", "/api/v1/endpoints/{name}:promote", editor_action("platform.endpoints.promote")},
      {"GET", "/api/v1/endpoints/{name}/events", viewer},
      {"POST", "/api/v1/endpoints/{name}/predict", viewer},
      {"GET", "/api/v1/endpoints/{name}/predictions", viewer},
      {"POST", "/api/v1/models/deploy", ModelDeploy(endpoints, true)},
      {"POST", "/api/v1/models/rollback", ModelDeploy(endpoints, false)},
      {"GET", "/api/v1/openapi.json", net::PublicAccess()},
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
    if (!found) log::Error(std::string("platform access: no undecided route ") + e.method + " " + e.pattern);
  }
}

}  // namespace kiln::api::platform
