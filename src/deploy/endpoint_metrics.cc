#include "deploy/endpoint_metrics.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <mutex>
#include <vector>

#include "deploy/drift.h"

namespace kiln::deploy {

struct EndpointMetrics::State {
  explicit State(MetricsRegistry& m) : metrics(m) {}
  MetricsRegistry& metrics;
  std::mutex mu;
  bool alive = true;
  struct Published {
    std::shared_ptr<const LiveEndpoint> live;
    bool rollout_active = false;
  };
  std::map<std::string, Published> endpoints;
  // Routes that left a snapshot since the last scrape: their last requests
  // still reach the counters once.
  std::vector<std::pair<std::string, LiveRoute>> retired;
  // What the counters already hold per RouteStats. The weak owner tells a
  // live entry from one whose RouteStats died and whose address was reused.
  struct Seen {
    std::weak_ptr<RouteStats> owner;
    uint64_t requests = 0;
    uint64_t errors = 0;
  };
  std::map<const RouteStats*, Seen> counted;
  std::map<std::string, GaugeMetric*> traffic_gauges;  // by rendered labels
  std::map<std::string, GaugeMetric*> psi_gauges;
  std::map<std::string, GaugeMetric*> rollout_gauges;
  std::map<std::string, GaugeMetric*> threshold_gauges;  // by endpoint

  void Collect();
  void Count(const std::string& endpoint, const LiveRoute& r, std::map<std::string, double>* traffic) {
    Labels labels{{"endpoint", endpoint},
                  {"revision", std::to_string(r.revision)},
                  {"model", r.model},
                  {"version", std::to_string(r.version)}};
    if (r.stats) {
      auto& seen = counted[r.stats.get()];
      if (seen.owner.lock() != r.stats) seen = Seen{r.stats, 0, 0};
      const uint64_t req = r.stats->total_requests();
      const uint64_t err = r.stats->total_errors();
      auto& requests = metrics.Counter("kiln_endpoint_requests_total",
                                       "Predictions answered through a deployment endpoint, per route", labels);
      auto& errors = metrics.Counter("kiln_endpoint_errors_total",
                                     "Server errors of predictions through a deployment endpoint, per route", labels);
      if (req > seen.requests) requests.Increment(static_cast<double>(req - seen.requests));
      if (err > seen.errors) errors.Increment(static_cast<double>(err - seen.errors));
      seen.requests = std::max(req, seen.requests);
      seen.errors = std::max(err, seen.errors);
    }
    if (traffic) (*traffic)[RenderLabels(labels)] += r.weight_bp / 100.0;
    if (traffic && !traffic_gauges.count(RenderLabels(labels))) {
      traffic_gauges[RenderLabels(labels)] = &metrics.Gauge(
          "kiln_endpoint_traffic_percent", "Share of a deployment endpoint's traffic a route receives", labels);
    }
  }
};

void EndpointMetrics::State::Collect() {
  State& s = *this;
  std::lock_guard lock(s.mu);
  if (!s.alive) return;
  std::map<std::string, double> traffic;
  for (const auto& [name, published] : s.endpoints) {
    for (const LiveRoute& r : published.live->routes) s.Count(name, r, &traffic);
    auto& rollout = s.rollout_gauges[name];
    if (!rollout) {
      rollout = &s.metrics.Gauge("kiln_endpoint_rollout_active", "1 while a deployment endpoint's rollout runs",
                                 {{"endpoint", name}});
    }
    rollout->Set(published.rollout_active ? 1 : 0);
    if (published.live->drift) {
      auto& threshold = s.threshold_gauges[name];
      if (!threshold) {
        threshold = &s.metrics.Gauge("kiln_endpoint_drift_threshold",
                                     "PSI at or above which a deployment endpoint's input counts as drifted",
                                     {{"endpoint", name}});
      }
      threshold->Set(published.live->drift->options().threshold);
      for (const DriftStatus& d : published.live->drift->Compute()) {
        Labels labels{{"endpoint", name}, {"feature", d.feature}};
        auto& g = s.psi_gauges[RenderLabels(labels)];
        if (!g) {
          g = &s.metrics.Gauge("kiln_endpoint_feature_psi",
                               "Population stability index of an endpoint's input feature against its baseline",
                               labels);
        }
        g->Set(d.psi);
      }
    }
  }
  for (const auto& [name, r] : s.retired) s.Count(name, r, nullptr);
  s.retired.clear();
  for (auto it = s.counted.begin(); it != s.counted.end();) {
    it = it->second.owner.expired() ? s.counted.erase(it) : std::next(it);
  }
  for (auto& [labels, g] : s.traffic_gauges) {
    auto it = traffic.find(labels);
    g->Set(it == traffic.end() ? 0 : it->second);
  }
}


EndpointMetrics::EndpointMetrics(MetricsRegistry& metrics) : state_(std::make_shared<State>(metrics)) {
  // The collector shares the state (not `this`): a scrape after the service
  // is gone finds alive == false and reports nothing new.
  std::shared_ptr<State> shared = state_;
  metrics.AddCollector([shared] { shared->Collect(); });
}

EndpointMetrics::~EndpointMetrics() {
  std::lock_guard lock(state_->mu);
  state_->alive = false;
  state_->endpoints.clear();
  state_->retired.clear();
}

void EndpointMetrics::Track(const std::string& endpoint, const LiveRoute& route) {
  // A mirror (weight 0) has no requests counter either; its label set may
  // also equal a real route's, whose histogram it must not join.
  if (!route.stats || route.weight_bp <= 0 || route.stats->observed()) return;
  // A registry lookup, but on the loading path: the request path only
  // observes through the pointer.
  route.stats->ObserveInto(&state_->metrics.Histogram(
      "kiln_endpoint_request_duration_seconds",
      "Time of a prediction through a deployment endpoint in kiln, per route (what the p99 guardrails measure)",
      {{"endpoint", endpoint},
       {"revision", std::to_string(route.revision)},
       {"model", route.model},
       {"version", std::to_string(route.version)}}));
}

void EndpointMetrics::Update(std::shared_ptr<const LiveEndpoint> endpoint, bool rollout_active) {
  if (!endpoint) return;
  std::lock_guard lock(state_->mu);
  auto& slot = state_->endpoints[endpoint->name];
  if (slot.live) {
    for (const LiveRoute& r : slot.live->routes) state_->retired.emplace_back(endpoint->name, r);
  }
  slot.live = std::move(endpoint);
  slot.rollout_active = rollout_active;
}

void EndpointMetrics::Remove(const std::string& name) {
  std::lock_guard lock(state_->mu);
  auto it = state_->endpoints.find(name);
  if (it == state_->endpoints.end()) return;
  if (it->second.live) {
    for (const LiveRoute& r : it->second.live->routes) state_->retired.emplace_back(name, r);
  }
  state_->endpoints.erase(it);
  if (auto g = state_->rollout_gauges.find(name); g != state_->rollout_gauges.end()) g->second->Set(0);
}

void EndpointMetrics::Collect() { state_->Collect(); }

}  // namespace kiln::deploy
