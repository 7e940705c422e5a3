// /api/v1/grants. Every handler reads or writes the identity store, so all
// run on the worker pool. The gate checks manager on the grant's object
// (its locators read the body or the stored grant); the handlers add what
// one role on one object cannot express: the global scope and the admin
// role are for administrators only.
#include "api/admin/grant_routes.h"

#include "api/kiln_errors.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include <nlohmann/json.hpp>

namespace kiln::api::admin {
namespace {

using nlohmann::json;

constexpr int64_t kDefaultPage = 100;
constexpr int64_t kMaxPage = 1000;

json GrantJson(const storage::GrantRecord& g) {
  return {{"id", g.id},
          {"subject_kind", g.subject_kind},
          {"subject", g.subject},
          {"object_kind", g.object_kind},
          {"object_id", g.object_id},
          {"role", g.role},
          {"created_by", g.created_by},
          {"created_ms", g.created_ms}};
}

struct GrantRequest {
  storage::GrantRecord grant;  // kind names normalized
  ObjectRef object;
  Role role = Role::kNone;
};

StatusOr<GrantRequest> ParseGrantRequest(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("the request body is not a valid JSON object");
  static const char* kFields[] = {"subject_kind", "subject", "object_kind", "object_id", "role"};
  for (const auto& [key, value] : j.items()) {
    if (std::find(std::begin(kFields), std::end(kFields), key) == std::end(kFields)) {
      return InvalidArgument("unknown field '" + key + "' (expected subject_kind, subject, object_kind, object_id, role)");
    }
    if (!value.is_string()) return InvalidArgument("field '" + key + "' must be a string");
  }
  auto str = [&j](const char* key) { return j.contains(key) ? j[key].get<std::string>() : std::string(); };
  GrantRequest r;
  r.grant.subject_kind = str("subject_kind");
  r.grant.subject = str("subject");
  r.grant.object_id = str("object_id");
  const std::string kind_name = str("object_kind");
  const std::string role_name = str("role");
  if (r.grant.subject_kind.empty()) return InvalidArgument("subject_kind is required ('user' or 'group')");
  if (r.grant.subject.empty()) return InvalidArgument("subject is required");
  if (kind_name.empty()) return InvalidArgument("object_kind is required");
  if (role_name.empty()) return InvalidArgument("role is required (viewer, editor, manager, admin or none)");
  auto kind = ParseObjectKind(kind_name);
  if (!kind) {
    return InvalidArgument("object_kind must be one of global, experiment, registered_model, feature_project, "
                           "feature_view, endpoint (got '" + kind_name + "')");
  }
  auto role = ParseRole(role_name);
  if (!role) return InvalidArgument("role must be viewer, editor, manager, admin or none (got '" + role_name + "')");
  if (*kind != ObjectKind::kGlobal && r.grant.object_id.empty()) {
    return InvalidArgument("object_id is required for " + kind_name);
  }
  if (*kind == ObjectKind::kGlobal && !r.grant.object_id.empty()) {
    return InvalidArgument("a global grant names no object_id");
  }
  r.grant.object_kind = ObjectKindName(*kind);
  r.grant.role = RoleName(*role);
  r.object = ObjectRef{*kind, r.grant.object_id};
  r.role = *role;
  return r;
}

StatusOr<int64_t> ParseId(std::string_view text) {
  int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) {
    return InvalidArgument("grant id must be a positive integer (got '" + std::string(text) + "')");
  }
  return id;
}

StatusOr<ObjectRef> ObjectOf(const storage::GrantRecord& g) {
  auto kind = ParseObjectKind(g.object_kind);
  if (!kind) return Internal("grant " + std::to_string(g.id) + " names an unknown object kind '" + g.object_kind + "'");
  return ObjectRef{*kind, g.object_id};
}

// What one role on one object cannot say: the global scope and the admin
// role belong to administrators. The gate has already required manager on
// the object; this re-checks it so the rule holds without the gate too.
Status MayChange(const AccessScope* scope, const ObjectRef& object, Role role) {
  if (scope == nullptr) return Status::Ok();  // auth off
  if (scope->principal().admin) return Status::Ok();
  if (object.kind == ObjectKind::kGlobal) return PermissionDenied("only administrators change grants on the global scope");
  if (role == Role::kAdmin) return PermissionDenied("only administrators grant or revoke the admin role");
  const Role has = scope->RoleOn(object);
  if (has < Role::kManager) {
    return PermissionDenied("requires manager on " + object.ToString() + " to change its grants, has " +
                            RoleName(has));
  }
  return Status::Ok();
}

bool MaySee(const AccessScope* scope, const storage::GrantRecord& g) {
  if (scope == nullptr) return true;
  const Principal& p = scope->principal();
  if (p.admin) return true;
  if (g.subject_kind == "user" && g.subject == p.name) return true;
  if (g.subject_kind == "group" && std::find(p.groups.begin(), p.groups.end(), g.subject) != p.groups.end()) {
    return true;
  }
  auto object = ObjectOf(g);
  return object.ok() && scope->RoleOn(*object) >= Role::kManager;
}

std::string Creator(const net::HttpRequest& req) {
  if (req.access) return req.access->principal().name;
  std::string_view actor = req.Header("x-kiln-actor");
  return actor.empty() ? "anonymous" : std::string(actor.substr(0, 256));
}

// The stored grant of the request's (subject, object) pair, if any.
StatusOr<std::optional<storage::GrantRecord>> Existing(auth::Authorizer& authz, const storage::GrantRecord& g) {
  storage::GrantQuery q{g.subject_kind, g.subject, g.object_kind, g.object_id, std::numeric_limits<int64_t>::max(), 0};
  KILN_ASSIGN_OR_RETURN(auto found, authz.List(q));
  for (const auto& e : found) {
    if (e.subject_kind == g.subject_kind && e.subject == g.subject && e.object_kind == g.object_kind &&
        e.object_id == g.object_id) {
      return std::optional<storage::GrantRecord>(e);
    }
  }
  return std::optional<storage::GrantRecord>();
}

net::HttpResponse Create(auth::Authorizer& authz, net::HttpRequest& req) {
  auto parsed = ParseGrantRequest(req.body);
  if (!parsed.ok()) return KilnErrorResponse(parsed.status());
  if (Status s = MayChange(req.access.get(), parsed->object, parsed->role); !s.ok()) return KilnErrorResponse(s);
  if (parsed->role == Role::kNone) {
    auto existing = Existing(authz, parsed->grant);
    if (!existing.ok()) return KilnErrorResponse(existing.status());
    if (!existing->has_value()) return KilnJsonResponse(200, {{"removed", nullptr}});
    if (Status s = authz.Revoke((*existing)->id); !s.ok()) return KilnErrorResponse(s);
    return KilnJsonResponse(200, {{"removed", GrantJson(**existing)}});
  }
  storage::GrantRecord g = parsed->grant;
  g.created_by = Creator(req);
  auto granted = authz.Grant(g);
  if (!granted.ok()) return KilnErrorResponse(granted.status());
  return KilnJsonResponse(200, {{"grant", GrantJson(*granted)}});
}

net::HttpResponse List(auth::Authorizer& authz, net::HttpRequest& req) {
  storage::GrantQuery q;
  q.subject_kind = std::string(req.QueryValue("subject_kind"));
  q.subject = std::string(req.QueryValue("subject"));
  q.object_id = std::string(req.QueryValue("object_id"));
  if (!q.subject_kind.empty() && q.subject_kind != "user" && q.subject_kind != "group") {
    return KilnErrorResponse(InvalidArgument("subject_kind must be 'user' or 'group' (got '" + q.subject_kind + "')"));
  }
  if (std::string_view kind = req.QueryValue("object_kind"); !kind.empty()) {
    auto k = ParseObjectKind(kind);
    if (!k) return KilnErrorResponse(InvalidArgument("unknown object_kind '" + std::string(kind) + "'"));
    q.object_kind = ObjectKindName(*k);
  }
  int64_t max = kDefaultPage;
  if (std::string_view m = req.QueryValue("max_results"); !m.empty()) {
    auto [end, ec] = std::from_chars(m.data(), m.data() + m.size(), max);
    if (ec != std::errc() || end != m.data() + m.size() || max < 1 || max > kMaxPage) {
      return KilnErrorResponse(InvalidArgument("max_results must be an integer from 1 to " + std::to_string(kMaxPage)));
    }
  }
  int64_t offset = 0;
  if (std::string_view t = req.QueryValue("page_token"); !t.empty()) {
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), offset);
    if (ec != std::errc() || end != t.data() + t.size() || offset < 0) {
      return KilnErrorResponse(InvalidArgument("invalid page_token"));
    }
  }
  // The store filters by the query; what the caller may see is decided
  // before paging, so offsets count visible grants only.
  q.max_results = std::numeric_limits<int64_t>::max();
  auto all = authz.List(q);
  if (!all.ok()) return KilnErrorResponse(all.status());
  const AccessScope* scope = req.access.get();
  json out = json::array();
  int64_t seen = 0;
  bool more = false;
  for (const auto& g : *all) {
    if (!MaySee(scope, g)) continue;
    if (seen++ < offset) continue;
    if (static_cast<int64_t>(out.size()) == max) {
      more = true;
      break;
    }
    out.push_back(GrantJson(g));
  }
  json body = {{"grants", std::move(out)}};
  if (more) body["next_page_token"] = std::to_string(offset + max);
  return KilnJsonResponse(200, body);
}

net::HttpResponse Delete(auth::Authorizer& authz, net::HttpRequest& req) {
  auto id = ParseId(req.PathParam("id"));
  if (!id.ok()) return KilnErrorResponse(id.status());
  auto g = authz.Get(*id);
  if (!g.ok()) return KilnErrorResponse(g.status());
  auto object = ObjectOf(*g);
  if (!object.ok()) return KilnErrorResponse(object.status());
  auto role = ParseRole(g->role);
  if (Status s = MayChange(req.access.get(), *object, role.value_or(Role::kAdmin)); !s.ok()) return KilnErrorResponse(s);
  if (Status s = authz.Revoke(*id); !s.ok()) return KilnErrorResponse(s);
  return KilnJsonResponse(200, {{"removed", GrantJson(*g)}});
}

}  // namespace

void AddGrantRoutes(net::Router& router, auth::Authorizer& authorizer) {
  auth::Authorizer* authz = &authorizer;

  net::Route& create = router.Add("POST", "/api/v1/grants", [authz](net::HttpRequest& req) { return Create(*authz, req); });
  create.render_error = KilnRenderError;
  create.access = net::ObjectAccess(
      Role::kManager,
      [](const net::HttpRequest& req) -> StatusOr<std::vector<ObjectRef>> {
        KILN_ASSIGN_OR_RETURN(GrantRequest r, ParseGrantRequest(req.body));
        return std::vector<ObjectRef>{r.object};
      },
      /*mutation=*/true);
  create.access.action = "auth.grants.create";
  create.access.snapshot = [authz](const net::HttpRequest& req) -> std::string {
    auto r = ParseGrantRequest(req.body);
    if (!r.ok()) return "";
    auto existing = Existing(*authz, r->grant);
    if (!existing.ok() || !existing->has_value()) return "";
    return GrantJson(**existing).dump();
  };

  net::Route& list = router.Add("GET", "/api/v1/grants", [authz](net::HttpRequest& req) { return List(*authz, req); });
  list.render_error = KilnRenderError;
  list.access = net::AuthenticatedAccess(/*mutation=*/false);

  net::Route& del =
      router.Add("DELETE", "/api/v1/grants/{id}", [authz](net::HttpRequest& req) { return Delete(*authz, req); });
  del.render_error = KilnRenderError;
  del.access = net::ObjectAccess(
      Role::kManager,
      [authz](const net::HttpRequest& req) -> StatusOr<std::vector<ObjectRef>> {
        KILN_ASSIGN_OR_RETURN(int64_t id, ParseId(req.PathParam("id")));
        KILN_ASSIGN_OR_RETURN(storage::GrantRecord g, authz->Get(id));
        KILN_ASSIGN_OR_RETURN(ObjectRef o, ObjectOf(g));
        return std::vector<ObjectRef>{o};
      },
      /*mutation=*/true);
  del.access.action = "auth.grants.delete";
  del.access.snapshot = [authz](const net::HttpRequest& req) -> std::string {
    auto id = ParseId(req.PathParam("id"));
    if (!id.ok()) return "";
    auto g = authz->Get(*id);
    return g.ok() ? GrantJson(*g).dump() : std::string();
  };
}

}  // namespace kiln::api::admin
