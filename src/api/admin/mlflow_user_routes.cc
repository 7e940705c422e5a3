// MLflow's user endpoints (mlflow/server/auth/__init__.py in 3.17.2): the same
// paths under /api/2.0 and /ajax-api/2.0, parameters from the query (GET),
// the JSON body (POST, PATCH) or either (DELETE), users as
// {"id", "username", "is_admin"}, and MLflow's error JSON and messages.
#include <cctype>
#include <string>

#include "api/admin/user_routes_internal.h"
#include "api/mlflow/mlflow_errors.h"

namespace kiln::api::admin::users {
namespace {

using nlohmann::json;

net::HttpResponse Error(const Status& s) { return mlflow::ErrorResponse(s); }
net::HttpResponse Empty() { return mlflow::JsonOk("{}"); }

json MlflowUser(const storage::UserRecord& u) { return {{"id", u.id}, {"username", u.name}, {"is_admin", u.admin}}; }

// MLflow words the store's errors about users its own way.
Status MlflowStatus(const Status& s, const std::string& username) {
  if (s.code() == StatusCode::kNotFound) return NotFound("User with username=" + username + " not found");
  if (s.code() == StatusCode::kAlreadyExists) return AlreadyExists("User (username=" + username + ") already exists.");
  return s;
}

bool IsJson(const net::HttpRequest& req) { return req.Header("content-type").find("json") != std::string_view::npos; }

// _get_request_param: GET reads the query, POST/PATCH the JSON body, DELETE
// the JSON body when it is JSON and the query otherwise.
class Params {
 public:
  explicit Params(const net::HttpRequest& req) : req_(req) {
    use_body_ = req.method == "POST" || req.method == "PATCH" || (req.method == "DELETE" && IsJson(req));
    if (use_body_) {
      json j = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
      if (j.is_object()) body_ = std::move(j);  // null or non-object bodies read as {} (MLflow coerces them)
    }
  }

  StatusOr<json> Get(const std::string& name) const {
    if (use_body_) {
      auto it = body_.find(name);
      if (it != body_.end()) return *it;
    } else if (req_.HasQuery(name)) {
      return json(std::string(req_.QueryValue(name)));
    }
    return InvalidArgument("Missing value for required parameter '" + name +
                           "'. See the API docs for more information about request parameters.");
  }

  StatusOr<std::string> String(const std::string& name) const {
    KILN_ASSIGN_OR_RETURN(json v, Get(name));
    if (!v.is_string()) return InvalidArgument("Invalid value for parameter '" + name + "': must be a string");
    return v.get<std::string>();
  }

  const json& body() const { return body_; }

 private:
  const net::HttpRequest& req_;
  bool use_body_ = false;
  json body_ = json::object();
};

StatusOr<bool> Boolean(const json& v, const std::string& name) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return InvalidArgument("Invalid value for parameter '" + name + "': must be a boolean");
}

net::HttpResponse Create(auth::IdentityService& ids, net::HttpRequest& req) {
  auto caller = Caller(req);
  if (!caller.ok()) return Error(caller.status());
  if (Status s = AdminOnly(**caller); !s.ok()) return Error(s);
  if (!IsJson(req)) return Error(InvalidArgument("Invalid content type. Must be application/json"));
  Params p(req);
  auto username = p.String("username");
  if (!username.ok()) return Error(username.status());
  auto password = p.String("password");
  if (!password.ok()) return Error(password.status());
  if (username->empty() || password->empty()) return Error(InvalidArgument("Username and password cannot be empty."));
  auth::NewUser u;
  u.name = *username;
  u.password = *password;
  auto created = ids.CreateUser(u);
  if (!created.ok()) return Error(MlflowStatus(created.status(), *username));
  return mlflow::JsonOk(json{{"user", MlflowUser(*created)}}.dump());
}

net::HttpResponse Get(auth::IdentityService& ids, net::HttpRequest& req) {
  auto caller = Caller(req);
  if (!caller.ok()) return Error(caller.status());
  auto username = Params(req).String("username");
  if (!username.ok()) return Error(username.status());
  if (Status s = SelfOrAdmin(**caller, *username); !s.ok()) return Error(s);
  auto user = ids.GetUser(*username);
  if (!user.ok()) return Error(MlflowStatus(user.status(), *username));
  return mlflow::JsonOk(json{{"user", MlflowUser(*user)}}.dump());
}

net::HttpResponse Current(auth::IdentityService& ids, net::HttpRequest& req) {
  // MLflow's web UI asks on every page; a server without MLflow's auth app
  // has no such route, and the UI reads the bare 404 as "no signed-in user".
  if (req.access == nullptr) {
    net::HttpResponse none;
    none.status = 404;
    none.content_type = "text/plain";
    return none;
  }
  auto caller = Caller(req);
  if (!caller.ok()) return Error(caller.status());
  const Principal& who = **caller;
  json user = {{"username", who.name}, {"is_admin", who.admin}};
  // OIDC principals have no stored user, hence no id.
  if (who.kind != Principal::Kind::kExternal) {
    auto stored = ids.GetUser(who.name);
    if (!stored.ok()) return Error(MlflowStatus(stored.status(), who.name));
    user = MlflowUser(*stored);
  }
  return mlflow::JsonOk(json{{"user", user}, {"is_basic_auth", who.method == "basic"}}.dump());
}

net::HttpResponse List(auth::IdentityService& ids, net::HttpRequest& req) {
  auto caller = Caller(req);
  if (!caller.ok()) return Error(caller.status());
  if (Status s = AdminOnly(**caller); !s.ok()) return Error(s);
  auto list = ids.ListUsers();
  if (!list.ok()) return Error(list.status());
  json out = json::array();
  for (const auto& u : *list) {
    json j = MlflowUser(u);
    j["roles"] = json::array();  // kiln has grants (/api/v1/grants), not MLflow's RBAC roles
    out.push_back(std::move(j));
  }
  return mlflow::JsonOk(json{{"users", std::move(out)}}.dump());
}

net::HttpResponse UpdatePassword(auth::IdentityService& ids, auth::Authenticator& authn, net::HttpRequest& req) {
  auto caller = Caller(req);
  if (!caller.ok()) return Error(caller.status());
  Params p(req);
  auto username = p.String("username");
  if (!username.ok()) return Error(username.status());
  if (Status s = SelfOrAdmin(**caller, *username); !s.ok()) return Error(s);
  auto password = p.String("password");
  if (!password.ok()) return Error(password.status());
  if ((*caller)->name == *username) {
    // MLflow 3.17's self-service rule: re-assert the current password.
    auto it = p.body().find("current_password");
    if (it == p.body().end() || !it->is_string() || it->get<std::string>().empty()) {
      return Error(InvalidArgument("Current password is required when changing your own password."));
    }
    const std::string current = it->get<std::string>();
    auto matches = ids.CheckPassword(*username, current);
    if (!matches.ok()) return Error(MlflowStatus(matches.status(), *username));
    if (!*matches) return Error(InvalidArgument("Current password does not match."));
    if (*password == current) return Error(InvalidArgument("New password must differ from the current password."));
  }
  if (Status s = ids.SetPassword(*username, *password); !s.ok()) return Error(MlflowStatus(s, *username));
  authn.Invalidate(*username);
  return Empty();
}

net::HttpResponse UpdateAdmin(auth::IdentityService& ids, auth::Authenticator& authn, net::HttpRequest& req) {
  auto caller = Caller(req);
  if (!caller.ok()) return Error(caller.status());
  if (Status s = AdminOnly(**caller); !s.ok()) return Error(s);
  Params p(req);
  auto username = p.String("username");
  if (!username.ok()) return Error(username.status());
  auto raw = p.Get("is_admin");
  if (!raw.ok()) return Error(raw.status());
  auto is_admin = Boolean(*raw, "is_admin");
  if (!is_admin.ok()) return Error(is_admin.status());
  if (Status s = ids.SetAdmin(*username, *is_admin); !s.ok()) return Error(MlflowStatus(s, *username));
  authn.Invalidate(*username);
  return Empty();
}

net::HttpResponse Delete(auth::IdentityService& ids, auth::Authenticator& authn, net::HttpRequest& req) {
  auto caller = Caller(req);
  if (!caller.ok()) return Error(caller.status());
  if (Status s = AdminOnly(**caller); !s.ok()) return Error(s);
  auto username = Params(req).String("username");
  if (!username.ok()) return Error(username.status());
  if (*username == (*caller)->name) {
    return mlflow::RenderHttpLayerError(
        400, "BAD_REQUEST", "Users cannot delete their own account. Ask another admin to delete this user instead.");
  }
  if (Status s = ids.DeleteUser(*username); !s.ok()) return Error(MlflowStatus(s, *username));
  authn.Invalidate(*username);
  return Empty();
}

std::string UsernameOf(const net::HttpRequest& req) {
  auto name = Params(req).String("username");
  return name.ok() ? *name : std::string();
}

}  // namespace

void AddMlflowUserRoutes(net::Router& router, auth::IdentityService& identities, auth::Authenticator& authenticator) {
  auth::IdentityService* ids = &identities;
  auth::Authenticator* authn = &authenticator;
  auto snapshot = [ids](const net::HttpRequest& req) { return UserSnapshot(*ids, UsernameOf(req)); };
  for (const std::string prefix : {"/api/2.0/mlflow/users/", "/ajax-api/2.0/mlflow/users/"}) {
    auto add = [&](const char* method, const char* verb, net::Handler handler, net::AccessRule access) -> net::Route& {
      net::Route& r = router.Add(method, prefix + verb, std::move(handler));
      r.render_error = mlflow::RenderHttpLayerError;
      r.access = std::move(access);
      return r;
    };
    Audited(add("POST", "create", [ids](net::HttpRequest& req) { return Create(*ids, req); }, net::AdminAccess(true)),
            "auth.users.create", snapshot);
    add("GET", "get", [ids](net::HttpRequest& req) { return Get(*ids, req); }, net::AuthenticatedAccess(false));
    add("GET", "current", [ids](net::HttpRequest& req) { return Current(*ids, req); },
        net::AuthenticatedAccess(false));
    add("GET", "list", [ids](net::HttpRequest& req) { return List(*ids, req); }, net::AdminAccess(false));
    Audited(add("PATCH", "update-password",
                [ids, authn](net::HttpRequest& req) { return UpdatePassword(*ids, *authn, req); },
                net::AuthenticatedAccess(true)),
            "auth.users.update-password", snapshot);
    Audited(add("PATCH", "update-admin", [ids, authn](net::HttpRequest& req) { return UpdateAdmin(*ids, *authn, req); },
                net::AdminAccess(true)),
            "auth.users.update-admin", snapshot);
    Audited(add("DELETE", "delete", [ids, authn](net::HttpRequest& req) { return Delete(*ids, *authn, req); },
                net::AdminAccess(true)),
            "auth.users.delete", snapshot);
  }
}

}  // namespace kiln::api::admin::users
