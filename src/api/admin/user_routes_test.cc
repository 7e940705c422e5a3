// The user, token and whoami routes in process over the real IdentityService
// and Authenticator (SQLite store in a temp dir). Each call does what the
// gate does for these rules: admin routes are refused to non-admins before
// the handler; the handlers check self-or-admin themselves.
#include "api/admin/user_routes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "auth/identity_test_util.h"

namespace kiln::api::admin {
namespace {

using nlohmann::json;

// Only the principal matters to these routes.
class PrincipalScope final : public AccessScope {
 public:
  explicit PrincipalScope(Principal p) : p_(std::move(p)) {}
  const Principal& principal() const override { return p_; }
  Role RoleOn(const ObjectRef&) const override { return p_.admin ? Role::kAdmin : Role::kViewer; }
  std::optional<std::vector<std::string>> Visible(ObjectKind, Role) const override { return std::nullopt; }

 private:
  Principal p_;
};

class UserRoutesTest : public auth::testing::IdentityTest {
 protected:
  void SetUp() override {
    IdentityTest::SetUp();
    authn_ = auth::Authenticator::Create(*ids_, *secret_, nullptr, clock_, auth::AuthenticatorOptions{});
    AddUserRoutes(router_, *service_, *authn_);
    AddUser("root", "root-password-1", true);
    AddUser("alice", "alice-password-1");
  }
  void TearDown() override {
    authn_.reset();
    IdentityTest::TearDown();
  }

  static std::shared_ptr<const AccessScope> As(const std::string& name, bool admin = false) {
    Principal p;
    p.name = name;
    p.admin = admin;
    p.method = "basic";
    return std::make_shared<PrincipalScope>(p);
  }

  net::HttpResponse Call(std::shared_ptr<const AccessScope> scope, const std::string& method, const std::string& path,
                         const std::string& body = "", std::vector<std::pair<std::string, std::string>> query = {}) {
    net::RouteMatch m = router_.Match(method, path);
    EXPECT_NE(m.route, nullptr) << method << " " << path;
    if (!m.route) return net::HttpResponse::Text(599, "");
    net::HttpRequest req;
    req.method = method;
    req.path = path;
    req.body = body;
    req.query = std::move(query);
    req.headers = {{"content-type", "application/json"}};
    req.path_params = m.params;
    req.access = scope;
    if (scope && m.route->access.kind == net::AccessKind::kAdmin && !scope->principal().admin) {
      return m.route->render_error(403, "PERMISSION_DENIED", "admin only");
    }
    return m.route->handler(req);
  }

  net::Router router_;
  std::unique_ptr<auth::Authenticator> authn_;
};

TEST_F(UserRoutesTest, EveryRouteDeclaresItsDecision) {
  int admin = 0, authenticated = 0;
  for (const net::Route* r : router_.routes()) {
    ASSERT_NE(r->access.kind, net::AccessKind::kUnset) << r->method << " " << r->pattern;
    EXPECT_NE(r->access.kind, net::AccessKind::kPublic) << r->method << " " << r->pattern;
    admin += r->access.kind == net::AccessKind::kAdmin;
    authenticated += r->access.kind == net::AccessKind::kAuthenticated;
    if (r->method != "GET") {
      EXPECT_TRUE(r->access.mutation) << r->method << " " << r->pattern;
      EXPECT_EQ(r->access.action.rfind("auth.", 0), 0u) << r->pattern;
      EXPECT_NE(std::find(r->access.secret_fields.begin(), r->access.secret_fields.end(), "password"),
                r->access.secret_fields.end());
    }
  }
  EXPECT_EQ(router_.Find("POST", "/api/2.0/mlflow/users/create")->access.kind, net::AccessKind::kAdmin);
  EXPECT_EQ(router_.Find("PATCH", "/ajax-api/2.0/mlflow/users/update-admin")->access.kind, net::AccessKind::kAdmin);
  EXPECT_EQ(router_.Find("PATCH", "/api/2.0/mlflow/users/update-password")->access.kind,
            net::AccessKind::kAuthenticated);
  EXPECT_GT(admin, 0);
  EXPECT_GT(authenticated, 0);
}

TEST_F(UserRoutesTest, WithAuthOffTheRoutesRefuse) {
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v1/whoami"}, {"GET", "/api/v1/users"}, {"POST", "/api/v1/tokens"},
           {"POST", "/api/2.0/mlflow/users/create"}, {"GET", "/api/2.0/mlflow/users/get"}}) {
    auto r = Call(nullptr, method, path, R"({"username":"x","password":"long-enough-pw"})", {{"username", "x"}});
    EXPECT_EQ(r.status, 400u) << path;
    EXPECT_NE(r.body.find("auth is not enabled"), std::string::npos) << r.body;
  }
}

TEST_F(UserRoutesTest, MlflowShapesAndSelfOrAdmin) {
  auto created = Call(As("root", true), "POST", "/api/2.0/mlflow/users/create",
                      R"({"username":"bob","password":"bob-password-12"})");
  ASSERT_EQ(created.status, 200u) << created.body;
  json user = json::parse(created.body)["user"];
  EXPECT_EQ(user["username"], "bob");
  EXPECT_EQ(user["is_admin"], false);
  EXPECT_TRUE(user["id"].is_number_integer());
  EXPECT_EQ(user.size(), 3u);

  EXPECT_EQ(Call(As("alice"), "GET", "/api/2.0/mlflow/users/get", "", {{"username", "alice"}}).status, 200u);
  auto other = Call(As("alice"), "GET", "/api/2.0/mlflow/users/get", "", {{"username", "bob"}});
  EXPECT_EQ(other.status, 403u);
  EXPECT_EQ(json::parse(other.body)["error_code"], "PERMISSION_DENIED");
  auto missing = Call(As("root", true), "GET", "/api/2.0/mlflow/users/get", "", {{"username", "ghost"}});
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(json::parse(missing.body)["message"], "User with username=ghost not found");
}

TEST_F(UserRoutesTest, PasswordChangeDropsTheCachedCredential) {
  const std::string old_header = BasicHeader("alice", "alice-password-1");
  ASSERT_TRUE(authn_->Authenticate(old_header, "1.2.3.4:5").ok());
  auto r = Call(As("root", true), "PATCH", "/api/2.0/mlflow/users/update-password",
                R"({"username":"alice","password":"alice-password-2"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, "{}");
  EXPECT_EQ(authn_->Authenticate(old_header, "1.2.3.4:5").status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(authn_->Authenticate(BasicHeader("alice", "alice-password-2"), "1.2.3.4:5").ok());
}

TEST_F(UserRoutesTest, TokensOwnOrAdmin) {
  auto r = Call(As("alice"), "POST", "/api/v1/tokens", R"({"name":"ci","expires_in_s":3600})");
  ASSERT_EQ(r.status, 201u) << r.body;
  json t = json::parse(r.body);
  const std::string id = t["token"]["id"];
  EXPECT_EQ(t["secret"].get<std::string>().rfind("kiln_", 0), 0u);
  EXPECT_GT(t["token"]["expires_ms"].get<int64_t>(), 0);
  EXPECT_EQ(Call(As("alice"), "POST", "/api/v1/tokens", R"({"user":"root"})").status, 403u);
  EXPECT_EQ(Call(As("alice"), "GET", "/api/v1/tokens", "", {{"all", "true"}}).status, 403u);
  AddUser("bob", "bob-password-12");
  EXPECT_EQ(Call(As("bob"), "DELETE", "/api/v1/tokens/" + id).status, 404u);
  auto revoked = Call(As("alice"), "DELETE", "/api/v1/tokens/" + id);
  ASSERT_EQ(revoked.status, 200u) << revoked.body;
  EXPECT_GT(json::parse(revoked.body)["token"]["revoked_ms"].get<int64_t>(), 0);
  EXPECT_EQ(json::parse(Call(As("root", true), "GET", "/api/v1/tokens", "", {{"all", "true"}}).body)["tokens"].size(),
            1u);
}

TEST_F(UserRoutesTest, OwnPasswordNeedsTheCurrentOne) {
  auto r = Call(As("alice"), "PATCH", "/api/v1/users/alice", R"({"password":"alice-password-2"})");
  EXPECT_EQ(r.status, 400u);
  r = Call(As("alice"), "PATCH", "/api/v1/users/alice",
           R"({"password":"alice-password-2","current_password":"alice-password-1"})");
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(Call(As("alice"), "PATCH", "/api/v1/users/alice", R"({"admin":true})").status, 403u);
  EXPECT_EQ(Call(As("alice"), "PATCH", "/api/v1/users/root", R"({"password":"root-password-2"})").status, 403u);
}

}  // namespace
}  // namespace kiln::api::admin
