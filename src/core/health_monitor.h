// HealthMonitor: probes named dependencies (metadata store, artifact store)
// on its own thread at a fixed interval and keeps the latest verdicts, so
// /health answers from memory without blocking an I/O thread.
//
// Thread-safe. Owns its probing thread; the destructor stops it. The probes
// must stay callable for the monitor's lifetime.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"

namespace kiln {

struct HealthCheck {
  std::string name;
  bool ok = false;
  std::string message;  // why it failed; empty when ok
  double latency_ms = 0;
};

class HealthMonitor {
 public:
  using Probe = std::function<Status()>;

  // Runs every probe once before returning, so the first /health is real.
  HealthMonitor(std::vector<std::pair<std::string, Probe>> probes, std::chrono::milliseconds interval);
  ~HealthMonitor();

  std::vector<HealthCheck> Checks() const;
  bool Healthy() const;
  // Bumped after every probe round; lets readers cache what they derive
  // from Checks() until the next round.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  void ProbeAll();
  void Loop();

  std::vector<std::pair<std::string, Probe>> probes_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<HealthCheck> checks_;  // GUARDED_BY(mu_)
  bool stopping_ = false;            // GUARDED_BY(mu_)
  std::atomic<uint64_t> generation_{0};
  std::thread thread_;
};

}  // namespace kiln
