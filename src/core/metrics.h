// MetricsRegistry: counters, gauges and histograms with labels, rendered in
// the Prometheus text exposition format (version 0.0.4).
//
// The registry owns every metric; references returned by Counter()/Gauge()/
// Histogram() stay valid for the registry's lifetime, so hot paths look a
// child up once and keep the reference. Thread-safe: lookups take a mutex,
// updates are lock-free atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace kiln {

using Labels = std::vector<std::pair<std::string, std::string>>;

class CounterMetric {
 public:
  void Increment(double by = 1.0);
  double value() const;

 private:
  std::atomic<uint64_t> bits_{0};  // a double's bits
};

class GaugeMetric {
 public:
  void Set(double v);
  void Add(double by);
  double value() const;

 private:
  std::atomic<uint64_t> bits_{0};
};

class HistogramMetric {
 public:
  explicit HistogramMetric(std::vector<double> upper_bounds);
  void Observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bucket (last entry is +Inf), plus sum and count.
  void Snapshot(std::vector<uint64_t>* cumulative, double* sum, uint64_t* count) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<uint64_t> sum_bits_{0};
};

// Buckets in seconds suited to request latencies from 100 µs to 10 s.
std::vector<double> LatencyBuckets();

class MetricsRegistry {
 public:
  CounterMetric& Counter(const std::string& name, const std::string& help, const Labels& labels = {});
  GaugeMetric& Gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  HistogramMetric& Histogram(const std::string& name, const std::string& help, const Labels& labels = {},
                             const std::vector<double>& buckets = LatencyBuckets());
  // Runs before each Render(); used for values sampled on scrape (RSS, fds,
  // queue depth). Collectors must not call Render().
  void AddCollector(std::function<void()> collector);
  std::string Render();

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::map<std::string, std::unique_ptr<CounterMetric>> counters;  // by rendered labels
    std::map<std::string, std::unique_ptr<GaugeMetric>> gauges;
    std::map<std::string, std::unique_ptr<HistogramMetric>> histograms;
  };
  Family& FamilyFor(const std::string& name, const std::string& help, Type type);

  std::mutex mu_;
  std::map<std::string, Family> families_;  // GUARDED_BY(mu_)
  std::vector<std::function<void()>> collectors_;  // GUARDED_BY(mu_)
};

// Renders {a="x",b="y"} with Prometheus escaping; empty labels render "".
std::string RenderLabels(const Labels& labels);

}  // namespace kiln
