#include "deploy/capture_store.h"

#include <algorithm>
#include <random>

namespace kiln::deploy {

bool CaptureStore::Sample(double percent) {
  if (!(percent > 0)) return false;  // also NaN
  if (percent >= 100) return true;
  // One generator per thread: no lock on the request path, and seeding once
  // keeps random_device (a syscall) off it too.
  thread_local std::mt19937_64 gen{std::random_device{}()};
  std::uniform_real_distribution<double> dist(0.0, 100.0);
  return dist(gen) < percent;
}

size_t CaptureStore::SizeOf(const CapturedPrediction& r) {
  return sizeof(CapturedPrediction) + r.model.size() + r.request_json.size() + r.response_json.size();
}

void CaptureStore::Add(CapturedPrediction record) {
  const size_t size = SizeOf(record);
  if (size > max_bytes_) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::lock_guard lock(mu_);
  record.id = next_id_++;
  records_.push_back(std::move(record));
  bytes_ += size;
  while (bytes_ > max_bytes_) {
    bytes_ -= SizeOf(records_.front());
    records_.pop_front();
    evicted_.fetch_add(1, std::memory_order_relaxed);
  }
}

std::vector<CapturedPrediction> CaptureStore::List(int64_t after_id, size_t max_results) const {
  std::vector<CapturedPrediction> out;
  std::lock_guard lock(mu_);
  // Ids increase along the deque, so the first one past after_id is a binary search away.
  auto it = std::upper_bound(records_.begin(), records_.end(), after_id,
                             [](int64_t id, const CapturedPrediction& r) { return id < r.id; });
  for (; it != records_.end() && out.size() < max_results; ++it) out.push_back(*it);
  return out;
}

size_t CaptureStore::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

size_t CaptureStore::size() const {
  std::lock_guard lock(mu_);
  return records_.size();
}

}  // namespace kiln::deploy
