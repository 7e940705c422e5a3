// RedisClient: a bounded pool of blocking hiredis connections to one Redis
// server (plain or TLS, AUTH, SELECT), and pipelined commands on them.
//
// Why blocking connections: callers (the online store) already run on kiln's
// bounded worker pool, one request per worker, so a connection per worker in
// flight is the simplest correct model; a request's commands go out in one
// write and their replies come back in one round trip (Pipeline).
//
// Connections are opened lazily up to RedisOptions::pool_size; a caller that
// finds them all busy waits up to timeout_ms, then gets Unavailable. A
// connection that fails (I/O error, timeout, protocol error) is closed, never
// returned to the pool; the next caller opens a new one (reconnect). A
// pipeline that fails on a connection that had been idle in the pool (the
// server may have closed it, e.g. after a restart) closes every idle
// connection and is retried once on a fresh one, so only idempotent commands
// may be sent (the online store's are).
//
// hiredis writes with send(2)/SSL_write without MSG_NOSIGNAL, so Create sets
// SIGPIPE to ignored for the process (a closed server connection must be an
// error, not the end of kiln); Asio and libcurl already never rely on it.
//
// Ownership: owns its connections and TLS context. Thread-safety: every
// method is thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "storage/redis/redis_options.h"

struct redisReply;
struct redisContext;
struct redisSSLContext;

namespace kiln::storage::redis {

// Commands to send in one round trip: arguments are views, so whatever they
// point into must outlive Pipeline().
class CommandBatch {
 public:
  void Begin() { starts_.push_back(args_.size()); }
  void Arg(std::string_view a) { args_.push_back(a); }
  size_t size() const { return starts_.size(); }
  bool empty() const { return starts_.empty(); }
  // The arguments of command i.
  std::vector<std::string_view> Command(size_t i) const {
    const size_t end = i + 1 < starts_.size() ? starts_[i + 1] : args_.size();
    return {args_.begin() + static_cast<std::ptrdiff_t>(starts_[i]), args_.begin() + static_cast<std::ptrdiff_t>(end)};
  }
  void Clear() {
    args_.clear();
    starts_.clear();
  }

 private:
  friend class RedisClient;
  std::vector<std::string_view> args_;
  std::vector<size_t> starts_;
};

struct ReplyDeleter {
  void operator()(redisReply* r) const;
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

class RedisClient {
 public:
  // Connects once to check the address, TLS, password and database, so a
  // misconfigured server fails kiln's start instead of its first request.
  static StatusOr<std::unique_ptr<RedisClient>> Create(RedisOptions options);
  ~RedisClient();

  // Sends every command, then reads every reply (one per command, in order).
  // A Redis error reply is a reply (type REDIS_REPLY_ERROR), not a failed
  // Status; a failed Status means the exchange itself failed.
  StatusOr<std::vector<ReplyPtr>> Pipeline(const CommandBatch& batch);

  const RedisOptions& options() const { return options_; }
  std::string Address() const;

 private:
  struct Conn;
  explicit RedisClient(RedisOptions options);
  StatusOr<std::unique_ptr<Conn>> Connect();
  StatusOr<std::unique_ptr<Conn>> Acquire(bool* reused);
  void Release(std::unique_ptr<Conn> c, bool healthy);
  void DropIdle();
  Status Exchange(Conn& c, const CommandBatch& batch, std::vector<ReplyPtr>* replies);

  const RedisOptions options_;
  redisSSLContext* ssl_ = nullptr;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Conn>> idle_;  // guarded by mu_
  size_t open_ = 0;                          // guarded by mu_ (idle + in use + connecting)
};

// The text of an error reply, "" for any other reply.
std::string_view ReplyError(const redisReply* r);

}  // namespace kiln::storage::redis
