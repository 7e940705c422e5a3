// The platform routes in process: real EndpointService (registry over
// SQLite, XGBoost models written by the fixture) behind the real router, so
// these check the JSON codec, the error mapping and the route wiring; the
// compat suite (tests/compat/test_platform_*.py) drives the binary.
#include <gtest/gtest.h>

#include <future>
#include <sstream>

#include <nlohmann/json.hpp>

#include "api/platform/platform_routes.h"
#include "deploy/endpoint_service_test_util.h"

namespace kiln::api::platform {
namespace {

using nlohmann::json;

class PlatformRoutesTest : public deploy::testing::EndpointServiceFixture {
 protected:
  void SetUp() override {
    EndpointServiceFixture::SetUp();
    predict_ = std::make_unique<deploy::PredictService>(table_, nullptr);
    AddPlatformRoutes(router_, *svc_, *predict_, table_);
  }

  net::HttpResponse Call(const std::string& method, const std::string& path, const std::string& body = "",
                         std::vector<std::pair<std::string, std::string>> query = {},
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
    net::RouteMatch m = router_.Match(method, path);
    if (!m.route) {
      ADD_FAILURE() << "no route for " << method << " " << path;
      return net::HttpResponse::Text(599, "");
    }
    auto req = std::make_shared<net::HttpRequest>();
    req->method = method;
    req->path = path;
    req->body = body;
    req->query = std::move(query);
    req->headers = std::move(headers);
    req->path_params = m.params;
    if (m.route->handler) return m.route->handler(*req);
    std::promise<net::HttpResponse> answered;
    auto future = answered.get_future();
    auto shared = std::make_shared<std::promise<net::HttpResponse>>(std::move(answered));
    m.route->async(req, [shared](net::HttpResponse res) { shared->set_value(std::move(res)); });
    return future.get();
  }

  static json Body(const net::HttpResponse& res) {
    json j = json::parse(res.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << res.body;
    return j;
  }

  // Asserts an error response: status, code and a message containing `needle`.
  static void ExpectError(const net::HttpResponse& res, unsigned status, const std::string& code,
                          const std::string& needle = "") {
    EXPECT_EQ(res.status, status) << res.body;
    json j = Body(res);
    EXPECT_EQ(j.value("error_code", ""), code) << res.body;
    EXPECT_NE(j.value("message", "").find(needle), std::string::npos) << res.body;
    EXPECT_EQ(j.size(), 2u) << res.body;
  }

  std::unique_ptr<deploy::PredictService> predict_;
  net::Router router_;
};

TEST_F(PlatformRoutesTest, CreateGetListDelete) {
  const int64_t v1 = Register("fraud", 0.25f);
  auto res = Call("POST", "/api/v1/endpoints",
                  R"({"name": "fraud", "description": "d", "routes": [{"model": "fraud", "version": ")" +
                      std::to_string(v1) + R"("}]})",
                  {}, {{"x-kiln-actor", "carol"}});
  ASSERT_EQ(res.status, 200u) << res.body;
  json ep = Body(res);
  EXPECT_EQ(ep["name"], "fraud");
  EXPECT_EQ(ep["description"], "d");
  EXPECT_EQ(ep["created_by"], "carol");
  ASSERT_EQ(ep["revisions"].size(), 1u);
  EXPECT_EQ(ep["revisions"][0]["routes"][0],
            json({{"model", "fraud"}, {"ref_kind", "version"}, {"ref", std::to_string(v1)}, {"version", v1}, {"percent", 100}}));
  EXPECT_EQ(ep["status"]["rolled_out_revision"], 1);
  EXPECT_EQ(ep["status"]["pending"], false);
  EXPECT_TRUE(ep["status"]["rollout"].is_null());
  ASSERT_EQ(ep["status"]["traffic"].size(), 1u);
  EXPECT_EQ(ep["status"]["traffic"][0]["percent"], 100);
  EXPECT_EQ(ep["status"]["traffic"][0]["ready"], true);

  EXPECT_EQ(Body(Call("GET", "/api/v1/endpoints/fraud"))["name"], "fraud");
  json list = Body(Call("GET", "/api/v1/endpoints"));
  ASSERT_EQ(list["endpoints"].size(), 1u);
  ExpectError(Call("POST", "/api/v1/endpoints", R"({"name": "fraud", "routes": [{"model": "fraud", "version": 1}]})"),
              409, "RESOURCE_ALREADY_EXISTS");
  EXPECT_EQ(Call("DELETE", "/api/v1/endpoints/fraud").status, 200u);
  ExpectError(Call("GET", "/api/v1/endpoints/fraud"), 404, "RESOURCE_DOES_NOT_EXIST");
  ExpectError(Call("DELETE", "/api/v1/endpoints/fraud"), 404, "RESOURCE_DOES_NOT_EXIST");
}

TEST_F(PlatformRoutesTest, ValidationErrorsNameTheField) {
  Register("fraud", 0.25f);
  const std::string r = R"("routes": [{"model": "fraud", "version": "1"}])";
  ExpectError(Call("POST", "/api/v1/endpoints", "not json"), 400, "INVALID_PARAMETER_VALUE", "not valid JSON");
  ExpectError(Call("POST", "/api/v1/endpoints", R"({"routes": []})"), 400, "INVALID_PARAMETER_VALUE", "name is required");
  ExpectError(Call("POST", "/api/v1/endpoints", R"({"name": "-x", )" + r + "}"), 400, "INVALID_PARAMETER_VALUE", "name '-x'");
  ExpectError(Call("POST", "/api/v1/endpoints", R"({"name": "x", "routs": []})"), 400, "INVALID_PARAMETER_VALUE",
              "unknown field 'routs'");
  ExpectError(Call("POST", "/api/v1/endpoints", R"({"name": "x"})"), 400, "INVALID_PARAMETER_VALUE", "routes is required");
  ExpectError(Call("POST", "/api/v1/endpoints", R"({"name": "x", "routes": [{"model": "fraud"}]})"), 400,
              "INVALID_PARAMETER_VALUE", "routes[0] needs exactly one of version, alias or stage");
  ExpectError(Call("POST", "/api/v1/endpoints",
                   R"({"name": "x", "routes": [{"model": "fraud", "version": "1", "percent": 60},
                                               {"model": "fraud", "alias": "a", "percent": 30}]})"),
              400, "INVALID_PARAMETER_VALUE", "sum to 90");
  ExpectError(Call("POST", "/api/v1/endpoints",
                   R"({"name": "x", "routes": [{"model": "fraud", "version": "1", "percent": 101}]})"),
              400, "INVALID_PARAMETER_VALUE", "routes[0].percent must be an integer from 0 to 100");
  ExpectError(Call("POST", "/api/v1/endpoints", R"({"name": "x", )" + r + R"(, "rollout": {"strategy": "canary"}})"), 400,
              "INVALID_PARAMETER_VALUE", "rollout.step_percent is required for canary");
  ExpectError(Call("POST", "/api/v1/endpoints",
                   R"({"name": "x", )" + r + R"(, "rollout": {"strategy": "canary", "step_percent": 10,
                       "rollback_on": [{"metric": "p50", "threshold": 1}]}})"),
              400, "INVALID_PARAMETER_VALUE", "rollout.rollback_on[0].metric must be error_rate or p99_ms");
  ExpectError(Call("POST", "/api/v1/endpoints", R"({"name": "x", )" + r + R"(, "sticky": {"header": "a b"}})"), 400,
              "INVALID_PARAMETER_VALUE", "sticky.header");
  ExpectError(Call("POST", "/api/v1/endpoints", R"({"name": "x", )" + r + R"(, "capture": {"percent": 120}})"), 400,
              "INVALID_PARAMETER_VALUE", "capture.percent");
  ExpectError(Call("POST", "/api/v1/endpoints", R"({"name": "x", )" + r + R"(, "drift": {"baseline": "rel.csv"}})"), 400,
              "INVALID_PARAMETER_VALUE", "drift.baseline");
  ExpectError(Call("POST", "/api/v1/endpoints", R"({"name": "x", "routes": [{"model": "fraud", "stage": "Archived"}]})"),
              400, "INVALID_PARAMETER_VALUE", "routes[0].stage must be Staging or Production");
  ExpectError(Call("POST", "/api/v1/endpoints", R"({"name": "x", "routes": [{"model": "nope", "version": "1"}]})"), 404,
              "RESOURCE_DOES_NOT_EXIST");
  ExpectError(Call("GET", "/api/v1/endpoints/x/events", "", {{"max_results", "0"}}), 400, "INVALID_PARAMETER_VALUE",
              "max_results");
}

TEST_F(PlatformRoutesTest, CanaryConflictPromoteRollbackAndEvents) {
  const int64_t v1 = Register("fraud", 0.25f);
  const int64_t v2 = Register("fraud", 0.75f);
  ASSERT_EQ(Call("POST", "/api/v1/endpoints",
                 R"({"name": "fraud", "routes": [{"model": "fraud", "version": )" + std::to_string(v1) + "}]}")
                .status,
            200u);
  // Settings only: no new revision.
  json ep = Body(Call("PATCH", "/api/v1/endpoints/fraud", R"({"description": "new", "capture": {"percent": 100}})"));
  EXPECT_EQ(ep["description"], "new");
  EXPECT_EQ(ep["capture"]["percent"], 100.0);
  EXPECT_EQ(ep["revisions"].size(), 1u);

  auto res = Call("PATCH", "/api/v1/endpoints/fraud",
                  R"({"routes": [{"model": "fraud", "version": )" + std::to_string(v2) +
                      R"(}], "rollout": {"strategy": "canary", "step_percent": 10, "bake_s": 3600}})",
                  {}, {{"x-kiln-actor", "dave"}});
  ASSERT_EQ(res.status, 200u) << res.body;
  ep = Body(res);
  EXPECT_EQ(ep["revisions"].size(), 2u);
  EXPECT_EQ(ep["status"]["pending"], true);
  EXPECT_EQ(ep["status"]["rollout"]["to_revision"], 2);
  EXPECT_EQ(ep["status"]["rollout"]["percent"], 10);
  EXPECT_EQ(ep["description"], "new");  // a merge patch keeps the settings

  ExpectError(Call("PATCH", "/api/v1/endpoints/fraud", R"({"routes": [{"model": "fraud", "version": 1}]})"), 409,
              "RESOURCE_CONFLICT");

  ep = Body(Call("POST", "/api/v1/endpoints/fraud:promote"));
  EXPECT_EQ(ep["status"]["pending"], false);
  EXPECT_EQ(ep["status"]["rolled_out_revision"], 2);
  ExpectError(Call("POST", "/api/v1/endpoints/fraud:promote"), 409, "RESOURCE_CONFLICT");
  ExpectError(Call("POST", "/api/v1/endpoints/fraud:promote", R"({"why": "x"})"), 400, "INVALID_PARAMETER_VALUE",
              "unknown field 'why'");

  res = Call("POST", "/api/v1/endpoints/fraud:rollback", R"({"reason": "bad model"})", {}, {{"x-kiln-actor", "erin"}});
  ASSERT_EQ(res.status, 200u) << res.body;
  ep = Body(res);
  EXPECT_EQ(ep["status"]["rolled_out_revision"], 1);

  json events = Body(Call("GET", "/api/v1/endpoints/fraud/events"))["events"];
  ASSERT_GE(events.size(), 4u);
  bool saw_rollback = false, saw_update = false;
  for (const auto& e : events) {
    if (e["action"] == "rollback") {
      saw_rollback = true;
      EXPECT_EQ(e["actor"], "erin");
      EXPECT_EQ(e["reason"], "bad model");
    }
    if (e["action"] == "update") {
      saw_update = true;
      EXPECT_EQ(e["actor"], "dave");
    }
    EXPECT_TRUE(e["detail"].is_object());
  }
  EXPECT_TRUE(saw_rollback);
  EXPECT_TRUE(saw_update);
  const int64_t first = events[0]["id"];
  json later = Body(Call("GET", "/api/v1/endpoints/fraud/events", "", {{"after_id", std::to_string(first)}}))["events"];
  EXPECT_EQ(later.size(), events.size() - 1);
}

TEST_F(PlatformRoutesTest, PatchIsAMergePatchOverTheLatestRevision) {
  const int64_t v1 = Register("fraud", 0.25f);
  ASSERT_EQ(Call("POST", "/api/v1/endpoints",
                 R"({"name": "fraud", "routes": [{"model": "fraud", "version": )" + std::to_string(v1) +
                     R"(}], "batching": {"max_batch_rows": 8}})")
                .status,
            200u);
  // Only sticky given: routes and batching carry over; the header is lower-cased.
  json ep = Body(Call("PATCH", "/api/v1/endpoints/fraud", R"({"sticky": {"header": "X-User"}})"));
  ASSERT_EQ(ep["revisions"].size(), 2u);
  const json& r2 = ep["revisions"][1];
  EXPECT_EQ(r2["sticky"], json({{"header", "x-user"}}));
  EXPECT_EQ(r2["routes"][0]["version"], v1);
  EXPECT_EQ(r2["batching"], json({{"max_batch_rows", 8}}));
  // null resets a field.
  ep = Body(Call("PATCH", "/api/v1/endpoints/fraud", R"({"sticky": null, "batching": null})"));
  ASSERT_EQ(ep["revisions"].size(), 3u);
  EXPECT_TRUE(ep["revisions"][2]["sticky"].is_null());
  EXPECT_EQ(ep["revisions"][2]["batching"], json::object());
  ExpectError(Call("PATCH", "/api/v1/endpoints/fraud", R"({"name": "other"})"), 400, "INVALID_PARAMETER_VALUE",
              "name cannot change");
  ExpectError(Call("PATCH", "/api/v1/endpoints/fraud", R"({})"), 400, "INVALID_PARAMETER_VALUE", "changes nothing");
  ExpectError(Call("PATCH", "/api/v1/endpoints/fraud", R"({"routes": null})"), 400, "INVALID_PARAMETER_VALUE",
              "routes cannot be null");
  ExpectError(Call("PATCH", "/api/v1/endpoints/nope", R"({"description": "x"})"), 404, "RESOURCE_DOES_NOT_EXIST");
}

TEST_F(PlatformRoutesTest, PredictByColumnsRowsAndRecordsWithCapture) {
  const int64_t v1 = Register("fraud", 0.25f);
  ASSERT_EQ(Call("POST", "/api/v1/endpoints",
                 R"({"name": "fraud", "capture": {"percent": 100}, "routes": [{"model": "fraud", "version": )" +
                     std::to_string(v1) + "}]}")
                .status,
            200u);
  for (const std::string inputs : {R"({"a": [1, 2], "b": [3, null]})", R"([[1, 3], [2, null]])",
                                   R"([{"a": 1, "b": 3}, {"a": 2}])"}) {
    auto res = Call("POST", "/api/v1/endpoints/fraud/predict", R"({"inputs": )" + inputs + "}");
    ASSERT_EQ(res.status, 200u) << inputs << ": " << res.body;
    json out = Body(res);
    EXPECT_EQ(out["predictions"], json({0.25, 0.25})) << inputs;
    EXPECT_EQ(out["model_name"], "fraud");
    EXPECT_EQ(out["model_version"], std::to_string(v1));
    EXPECT_EQ(out["revision"], 1);
    EXPECT_FALSE(out.contains("features"));
  }
  auto res = Call("POST", "/api/v1/endpoints/fraud/predict", R"({"inputs": {"b": [null], "a": [1]}, "return_features": true})");
  ASSERT_EQ(res.status, 200u) << res.body;
  json with = Body(res);
  EXPECT_EQ(with["features"]["names"], json({"a", "b"}));
  EXPECT_EQ(with["features"]["values"][0][0], 1.0);
  EXPECT_TRUE(with["features"]["values"][0][1].is_null());

  ExpectError(Call("POST", "/api/v1/endpoints/fraud/predict", R"({"inputs": {"a": ["x"]}})"), 400,
              "INVALID_PARAMETER_VALUE", "inputs.a[0] must be a number");
  ExpectError(Call("POST", "/api/v1/endpoints/fraud/predict", R"({"inputs": [[1, 2]], "extra": 1})"), 400,
              "INVALID_PARAMETER_VALUE", "unknown field 'extra'");
  ExpectError(Call("POST", "/api/v1/endpoints/fraud/predict", R"({"inputs": {"a": [1], "b": [1], "zz": [1]}})"), 400,
              "INVALID_PARAMETER_VALUE", "zz");
  ExpectError(Call("POST", "/api/v1/endpoints/nope/predict", R"({"inputs": [[1, 2]]})"), 404, "RESOURCE_DOES_NOT_EXIST");

  // Every call was captured (percent 100), errors included, oldest first.
  json page = Body(Call("GET", "/api/v1/endpoints/fraud/predictions", "", {{"max_results", "2"}}));
  ASSERT_EQ(page["predictions"].size(), 2u);
  EXPECT_EQ(page["predictions"][0]["status"], 200);
  EXPECT_EQ(page["predictions"][0]["request"]["inputs"]["a"], json({1, 2}));
  EXPECT_EQ(page["predictions"][0]["response"]["predictions"], json({0.25, 0.25}));
  EXPECT_EQ(page["predictions"][0]["model_version"], std::to_string(v1));
  const int64_t next = page["next_after_id"];
  auto lines = Call("GET", "/api/v1/endpoints/fraud/predictions", "", {{"format", "jsonl"}, {"after_id", std::to_string(next)}});
  ASSERT_EQ(lines.status, 200u);
  EXPECT_EQ(lines.content_type, "application/x-ndjson");
  std::istringstream in(lines.body);
  std::vector<json> records;
  for (std::string line; std::getline(in, line);) records.push_back(json::parse(line));
  ASSERT_EQ(records.size(), 5u);  // 1 more success, return_features, 3 errors on this endpoint
  EXPECT_EQ(records.back()["status"], 400);
  ExpectError(Call("GET", "/api/v1/endpoints/fraud/predictions", "", {{"format", "csv"}}), 400, "INVALID_PARAMETER_VALUE",
              "format");
  ExpectError(Call("GET", "/api/v1/endpoints/nope/predictions"), 404, "RESOURCE_DOES_NOT_EXIST");
}

TEST_F(PlatformRoutesTest, ModelDeployAndRollbackValidateTheRunbookFields) {
  ExpectError(Call("POST", "/api/v1/models/deploy", R"({"model_name": "fraud", "model_version": "1"})"), 400,
              "INVALID_PARAMETER_VALUE", "target_stage is required");
  ExpectError(Call("POST", "/api/v1/models/deploy",
                   R"({"model_name": "fraud", "model_version": "1", "target_stage": "qa"})"),
              400, "INVALID_PARAMETER_VALUE", "target_stage must be staging or production");
  ExpectError(Call("POST", "/api/v1/models/deploy",
                   R"({"model_name": "fraud", "model_version": "one", "target_stage": "staging"})"),
              400, "INVALID_PARAMETER_VALUE", "model_version");
  ExpectError(Call("POST", "/api/v1/models/deploy",
                   R"({"model_name": "nope", "model_version": "1", "target_stage": "staging"})"),
              404, "RESOURCE_DOES_NOT_EXIST");
  const int64_t v1 = Register("fraud", 0.25f);
  const int64_t v2 = Register("fraud", 0.75f);
  auto res = Call("POST", "/api/v1/models/deploy",
                  R"({"model_name": "fraud", "model_version": ")" + std::to_string(v1) + R"(", "target_stage": "Production"})");
  ASSERT_EQ(res.status, 200u) << res.body;
  json out = Body(res);
  EXPECT_EQ(out["model_name"], "fraud");
  EXPECT_EQ(out["model_version"], std::to_string(v1));
  EXPECT_EQ(out["stage"], "Production");
  EXPECT_EQ(out["created"], true);
  const std::string endpoint = out["endpoint"];
  res = Call("POST", "/api/v1/models/deploy",
             R"({"model_name": "fraud", "model_version": )" + std::to_string(v2) + R"(, "target_stage": "production"})");
  ASSERT_EQ(res.status, 200u) << res.body;
  EXPECT_EQ(Body(res)["created"], false);
  res = Call("POST", "/api/v1/models/rollback", R"({"model_name": "fraud", "target_stage": "PRODUCTION"})");
  ASSERT_EQ(res.status, 200u) << res.body;
  out = Body(res);
  EXPECT_EQ(out["endpoint"], endpoint);
  EXPECT_EQ(out["model_version"], std::to_string(v1));
  ExpectError(Call("POST", "/api/v1/models/rollback", R"({"model_name": "fraud", "target_stage": "staging", "x": 1})"),
              400, "INVALID_PARAMETER_VALUE", "unknown field 'x'");
}

}  // namespace
}  // namespace kiln::api::platform
