#include "deploy/endpoint_metrics.h"

#include <gtest/gtest.h>

#include "deploy/drift.h"

namespace kiln::deploy {
namespace {

bool Contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

LiveRoute Route(int64_t revision, const std::string& model, int64_t version) {
  LiveRoute r;
  r.revision = revision;
  r.model = model;
  r.version = version;
  r.weight_bp = 10000;
  r.stats = std::make_shared<RouteStats>();
  return r;
}

TEST(EndpointMetrics, TrackedRouteObservesEveryRecordedCallInItsHistogram) {
  MetricsRegistry registry;
  EndpointMetrics metrics(registry);
  LiveRoute route = Route(3, "fraud", 7);
  metrics.Track("e", route);
  route.stats->Record(false, 0.002);
  route.stats->Record(true, 0.3);
  const std::string text = registry.Render();
  const std::string labels = "endpoint=\"e\",revision=\"3\",model=\"fraud\",version=\"7\"";
  EXPECT_TRUE(Contains(text, "kiln_endpoint_request_duration_seconds_count{" + labels + "} 2")) << text;
  EXPECT_TRUE(Contains(text, "kiln_endpoint_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} 2"));
  // Tracking the same RouteStats again (the next snapshot) keeps one histogram.
  metrics.Track("e", route);
  route.stats->Record(false, 0.001);
  EXPECT_TRUE(Contains(registry.Render(), "kiln_endpoint_request_duration_seconds_count{" + labels + "} 3"));
}

TEST(EndpointMetrics, DriftThresholdIsTheEndpointsOwn) {
  MetricsRegistry registry;
  EndpointMetrics metrics(registry);
  DriftOptions options;
  options.threshold = 0.2;
  auto drift = DriftMonitor::Create({{"x", {1, 2, 3, 4}}}, options);
  ASSERT_TRUE(drift.ok());
  auto live = std::make_shared<LiveEndpoint>();
  live->name = "with-drift";
  live->routes.push_back(Route(1, "m", 1));
  live->drift = *drift;
  metrics.Update(live, false);
  auto plain = std::make_shared<LiveEndpoint>();
  plain->name = "plain";
  plain->routes.push_back(Route(1, "m", 1));
  metrics.Update(plain, false);
  metrics.Collect();
  const std::string text = registry.Render();
  EXPECT_TRUE(Contains(text, "kiln_endpoint_drift_threshold{endpoint=\"with-drift\"} 0.2")) << text;
  EXPECT_FALSE(Contains(text, "kiln_endpoint_drift_threshold{endpoint=\"plain\"}"));
}

}  // namespace
}  // namespace kiln::deploy
