#include "storage/redis/redis_client.h"

#include <csignal>
#include <chrono>
#include <sys/time.h>

#include <hiredis/hiredis.h>
#include <hiredis/hiredis_ssl.h>

namespace kiln::storage::redis {

void ReplyDeleter::operator()(redisReply* r) const { freeReplyObject(r); }

std::string_view ReplyError(const redisReply* r) {
  if (r == nullptr || r->type != REDIS_REPLY_ERROR) return {};
  return std::string_view(r->str, r->len);
}

struct RedisClient::Conn {
  redisContext* ctx = nullptr;
  ~Conn() {
    if (ctx) redisFree(ctx);
  }
};

namespace {

timeval Tv(int ms) {
  timeval tv;
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}

std::string ContextError(const redisContext* c) {
  if (c == nullptr) return "out of memory";
  return c->errstr[0] ? std::string(c->errstr) : "connection error " + std::to_string(c->err);
}

}  // namespace

RedisClient::RedisClient(RedisOptions options) : options_(std::move(options)) {}

RedisClient::~RedisClient() {
  idle_.clear();
  if (ssl_) redisFreeSSLContext(ssl_);
}

std::string RedisClient::Address() const {
  const bool v6 = options_.host.find(':') != std::string::npos;
  return (options_.tls ? "rediss://" : "redis://") + (v6 ? "[" + options_.host + "]" : options_.host) + ":" +
         std::to_string(options_.port) + "/" + std::to_string(options_.db);
}

StatusOr<std::unique_ptr<RedisClient>> RedisClient::Create(RedisOptions options) {
  std::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<RedisClient> client(new RedisClient(std::move(options)));
  const RedisOptions& o = client->options_;
  if (o.tls) {
    redisSSLOptions ssl{};
    ssl.cacert_filename = o.ca_file.empty() ? nullptr : o.ca_file.c_str();
    ssl.verify_mode = REDIS_SSL_VERIFY_PEER;
    // SNI only for names (RFC 6066 forbids IP literals); the identity check
    // covers both.
    const bool ip = o.host.find_first_not_of("0123456789.") == std::string::npos || o.host.find(':') != std::string::npos;
    ssl.server_name = ip ? nullptr : o.host.c_str();
    ssl.verify_name = o.host.c_str();
    redisSSLContextError err = REDIS_SSL_CTX_NONE;
    client->ssl_ = redisCreateSSLContextWithOptions(&ssl, &err);
    if (client->ssl_ == nullptr) {
      return InvalidArgument(std::string("cannot set up TLS for Redis: ") + redisSSLContextGetError(err) +
                             (o.ca_file.empty() ? "" : " (CA file " + o.ca_file + ")"));
    }
  }
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<Conn> first, client->Connect());
  {
    std::lock_guard lock(client->mu_);
    client->open_ = 1;
  }
  client->Release(std::move(first), true);
  return client;
}

StatusOr<std::unique_ptr<RedisClient::Conn>> RedisClient::Connect() {
  const RedisOptions& o = options_;
  redisOptions ro{};
  REDIS_OPTIONS_SET_TCP(&ro, o.host.c_str(), o.port);
  const timeval tv = Tv(o.timeout_ms);
  ro.connect_timeout = &tv;
  ro.command_timeout = &tv;
  ro.options |= REDIS_OPT_SET_SOCK_CLOEXEC;
  auto c = std::make_unique<Conn>();
  c->ctx = redisConnectWithOptions(&ro);
  if (c->ctx == nullptr || c->ctx->err) {
    return Unavailable("cannot connect to Redis at " + Address() + ": " + ContextError(c->ctx));
  }
  if (ssl_ && redisInitiateSSLWithContext(c->ctx, ssl_) != REDIS_OK) {
    return Unavailable("TLS handshake with Redis at " + Address() + " failed: " + ContextError(c->ctx));
  }
  auto command = [&](std::vector<std::string_view> argv) -> StatusOr<ReplyPtr> {
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (auto a : argv) {
      ptrs.push_back(a.data());
      lens.push_back(a.size());
    }
    void* r = redisCommandArgv(c->ctx, static_cast<int>(argv.size()), ptrs.data(), lens.data());
    if (r == nullptr) return Unavailable("Redis at " + Address() + ": " + ContextError(c->ctx));
    return ReplyPtr(static_cast<redisReply*>(r));
  };
  if (!o.password.empty()) {
    std::vector<std::string_view> auth = {"AUTH"};
    if (!o.username.empty()) auth.push_back(o.username);
    auth.push_back(o.password);
    KILN_ASSIGN_OR_RETURN(ReplyPtr r, command(auth));
    if (r->type == REDIS_REPLY_ERROR) {
      return Unauthenticated("Redis at " + Address() + " refused the password: " + std::string(ReplyError(r.get())));
    }
  }
  if (o.db != 0) {
    const std::string db = std::to_string(o.db);
    KILN_ASSIGN_OR_RETURN(ReplyPtr r, command({"SELECT", db}));
    if (r->type == REDIS_REPLY_ERROR) {
      return InvalidArgument("Redis at " + Address() + " refused database " + db + ": " +
                             std::string(ReplyError(r.get())));
    }
  }
  // A server that requires a password answers NOAUTH here when none is set.
  KILN_ASSIGN_OR_RETURN(ReplyPtr pong, command({"PING"}));
  if (pong->type == REDIS_REPLY_ERROR) {
    const std::string_view e = ReplyError(pong.get());
    if (e.rfind("NOAUTH", 0) == 0) {
      return Unauthenticated("Redis at " + Address() +
                             " needs a password (redis://:PASSWORD@host:port or --redis-password-file): " +
                             std::string(e));
    }
    return Unavailable("Redis at " + Address() + " answered PING with " + std::string(e));
  }
  return c;
}

StatusOr<std::unique_ptr<RedisClient::Conn>> RedisClient::Acquire(bool* reused) {
  std::unique_lock lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.timeout_ms);
  while (idle_.empty() && open_ >= options_.pool_size) {
    if (freed_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.pool_size) {
      return Unavailable("all " + std::to_string(options_.pool_size) + " connections to Redis at " + Address() +
                         " stayed busy for " + std::to_string(options_.timeout_ms) + " ms");
    }
  }
  if (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    *reused = true;
    return c;
  }
  ++open_;
  lock.unlock();
  *reused = false;
  auto c = Connect();
  if (!c.ok()) {
    lock.lock();
    --open_;
    freed_.notify_one();
  }
  return c;
}

void RedisClient::Release(std::unique_ptr<Conn> c, bool healthy) {
  {
    std::lock_guard lock(mu_);
    if (healthy) {
      idle_.push_back(std::move(c));
    } else {
      --open_;
    }
  }
  freed_.notify_one();
  // An unhealthy connection closes here, outside the lock.
}

Status RedisClient::Exchange(Conn& c, const CommandBatch& batch, std::vector<ReplyPtr>* replies) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (size_t i = 0; i < batch.starts_.size(); ++i) {
    const size_t begin = batch.starts_[i];
    const size_t end = i + 1 < batch.starts_.size() ? batch.starts_[i + 1] : batch.args_.size();
    ptrs.clear();
    lens.clear();
    for (size_t a = begin; a < end; ++a) {
      ptrs.push_back(batch.args_[a].data());
      lens.push_back(batch.args_[a].size());
    }
    if (redisAppendCommandArgv(c.ctx, static_cast<int>(ptrs.size()), ptrs.data(), lens.data()) != REDIS_OK) {
      return Unavailable("Redis at " + Address() + ": " + ContextError(c.ctx));
    }
  }
  replies->clear();
  replies->reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    void* r = nullptr;
    if (redisGetReply(c.ctx, &r) != REDIS_OK || r == nullptr) {
      return Unavailable("Redis at " + Address() + ": " + ContextError(c.ctx));
    }
    replies->emplace_back(static_cast<redisReply*>(r));
  }
  return Status::Ok();
}

void RedisClient::DropIdle() {
  std::vector<std::unique_ptr<Conn>> stale;
  {
    std::lock_guard lock(mu_);
    stale.swap(idle_);
    open_ -= stale.size();
  }
  freed_.notify_all();
}

StatusOr<std::vector<ReplyPtr>> RedisClient::Pipeline(const CommandBatch& batch) {
  std::vector<ReplyPtr> replies;
  if (batch.empty()) return replies;
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<Conn> c, Acquire(&reused));
    Status s = Exchange(*c, batch, &replies);
    if (s.ok()) {
      Release(std::move(c), true);
      return replies;
    }
    Release(std::move(c), false);
    if (!reused || attempt > 0) return s;
    DropIdle();
    // The idle connection may have been closed by the server (timeout,
    // restart): once more on a new one.
  }
}

}  // namespace kiln::storage::redis
