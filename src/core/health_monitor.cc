#include "core/health_monitor.h"

namespace kiln {

HealthMonitor::HealthMonitor(std::vector<std::pair<std::string, Probe>> probes, std::chrono::milliseconds interval)
    : probes_(std::move(probes)), interval_(interval) {
  ProbeAll();
  thread_ = std::thread([this] { Loop(); });
}

HealthMonitor::~HealthMonitor() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HealthMonitor::ProbeAll() {
  std::vector<HealthCheck> results;
  for (auto& [name, probe] : probes_) {
    auto start = std::chrono::steady_clock::now();
    Status s = probe();
    HealthCheck c;
    c.name = name;
    c.ok = s.ok();
    c.message = s.ok() ? "" : s.message();
    c.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    results.push_back(std::move(c));
  }
  std::lock_guard lock(mu_);
  checks_ = std::move(results);
  generation_.fetch_add(1, std::memory_order_release);
}

void HealthMonitor::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, interval_, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    ProbeAll();
    lock.lock();
  }
}

std::vector<HealthCheck> HealthMonitor::Checks() const {
  std::lock_guard lock(mu_);
  return checks_;
}

bool HealthMonitor::Healthy() const {
  std::lock_guard lock(mu_);
  for (const auto& c : checks_) {
    if (!c.ok) return false;
  }
  return true;
}

}  // namespace kiln
