// GET /api/v1/health/components over in-process probes.
#include "api/ops/component_health.h"

#include <gtest/gtest.h>

#include <thread>

namespace kiln::api {
namespace {

using nlohmann::json;

ComponentCheck Probe(std::string name, std::function<ComponentResult()> f) {
  return ComponentCheck{std::move(name), "store", std::move(f), {}};
}

TEST(ComponentHealthTest, EveryComponentWithItsStatusLatencyAndDetail) {
  std::vector<ComponentCheck> checks;
  checks.push_back(Probe("metadata_store", [] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return FromStatus(Status::Ok());
  }));
  checks.push_back(Probe("artifact_store", [] { return FromStatus(Unavailable("s3: connection refused")); }));
  checks.push_back(Probe("model_repository", [] {
    ComponentResult r;
    r.status = "degraded";
    r.message = "1 of 2 models not ready";
    r.detail = {{"ready", 1}, {"total", 2}};
    return r;
  }));
  checks.push_back(Probe("change_feed", [] { return ComponentResult{"off", "single process", json::object()}; }));
  checks.push_back(ComponentCheck{"tracking", "service", nullptr, {"metadata_store", "artifact_store"}});
  checks.push_back(ComponentCheck{"features", "service", nullptr, {"metadata_store"}});
  json out = CheckComponents(checks, 1234);
  EXPECT_EQ(out["status"], "failing");
  EXPECT_EQ(out["checked_ms"], 1234);
  ASSERT_EQ(out["components"].size(), 6u);
  const json& meta = out["components"][0];
  EXPECT_EQ(meta["name"], "metadata_store");
  EXPECT_EQ(meta["status"], "ok");
  EXPECT_GE(meta["latency_ms"].get<double>(), 19.0);
  const json& art = out["components"][1];
  EXPECT_EQ(art["status"], "failing");
  EXPECT_EQ(art["message"], "s3: connection refused");
  EXPECT_EQ(out["components"][2]["detail"]["total"], 2);
  EXPECT_EQ(out["components"][3]["status"], "off");
  const json& tracking = out["components"][4];
  EXPECT_EQ(tracking["kind"], "service");
  EXPECT_EQ(tracking["status"], "failing");
  EXPECT_EQ(tracking["message"], "depends on artifact_store");
  EXPECT_EQ(tracking["depends_on"], json::array({"metadata_store", "artifact_store"}));
  EXPECT_GE(tracking["latency_ms"].get<double>(), 19.0);
  EXPECT_EQ(out["components"][5]["status"], "ok");
  EXPECT_EQ(out["components"][5]["message"], "");
}

TEST(ComponentHealthTest, VerdictIgnoresOffAndReportsDegraded) {
  std::vector<ComponentCheck> checks;
  checks.push_back(Probe("a", [] { return ComponentResult{"off", "", json::object()}; }));
  EXPECT_EQ(CheckComponents(checks, 0)["status"], "ok");
  checks.push_back(Probe("b", [] { return ComponentResult{"degraded", "slow", json::object()}; }));
  EXPECT_EQ(CheckComponents(checks, 0)["status"], "degraded");
  checks.push_back(Probe("c", []() -> ComponentResult { throw std::runtime_error("boom"); }));
  json out = CheckComponents(checks, 0);
  EXPECT_EQ(out["status"], "failing");
  EXPECT_EQ(out["components"][2]["message"], "the check threw: boom");
}

TEST(ComponentHealthTest, RouteIsAnAdminReadOnThePool) {
  net::Router router;
  int calls = 0;
  std::vector<ComponentCheck> checks;
  checks.push_back(Probe("metadata_store", [&calls] {
    ++calls;
    return FromStatus(Status::Ok());
  }));
  AddComponentHealthRoute(router, std::move(checks));
  net::RouteMatch m = router.Match("GET", "/api/v1/health/components");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->access.kind, net::AccessKind::kAdmin);
  EXPECT_FALSE(m.route->access.mutation);
  EXPECT_EQ(m.route->execution, net::Execution::kPool);
  net::HttpRequest req;
  req.method = "GET";
  req.path = "/api/v1/health/components";
  net::HttpResponse res = m.route->handler(req);
  EXPECT_EQ(res.status, 200u);
  json body = json::parse(res.body);
  EXPECT_EQ(body["status"], "ok");
  EXPECT_GT(body["checked_ms"].get<int64_t>(), 1'600'000'000'000);
  // Checked when asked, not cached.
  m.route->handler(req);
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace kiln::api
