#include "deploy/route_stats.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace kiln::deploy {
namespace {

// Upper bounds in seconds, log-spaced from 10 us to 100 s (ratio 10^(7/39)),
// so a p99 read back is at most ~51 % above the true value.
const std::array<double, 40>& Bounds() {
  static const std::array<double, 40> bounds = [] {
    std::array<double, 40> b{};
    const double ratio = std::pow(10.0, 7.0 / 39.0);
    double v = 1e-5;
    for (double& x : b) {
      x = v;
      v *= ratio;
    }
    return b;
  }();
  return bounds;
}

int BucketFor(double seconds) {
  const auto& b = Bounds();
  auto it = std::lower_bound(b.begin(), b.end(), seconds);
  if (it == b.end()) return static_cast<int>(b.size()) - 1;
  return static_cast<int>(it - b.begin());
}

}  // namespace

void RouteStats::Record(bool server_error, double seconds, int64_t now_s) {
  total_.fetch_add(1, std::memory_order_relaxed);
  if (server_error) total_errors_.fetch_add(1, std::memory_order_relaxed);
  if (HistogramMetric* h = histogram_.load(std::memory_order_acquire)) h->Observe(seconds);
  if (now_s < 0) return;
  Bucket& b = buckets_[static_cast<size_t>(now_s % kWindowSeconds)];
  int64_t seen = b.second.load(std::memory_order_acquire);
  if (seen != now_s) {
    // The first writer of a new second claims the bucket and clears what the
    // second kWindowSeconds ago left in it; later writers of that second just add.
    if (seen < now_s && b.second.compare_exchange_strong(seen, now_s, std::memory_order_acq_rel)) {
      b.requests.store(0, std::memory_order_relaxed);
      b.errors.store(0, std::memory_order_relaxed);
      for (auto& l : b.latency) l.store(0, std::memory_order_relaxed);
    } else if (b.second.load(std::memory_order_acquire) != now_s) {
      return;  // a stale clock reading (older than the bucket's second): nothing to add to
    }
  }
  b.requests.fetch_add(1, std::memory_order_relaxed);
  if (server_error) b.errors.fetch_add(1, std::memory_order_relaxed);
  b.latency[static_cast<size_t>(BucketFor(seconds))].fetch_add(1, std::memory_order_relaxed);
}

void RouteStats::Record(bool server_error, double seconds) { Record(server_error, seconds, NowSeconds()); }

WindowReading RouteStats::Read(int64_t window_s, int64_t now_s) const {
  window_s = std::clamp<int64_t>(window_s, 1, kWindowSeconds);
  WindowReading out;
  std::array<uint64_t, kLatencyBuckets> hist{};
  for (const Bucket& b : buckets_) {
    const int64_t s = b.second.load(std::memory_order_acquire);
    if (s < 0 || s > now_s || s <= now_s - window_s) continue;
    out.requests += b.requests.load(std::memory_order_relaxed);
    out.errors += b.errors.load(std::memory_order_relaxed);
    for (size_t i = 0; i < hist.size(); ++i) hist[i] += b.latency[i].load(std::memory_order_relaxed);
  }
  uint64_t counted = 0;
  for (uint64_t h : hist) counted += h;
  if (out.requests > 0) out.error_rate = static_cast<double>(out.errors) / static_cast<double>(out.requests);
  if (counted == 0) return out;
  auto quantile = [&](double q) {
    const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(counted)));
    uint64_t cum = 0;
    for (size_t i = 0; i < hist.size(); ++i) {
      cum += hist[i];
      if (cum >= std::max<uint64_t>(rank, 1)) return Bounds()[i] * 1000.0;
    }
    return Bounds().back() * 1000.0;
  };
  out.p50_ms = quantile(0.50);
  out.p99_ms = quantile(0.99);
  return out;
}

WindowReading RouteStats::Read(int64_t window_s) const { return Read(window_s, NowSeconds()); }

int64_t RouteStats::NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace kiln::deploy
