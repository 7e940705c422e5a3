// LoginLimiter: counts failed logins per user name and per source address in
// a fixed window, so a password cannot be guessed at speed. After
// `max_failures` failures on one user name (or `max_failures` *
// `kSourceFactor` from one source) within `window_ms` of the first one, the
// key is blocked until that window ends. A source gets more room than a name
// because many users may share one address (a NAT, an ingress proxy): one
// guesser behind it should not lock all of them out at the first threshold.
// A successful login of a user clears its user-name counter (not its
// source's: an attacker that knows one password must not reset the count for
// guesses on others).
//
// Sources are reduced to their host ("10.0.0.7:53122" -> "10.0.0.7",
// "ipv6:[::1]:5000" -> "::1"): a client opens a new port per connection.
//
// Memory is bounded: at most `max_keys` counters; when full, expired ones
// are dropped first, then the oldest.
//
// Ownership: borrows the clock. Thread-safety: thread-safe (one mutex; every
// call is a few map operations).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "core/status.h"

namespace kiln::auth {

class LoginLimiter {
 public:
  static constexpr int kSourceFactor = 5;

  LoginLimiter(Clock& clock, int max_failures, int64_t window_ms, size_t max_keys = 100000);

  // ResourceExhausted ("too many failed logins ...; retry in N s") when the
  // user or the source is blocked. An empty user checks the source only.
  Status Check(std::string_view user, std::string_view source);
  void RecordFailure(std::string_view user, std::string_view source);
  void RecordSuccess(std::string_view user);

  static std::string SourceHost(std::string_view source);

 private:
  struct Counter {
    int64_t window_start_ms = 0;
    int failures = 0;
  };
  void Bump(const std::string& key, int64_t now);
  // Remaining block in ms, 0 when not blocked.
  int64_t BlockedFor(const std::string& key, int limit, int64_t now) const;
  void MakeRoom(int64_t now);

  Clock& clock_;
  const int max_failures_;
  const int64_t window_ms_;
  const size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, Counter> counters_;  // "u:<name>" / "s:<host>"; guarded by mu_
  // counters_.size(), readable without the lock: with no failure on record
  // (the normal case) Check() costs one atomic load.
  std::atomic<size_t> size_{0};
};

}  // namespace kiln::auth
