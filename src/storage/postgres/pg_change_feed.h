// PgChangeFeed: the ChangeFeed of replicas sharing one PostgreSQL database,
// over LISTEN/NOTIFY on one channel. A payload is "origin\ttopic\tkey"; the
// origin (random per process) lets a replica ignore its own announcements.
//
// Announce sends NOTIFY on a pooled connection after the caller's commit, so
// when a request that changed something has been answered, every other
// replica's listener has been sent the change (delivery takes milliseconds).
// After the listener reconnects, and every `resync_period`, every handler
// gets key "" (anything may have changed): that bounds how long a lost
// announcement (the announcing process died between commit and NOTIFY, or
// the listener was disconnected) can leave a replica stale.
//
// Ownership: borrows the database (must outlive this); owns the listener and
// the resync thread. Thread-safety: thread-safe; handlers run on the
// listener's or the resync thread, serialized by one mutex.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/change_feed.h"
#include "core/status.h"
#include "storage/postgres/pg_database.h"
#include "storage/postgres/pg_listener.h"

namespace kiln::storage::postgres {

inline constexpr const char* kChangeChannel = "kiln_changes";

class PgChangeFeed final : public ChangeFeed {
 public:
  static StatusOr<std::unique_ptr<PgChangeFeed>> Create(
      PgDatabase& db, std::chrono::milliseconds resync_period = std::chrono::seconds(30));
  ~PgChangeFeed() override;
  PgChangeFeed(const PgChangeFeed&) = delete;
  PgChangeFeed& operator=(const PgChangeFeed&) = delete;

  void Announce(const std::string& topic, const std::string& key) override;
  void Subscribe(const std::string& topic, Handler handler) override;

  const std::string& origin() const { return origin_; }
  // Announcements of other replicas delivered so far (tests, metrics).
  int64_t received() const;
  // The listening backend (tests terminate it to exercise reconnecting).
  int listener_pid() const { return listener_->backend_pid(); }

 private:
  PgChangeFeed(PgDatabase& db, std::chrono::milliseconds resync_period);
  void Deliver(const std::string& payload);
  void DeliverAll();  // key "" to every handler
  void ResyncLoop();

  PgDatabase& db_;
  const std::chrono::milliseconds resync_period_;
  const std::string origin_;
  mutable std::mutex mu_;  // guards handlers_ and received_; held while a handler runs
  std::multimap<std::string, Handler> handlers_;
  int64_t received_ = 0;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mu_
  std::unique_ptr<PgListener> listener_;
  std::thread resync_;
};

}  // namespace kiln::storage::postgres
