// EndpointMetrics: the deployment endpoints' Prometheus series, sampled on
// scrape from the published snapshots (the request path only bumps its
// RouteStats, never a metrics lookup):
//   kiln_endpoint_requests_total / kiln_endpoint_errors_total
//       {endpoint, revision, model, version}   from RouteStats' totals
//   kiln_endpoint_request_duration_seconds {endpoint, revision, model, version}
//       histogram observed by RouteStats::Record itself (attached by Track)
//   kiln_endpoint_traffic_percent {endpoint, revision, model, version}
//   kiln_endpoint_feature_psi {endpoint, feature}
//   kiln_endpoint_drift_threshold {endpoint}   with a drift baseline
//   kiln_endpoint_rollout_active {endpoint}
// A route that leaves the traffic keeps its counters and shows 0 %.
//
// Ownership: the collector registered on the MetricsRegistry shares this
// object's state, so it stays safe after the EndpointMetrics is destroyed
// (it then reports nothing new).
// Thread-safety: thread-safe.
#pragma once

#include <memory>
#include <string>

#include "core/metrics.h"
#include "deploy/live_endpoint.h"

namespace kiln::deploy {

class EndpointMetrics {
 public:
  explicit EndpointMetrics(MetricsRegistry& metrics);
  ~EndpointMetrics();
  EndpointMetrics(const EndpointMetrics&) = delete;
  EndpointMetrics& operator=(const EndpointMetrics&) = delete;

  // Attaches the route's latency histogram to its RouteStats (once per
  // RouteStats; not for a mirror). Call before the route is published, so
  // every call counts.
  void Track(const std::string& endpoint, const LiveRoute& route);
  // The endpoint's current snapshot (replaces the previous one).
  void Update(std::shared_ptr<const LiveEndpoint> endpoint, bool rollout_active);
  void Remove(const std::string& name);
  // What the collector does on scrape (tests call it directly).
  void Collect();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace kiln::deploy
