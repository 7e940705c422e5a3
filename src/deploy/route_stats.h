// RouteStats: one route's recent requests, errors and latencies in one-second
// buckets over the last kWindowSeconds, written lock-free by every call and
// read by the rollout controller's guardrails (error rate and p99 over a
// window) and the endpoint status. Every endpoint prediction (and mirror
// call) passes Record, so it also feeds the Prometheus latency histogram
// kiln_endpoint_request_duration_seconds once EndpointMetrics attached it.
//
// Thread-safety: Record and Read may run concurrently from any thread. A
// bucket is reset by the first writer of a new second; a reader racing that
// reset may miss at most the requests of that one second.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "core/metrics.h"

namespace kiln::deploy {

struct WindowReading {
  uint64_t requests = 0;
  uint64_t errors = 0;  // server errors (5xx)
  double error_rate = 0;  // errors / requests; 0 without requests
  double p50_ms = 0;
  double p99_ms = 0;    // upper bound of the histogram bucket holding the 99th percentile
};

class RouteStats {
 public:
  static constexpr int kWindowSeconds = 600;
  // `now_s` is a monotonic second counter (tests pass their own).
  void Record(bool server_error, double seconds, int64_t now_s);
  void Record(bool server_error, double seconds);  // now from steady_clock
  WindowReading Read(int64_t window_s, int64_t now_s) const;
  WindowReading Read(int64_t window_s) const;
  static int64_t NowSeconds();
  // Where Record also observes each call's seconds. Set before the route is
  // published (EndpointMetrics::Track), so no call is missed; the registry
  // owning it outlives every route.
  void ObserveInto(HistogramMetric* histogram) { histogram_.store(histogram, std::memory_order_release); }
  bool observed() const { return histogram_.load(std::memory_order_acquire) != nullptr; }
  // Every call since creation (for counters).
  uint64_t total_requests() const { return total_.load(std::memory_order_relaxed); }
  uint64_t total_errors() const { return total_errors_.load(std::memory_order_relaxed); }

 private:
  static constexpr int kLatencyBuckets = 40;  // log-spaced upper bounds, 10 us .. ~100 s
  struct Bucket {
    std::atomic<int64_t> second{-1};
    std::atomic<uint64_t> requests{0};
    std::atomic<uint64_t> errors{0};
    std::array<std::atomic<uint64_t>, kLatencyBuckets> latency{};
  };
  std::array<Bucket, kWindowSeconds> buckets_;
  std::atomic<uint64_t> total_{0};
  std::atomic<uint64_t> total_errors_{0};
  std::atomic<HistogramMetric*> histogram_{nullptr};
};

}  // namespace kiln::deploy
