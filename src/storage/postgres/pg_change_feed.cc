#include "storage/postgres/pg_change_feed.h"

#include "core/ids.h"
#include "core/log.h"

namespace kiln::storage::postgres {

StatusOr<std::unique_ptr<PgChangeFeed>> PgChangeFeed::Create(PgDatabase& db, std::chrono::milliseconds resync_period) {
  if (resync_period.count() < 1) return InvalidArgument("the change feed's resync period must be positive");
  std::unique_ptr<PgChangeFeed> feed(new PgChangeFeed(db, resync_period));
  PgChangeFeed* f = feed.get();
  KILN_ASSIGN_OR_RETURN(
      feed->listener_,
      PgListener::Create(
          db.conn_params(), {kChangeChannel}, [f](const std::string&, const std::string& payload) { f->Deliver(payload); },
          // Announcements sent while the listener was away are lost.
          [f] { f->DeliverAll(); }));
  feed->resync_ = std::thread([f] { f->ResyncLoop(); });
  return feed;
}

PgChangeFeed::PgChangeFeed(PgDatabase& db, std::chrono::milliseconds resync_period)
    : db_(db), resync_period_(resync_period), origin_(NewHexId().substr(0, 16)) {}

PgChangeFeed::~PgChangeFeed() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (resync_.joinable()) resync_.join();
  listener_.reset();
}

void PgChangeFeed::Announce(const std::string& topic, const std::string& key) {
  const std::string payload = origin_ + "\t" + topic + "\t" + key;
  if (Status s = db_.Notify(kChangeChannel, payload); !s.ok()) {
    log::Warn("change feed: cannot announce " + topic + " '" + key + "' to other replicas (they resync within " +
              std::to_string(resync_period_.count()) + " ms): " + s.message());
  }
}

void PgChangeFeed::Subscribe(const std::string& topic, Handler handler) {
  std::lock_guard lock(mu_);
  handlers_.emplace(topic, std::move(handler));
}

int64_t PgChangeFeed::received() const {
  std::lock_guard lock(mu_);
  return received_;
}

void PgChangeFeed::Deliver(const std::string& payload) {
  const size_t a = payload.find('\t');
  const size_t b = a == std::string::npos ? std::string::npos : payload.find('\t', a + 1);
  if (b == std::string::npos) {
    log::Warn("change feed: ignoring a malformed announcement");
    return;
  }
  if (payload.compare(0, a, origin_) == 0 && a == origin_.size()) return;  // our own
  const std::string topic = payload.substr(a + 1, b - a - 1);
  const std::string key = payload.substr(b + 1);
  std::lock_guard lock(mu_);
  ++received_;
  auto [lo, hi] = handlers_.equal_range(topic);
  for (auto it = lo; it != hi; ++it) it->second(key);
}

void PgChangeFeed::DeliverAll() {
  std::lock_guard lock(mu_);
  for (auto& [topic, handler] : handlers_) handler("");
}

void PgChangeFeed::ResyncLoop() {
  std::unique_lock lock(stop_mu_);
  while (!stopping_) {
    if (stop_cv_.wait_for(lock, resync_period_, [this] { return stopping_; })) break;
    lock.unlock();
    DeliverAll();
    lock.lock();
  }
}

}  // namespace kiln::storage::postgres
