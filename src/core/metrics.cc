#include "core/metrics.h"

#include <bit>
#include <cassert>
#include <cmath>
#include <cstdio>

namespace kiln {
namespace {

double FromBits(uint64_t b) { return std::bit_cast<double>(b); }
uint64_t ToBits(double d) { return std::bit_cast<uint64_t>(d); }

void AtomicAdd(std::atomic<uint64_t>& bits, double by) {
  uint64_t old = bits.load(std::memory_order_relaxed);
  while (!bits.compare_exchange_weak(old, ToBits(FromBits(old) + by), std::memory_order_relaxed)) {
  }
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string EscapeHelp(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// Inserts one more label into an already-rendered label set.
std::string WithLabel(const std::string& rendered, const std::string& key, const std::string& value) {
  std::string extra = key + "=\"" + value + "\"";
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}

}  // namespace

void CounterMetric::Increment(double by) { AtomicAdd(bits_, by); }
double CounterMetric::value() const { return FromBits(bits_.load(std::memory_order_relaxed)); }

void GaugeMetric::Set(double v) { bits_.store(ToBits(v), std::memory_order_relaxed); }
void GaugeMetric::Add(double by) { AtomicAdd(bits_, by); }
double GaugeMetric::value() const { return FromBits(bits_.load(std::memory_order_relaxed)); }

HistogramMetric::HistogramMetric(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void HistogramMetric::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_bits_, v);
}

void HistogramMetric::Snapshot(std::vector<uint64_t>* cumulative, double* sum, uint64_t* count) const {
  cumulative->assign(bounds_.size() + 1, 0);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    (*cumulative)[i] = running;
  }
  *count = running;
  *sum = FromBits(sum_bits_.load(std::memory_order_relaxed));
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string RenderLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ",";
    out += labels[i].first + "=\"" + EscapeLabelValue(labels[i].second) + "\"";
  }
  out += "}";
  return out;
}

MetricsRegistry::Family& MetricsRegistry::FamilyFor(const std::string& name, const std::string& help, Type type) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
  }
  assert(it->second.type == type && "metric registered twice with different types");
  return it->second;
}

CounterMetric& MetricsRegistry::Counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyFor(name, help, Type::kCounter).counters[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<CounterMetric>();
  return *slot;
}

GaugeMetric& MetricsRegistry::Gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyFor(name, help, Type::kGauge).gauges[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<GaugeMetric>();
  return *slot;
}

HistogramMetric& MetricsRegistry::Histogram(const std::string& name, const std::string& help, const Labels& labels,
                                            const std::vector<double>& buckets) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyFor(name, help, Type::kHistogram).histograms[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<HistogramMetric>(buckets);
  return *slot;
}

void MetricsRegistry::AddCollector(std::function<void()> collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string MetricsRegistry::Render() {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
  }
  for (auto& c : collectors) c();

  std::lock_guard lock(mu_);
  std::string out;
  out.reserve(8192);
  for (const auto& [name, fam] : families_) {
    const char* type = fam.type == Type::kCounter ? "counter" : fam.type == Type::kGauge ? "gauge" : "histogram";
    out += "# HELP " + name + " " + EscapeHelp(fam.help) + "\n";
    out += "# TYPE " + name + " " + type + "\n";
    for (const auto& [labels, c] : fam.counters) out += name + labels + " " + FormatValue(c->value()) + "\n";
    for (const auto& [labels, g] : fam.gauges) out += name + labels + " " + FormatValue(g->value()) + "\n";
    for (const auto& [labels, h] : fam.histograms) {
      std::vector<uint64_t> cumulative;
      double sum = 0;
      uint64_t count = 0;
      h->Snapshot(&cumulative, &sum, &count);
      for (size_t i = 0; i < cumulative.size(); ++i) {
        std::string le = i < h->bounds().size() ? FormatValue(h->bounds()[i]) : "+Inf";
        out += name + "_bucket" + WithLabel(labels, "le", le) + " " + std::to_string(cumulative[i]) + "\n";
      }
      out += name + "_sum" + labels + " " + FormatValue(sum) + "\n";
      out += name + "_count" + labels + " " + std::to_string(count) + "\n";
    }
  }
  return out;
}

}  // namespace kiln
