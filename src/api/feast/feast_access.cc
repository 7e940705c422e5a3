#include "api/feast/feast_access.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/log.h"

namespace kiln::api::feast {
namespace {

using nlohmann::json;

struct Context {
  features::FeatureRegistry* registry;
  features::Materializer* materializer;
  std::string default_project;

  std::string ProjectOr(const std::string& explicit_project) const {
    return explicit_project.empty() ? default_project : explicit_project;
  }
};

ObjectRef View(const std::string& project, const std::string& view) {
  return {ObjectKind::kFeatureView, project + "/" + view};
}

// Checked when a name does not resolve: its project when one is known, else
// the global scope.
ObjectRef Fallback(const std::string& project) {
  return project.empty() ? ObjectRef::Global() : ObjectRef{ObjectKind::kFeatureProject, project};
}

void AddUnique(std::vector<ObjectRef>& out, ObjectRef o) {
  if (std::find(out.begin(), out.end(), o) == out.end()) out.push_back(std::move(o));
}

std::string StringField(const json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> StringList(const json& body, const char* key) {
  std::vector<std::string> out;
  auto it = body.find(key);
  if (it == body.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

json Body(const net::HttpRequest& req) {
  json j = json::parse(req.body, nullptr, false);
  return j.is_discarded() || !j.is_object() ? json::object() : j;
}

// The views a read names: "view:feature" references or a feature service's views.
std::vector<ObjectRef> ReadViews(const Context& c, const json& body) {
  return OnlineReadObjects(*c.registry, c.default_project, StringField(body, "project"),
                           StringField(body, "feature_service"), StringList(body, "features"));
}

net::AccessRule Rule(Role role, bool mutation, const char* action, net::ObjectLocator locate) {
  net::AccessRule r = net::ObjectAccess(role, std::move(locate), mutation);
  if (action) r.action = action;
  return r;
}

// A server-side file named by a historical request: entities.path, entity_df,
// output.path or output as a path.
bool NamesServerFile(const json& body) {
  auto entities = body.find("entities");
  if (entities != body.end() && entities->is_object() && entities->contains("path")) return true;
  if (body.contains("entity_df") && !body["entity_df"].is_null()) return true;
  auto output = body.find("output");
  if (output != body.end()) {
    if (output->is_string()) return true;
    if (output->is_object() && output->contains("path") && !(*output)["path"].is_null()) return true;
  }
  return false;
}

}  // namespace

std::vector<ObjectRef> OnlineReadObjects(features::FeatureRegistry& registry, const std::string& default_project,
                                         const std::string& project, const std::string& service,
                                         const std::vector<std::string>& refs) {
  const std::string requested = project.empty() ? default_project : project;
  std::vector<ObjectRef> out;
  if (!service.empty()) {
    auto resolved = registry.ResolveProject(requested, service);
    if (!resolved.ok()) return {Fallback(requested)};
    auto projections = registry.GetFeatureServiceProjections(*resolved, service);
    if (!projections.ok() || projections->empty()) return {Fallback(*resolved)};
    for (const auto& p : *projections) AddUnique(out, View(*resolved, p.view));
    return out;
  }
  if (refs.empty()) return {Fallback(requested)};
  auto resolved = registry.ResolveProject(requested, refs.front());
  if (!resolved.ok()) return {Fallback(requested)};
  for (const auto& ref : refs) {
    const size_t colon = ref.find(':');
    AddUnique(out, View(*resolved, colon == std::string::npos ? ref : ref.substr(0, colon)));
  }
  return out;
}

void ApplyFeastAccess(net::Router& router, features::FeatureRegistry& registry, features::Materializer& materializer,
                      std::string default_project) {
  auto ctx = std::make_shared<const Context>(Context{&registry, &materializer, std::move(default_project)});
  struct Entry {
    const char* method;
    const char* pattern;
    net::AccessRule rule;
  };
  std::vector<Entry> table = {
      {"POST", "/get-online-features",
       Rule(Role::kViewer, false, nullptr,
            [ctx](const net::HttpRequest& req) -> StatusOr<std::vector<ObjectRef>> { return ReadViews(*ctx, Body(req)); })},
      {"POST", "/write-to-online-store",
       Rule(Role::kEditor, true, "feast.write-to-online-store",
            [ctx](const net::HttpRequest& req) -> StatusOr<std::vector<ObjectRef>> {
              const json body = Body(req);
              const std::string requested = ctx->ProjectOr(StringField(body, "project"));
              const std::string view = StringField(body, "feature_view_name");
              auto project = ctx->registry->ResolveProject(requested, view);
              if (view.empty() || !project.ok()) return std::vector<ObjectRef>{Fallback(requested)};
              return std::vector<ObjectRef>{View(*project, view)};
            })},
      {"POST", "/push",
       Rule(Role::kEditor, true, "feast.push",
            [ctx](const net::HttpRequest& req) -> StatusOr<std::vector<ObjectRef>> {
              const json body = Body(req);
              const std::string requested = ctx->ProjectOr(StringField(body, "project"));
              const std::string source = StringField(body, "push_source_name");
              auto project = ctx->registry->ResolveProject(requested, source);
              if (source.empty() || !project.ok()) return std::vector<ObjectRef>{Fallback(requested)};
              auto views = ctx->registry->ViewsForPushSource(*project, source);
              if (!views.ok() || views->empty()) return std::vector<ObjectRef>{Fallback(*project)};
              std::vector<ObjectRef> out;
              for (const auto& v : *views) AddUnique(out, View(*project, v.name));
              return out;
            })},
  };
  for (const char* path : {"/materialize", "/materialize-incremental"}) {
    table.push_back(
        {"POST", path,
         Rule(Role::kEditor, true, std::string_view(path) == "/materialize" ? "feast.materialize" : "feast.materialize-incremental",
              [ctx](const net::HttpRequest& req) -> StatusOr<std::vector<ObjectRef>> {
                const json body = Body(req);
                const std::string requested = ctx->ProjectOr(StringField(body, "project"));
                const std::vector<std::string> views = StringList(body, "feature_views");
                auto project = ctx->registry->ResolveProject(requested, views.empty() ? "" : views.front());
                if (!project.ok()) return std::vector<ObjectRef>{Fallback(requested)};
                // Every online view of the project.
                if (views.empty()) return std::vector<ObjectRef>{{ObjectKind::kFeatureProject, *project}};
                std::vector<ObjectRef> out;
                for (const auto& v : views) AddUnique(out, View(*project, v));
                return out;
              })});
  }
  table.push_back({"POST", "/api/v1/features/historical",
                   Rule(Role::kViewer, false, nullptr,
                        [ctx](const net::HttpRequest& req) -> StatusOr<std::vector<ObjectRef>> {
                          const json body = Body(req);
                          // Reading or writing the server's own files is server administration.
                          if (req.access && !req.access->principal().admin && NamesServerFile(body)) {
                            return PermissionDenied(
                                "files on the server (entities.path, entity_df, output.path) are for administrators; "
                                "send the entity rows in the request and read the result from the response");
                          }
                          return ReadViews(*ctx, body);
                        })});
  table.push_back({"GET", "/api/v1/features/materialize/jobs", net::AuthenticatedAccess()});
  table.push_back({"GET", "/api/v1/features/materialize/jobs/{id}",
                   Rule(Role::kViewer, false, nullptr,
                        [ctx](const net::HttpRequest& req) -> StatusOr<std::vector<ObjectRef>> {
                          KILN_ASSIGN_OR_RETURN(features::MaterializeProgress p,
                                                ctx->materializer->GetJob(std::string(req.PathParam("id"))));
                          return std::vector<ObjectRef>{{ObjectKind::kFeatureProject, p.project}};
                        })});
  for (auto& e : table) {
    bool found = false;
    for (net::Route* r : router.mutable_routes()) {
      if (r->method != e.method || r->pattern != e.pattern || r->access.kind != net::AccessKind::kUnset) continue;
      r->access = e.rule;
      found = true;
    }
    if (!found) log::Error(std::string("Feast access: no undecided route ") + e.method + " " + e.pattern);
  }
}

}  // namespace kiln::api::feast
