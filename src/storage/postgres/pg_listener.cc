#include "storage/postgres/pg_listener.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace kiln::storage::postgres {

PgListener::PgListener(PgConnParams params, std::vector<std::string> channels, OnNotify on_notify,
                       OnReconnect on_reconnect)
    : params_(std::move(params)),
      channels_(std::move(channels)),
      on_notify_(std::move(on_notify)),
      on_reconnect_(std::move(on_reconnect)) {}

StatusOr<std::unique_ptr<PgListener>> PgListener::Create(const PgConnParams& params, std::vector<std::string> channels,
                                                         OnNotify on_notify, OnReconnect on_reconnect) {
  if (channels.empty()) return InvalidArgument("postgresql listener: no channels");
  std::unique_ptr<PgListener> l(
      new PgListener(params, std::move(channels), std::move(on_notify), std::move(on_reconnect)));
  if (pipe(l->wake_) != 0) return Internal("postgresql listener: pipe failed");
  KILN_ASSIGN_OR_RETURN(l->conn_, l->ConnectAndListen());
  l->thread_ = std::thread([p = l.get()] { p->Loop(); });
  return l;
}

PgListener::~PgListener() {
  stop_ = true;
  if (wake_[1] >= 0) {
    const char b = 1;
    (void)!write(wake_[1], &b, 1);
  }
  if (thread_.joinable()) thread_.join();
  conn_.reset();
  for (int fd : wake_) {
    if (fd >= 0) close(fd);
  }
}

StatusOr<std::unique_ptr<PgConn>> PgListener::ConnectAndListen() {
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> c, PgConn::Connect(params_));
  for (const std::string& ch : channels_) {
    // Channel names are identifiers: quote them so any name works.
    char* quoted = PQescapeIdentifier(c->raw(), ch.c_str(), ch.size());
    if (quoted == nullptr) return Internal("postgresql listener: cannot quote channel " + ch);
    const std::string sql = std::string("LISTEN ") + quoted;
    PQfreemem(quoted);
    KILN_RETURN_IF_ERROR(c->Exec(sql));
  }
  backend_pid_ = c->backend_pid();
  return c;
}

void PgListener::WaitReadable(int fd, int timeout_ms) {
  pollfd fds[2] = {{wake_[0], POLLIN, 0}, {fd, POLLIN, 0}};
  (void)poll(fds, fd >= 0 ? 2 : 1, timeout_ms);
}

void PgListener::Loop() {
  std::chrono::milliseconds backoff{50};
  while (!stop_) {
    if (!conn_ || conn_->broken()) {
      conn_.reset();
      StatusOr<std::unique_ptr<PgConn>> c = ConnectAndListen();
      if (!c.ok()) {
        WaitReadable(-1, static_cast<int>(backoff.count()));
        backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
        continue;
      }
      conn_ = std::move(*c);
      backoff = std::chrono::milliseconds(50);
      ++reconnects_;
      if (on_reconnect_) on_reconnect_();
    }
    // A timeout bounds how long a silently dead peer (no RST) goes unnoticed
    // only together with TCP keepalives; polling here keeps stop prompt.
    WaitReadable(PQsocket(conn_->raw()), 1000);
    if (stop_) break;
    if (PQconsumeInput(conn_->raw()) == 0) {
      conn_.reset();  // lost: reconnect above
      continue;
    }
    while (PGnotify* n = PQnotifies(conn_->raw())) {
      const std::string channel = n->relname ? n->relname : "";
      const std::string payload = n->extra ? n->extra : "";
      PQfreemem(n);
      if (on_notify_) on_notify_(channel, payload);
    }
  }
}

}  // namespace kiln::storage::postgres
