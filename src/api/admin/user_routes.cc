#include "api/admin/user_routes.h"

#include <chrono>

#include "api/admin/user_routes_internal.h"
#include "api/mlflow/mlflow_errors.h"

namespace kiln::api::admin {
namespace users {

using nlohmann::json;

StatusOr<const Principal*> Caller(const net::HttpRequest& req) {
  if (!req.access) {
    return FailedPrecondition(
        "auth is not enabled on this server (start kiln with --auth): users and tokens cannot be managed without it");
  }
  return &req.access->principal();
}

Status SelfOrAdmin(const Principal& caller, const std::string& name) {
  if (caller.admin || caller.name == name) return Status::Ok();
  return PermissionDenied("Permission denied");
}

Status AdminOnly(const Principal& caller) {
  if (caller.admin) return Status::Ok();
  return PermissionDenied("Permission denied: administrators only");
}

StatusOr<json> BodyObject(const std::string& body) {
  if (body.empty()) return json::object();
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return InvalidArgument("the request body must be a JSON object");
  return j;
}

std::string UserSnapshot(auth::IdentityService& identities, const std::string& name) {
  if (name.empty()) return "";
  auto user = identities.GetUser(name);
  if (!user.ok()) return "";
  return json{{"id", user->id},
              {"name", user->name},
              {"service_account", user->service_account},
              {"admin", user->admin},
              {"groups", user->groups},
              {"password_changed_ms", user->password_changed_ms}}
      .dump();
}

void Audited(net::Route& route, std::string action, net::ObjectSnapshot snapshot) {
  route.access.action = std::move(action);
  route.access.secret_fields = {"password", "new_password", "current_password", "token", "secret"};
  route.access.snapshot = std::move(snapshot);
}

}  // namespace users

namespace {

using nlohmann::json;
using users::BodyObject;
using users::Caller;

net::HttpResponse Error(const Status& s) { return mlflow::ErrorResponse(s); }
net::HttpResponse Ok(unsigned status, const json& body) { return net::HttpResponse::Json(status, body.dump()); }

json UserJson(const storage::UserRecord& u) {
  return {{"id", u.id},
          {"name", u.name},
          {"service_account", u.service_account},
          {"admin", u.admin},
          {"groups", u.groups},
          {"created_ms", u.created_ms},
          {"updated_ms", u.updated_ms},
          {"password_changed_ms", u.password_changed_ms}};
}

json TokenJson(const storage::TokenRecord& t) {
  return {{"id", t.id},         {"user", t.user_name},         {"name", t.name},
          {"created_ms", t.created_ms}, {"expires_ms", t.expires_ms}, {"revoked_ms", t.revoked_ms},
          {"last_used_ms", t.last_used_ms}};
}

const char* KindName(Principal::Kind k) {
  switch (k) {
    case Principal::Kind::kUser: return "user";
    case Principal::Kind::kServiceAccount: return "service_account";
    case Principal::Kind::kExternal: return "external";
  }
  return "user";
}

template <typename T>
StatusOr<std::optional<T>> Optional(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::optional<T>();
  if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) return InvalidArgument(std::string("'") + key + "' must be a boolean");
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) return InvalidArgument(std::string("'") + key + "' must be a string");
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (!it->is_number_integer()) return InvalidArgument(std::string("'") + key + "' must be an integer");
  } else {
    if (!it->is_array()) return InvalidArgument(std::string("'") + key + "' must be an array of strings");
    for (const auto& g : *it) {
      if (!g.is_string()) return InvalidArgument(std::string("'") + key + "' must be an array of strings");
    }
  }
  return std::optional<T>(it->get<T>());
}

std::string PathName(const net::HttpRequest& req) { return std::string(req.PathParam("name")); }

net::HttpResponse CreateUser(auth::IdentityService& ids, net::HttpRequest& req) {
  auto caller = Caller(req);
  if (!caller.ok()) return Error(caller.status());
  if (Status s = users::AdminOnly(**caller); !s.ok()) return Error(s);
  auto body = BodyObject(req.body);
  if (!body.ok()) return Error(body.status());
  auto name = Optional<std::string>(*body, "name");
  auto password = Optional<std::string>(*body, "password");
  auto service_account = Optional<bool>(*body, "service_account");
  auto admin = Optional<bool>(*body, "admin");
  auto groups = Optional<std::vector<std::string>>(*body, "groups");
  for (const Status& s : {name.status(), password.status(), service_account.status(), admin.status(), groups.status()}) {
    if (!s.ok()) return Error(s);
  }
  auth::NewUser u;
  u.name = name->value_or("");
  u.password = password->value_or("");
  u.service_account = service_account->value_or(false);
  u.admin = admin->value_or(false);
  u.groups = groups->value_or(std::vector<std::string>{});
  auto created = ids.CreateUser(u);
  if (!created.ok()) return Error(created.status());
  return Ok(201, {{"user", UserJson(*created)}});
}

net::HttpResponse ListUsers(auth::IdentityService& ids, net::HttpRequest& req) {
  auto caller = Caller(req);
  if (!caller.ok()) return Error(caller.status());
  if (Status s = users::AdminOnly(**caller); !s.ok()) return Error(s);
  auto list = ids.ListUsers();
  if (!list.ok()) return Error(list.status());
  json out = json::array();
  for (const auto& u : *list) out.push_back(UserJson(u));
  return Ok(200, {{"users", std::move(out)}});
}

net::HttpResponse GetUser(auth::IdentityService& ids, net::HttpRequest& req) {
  auto caller = Caller(req);
  if (!caller.ok()) return Error(caller.status());
  const std::string name = PathName(req);
  if (Status s = users::SelfOrAdmin(**caller, name); !s.ok()) return Error(s);
  auto user = ids.GetUser(name);
  if (!user.ok()) return Error(user.status());
  return Ok(200, {{"user", UserJson(*user)}});
}

net::HttpResponse PatchUser(auth::IdentityService& ids, auth::Authenticator& authn, net::HttpRequest& req) {
  auto caller = Caller(req);
  if (!caller.ok()) return Error(caller.status());
  const Principal& who = **caller;
  const std::string name = PathName(req);
  if (Status s = users::SelfOrAdmin(who, name); !s.ok()) return Error(s);
  auto body = BodyObject(req.body);
  if (!body.ok()) return Error(body.status());
  for (const auto& [key, value] : body->items()) {
    if (key != "password" && key != "current_password" && key != "admin" && key != "groups") {
      return Error(InvalidArgument("unknown field '" + key + "' (password, current_password, admin, groups)"));
    }
  }
  auto password = Optional<std::string>(*body, "password");
  auto current = Optional<std::string>(*body, "current_password");
  auto admin = Optional<bool>(*body, "admin");
  auto groups = Optional<std::vector<std::string>>(*body, "groups");
  for (const Status& s : {password.status(), current.status(), admin.status(), groups.status()}) {
    if (!s.ok()) return Error(s);
  }
  if ((admin->has_value() || groups->has_value()) && !who.admin) {
    return Error(PermissionDenied("Permission denied: only administrators change 'admin' and 'groups'"));
  }
  auto user = ids.GetUser(name);
  if (!user.ok()) return Error(user.status());
  if (password->has_value()) {
    // Changing one's own password proves the old one, so a stolen token or an
    // unattended session cannot take the account over.
    if (who.name == name) {
      if (!current->has_value()) {
        return Error(InvalidArgument("current_password is required when changing your own password"));
      }
      auto matches = ids.CheckPassword(name, **current);
      if (!matches.ok()) return Error(matches.status());
      if (!*matches) return Error(InvalidArgument("current_password does not match"));
    }
    if (Status s = ids.SetPassword(name, **password); !s.ok()) return Error(s);
  }
  if (groups->has_value()) {
    if (Status s = ids.SetGroups(name, **groups); !s.ok()) return Error(s);
  }
  if (admin->has_value()) {
    if (Status s = ids.SetAdmin(name, **admin); !s.ok()) return Error(s);
  }
  authn.Invalidate(name);
  auto updated = ids.GetUser(name);
  if (!updated.ok()) return Error(updated.status());
  return Ok(200, {{"user", UserJson(*updated)}});
}

net::HttpResponse DeleteUser(auth::IdentityService& ids, auth::Authenticator& authn, net::HttpRequest& req) {
  auto caller = Caller(req);
  if (!caller.ok()) return Error(caller.status());
  if (Status s = users::AdminOnly(**caller); !s.ok()) return Error(s);
  const std::string name = PathName(req);
  if (name == (*caller)->name) {
    return Error(InvalidArgument("you cannot delete your own account: ask another admin"));
  }
  if (Status s = ids.DeleteUser(name); !s.ok()) return Error(s);
  authn.Invalidate(name);
  return Ok(200, json::object());
}

net::HttpResponse CreateToken(auth::IdentityService& ids, net::HttpRequest& req) {
  auto caller = Caller(req);
  if (!caller.ok()) return Error(caller.status());
  const Principal& who = **caller;
  auto body = BodyObject(req.body);
  if (!body.ok()) return Error(body.status());
  auto user = Optional<std::string>(*body, "user");
  auto name = Optional<std::string>(*body, "name");
  auto expires_in = Optional<int64_t>(*body, "expires_in_s");
  auto expires_at = Optional<int64_t>(*body, "expires_ms");
  for (const Status& s : {user.status(), name.status(), expires_in.status(), expires_at.status()}) {
    if (!s.ok()) return Error(s);
  }
  auth::NewToken t;
  t.user_name = user->value_or(who.name);
  t.name = name->value_or("");
  if (t.user_name != who.name && !who.admin) {
    return Error(PermissionDenied("Permission denied: only administrators create tokens for other users"));
  }
  if (t.user_name == who.name && who.kind == Principal::Kind::kExternal) {
    return Error(InvalidArgument("'" + who.name + "' signed in through OIDC and has no kiln user: "
                                 "use the identity provider's tokens"));
  }
  if (expires_in->has_value() && expires_at->has_value()) {
    return Error(InvalidArgument("give expires_in_s or expires_ms, not both"));
  }
  if (expires_in->has_value()) {
    if (**expires_in <= 0) return Error(InvalidArgument("expires_in_s must be positive"));
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    t.expires_ms = now + **expires_in * 1000;
  } else if (expires_at->has_value()) {
    t.expires_ms = **expires_at;
  }
  auto created = ids.CreateToken(t);
  if (!created.ok()) return Error(created.status());
  return Ok(201, {{"token", TokenJson(created->record)}, {"secret", created->secret}});
}

net::HttpResponse ListTokens(auth::IdentityService& ids, net::HttpRequest& req) {
  auto caller = Caller(req);
  if (!caller.ok()) return Error(caller.status());
  const Principal& who = **caller;
  std::string user = std::string(req.QueryValue("user"));
  const bool all = req.QueryValue("all") == "true";
  if ((all || (!user.empty() && user != who.name)) && !who.admin) {
    return Error(PermissionDenied("Permission denied: only administrators list other users' tokens"));
  }
  if (all && !user.empty()) return Error(InvalidArgument("give user or all, not both"));
  if (!all && user.empty()) user = who.name;
  auto list = ids.ListTokens(all ? "" : user);
  if (!list.ok()) return Error(list.status());
  json out = json::array();
  for (const auto& t : *list) out.push_back(TokenJson(t));
  return Ok(200, {{"tokens", std::move(out)}});
}

net::HttpResponse RevokeToken(auth::IdentityService& ids, auth::Authenticator& authn, net::HttpRequest& req) {
  auto caller = Caller(req);
  if (!caller.ok()) return Error(caller.status());
  const Principal& who = **caller;
  const std::string id = std::string(req.PathParam("id"));
  auto token = ids.GetToken(id);
  // Someone else's token id answers like an unknown one: ids are not secret,
  // but nothing is gained by confirming them.
  if (!token.ok() || (!who.admin && token->user_name != who.name)) {
    return Error(token.ok() ? NotFound("token '" + id + "' does not exist") : token.status());
  }
  auto revoked = ids.RevokeToken(id);
  if (!revoked.ok()) return Error(revoked.status());
  authn.Invalidate(revoked->user_name);
  return Ok(200, {{"token", TokenJson(*revoked)}});
}

net::HttpResponse WhoAmI(net::HttpRequest& req) {
  auto caller = Caller(req);
  if (!caller.ok()) return Error(caller.status());
  const Principal& p = **caller;
  json out = {{"name", p.name},
              {"kind", KindName(p.kind)},
              {"admin", p.admin},
              {"groups", p.groups},
              {"method", p.method},
              {"global_role", RoleName(p.global_role)}};
  if (!p.credential_id.empty()) out["credential_id"] = p.credential_id;
  if (!p.impersonated_by.empty()) out["impersonated_by"] = p.impersonated_by;
  return Ok(200, out);
}

net::Route& Add(net::Router& router, const std::string& method, const std::string& pattern, net::Handler handler,
                net::AccessRule access) {
  net::Route& r = router.Add(method, pattern, std::move(handler));
  r.render_error = mlflow::RenderHttpLayerError;
  r.access = std::move(access);
  return r;
}

}  // namespace

void AddUserRoutes(net::Router& router, auth::IdentityService& identities, auth::Authenticator& authenticator) {
  auth::IdentityService* ids = &identities;
  auth::Authenticator* authn = &authenticator;
  auto path_user = [ids](const net::HttpRequest& req) { return users::UserSnapshot(*ids, PathName(req)); };
  auto body_user = [ids](const net::HttpRequest& req) {
    auto body = BodyObject(req.body);
    if (!body.ok() || !body->contains("name") || !(*body)["name"].is_string()) return std::string();
    return users::UserSnapshot(*ids, (*body)["name"].get<std::string>());
  };

  users::Audited(Add(router, "POST", "/api/v1/users", [ids](net::HttpRequest& req) { return CreateUser(*ids, req); },
                     net::AdminAccess(true)),
                 "auth.users.create", body_user);
  Add(router, "GET", "/api/v1/users", [ids](net::HttpRequest& req) { return ListUsers(*ids, req); },
      net::AdminAccess(false));
  Add(router, "GET", "/api/v1/users/{name}", [ids](net::HttpRequest& req) { return GetUser(*ids, req); },
      net::AuthenticatedAccess(false));
  users::Audited(Add(router, "PATCH", "/api/v1/users/{name}",
                     [ids, authn](net::HttpRequest& req) { return PatchUser(*ids, *authn, req); },
                     net::AuthenticatedAccess(true)),
                 "auth.users.update", path_user);
  users::Audited(Add(router, "DELETE", "/api/v1/users/{name}",
                     [ids, authn](net::HttpRequest& req) { return DeleteUser(*ids, *authn, req); },
                     net::AdminAccess(true)),
                 "auth.users.delete", path_user);

  users::Audited(Add(router, "POST", "/api/v1/tokens", [ids](net::HttpRequest& req) { return CreateToken(*ids, req); },
                     net::AuthenticatedAccess(true)),
                 "auth.tokens.create", nullptr);
  Add(router, "GET", "/api/v1/tokens", [ids](net::HttpRequest& req) { return ListTokens(*ids, req); },
      net::AuthenticatedAccess(false));
  users::Audited(Add(router, "DELETE", "/api/v1/tokens/{id}",
                     [ids, authn](net::HttpRequest& req) { return RevokeToken(*ids, *authn, req); },
                     net::AuthenticatedAccess(true)),
                 "auth.tokens.revoke", [ids](const net::HttpRequest& req) -> std::string {
                   auto t = ids->GetToken(std::string(req.PathParam("id")));
                   return t.ok() ? TokenJson(*t).dump() : std::string();
                 });
  Add(router, "GET", "/api/v1/whoami", [](net::HttpRequest& req) { return WhoAmI(req); },
      net::AuthenticatedAccess(false));

  users::AddMlflowUserRoutes(router, identities, authenticator);
}

}  // namespace kiln::api::admin
