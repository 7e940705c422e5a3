// /api/v1/endpoints: create, list, get, update (a new revision and/or
// settings), delete, :rollback, :promote and the event history. Every
// handler blocks on storage (and create/update on model loading), so all run
// on the worker pool.
#include <algorithm>
#include <optional>
#include <set>

#include "api/platform/endpoint_json.h"
#include "api/platform/routes_internal.h"

namespace kiln::api::platform {
namespace {

using nlohmann::json;

net::HttpResponse ViewResponse(const StatusOr<deploy::EndpointView>& view) {
  if (!view.ok()) return ErrorResponse(view.status());
  return JsonResponse(200, EndpointJson(*view));
}

std::string Name(const net::HttpRequest& req) { return std::string(req.PathParam("name")); }

net::HttpResponse Create(deploy::EndpointService& endpoints, net::HttpRequest& req) {
  auto request = ParseCreateEndpoint(req.body);
  if (!request.ok()) return ErrorResponse(request.status());
  return ViewResponse(endpoints.CreateEndpoint(Actor(req), *request));
}

// With auth on, only the endpoints the caller may view (the list has no
// paging or count that could reveal the others).
net::HttpResponse List(deploy::EndpointService& endpoints, const net::HttpRequest& req) {
  auto views = endpoints.ListEndpoints();
  if (!views.ok()) return ErrorResponse(views.status());
  std::optional<std::set<std::string>> visible;
  if (req.access) {
    if (auto ids = req.access->Visible(ObjectKind::kEndpoint)) visible.emplace(ids->begin(), ids->end());
  }
  json out = json::array();
  for (const auto& v : *views) {
    if (visible && !visible->count(v.record.name)) continue;
    out.push_back(EndpointJson(v));
  }
  return JsonResponse(200, {{"endpoints", std::move(out)}});
}

// A merge patch over the latest revision's spec: a new revision when it
// touches revision fields, a settings change when it touches settings (the
// revision first, so a refused revision changes nothing).
net::HttpResponse Patch(deploy::EndpointService& endpoints, net::HttpRequest& req) {
  const std::string name = Name(req);
  auto current = endpoints.GetEndpoint(name);
  if (!current.ok()) return ErrorResponse(current.status());
  const int64_t latest = current->record.state.latest_revision;
  auto it = std::find_if(current->revisions.begin(), current->revisions.end(),
                         [latest](const storage::EndpointRevision& r) { return r.number == latest; });
  storage::RevisionSpec base = it != current->revisions.end()
                                   ? it->spec
                                   : (current->revisions.empty() ? storage::RevisionSpec() : current->revisions.back().spec);
  auto patch = ParsePatchEndpoint(req.body, name, base, current->record.settings);
  if (!patch.ok()) return ErrorResponse(patch.status());
  const std::string actor = Actor(req);
  StatusOr<deploy::EndpointView> view = std::move(*current);
  if (patch->spec) {
    view = endpoints.UpdateEndpoint(actor, name, *patch->spec);
    if (!view.ok()) return ErrorResponse(view.status());
  }
  if (patch->settings) view = endpoints.UpdateSettings(actor, name, *patch->settings);
  return ViewResponse(view);
}

net::HttpResponse Events(deploy::EndpointService& endpoints, net::HttpRequest& req) {
  auto after = QueryInt(req.QueryValue("after_id"), "after_id", 0, 0, INT64_MAX);
  if (!after.ok()) return ErrorResponse(after.status());
  auto max = QueryInt(req.QueryValue("max_results"), "max_results", 1000, 1, 10000);
  if (!max.ok()) return ErrorResponse(max.status());
  auto events = endpoints.ListEvents(Name(req), *after, *max);
  if (!events.ok()) return ErrorResponse(events.status());
  json out = json::array();
  for (const auto& e : *events) out.push_back(EventJson(e));
  return JsonResponse(200, {{"events", std::move(out)}});
}

}  // namespace

void AddEndpointRoutes(net::Router& router, deploy::EndpointService& endpoints) {
  deploy::EndpointService* svc = &endpoints;
  AddRoute(router, "POST", "/api/v1/endpoints", [svc](net::HttpRequest& req) { return Create(*svc, req); });
  AddRoute(router, "GET", "/api/v1/endpoints", [svc](net::HttpRequest& req) { return List(*svc, req); });
  AddRoute(router, "GET", "/api/v1/endpoints/{name}",
           [svc](net::HttpRequest& req) { return ViewResponse(svc->GetEndpoint(Name(req))); });
  AddRoute(router, "PATCH", "/api/v1/endpoints/{name}", [svc](net::HttpRequest& req) { return Patch(*svc, req); });
  AddRoute(router, "DELETE", "/api/v1/endpoints/{name}", [svc](net::HttpRequest& req) {
    Status s = svc->DeleteEndpoint(Actor(req), Name(req));
    return s.ok() ? JsonResponse(200, json::object()) : ErrorResponse(s);
  });
  AddRoute(router, "POST", "/api/v1/endpoints/{name}:rollback", [svc](net::HttpRequest& req) {
    auto reason = ParseActionBody(req.body);
    if (!reason.ok()) return ErrorResponse(reason.status());
    return ViewResponse(svc->Rollback(Actor(req), Name(req), reason->empty() ? "manual" : *reason));
  });
  AddRoute(router, "POST", "/api/v1/endpoints/{name}:promote", [svc](net::HttpRequest& req) {
    auto reason = ParseActionBody(req.body);
    if (!reason.ok()) return ErrorResponse(reason.status());
    return ViewResponse(svc->Promote(Actor(req), Name(req), reason->empty() ? "manual" : *reason));
  });
  AddRoute(router, "GET", "/api/v1/endpoints/{name}/events", [svc](net::HttpRequest& req) { return Events(*svc, req); });
}

}  // namespace kiln::api::platform
