// PgListener: a cross-replica change signal. A dedicated connection LISTENs
// on the given channels; a thread of its own delivers each NOTIFY (sent by
// PgDatabase::Notify or NotifyIn inside a committed transaction, from any
// replica) to a callback. When the connection drops it reconnects with
// backoff and re-LISTENs; notifications sent meanwhile are lost, so
// on_reconnect tells the owner to treat everything as changed (e.g. drop its
// caches).
//
// Ownership: owns its connection and thread; the destructor stops both.
// Thread-safety: callbacks run on the listener's thread, one at a time;
// Create and the destructor may run on any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "storage/postgres/pg_conn.h"

namespace kiln::storage::postgres {

class PgListener {
 public:
  using OnNotify = std::function<void(const std::string& channel, const std::string& payload)>;
  using OnReconnect = std::function<void()>;

  // Connects and LISTENs before returning, so a NOTIFY committed after
  // Create returns is delivered.
  static StatusOr<std::unique_ptr<PgListener>> Create(const PgConnParams& params, std::vector<std::string> channels,
                                                      OnNotify on_notify, OnReconnect on_reconnect = {});
  ~PgListener();
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  int64_t reconnects() const { return reconnects_.load(); }
  // The listening backend (tests terminate it to exercise reconnecting).
  int backend_pid() const { return backend_pid_.load(); }

 private:
  PgListener(PgConnParams params, std::vector<std::string> channels, OnNotify on_notify, OnReconnect on_reconnect);
  StatusOr<std::unique_ptr<PgConn>> ConnectAndListen();
  void Loop();
  // Waits until the socket is readable, the stop pipe fires, or timeout.
  void WaitReadable(int fd, int timeout_ms);

  const PgConnParams params_;
  const std::vector<std::string> channels_;
  const OnNotify on_notify_;
  const OnReconnect on_reconnect_;
  std::unique_ptr<PgConn> conn_;  // used by the thread only once started
  int wake_[2] = {-1, -1};        // pipe: the destructor writes to stop the thread
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> reconnects_{0};
  std::atomic<int> backend_pid_{0};
  std::thread thread_;
};

}  // namespace kiln::storage::postgres
