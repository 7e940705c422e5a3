// The OpenAPI document served at /api/v1/openapi.json is checked against the
// router AddPlatformRoutes builds: every /api/v1 route is documented, every
// documented operation exists, every $ref resolves, and every operation
// documents its errors in the one error shape.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "api/platform/platform_routes.h"
#include "api/platform/routes_internal.h"
#include "deploy/endpoint_service_test_util.h"

namespace kiln::api::platform {
namespace {

using nlohmann::json;

class OpenApiTest : public deploy::testing::EndpointServiceFixture {
 protected:
  void SetUp() override {
    EndpointServiceFixture::SetUp();
    predict_ = std::make_unique<deploy::PredictService>(table_, nullptr);
    AddPlatformRoutes(router_, *svc_, *predict_, table_);
    doc_ = json::parse(OpenApiText(), nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(doc_.is_discarded()) << "openapi.json is not valid JSON";
  }

  std::unique_ptr<deploy::PredictService> predict_;
  net::Router router_;
  json doc_;
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

constexpr const char* kMethods[] = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};

TEST_F(OpenApiTest, EveryRouteIsDocumentedAndEveryOperationIsRouted) {
  ASSERT_EQ(doc_.value("openapi", ""), "3.0.3");
  const json& paths = doc_["paths"];
  std::set<std::pair<std::string, std::string>> routed, documented;
  for (const net::Route* r : router_.routes()) {
    if (r->pattern.rfind("/api/v1/", 0) == 0) routed.emplace(Lower(r->method), r->pattern);
  }
  for (const auto& [path, item] : paths.items()) {
    for (const char* m : kMethods) {
      if (item.contains(m)) documented.emplace(m, path);
    }
  }
  for (const auto& [method, pattern] : routed) {
    EXPECT_TRUE(documented.count({method, pattern})) << method << " " << pattern << " is routed but not in openapi.json";
  }
  for (const auto& [method, path] : documented) {
    EXPECT_TRUE(routed.count({method, path})) << method << " " << path << " is in openapi.json but not routed";
  }
  EXPECT_GE(routed.size(), 13u);
}

TEST_F(OpenApiTest, PathParametersMatchThePatterns) {
  for (const auto& [path, item] : doc_["paths"].items()) {
    std::set<std::string> in_path;
    for (size_t at = path.find('{'); at != std::string::npos; at = path.find('{', at + 1)) {
      in_path.insert(path.substr(at + 1, path.find('}', at) - at - 1));
    }
    std::set<std::string> declared;
    for (const auto& p : item.value("parameters", json::array())) {
      if (p.value("in", "") == "path") declared.insert(p.value("name", ""));
    }
    EXPECT_EQ(in_path, declared) << path;
  }
}

void CollectRefs(const json& j, std::set<std::string>* refs) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (k == "$ref" && v.is_string()) refs->insert(v.get<std::string>());
      CollectRefs(v, refs);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) CollectRefs(v, refs);
  }
}

TEST_F(OpenApiTest, EveryReferenceResolves) {
  std::set<std::string> refs;
  CollectRefs(doc_, &refs);
  ASSERT_FALSE(refs.empty());
  const std::string prefix = "#/components/schemas/";
  for (const std::string& ref : refs) {
    ASSERT_EQ(ref.rfind(prefix, 0), 0u) << ref;
    EXPECT_TRUE(doc_["components"]["schemas"].contains(ref.substr(prefix.size()))) << ref << " does not resolve";
  }
}

TEST_F(OpenApiTest, EveryOperationDocumentsItsErrorsInTheErrorShape) {
  const json& error = doc_["components"]["schemas"]["Error"];
  EXPECT_EQ(error["required"], json({"error_code", "message"}));
  for (const auto& [path, item] : doc_["paths"].items()) {
    for (const char* m : kMethods) {
      if (!item.contains(m)) continue;
      const json& responses = item[m]["responses"];
      ASSERT_TRUE(responses.contains("default")) << m << " " << path;
      for (const auto& [code, response] : responses.items()) {
        if (code[0] == '2') continue;
        EXPECT_EQ(response["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Error")
            << m << " " << path << " " << code;
      }
    }
  }
}

// What the route serves is the document itself.
TEST_F(OpenApiTest, TheRouteServesTheEmbeddedDocument) {
  net::RouteMatch m = router_.Match("GET", "/api/v1/openapi.json");
  ASSERT_NE(m.route, nullptr);
  net::HttpRequest req;
  net::HttpResponse res = m.route->handler(req);
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(res.body, OpenApiText());
}

}  // namespace
}  // namespace kiln::api::platform
