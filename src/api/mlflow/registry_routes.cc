// MLflow's model registry protocol and kiln's registry extensions.
#include "api/mlflow/handler_util.h"
#include "api/mlflow/mlflow_routes.h"
#include "api/mlflow/routes_internal.h"
#include "api/mlflow/search_scope.h"
#include "core/base64.h"
#include "registry/registry_json.h"

namespace kiln::api::mlflow {

using nlohmann::json;
using registry::RegistryService;

namespace {

// Who is asking, for the registry's event log: with auth on, the
// authenticated principal (never a header the caller chose); otherwise the
// HTTP basic-auth user (the mlflow client sends one when
// MLFLOW_TRACKING_USERNAME is set), else the X-Kiln-User header, else nobody.
std::string ActorOf(const net::HttpRequest& req) {
  if (req.access) return req.access->principal().name;
  std::string_view auth = req.Header("authorization");
  if (auth.size() > 6 && (auth.substr(0, 6) == "Basic " || auth.substr(0, 6) == "basic ")) {
    if (auto decoded = Base64Decode(auth.substr(6))) {
      return decoded->substr(0, decoded->find(':'));
    }
  }
  return std::string(req.Header("x-kiln-user"));
}

json VersionsJson(const std::vector<storage::ModelVersion>& versions) {
  json arr = json::array();
  for (const auto& v : versions) arr.push_back(registry::ModelVersionJson(v));
  return arr;
}

StatusOr<registry::SearchRequest> DecodeSearch(const RequestFields& f) {
  registry::SearchRequest req;
  KILN_ASSIGN_OR_RETURN(auto filter, f.String("filter"));
  KILN_ASSIGN_OR_RETURN(req.max_results, f.Int64("max_results"));
  KILN_ASSIGN_OR_RETURN(req.order_by, f.StringList("order_by"));
  KILN_ASSIGN_OR_RETURN(auto token, f.String("page_token"));
  req.filter = filter.value_or("");
  req.page_token = token.value_or("");
  return req;
}

// Name and version, both required, as most model-version calls take them.
struct VersionKey {
  std::string name;
  std::string version;
};
StatusOr<VersionKey> DecodeVersionKey(const RequestFields& f) {
  VersionKey k;
  KILN_ASSIGN_OR_RETURN(k.name, f.RequiredString("name"));
  KILN_ASSIGN_OR_RETURN(k.version, f.RequiredString("version"));
  return k;
}

void AddRegisteredModelRoutes(net::Router& r, const std::string& p, RegistryService& svc) {
  AddRoute(r, "POST", p + "/registered-models/create", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto name, f.RequiredString("name"));
    KILN_ASSIGN_OR_RETURN(auto tags, DecodeTags(f));
    KILN_ASSIGN_OR_RETURN(auto description, f.String("description"));
    KILN_ASSIGN_OR_RETURN(auto m, svc.CreateRegisteredModel(ActorOf(req), name, tags, description.value_or("")));
    return json{{"registered_model", registry::RegisteredModelJson(m)}};
  }));
  AddRoute(r, "GET", p + "/registered-models/get", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto name, f.RequiredString("name"));
    KILN_ASSIGN_OR_RETURN(auto m, svc.GetRegisteredModel(name));
    return json{{"registered_model", registry::RegisteredModelJson(m)}};
  }));
  AddRoute(r, "POST", p + "/registered-models/rename", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto name, f.RequiredString("name"));
    KILN_ASSIGN_OR_RETURN(auto new_name, f.String("new_name"));
    KILN_ASSIGN_OR_RETURN(auto m, svc.RenameRegisteredModel(ActorOf(req), name, new_name.value_or("")));
    return json{{"registered_model", registry::RegisteredModelJson(m)}};
  }));
  AddRoute(r, "PATCH", p + "/registered-models/update", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto name, f.RequiredString("name"));
    KILN_ASSIGN_OR_RETURN(auto description, f.String("description"));
    KILN_ASSIGN_OR_RETURN(auto m, svc.UpdateRegisteredModel(ActorOf(req), name, description.value_or("")));
    return json{{"registered_model", registry::RegisteredModelJson(m)}};
  }));
  AddRoute(r, "DELETE", p + "/registered-models/delete", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto name, f.RequiredString("name"));
    KILN_RETURN_IF_ERROR(svc.DeleteRegisteredModel(ActorOf(req), name));
    return json::object();
  }));
  auto search = Json([&svc](const RequestFields& f, net::HttpRequest& http) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto request, DecodeSearch(f));
    AddVisibilityScope(http, ObjectKind::kRegisteredModel, "name", &request.scope);
    KILN_ASSIGN_OR_RETURN(auto page, svc.SearchRegisteredModels(request));
    json out = json::object();
    if (!page.items.empty()) {
      json arr = json::array();
      for (const auto& m : page.items) arr.push_back(registry::RegisteredModelJson(m));
      out["registered_models"] = std::move(arr);
    }
    if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
    return out;
  });
  AddRoute(r, "GET", p + "/registered-models/search", search);
  auto latest = Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto name, f.RequiredString("name"));
    KILN_ASSIGN_OR_RETURN(auto stages, f.StringList("stages"));
    KILN_ASSIGN_OR_RETURN(auto versions, svc.GetLatestVersions(name, stages));
    json out = json::object();
    if (!versions.empty()) out["model_versions"] = VersionsJson(versions);
    return out;
  });
  AddRoute(r, "POST", p + "/registered-models/get-latest-versions", latest);
  AddRoute(r, "GET", p + "/registered-models/get-latest-versions", latest);
  AddRoute(r, "POST", p + "/registered-models/set-tag", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto name, f.RequiredString("name"));
    KILN_ASSIGN_OR_RETURN(auto key, f.RequiredString("key"));
    // MLflow requires no value: an empty or absent one sets the tag to "".
    KILN_ASSIGN_OR_RETURN(auto value, f.String("value"));
    KILN_RETURN_IF_ERROR(svc.SetRegisteredModelTag(ActorOf(req), name, key, value.value_or("")));
    return json::object();
  }));
  AddRoute(r, "DELETE", p + "/registered-models/delete-tag", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto name, f.RequiredString("name"));
    KILN_ASSIGN_OR_RETURN(auto key, f.RequiredString("key"));
    KILN_RETURN_IF_ERROR(svc.DeleteRegisteredModelTag(ActorOf(req), name, key));
    return json::object();
  }));
  AddRoute(r, "POST", p + "/registered-models/alias", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto name, f.RequiredString("name"));
    KILN_ASSIGN_OR_RETURN(auto alias, f.RequiredString("alias"));
    KILN_ASSIGN_OR_RETURN(auto version, f.RequiredString("version"));
    KILN_RETURN_IF_ERROR(svc.SetAlias(ActorOf(req), name, alias, version));
    return json::object();
  }));
  AddRoute(r, "DELETE", p + "/registered-models/alias", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto name, f.RequiredString("name"));
    KILN_ASSIGN_OR_RETURN(auto alias, f.RequiredString("alias"));
    KILN_RETURN_IF_ERROR(svc.DeleteAlias(ActorOf(req), name, alias));
    return json::object();
  }));
  AddRoute(r, "GET", p + "/registered-models/alias", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto name, f.RequiredString("name"));
    KILN_ASSIGN_OR_RETURN(auto alias, f.RequiredString("alias"));
    KILN_ASSIGN_OR_RETURN(auto v, svc.GetModelVersionByAlias(name, alias));
    return json{{"model_version", registry::ModelVersionJson(v)}};
  }));
}

void AddModelVersionRoutes(net::Router& r, const std::string& p, RegistryService& svc) {
  AddRoute(r, "POST", p + "/model-versions/create", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    registry::CreateModelVersionRequest c;
    KILN_ASSIGN_OR_RETURN(c.name, f.RequiredString("name"));
    KILN_ASSIGN_OR_RETURN(c.source, f.RequiredString("source"));
    KILN_ASSIGN_OR_RETURN(c.run_id, f.String("run_id"));
    KILN_ASSIGN_OR_RETURN(c.model_id, f.String("model_id"));
    KILN_ASSIGN_OR_RETURN(c.tags, DecodeTags(f));
    KILN_ASSIGN_OR_RETURN(auto run_link, f.String("run_link"));
    KILN_ASSIGN_OR_RETURN(auto description, f.String("description"));
    c.run_link = run_link.value_or("");
    c.description = description.value_or("");
    KILN_ASSIGN_OR_RETURN(auto v, svc.CreateModelVersion(ActorOf(req), c));
    return json{{"model_version", registry::ModelVersionJson(v)}};
  }));
  AddRoute(r, "GET", p + "/model-versions/get", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto k, DecodeVersionKey(f));
    KILN_ASSIGN_OR_RETURN(auto v, svc.GetModelVersion(k.name, k.version));
    return json{{"model_version", registry::ModelVersionJson(v)}};
  }));
  AddRoute(r, "PATCH", p + "/model-versions/update", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto k, DecodeVersionKey(f));
    KILN_ASSIGN_OR_RETURN(auto description, f.String("description"));
    KILN_ASSIGN_OR_RETURN(auto v, svc.UpdateModelVersion(ActorOf(req), k.name, k.version, description.value_or("")));
    return json{{"model_version", registry::ModelVersionJson(v)}};
  }));
  AddRoute(r, "DELETE", p + "/model-versions/delete", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto k, DecodeVersionKey(f));
    KILN_RETURN_IF_ERROR(svc.DeleteModelVersion(ActorOf(req), k.name, k.version));
    return json::object();
  }));
  AddRoute(r, "POST", p + "/model-versions/transition-stage", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto k, DecodeVersionKey(f));
    KILN_ASSIGN_OR_RETURN(auto stage, f.RequiredString("stage"));
    KILN_ASSIGN_OR_RETURN(auto archive, f.Bool("archive_existing_versions"));
    KILN_ASSIGN_OR_RETURN(auto v, svc.TransitionStage(ActorOf(req), k.name, k.version, stage, archive.value_or(false)));
    return json{{"model_version", registry::ModelVersionJson(v)}};
  }));
  AddRoute(r, "GET", p + "/model-versions/search", Json([&svc](const RequestFields& f, net::HttpRequest& http) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto request, DecodeSearch(f));
    AddVisibilityScope(http, ObjectKind::kRegisteredModel, "name", &request.scope);
    KILN_ASSIGN_OR_RETURN(auto page, svc.SearchModelVersions(request));
    json out = json::object();
    if (!page.items.empty()) out["model_versions"] = VersionsJson(page.items);
    if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
    return out;
  }));
  AddRoute(r, "GET", p + "/model-versions/get-download-uri", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto k, DecodeVersionKey(f));
    KILN_ASSIGN_OR_RETURN(auto uri, svc.GetDownloadUri(k.name, k.version));
    return json{{"artifact_uri", uri}};
  }));
  AddRoute(r, "POST", p + "/model-versions/set-tag", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto k, DecodeVersionKey(f));
    KILN_ASSIGN_OR_RETURN(auto key, f.RequiredString("key"));
    KILN_ASSIGN_OR_RETURN(auto value, f.String("value"));
    KILN_RETURN_IF_ERROR(svc.SetModelVersionTag(ActorOf(req), k.name, k.version, key, value.value_or("")));
    return json::object();
  }));
  AddRoute(r, "DELETE", p + "/model-versions/delete-tag", Json([&svc](const RequestFields& f, net::HttpRequest& req) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto k, DecodeVersionKey(f));
    KILN_ASSIGN_OR_RETURN(auto key, f.RequiredString("key"));
    KILN_RETURN_IF_ERROR(svc.DeleteModelVersionTag(ActorOf(req), k.name, k.version, key));
    return json::object();
  }));
}

void AddKilnRegistryRoutes(net::Router& r, RegistryService& svc) {
  const std::string p = "/api/2.0/kiln";
  AddRoute(r, "GET", p + "/model-versions/get-package", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto k, DecodeVersionKey(f));
    KILN_ASSIGN_OR_RETURN(auto pkg, svc.GetPackage(k.name, k.version));
    return json{{"package", registry::ModelPackageJson(pkg.package, pkg.artifact_uri, pkg.external)}};
  }));
  AddRoute(r, "GET", p + "/models/resolve", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto uri, f.RequiredString("uri"));
    KILN_ASSIGN_OR_RETURN(auto v, svc.ResolveModelUri(uri));
    return json{{"model_version", registry::ModelVersionJson(v)},
                {"artifact_uri", RegistryService::StorageUri(v.storage_path)}};
  }));
  AddRoute(r, "GET", p + "/registry/events", Json([&svc](const RequestFields& f, net::HttpRequest&) -> StatusOr<json> {
    KILN_ASSIGN_OR_RETURN(auto name, f.String("name"));
    KILN_ASSIGN_OR_RETURN(auto max_results, f.Int64("max_results"));
    KILN_ASSIGN_OR_RETURN(auto token, f.String("page_token"));
    KILN_ASSIGN_OR_RETURN(auto page, svc.ListEvents(name.value_or(""), max_results, token.value_or("")));
    json events = json::array();
    for (const auto& e : page.items) events.push_back(registry::RegistryEventJson(e));
    json out = {{"events", std::move(events)}};
    if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
    return out;
  }));
}

}  // namespace

void AddRegistryRoutes(net::Router& router, RegistryService& registry) {
  for (const std::string base : {"/api/2.0", "/ajax-api/2.0"}) {
    const std::string p = base + "/mlflow";
    AddRegisteredModelRoutes(router, p, registry);
    AddModelVersionRoutes(router, p, registry);
  }
  AddKilnRegistryRoutes(router, registry);
}

}  // namespace kiln::api::mlflow
