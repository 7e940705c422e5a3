// CaptureStore: one endpoint's sampled prediction capture — request,
// response, revision, version, latency and status of a share of the calls —
// in a rolling buffer bounded by bytes: the oldest records go first. In
// memory only (documented in docs/platform.md): a restart empties it, and
// GET /api/v1/endpoints/{name}/predictions exports it as JSON lines for
// whoever needs it kept.
//
// Thread-safety: thread-safe; Add and List take a short mutex (no I/O).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace kiln::deploy {

struct CapturedPrediction {
  int64_t id = 0;  // assigned by Add, increasing
  int64_t timestamp_ms = 0;
  int64_t revision = 0;
  std::string model;
  int64_t version = 0;
  double latency_ms = 0;
  int status = 200;  // HTTP status of the answer
  std::string request_json;
  std::string response_json;
};

class CaptureStore {
 public:
  explicit CaptureStore(size_t max_bytes) : max_bytes_(max_bytes) {}
  // True for a `percent` (0..100) share of calls, decided at random.
  static bool Sample(double percent);
  // Stores `record` (its id is assigned), evicting the oldest records while
  // the total exceeds max_bytes. A record larger than max_bytes alone is
  // dropped and counted.
  void Add(CapturedPrediction record);
  // Records with id > after_id, oldest first, at most max_results.
  std::vector<CapturedPrediction> List(int64_t after_id, size_t max_results) const;
  size_t bytes() const;
  size_t size() const;
  uint64_t evicted() const { return evicted_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  static size_t SizeOf(const CapturedPrediction& r);
  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::deque<CapturedPrediction> records_;  // guarded by mu_
  size_t bytes_ = 0;                        // guarded by mu_
  int64_t next_id_ = 1;                     // guarded by mu_
  std::atomic<uint64_t> evicted_{0};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace kiln::deploy
