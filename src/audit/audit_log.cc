#include "audit/audit_log.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <algorithm>

#include "audit/audit_crypto.h"
#include "audit/audit_record.h"
#include "core/ids.h"
#include "core/log.h"

namespace kiln::audit {

using json = nlohmann::json;

namespace {
// Bounds one transaction, so a burst does not make one caller wait for
// thousands of others' inserts.
constexpr size_t kMaxBatch = 512;
// Tries of one batch when other replicas keep appending first.
constexpr int kMaxAppendAttempts = 50;
// How long an outcome record waits for a request's batch to take it along
// before the background thread writes it alone. Long enough that under
// steady traffic the flusher wakes a few times per interval rather than once
// per request (a wakeup costs more than the record's share of a commit);
// short enough that an idle server's last outcomes are on disk at once.
constexpr std::chrono::milliseconds kDetachedDelay{20};
}  // namespace

// Group commit, leader/follower: a caller queues its record; whoever finds
// no leader becomes one, takes the whole queue, chains and appends it in one
// transaction outside the lock, then wakes everyone. Only the leader touches
// the chain state, so it needs no lock of its own.
class AuditLog::Impl {
 public:
  Impl(storage::AuditStore& store, AuditOptions options, Clock& clock, std::unique_ptr<Ed25519Key> key)
      : store_(store), options_(std::move(options)), clock_(clock), key_(std::move(key)), key_id_(key_->KeyId()) {
    if (MetricsRegistry* m = options_.metrics) {
      records_ = &m->Counter("kiln_audit_records_total", "Audit records written");
      write_failures_ = &m->Counter("kiln_audit_write_failures_total",
                                    "Audit records that could not be written (mutations refused, or outcomes lost)");
      checkpoint_failures_ = &m->Counter("kiln_audit_checkpoint_failures_total", "Signed checkpoints not written");
    }
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    ticker_cv_.notify_all();
    if (ticker_.joinable()) ticker_.join();
    if (Status s = Checkpoint(); !s.ok()) log::Error("audit: final checkpoint failed: " + s.message());
  }

  Status Start() {
    KILN_ASSIGN_OR_RETURN(storage::StoredAuditRecord last, store_.Last());
    last_seq_ = last.seq;
    last_hash_ = last.seq == 0 ? std::string(kGenesisHash) : last.hash;
    KILN_ASSIGN_OR_RETURN(std::vector<storage::StoredCheckpoint> cps, store_.Checkpoints());
    if (!cps.empty()) {
      checkpoint_seq_ = cps.back().seq;
      last_signature_ = cps.back().signature;
    }
    AuditEvent startup;
    startup.stage = "event";
    startup.actor = "system";
    startup.actor_kind = "system";
    startup.service = "audit";
    startup.action = "audit.startup";
    startup.decision = "allow";
    startup.reason = "audit log opened; signing key " + key_id_;
    KILN_ASSIGN_OR_RETURN(std::string id, Record(std::move(startup)));
    (void)id;
    ticker_ = std::thread([this] { Tick(); });
    return Status::Ok();
  }

  StatusOr<std::string> Record(AuditEvent e) {
    if (e.audit_id.empty()) e.audit_id = NewId();
    if (e.time_ms == 0) e.time_ms = clock_.NowMillis();
    if (e.actor.empty()) e.actor = "anonymous";
    const bool detached = e.stage == "response";
    auto owned = std::make_unique<Pending>();
    Pending& p = *owned;
    p.parts = BuildRecord(e, options_.max_field_bytes, [this](std::string_view s) { return Hmac(s); });
    p.row.time_ms = e.time_ms;
    p.row.audit_id = e.audit_id;
    p.row.actor = e.actor;
    p.row.action = e.action;
    p.row.object = e.object;
    p.row.decision = e.decision;
    p.row.stage = e.stage;
    p.detached = detached;

    std::unique_lock<std::mutex> lock(mu_);
    if (detached) {
      // The queue owns it now; the next leader (or the flusher) writes it.
      queue_.push_back(owned.release());
      if (detached_waiting_++ == 0) {
        // The oldest waiting outcome sets when the flusher writes: later
        // ones must not wake it early, or it would write each alone just
        // before the next request would have taken it along.
        detached_deadline_ = std::chrono::steady_clock::now() + kDetachedDelay;
        // A flusher already sleeping towards an earlier deadline finds
        // this one when it wakes.
        if (!ticker_armed_) ticker_cv_.notify_one();
      }
      return e.audit_id;
    }
    queue_.push_back(&p);
    while (!p.done) {
      if (!leading_) {
        leading_ = true;
        LeadOneBatch(lock);
        leading_ = false;
        cv_.notify_all();
      } else {
        cv_.wait(lock);
      }
    }
    if (!p.status.ok()) return p.status;
    return e.audit_id;
  }

  Status Checkpoint() {
    Flush();  // outcome records still queued are part of what it covers
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !leading_; });
    leading_ = true;
    lock.unlock();
    Status s = WriteCheckpointIfNeeded();
    lock.lock();
    leading_ = false;
    cv_.notify_all();
    return s;
  }

  std::string Hmac(std::string_view s) const { return HmacSha256Hex(options_.hmac_key, s); }
  std::string PublicKeyPem() const { return key_->PublicPem(); }
  const std::string& KeyId() const { return key_id_; }

  // Writes everything queued now. A batch another leader has already taken
  // off the queue counts as queued: wait for it before looking at the queue.
  void Flush() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return !leading_; });
      if (queue_.empty()) break;
      leading_ = true;
      LeadOneBatch(lock);
      leading_ = false;
      cv_.notify_all();
    }
  }

 private:
  struct Pending {
    RecordParts parts;
    storage::StoredAuditRecord row;
    bool detached = false;  // nobody waits: the leader deletes it once written
    bool done = false;
    Status status;
  };

  // Called with mu_ held and leading_ set; returns with mu_ held.
  void LeadOneBatch(std::unique_lock<std::mutex>& lock) {
    std::vector<Pending*> batch;
    batch.reserve(std::min(queue_.size(), kMaxBatch));
    while (!queue_.empty() && batch.size() < kMaxBatch) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    lock.unlock();
    std::vector<storage::StoredAuditRecord> rows;
    rows.reserve(batch.size());
    Status s;
    // Replicas share the log: when another one appended first, chain the
    // batch onto the log's real end and try again.
    for (int attempt = 0;; ++attempt) {
      rows.clear();
      std::string prev = last_hash_;
      int64_t seq = last_seq_;
      for (Pending* p : batch) {
        storage::StoredAuditRecord row = p->row;
        row.seq = ++seq;
        row.json = p->parts.Join(prev, seq);
        row.hash = ChainHash(prev, row.json);
        prev = row.hash;
        rows.push_back(std::move(row));
      }
      s = store_.Append(rows);
      if (s.ok()) {
        last_seq_ = seq;
        last_hash_ = prev;
        break;
      }
      if (s.code() != StatusCode::kFailedPrecondition) break;
      Resync();
      if (attempt + 1 >= kMaxAppendAttempts) break;
      std::this_thread::sleep_for(std::chrono::microseconds(200 + (attempt * 997 + seq) % 1800));
    }
    if (!s.ok()) s = Unavailable("audit record not written: " + s.message());
    if (CounterMetric* c = s.ok() ? records_ : write_failures_) c->Increment(static_cast<double>(batch.size()));
    bool checkpoint_due = s.ok() && options_.checkpoint_every > 0 &&
                          last_seq_ - checkpoint_seq_ >= options_.checkpoint_every;
    lock.lock();
    for (Pending* p : batch) {
      if (p->detached) {
        --detached_waiting_;
        if (!s.ok()) log::Error("audit: outcome record " + p->row.audit_id + " lost: " + s.message());
        delete p;
        continue;
      }
      p->status = s;
      p->done = true;
    }
    cv_.notify_all();
    if (checkpoint_due) {
      lock.unlock();
      if (Status c = WriteCheckpointIfNeeded(); !c.ok()) log::Error("audit: checkpoint failed: " + c.message());
      lock.lock();
    }
  }

  // The store's end moved under us (another writer, or a commit reported as
  // failed that did land): continue from what is really there.
  void Resync() {
    auto last = store_.Last();
    if (!last.ok()) return;
    last_seq_ = last->seq;
    last_hash_ = last->seq == 0 ? std::string(kGenesisHash) : last->hash;
  }

  void ResyncCheckpoints() {
    auto cps = store_.Checkpoints();
    if (!cps.ok() || cps->empty()) return;
    checkpoint_seq_ = cps->back().seq;
    last_signature_ = cps->back().signature;
  }

  // Leader only.
  Status WriteCheckpointIfNeeded() {
    if (last_seq_ == checkpoint_seq_ || last_seq_ == 0) return Status::Ok();
    storage::StoredCheckpoint c;
    c.seq = last_seq_;
    c.hash = last_hash_;
    c.time_ms = clock_.NowMillis();
    c.prev_signature = last_signature_;
    c.key_id = key_id_;
    auto signature = key_->Sign(CheckpointSignedText(c));
    if (!signature.ok()) {
      if (checkpoint_failures_) checkpoint_failures_->Increment();
      return signature.status();
    }
    c.signature = std::move(*signature);
    if (Status s = store_.AppendCheckpoint(c); !s.ok()) {
      if (s.code() == StatusCode::kFailedPrecondition) {
        // Another replica checkpointed first: follow its chain next time.
        ResyncCheckpoints();
        return Status::Ok();
      }
      if (checkpoint_failures_) checkpoint_failures_->Increment();
      return s;
    }
    checkpoint_seq_ = c.seq;
    last_signature_ = c.signature;
    return Status::Ok();
  }

  // Background: writes outcome records nobody waits for when no request
  // takes them along within kDetachedDelay, and checkpoints every
  // checkpoint_interval_ms.
  void Tick() {
    using namespace std::chrono;
    const bool timed = options_.checkpoint_interval_ms > 0;
    auto next_checkpoint = steady_clock::now() + milliseconds(options_.checkpoint_interval_ms);
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      if (detached_waiting_ > 0) {
        // Armed until the next wait that only a notify ends.
        ticker_armed_ = true;
        ticker_cv_.wait_until(lock, detached_deadline_, [this] { return stopping_; });
        if (stopping_) break;
        // A request's batch may have taken them along meanwhile, and newer
        // ones queued since then have a later deadline.
        if (detached_waiting_ > 0 && !leading_ && steady_clock::now() >= detached_deadline_) {
          leading_ = true;
          LeadOneBatch(lock);
          leading_ = false;
          cv_.notify_all();
        }
      } else if (timed) {
        ticker_armed_ = false;
        ticker_cv_.wait_until(lock, next_checkpoint);
      } else {
        ticker_armed_ = false;
        ticker_cv_.wait(lock);
      }
      if (stopping_) break;
      if (timed && steady_clock::now() >= next_checkpoint) {
        next_checkpoint = steady_clock::now() + milliseconds(options_.checkpoint_interval_ms);
        lock.unlock();
        if (Status s = Checkpoint(); !s.ok()) log::Error("audit: checkpoint failed: " + s.message());
        lock.lock();
      }
    }
  }

  storage::AuditStore& store_;
  const AuditOptions options_;
  Clock& clock_;
  const std::unique_ptr<Ed25519Key> key_;
  const std::string key_id_;
  // Null without options.metrics.
  CounterMetric* records_ = nullptr;
  CounterMetric* write_failures_ = nullptr;
  CounterMetric* checkpoint_failures_ = nullptr;

  std::mutex mu_;
  std::condition_variable cv_;         // batch done / leadership released
  std::condition_variable ticker_cv_;  // stopping
  std::deque<Pending*> queue_;         // guarded by mu_
  bool leading_ = false;               // guarded by mu_
  bool stopping_ = false;              // guarded by mu_
  size_t detached_waiting_ = 0;        // detached records in queue_; guarded by mu_
  // When the oldest of them is written if no request takes it along first;
  // guarded by mu_.
  std::chrono::steady_clock::time_point detached_deadline_;
  // The flusher is waiting for detached_deadline_ and needs no notify;
  // guarded by mu_.
  bool ticker_armed_ = false;
  std::thread ticker_;

  // The chain's end and the last checkpoint: only the leader reads or writes these.
  int64_t last_seq_ = 0;
  std::string last_hash_;
  int64_t checkpoint_seq_ = 0;
  std::string last_signature_;
};

StatusOr<std::unique_ptr<AuditLog>> AuditLog::Create(storage::AuditStore& store, const AuditOptions& options,
                                                     Clock& clock) {
  if (options.hmac_key.empty()) return InvalidArgument("audit log: the server key for HMACs is empty");
  if (options.key_file.empty()) return InvalidArgument("audit log: no signing key file");
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<Ed25519Key> key, Ed25519Key::LoadOrCreate(options.key_file));
  auto impl = std::make_unique<Impl>(store, options, clock, std::move(key));
  if (Status s = impl->Start(); !s.ok()) {
    return Status(s.code(), "the audit log cannot be written (test write at startup): " + s.message());
  }
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(impl)));
}

AuditLog::AuditLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AuditLog::~AuditLog() = default;

StatusOr<std::string> AuditLog::Record(AuditEvent event) { return impl_->Record(std::move(event)); }
Status AuditLog::Checkpoint() { return impl_->Checkpoint(); }
void AuditLog::Flush() { impl_->Flush(); }
std::string AuditLog::NewId() { return "aud_" + NewHexId(); }
std::string AuditLog::PublicKeyPem() const { return impl_->PublicKeyPem(); }
std::string AuditLog::HmacOf(std::string_view secret) const { return impl_->Hmac(secret); }
std::string AuditLog::KeyId() const { return impl_->KeyId(); }

}  // namespace kiln::audit
