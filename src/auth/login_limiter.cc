#include "auth/login_limiter.h"

#include <algorithm>
#include <cctype>

namespace kiln::auth {

LoginLimiter::LoginLimiter(Clock& clock, int max_failures, int64_t window_ms, size_t max_keys)
    : clock_(clock), max_failures_(std::max(1, max_failures)), window_ms_(std::max<int64_t>(1, window_ms)),
      max_keys_(std::max<size_t>(16, max_keys)) {}

std::string LoginLimiter::SourceHost(std::string_view s) {
  for (std::string_view prefix : {"ipv4:", "ipv6:"}) {
    if (s.substr(0, prefix.size()) == prefix) s.remove_prefix(prefix.size());
  }
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close != std::string_view::npos) return std::string(s.substr(1, close - 1));
  }
  size_t colon = s.rfind(':');
  // One colon followed by digits is a port; several colons without brackets
  // is a bare IPv6 address.
  if (colon != std::string_view::npos && s.find(':') == colon && colon + 1 < s.size() &&
      std::all_of(s.begin() + colon + 1, s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    return std::string(s.substr(0, colon));
  }
  return std::string(s);
}

int64_t LoginLimiter::BlockedFor(const std::string& key, int limit, int64_t now) const {
  auto it = counters_.find(key);
  if (it == counters_.end()) return 0;
  const Counter& c = it->second;
  int64_t end = c.window_start_ms + window_ms_;
  if (now >= end || c.failures < limit) return 0;
  return end - now;
}

Status LoginLimiter::Check(std::string_view user, std::string_view source) {
  if (size_.load(std::memory_order_acquire) == 0) return Status::Ok();
  const int64_t now = clock_.NowMillis();
  std::lock_guard lock(mu_);
  // Few counters: drop the expired ones, so the lock-free fast path comes back
  // once a burst of failures has aged out.
  if (counters_.size() < 1024) {
    for (auto it = counters_.begin(); it != counters_.end();) {
      it = now >= it->second.window_start_ms + window_ms_ ? counters_.erase(it) : std::next(it);
    }
    size_.store(counters_.size(), std::memory_order_release);
  }
  int64_t wait = BlockedFor("s:" + SourceHost(source), max_failures_ * kSourceFactor, now);
  if (!user.empty()) wait = std::max(wait, BlockedFor("u:" + std::string(user), max_failures_, now));
  if (wait == 0) return Status::Ok();
  return ResourceExhausted("too many failed logins; retry in " + std::to_string((wait + 999) / 1000) + " s");
}

void LoginLimiter::Bump(const std::string& key, int64_t now) {
  auto it = counters_.find(key);
  if (it == counters_.end()) {
    MakeRoom(now);
    counters_[key] = Counter{now, 1};
    return;
  }
  Counter& c = it->second;
  if (now >= c.window_start_ms + window_ms_) {
    c = Counter{now, 1};
  } else {
    ++c.failures;
  }
}

void LoginLimiter::MakeRoom(int64_t now) {
  if (counters_.size() < max_keys_) return;
  for (auto it = counters_.begin(); it != counters_.end();) {
    it = now >= it->second.window_start_ms + window_ms_ ? counters_.erase(it) : std::next(it);
  }
  while (counters_.size() >= max_keys_) {
    auto oldest = std::min_element(counters_.begin(), counters_.end(), [](const auto& a, const auto& b) {
      return a.second.window_start_ms < b.second.window_start_ms;
    });
    counters_.erase(oldest);
  }
}

void LoginLimiter::RecordFailure(std::string_view user, std::string_view source) {
  const int64_t now = clock_.NowMillis();
  std::lock_guard lock(mu_);
  Bump("s:" + SourceHost(source), now);
  if (!user.empty()) Bump("u:" + std::string(user), now);
  size_.store(counters_.size(), std::memory_order_release);
}

void LoginLimiter::RecordSuccess(std::string_view user) {
  if (size_.load(std::memory_order_acquire) == 0) return;
  std::lock_guard lock(mu_);
  counters_.erase("u:" + std::string(user));
  size_.store(counters_.size(), std::memory_order_release);
}

}  // namespace kiln::auth
