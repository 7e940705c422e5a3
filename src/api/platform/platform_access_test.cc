// The platform routes' access rules: every route has one, locators find the
// objects a request touches (the global scope when a call creates an
// endpoint), created/deleted name the endpoint, and the list shows only
// what the caller's scope may view.
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "api/platform/platform_access.h"
#include "api/platform/platform_routes.h"
#include "deploy/endpoint_service_test_util.h"

namespace kiln::api::platform {
namespace {

using nlohmann::json;

// A fixed scope (the Authorizer is tested in auth/): roles by object.
class FixedScope final : public AccessScope {
 public:
  explicit FixedScope(std::map<std::string, Role> roles) : roles_(std::move(roles)) { principal_.name = "pat"; }
  const Principal& principal() const override { return principal_; }
  Role RoleOn(const ObjectRef& o) const override {
    auto it = roles_.find(o.ToString());
    return it == roles_.end() ? Role::kNone : it->second;
  }
  std::optional<std::vector<std::string>> Visible(ObjectKind kind, Role least) const override {
    std::vector<std::string> ids;
    const std::string prefix = std::string(ObjectKindName(kind)) + ":";
    for (const auto& [key, role] : roles_) {
      if (key.rfind(prefix, 0) == 0 && role >= least) ids.push_back(key.substr(prefix.size()));
    }
    return ids;
  }

 private:
  Principal principal_;
  std::map<std::string, Role> roles_;
};

class PlatformAccessTest : public deploy::testing::EndpointServiceFixture {
 protected:
  void SetUp() override {
    EndpointServiceFixture::SetUp();
    predict_ = std::make_unique<deploy::PredictService>(table_, nullptr);
    AddPlatformRoutes(router_, *svc_, *predict_, table_);
    ApplyPlatformAccess(router_, *svc_);
  }

  std::unique_ptr<net::HttpRequest> Request(const std::string& method, const std::string& path,
                                            const std::string& body = "") {
    net::RouteMatch m = router_.Match(method, path);
    EXPECT_NE(m.route, nullptr) << method << " " << path;
    route_ = m.route;
    auto req = std::make_unique<net::HttpRequest>();
    req->method = method;
    req->path = path;
    req->body = body;
    req->path_params = m.params;
    return req;
  }
  std::vector<std::string> Located(const net::HttpRequest& req) {
    EXPECT_EQ(route_->access.kind, net::AccessKind::kObject);
    auto objects = route_->access.locate(req);
    EXPECT_TRUE(objects.ok()) << objects.status().ToString();
    std::vector<std::string> out;
    if (objects.ok()) {
      for (const auto& o : *objects) out.push_back(o.ToString());
    }
    return out;
  }
  std::string Route(int64_t version, const std::string& model = "fraud") {
    return R"("routes": [{"model": ")" + model + R"(", "version": ")" + std::to_string(version) + R"("}])";
  }

  std::unique_ptr<deploy::PredictService> predict_;
  net::Router router_;
  const net::Route* route_ = nullptr;
};

TEST_F(PlatformAccessTest, EveryPlatformRouteHasADecision) {
  for (const net::Route* r : router_.routes()) {
    EXPECT_NE(r->access.kind, net::AccessKind::kUnset) << r->method << " " << r->pattern;
    if (r->method != "GET" && r->pattern != "/api/v1/endpoints/{name}/predict") {
      EXPECT_TRUE(r->access.mutation) << r->pattern;
      EXPECT_EQ(r->access.action.rfind("platform.", 0), 0u) << r->pattern;
      EXPECT_TRUE(r->access.snapshot) << r->pattern;
    }
  }
  EXPECT_EQ(router_.Find("GET", "/api/v1/openapi.json")->access.kind, net::AccessKind::kPublic);
  EXPECT_EQ(router_.Find("GET", "/api/v1/endpoints")->access.kind, net::AccessKind::kAuthenticated);
  EXPECT_EQ(router_.Find("DELETE", "/api/v1/endpoints/{name}")->access.role, Role::kManager);
  EXPECT_EQ(router_.Find("POST", "/api/v1/endpoints/{name}/predict")->access.role, Role::kViewer);
}

TEST_F(PlatformAccessTest, CreateNeedsGlobalAndEveryRoutedModelAndMakesTheEndpoint) {
  const int64_t v = Register("fraud", 0.5f);
  Register("churn", 0.5f);
  auto req = Request("POST", "/api/v1/endpoints",
                     R"({"name": "ep", "routes": [{"model": "fraud", "version": "1", "percent": 50},
                         {"model": "churn", "version": "1", "percent": 50}], "mirror": {"model": "fraud", "version": "1", "percent": 5}})");
  EXPECT_EQ(Located(*req), (std::vector<std::string>{"global", "registered_model:fraud", "registered_model:churn"}));
  EXPECT_EQ(route_->access.role, Role::kEditor);
  auto res = route_->handler(*req);
  ASSERT_EQ(res.status, 200u) << res.body;
  auto created = route_->access.created(*req, res);
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0].ToString(), "endpoint:ep");
  EXPECT_NE(route_->access.snapshot(*req).find("\"name\":\"ep\""), std::string::npos);
  // A malformed body is refused by the locator in the route's own words.
  auto bad = Request("POST", "/api/v1/endpoints", R"({"name": "x"})");
  EXPECT_EQ(route_->access.locate(*bad).status().code(), StatusCode::kInvalidArgument);
  (void)v;
}

TEST_F(PlatformAccessTest, PatchDeleteAndActionsNameTheEndpoint) {
  auto patch = Request("PATCH", "/api/v1/endpoints/ep", "{" + Route(2, "other") + "}");
  EXPECT_EQ(Located(*patch), (std::vector<std::string>{"endpoint:ep", "registered_model:other"}));
  auto del = Request("DELETE", "/api/v1/endpoints/ep");
  EXPECT_EQ(Located(*del), (std::vector<std::string>{"endpoint:ep"}));
  auto deleted = route_->access.deleted(*del, net::HttpResponse::Json(200, "{}"));
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_EQ(deleted[0].ToString(), "endpoint:ep");
  auto rollback = Request("POST", "/api/v1/endpoints/ep:rollback");
  EXPECT_EQ(Located(*rollback), (std::vector<std::string>{"endpoint:ep"}));
  EXPECT_EQ(route_->access.action, "platform.endpoints.rollback");
  auto predict = Request("POST", "/api/v1/endpoints/ep/predict");
  EXPECT_EQ(Located(*predict), (std::vector<std::string>{"endpoint:ep"}));
  EXPECT_FALSE(route_->access.mutation);
}

TEST_F(PlatformAccessTest, DeployNeedsGlobalOnlyWhenItCreatesTheStageEndpoint) {
  const int64_t v = Register("fraud", 0.5f);
  const std::string body = R"({"model_name": "fraud", "model_version": ")" + std::to_string(v) +
                           R"(", "target_stage": "staging"})";
  auto req = Request("POST", "/api/v1/models/deploy", body);
  EXPECT_EQ(Located(*req), (std::vector<std::string>{"registered_model:fraud", "global"}));
  auto res = route_->handler(*req);
  ASSERT_EQ(res.status, 200u) << res.body;
  auto created = route_->access.created(*req, res);
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0].ToString(), "endpoint:fraud-staging");
  // Now it exists: editor on it, not on the global scope.
  req = Request("POST", "/api/v1/models/deploy", body);
  EXPECT_EQ(Located(*req), (std::vector<std::string>{"registered_model:fraud", "endpoint:fraud-staging"}));
  res = route_->handler(*req);
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_TRUE(route_->access.created(*req, res).empty());
  auto rollback = Request("POST", "/api/v1/models/rollback", R"({"model_name": "fraud", "target_stage": "Staging"})");
  EXPECT_EQ(Located(*rollback), (std::vector<std::string>{"registered_model:fraud", "endpoint:fraud-staging"}));
  auto none = Request("POST", "/api/v1/models/rollback", R"({"model_name": "fraud", "target_stage": "production"})");
  EXPECT_EQ(Located(*none), (std::vector<std::string>{"registered_model:fraud"}));
}

TEST_F(PlatformAccessTest, ListShowsOnlyVisibleEndpoints) {
  const int64_t v = Register("fraud", 0.5f);
  for (const char* name : {"a", "b", "c"}) {
    auto req = Request("POST", "/api/v1/endpoints", std::string(R"({"name": ")") + name + "\", " + Route(v) + "}");
    ASSERT_EQ(route_->handler(*req).status, 200u);
  }
  auto names = [this](std::shared_ptr<const AccessScope> scope) {
    auto req = Request("GET", "/api/v1/endpoints");
    req->access = std::move(scope);
    json j = json::parse(route_->handler(*req).body);
    std::vector<std::string> out;
    for (const auto& e : j["endpoints"]) out.push_back(e["name"]);
    return out;
  };
  EXPECT_EQ(names(nullptr).size(), 3u);  // auth off
  EXPECT_EQ(names(std::make_shared<FixedScope>(std::map<std::string, Role>{{"endpoint:a", Role::kViewer},
                                                                           {"endpoint:c", Role::kManager}})),
            (std::vector<std::string>{"a", "c"}));
  EXPECT_TRUE(names(std::make_shared<FixedScope>(std::map<std::string, Role>{})).empty());
}

TEST_F(PlatformAccessTest, TheActorIsThePrincipalWhenAuthIsOn) {
  const int64_t v = Register("fraud", 0.5f);
  auto req = Request("POST", "/api/v1/endpoints", R"({"name": "ep", )" + Route(v) + "}");
  req->headers = {{"x-kiln-actor", "mallory"}};
  req->access = std::make_shared<FixedScope>(std::map<std::string, Role>{});
  auto res = route_->handler(*req);
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(json::parse(res.body)["created_by"], "pat");
}

}  // namespace
}  // namespace kiln::api::platform

namespace kiln::api::platform {
namespace {

TEST_F(PlatformAccessTest, BindingFeaturesNeedsViewerOnWhatItReads) {
  const std::string views = R"("features": {"project": "shop", "features": ["orders:total", "users:age"]})";
  auto patch = Request("PATCH", "/api/v1/endpoints/ep", "{" + Route(1) + ", " + views + "}");
  // Auth off: nothing to check.
  EXPECT_TRUE(route_->access.locate(*patch).ok());
  // Viewer on one view only: refused, naming the other.
  patch->access = std::make_shared<FixedScope>(std::map<std::string, Role>{{"feature_view:shop/orders", Role::kViewer}});
  auto refused = route_->access.locate(*patch);
  ASSERT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.status().message().find("feature_view:shop/users"), std::string::npos);
  // Both views readable: allowed.
  patch->access = std::make_shared<FixedScope>(std::map<std::string, Role>{
      {"feature_view:shop/orders", Role::kViewer}, {"feature_view:shop/users", Role::kViewer}});
  EXPECT_TRUE(route_->access.locate(*patch).ok());
  // A feature service is checked as its whole project.
  auto service = Request("PATCH", "/api/v1/endpoints/ep",
                         "{" + Route(1) + R"(, "features": {"project": "shop", "feature_service": "fs"}})");
  service->access = std::make_shared<FixedScope>(std::map<std::string, Role>{
      {"feature_view:shop/orders", Role::kViewer}, {"feature_view:shop/users", Role::kViewer}});
  EXPECT_EQ(route_->access.locate(*service).status().code(), StatusCode::kPermissionDenied);
  service->access = std::make_shared<FixedScope>(std::map<std::string, Role>{{"feature_project:shop", Role::kViewer}});
  EXPECT_TRUE(route_->access.locate(*service).ok());
}

}  // namespace
}  // namespace kiln::api::platform
