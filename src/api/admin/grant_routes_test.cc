// The grant routes in process over the real Authorizer (identity store: the
// in-memory test double). Each call does what the gate does before the
// handler: authorize the route's rule on the objects its locator finds.
#include "api/admin/grant_routes.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "auth/memory_identity_store_test_util.h"

namespace kiln::api::admin {
namespace {

using nlohmann::json;

class GrantRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth::AuthorizerOptions options;
    options.default_role = Role::kNone;
    auto a = auth::Authorizer::Create(store_, options);
    ASSERT_TRUE(a.ok());
    authz_ = std::move(*a);
    AddGrantRoutes(router_, *authz_);
  }

  std::shared_ptr<const AccessScope> Scope(std::string name, bool admin = false,
                                           std::vector<std::string> groups = {}) {
    auto p = std::make_shared<Principal>();
    p->name = std::move(name);
    p->admin = admin;
    p->groups = std::move(groups);
    return authz_->Scope(p);
  }

  // Null scope: auth off.
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
    req.path_params = m.params;
    req.access = scope;
    const net::AccessRule& rule = m.route->access;
    EXPECT_NE(rule.kind, net::AccessKind::kUnset);
    if (scope && rule.kind == net::AccessKind::kObject) {
      auto objects = rule.locate(req);
      if (!objects.ok()) return m.route->render_error(objects.status().code() == StatusCode::kNotFound ? 404 : 400,
                                                      "X", objects.status().message());
      auth::Decision d = authz_->Decide(*scope, *objects, rule.role);
      if (!d.allowed) return m.route->render_error(403, "PERMISSION_DENIED", d.reason);
    }
    return m.route->handler(req);
  }

  static json Body(const net::HttpResponse& res) { return json::parse(res.body, nullptr, false); }

  static std::string GrantBody(const std::string& kind, const std::string& subject, const std::string& object_kind,
                               const std::string& object_id, const std::string& role) {
    json j = {{"subject_kind", kind}, {"subject", subject}, {"object_kind", object_kind}, {"role", role}};
    if (!object_id.empty()) j["object_id"] = object_id;
    return j.dump();
  }

  auth::testing::MemoryIdentityStore store_;
  std::unique_ptr<auth::Authorizer> authz_;
  net::Router router_;
};

TEST_F(GrantRoutesTest, EveryRouteDeclaresItsAccess) {
  for (const net::Route* r : router_.routes()) {
    EXPECT_NE(r->access.kind, net::AccessKind::kUnset) << r->pattern;
    if (r->method != "GET") {
      EXPECT_TRUE(r->access.mutation) << r->pattern;
      EXPECT_TRUE(r->access.action == "auth.grants.create" || r->access.action == "auth.grants.delete");
      EXPECT_TRUE(r->access.snapshot);
    }
  }
}

TEST_F(GrantRoutesTest, AdminGrantsAndTheGranteeSeesItsRole) {
  auto admin = Scope("admin", true);
  auto res = Call(admin, "POST", "/api/v1/grants", GrantBody("user", "alice", "experiment", "3", "editor"));
  ASSERT_EQ(res.status, 200u) << res.body;
  json g = Body(res)["grant"];
  EXPECT_EQ(g["role"], "editor");
  EXPECT_EQ(g["object_kind"], "experiment");
  EXPECT_EQ(g["created_by"], "admin");
  EXPECT_EQ(Scope("alice")->RoleOn({ObjectKind::kExperiment, "3"}), Role::kEditor);
  // Same pair again: the role is replaced, the id kept.
  res = Call(admin, "POST", "/api/v1/grants", GrantBody("user", "alice", "experiment", "3", "READ"));
  ASSERT_EQ(res.status, 200u);
  EXPECT_EQ(Body(res)["grant"]["id"], g["id"]);
  EXPECT_EQ(Body(res)["grant"]["role"], "viewer");
  // Global grants only by admins.
  res = Call(admin, "POST", "/api/v1/grants", GrantBody("group", "creators", "global", "", "editor"));
  ASSERT_EQ(res.status, 200u) << res.body;
}

TEST_F(GrantRoutesTest, ManagersGrantOnTheirObjectsOnly) {
  auto admin = Scope("admin", true);
  ASSERT_EQ(Call(admin, "POST", "/api/v1/grants", GrantBody("user", "mia", "registered_model", "fraud", "manager")).status,
            200u);
  auto mia = Scope("mia");
  auto res = Call(mia, "POST", "/api/v1/grants", GrantBody("group", "ml", "registered_model", "fraud", "editor"));
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(Scope("x", false, {"ml"})->RoleOn({ObjectKind::kRegisteredModel, "fraud"}), Role::kEditor);
  res = Call(mia, "POST", "/api/v1/grants", GrantBody("user", "bob", "registered_model", "other", "viewer"));
  EXPECT_EQ(res.status, 403u);
  EXPECT_EQ(Body(res)["error_code"], "PERMISSION_DENIED");
  res = Call(mia, "POST", "/api/v1/grants", GrantBody("user", "bob", "registered_model", "fraud", "admin"));
  EXPECT_EQ(res.status, 403u);
  EXPECT_NE(Body(res)["message"].get<std::string>().find("admin role"), std::string::npos);
  res = Call(mia, "POST", "/api/v1/grants", GrantBody("user", "bob", "global", "", "viewer"));
  EXPECT_EQ(res.status, 403u);
  // An editor may not grant.
  res = Call(Scope("x", false, {"ml"}), "POST", "/api/v1/grants",
             GrantBody("user", "bob", "registered_model", "fraud", "viewer"));
  EXPECT_EQ(res.status, 403u);
  // A global manager is still not an admin.
  ASSERT_EQ(Call(admin, "POST", "/api/v1/grants", GrantBody("user", "gm", "global", "", "manager")).status, 200u);
  res = Call(Scope("gm"), "POST", "/api/v1/grants", GrantBody("user", "bob", "global", "", "viewer"));
  EXPECT_EQ(res.status, 403u);
  res = Call(Scope("gm"), "POST", "/api/v1/grants", GrantBody("user", "bob", "experiment", "1", "manager"));
  EXPECT_EQ(res.status, 200u);
}

TEST_F(GrantRoutesTest, RoleNoneAndDeleteRemove) {
  auto admin = Scope("admin", true);
  ASSERT_EQ(Call(admin, "POST", "/api/v1/grants", GrantBody("user", "mia", "endpoint", "fraud", "manager")).status, 200u);
  auto res = Call(Scope("mia"), "POST", "/api/v1/grants", GrantBody("user", "bob", "endpoint", "fraud", "viewer"));
  ASSERT_EQ(res.status, 200u);
  const int64_t bob_id = Body(res)["grant"]["id"];
  res = Call(Scope("mia"), "POST", "/api/v1/grants", GrantBody("user", "bob", "endpoint", "fraud", "none"));
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(Body(res)["removed"]["id"], bob_id);
  res = Call(Scope("mia"), "POST", "/api/v1/grants", GrantBody("user", "bob", "endpoint", "fraud", "none"));
  ASSERT_EQ(res.status, 200u);
  EXPECT_TRUE(Body(res)["removed"].is_null());

  res = Call(Scope("mia"), "POST", "/api/v1/grants", GrantBody("user", "bob", "endpoint", "fraud", "editor"));
  const std::string path = "/api/v1/grants/" + std::to_string(Body(res)["grant"]["id"].get<int64_t>());
  EXPECT_EQ(Call(Scope("bob"), "DELETE", path).status, 403u);  // an editor cannot
  res = Call(Scope("mia"), "DELETE", path);
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(Scope("bob")->RoleOn({ObjectKind::kEndpoint, "fraud"}), Role::kNone);
  EXPECT_EQ(Call(Scope("mia"), "DELETE", path).status, 404u);
  EXPECT_EQ(Call(admin, "DELETE", "/api/v1/grants/abc").status, 400u);
}

TEST_F(GrantRoutesTest, ListsShowOnlyWhatTheCallerManagesOrHolds) {
  auto admin = Scope("admin", true);
  for (const auto& body : {GrantBody("user", "mia", "experiment", "1", "manager"),
                           GrantBody("user", "bob", "experiment", "1", "viewer"),
                           GrantBody("user", "bob", "experiment", "2", "editor"),
                           GrantBody("group", "ml", "experiment", "3", "viewer"),
                           GrantBody("user", "zed", "experiment", "4", "viewer")}) {
    ASSERT_EQ(Call(admin, "POST", "/api/v1/grants", body).status, 200u);
  }
  auto ids = [](const net::HttpResponse& res) {
    std::vector<std::string> out;
    const json body = json::parse(res.body);
    for (const auto& g : body["grants"]) {
      out.push_back(g["subject"].get<std::string>() + ":" + g["object_id"].get<std::string>());
    }
    return out;
  };
  EXPECT_EQ(ids(Call(admin, "GET", "/api/v1/grants")).size(), 5u);
  EXPECT_EQ(ids(Call(nullptr, "GET", "/api/v1/grants")).size(), 5u);  // auth off
  EXPECT_EQ(ids(Call(Scope("mia"), "GET", "/api/v1/grants")), (std::vector<std::string>{"mia:1", "bob:1"}));
  EXPECT_EQ(ids(Call(Scope("bob", false, {"ml"}), "GET", "/api/v1/grants")),
            (std::vector<std::string>{"bob:1", "bob:2", "ml:3"}));
  EXPECT_EQ(ids(Call(Scope("bob"), "GET", "/api/v1/grants", "", {{"object_id", "2"}})),
            (std::vector<std::string>{"bob:2"}));
  // Paging counts visible grants only.
  auto page = Call(Scope("bob", false, {"ml"}), "GET", "/api/v1/grants", "", {{"max_results", "2"}});
  EXPECT_EQ(ids(page), (std::vector<std::string>{"bob:1", "bob:2"}));
  const std::string token = json::parse(page.body)["next_page_token"];
  page = Call(Scope("bob", false, {"ml"}), "GET", "/api/v1/grants", "", {{"max_results", "2"}, {"page_token", token}});
  EXPECT_EQ(ids(page), (std::vector<std::string>{"ml:3"}));
  EXPECT_FALSE(json::parse(page.body).contains("next_page_token"));
  EXPECT_EQ(Call(admin, "GET", "/api/v1/grants", "", {{"object_kind", "cluster"}}).status, 400u);
}

TEST_F(GrantRoutesTest, BadBodiesAreRefusedWithTheFieldNamed) {
  auto admin = Scope("admin", true);
  auto expect400 = [&](const std::string& body, const std::string& needle) {
    auto res = Call(admin, "POST", "/api/v1/grants", body);
    EXPECT_EQ(res.status, 400u) << body;
    json j = Body(res);
    EXPECT_EQ(j["error_code"], "INVALID_PARAMETER_VALUE");
    EXPECT_NE(j["message"].get<std::string>().find(needle), std::string::npos) << j["message"];
  };
  expect400("nope", "JSON");
  expect400(R"({"subject_kind": "user", "subject": "a", "object_kind": "experiment", "object_id": "1", "role": "viewer", "x": "1"})",
            "unknown field 'x'");
  expect400(R"({"subject_kind": "user", "subject": "a", "object_kind": "experiment", "object_id": 1, "role": "viewer"})",
            "must be a string");
  expect400(GrantBody("team", "a", "experiment", "1", "viewer"), "subject_kind");
  expect400(GrantBody("user", "a", "experiment", "", "viewer"), "object_id is required");
  expect400(GrantBody("user", "a", "global", "x", "viewer"), "no object_id");
  expect400(GrantBody("user", "a", "feature_view", "noslash", "viewer"), "<project>/<view>");
  expect400(GrantBody("user", "a", "experiment", "1", "owner"), "role must be");
}

}  // namespace
}  // namespace kiln::api::admin
