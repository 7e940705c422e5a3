// The Open Inference V2 REST adapter reaching a deployment endpoint by name
// (api/v2 with the deploy domain's EndpointInferenceRouter): the answer names
// the endpoint and the version that answered, every call is counted once in
// the endpoint's statistics, and ready/metadata/config answer for the routed
// model.
#include <gtest/gtest.h>

#include <future>
#include <set>

#include <nlohmann/json.hpp>

#include "api/v2/v2_routes.h"
#include "deploy/endpoint_inference_router.h"
#include "deploy/endpoint_service_test_util.h"

namespace kiln::api::platform {
namespace {

using nlohmann::json;

class V2EndpointTest : public deploy::testing::EndpointServiceFixture {
 protected:
  void SetUp() override {
    EndpointServiceFixture::SetUp();
    plain_ = std::make_unique<serving::ModelRepository>("");
    router_ = std::make_unique<deploy::EndpointInferenceRouter>(table_);
    v2::AddV2Routes(http_, *plain_, "test", nullptr, router_.get());
  }

  net::HttpResponse Call(const std::string& method, const std::string& path, const std::string& body = "",
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
    net::RouteMatch m = http_.Match(method, path);
    if (!m.route) {
      ADD_FAILURE() << "no route for " << method << " " << path;
      return net::HttpResponse::Text(599, "");
    }
    auto req = std::make_shared<net::HttpRequest>();
    req->method = method;
    req->path = path;
    req->body = body;
    req->headers = std::move(headers);
    req->path_params = m.params;
    if (m.route->handler) return m.route->handler(*req);
    auto answered = std::make_shared<std::promise<net::HttpResponse>>();
    auto future = answered->get_future();
    m.route->async(req, [answered](net::HttpResponse res) { answered->set_value(std::move(res)); });
    return future.get();
  }

  uint64_t Requests(const std::string& endpoint) {
    auto view = svc_->GetEndpoint(endpoint);
    EXPECT_TRUE(view.ok());
    uint64_t n = 0;
    if (view.ok()) {
      for (const auto& r : view->routes) n += r.last_minute.requests;
    }
    return n;
  }

  std::unique_ptr<serving::ModelRepository> plain_;
  std::unique_ptr<deploy::EndpointInferenceRouter> router_;
  net::Router http_;
};

constexpr const char* kInfer =
    R"({"inputs": [{"name": "input-0", "datatype": "FP32", "shape": [2, 2], "data": [1, 2, 3, 4]}]})";

TEST_F(V2EndpointTest, InferThroughAnEndpointNamesTheEndpointAndTheVersionThatAnswered) {
  const int64_t v1 = Register("fraud", 0.25f);
  const int64_t v2 = Register("fraud", 0.75f);
  storage::RevisionSpec spec = Spec({Route("fraud", "version", std::to_string(v1), 50),
                                     Route("fraud", "version", std::to_string(v2), 50)});
  spec.sticky_header = "x-user";
  ASSERT_TRUE(Create("scoring", spec).ok());

  std::set<std::string> versions;
  const int calls = 40;
  for (int i = 0; i < calls; ++i) {
    auto res = Call("POST", "/v2/models/scoring/infer", kInfer, {{"x-user", "u" + std::to_string(i)}});
    ASSERT_EQ(res.status, 200u) << res.body;
    json out = json::parse(res.body);
    EXPECT_EQ(out["model_name"], "scoring");
    const std::string version = out["model_version"];
    versions.insert(version);
    const float expect = version == std::to_string(v1) ? 0.25f : 0.75f;
    EXPECT_FLOAT_EQ(out["outputs"][0]["data"][0].get<float>(), expect) << version;
  }
  EXPECT_EQ(versions, (std::set<std::string>{std::to_string(v1), std::to_string(v2)}));
  // The same sticky value always lands on the same version.
  std::set<std::string> pinned;
  for (int i = 0; i < 10; ++i) {
    auto res = Call("POST", "/v2/models/scoring/infer", kInfer, {{"x-user", "alice"}});
    pinned.insert(json::parse(res.body)["model_version"].get<std::string>());
  }
  EXPECT_EQ(pinned.size(), 1u);
  // A bad request is counted too (once), as the caller's fault.
  auto bad = Call("POST", "/v2/models/scoring/infer", R"({"inputs": [{"name": "nope", "datatype": "FP32", "shape": [1], "data": [1]}]})");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(Requests("scoring"), static_cast<uint64_t>(calls + 10 + 1));

  // Ready and metadata answer for the routed model; they are not inferences.
  auto ready = Call("GET", "/v2/models/scoring/ready");
  EXPECT_EQ(ready.status, 200u);
  EXPECT_EQ(json::parse(ready.body)["ready"], true);
  auto meta = Call("GET", "/v2/models/scoring");
  ASSERT_EQ(meta.status, 200u) << meta.body;
  json m = json::parse(meta.body);
  EXPECT_EQ(m["name"], "scoring");
  EXPECT_EQ(m["versions"].size(), 1u);
  EXPECT_EQ(m["inputs"].size(), 1u);
  auto config = Call("GET", "/v2/models/scoring/config");
  ASSERT_EQ(config.status, 200u) << config.body;
  EXPECT_EQ(json::parse(config.body)["name"], "scoring");
  EXPECT_EQ(Requests("scoring"), static_cast<uint64_t>(calls + 10 + 1));

  // A name that is no endpoint is the repository's (here: unknown).
  EXPECT_EQ(Call("POST", "/v2/models/other/infer", kInfer).status, 404u);
}

}  // namespace
}  // namespace kiln::api::platform
