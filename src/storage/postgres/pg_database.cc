#include "storage/postgres/pg_database.h"

#include <fstream>
#include <random>
#include <thread>

#include "storage/postgres/pg_migrations.h"

namespace kiln::storage::postgres {
namespace {

constexpr const char* kBeginWrite = "BEGIN ISOLATION LEVEL SERIALIZABLE";
constexpr const char* kBeginWriteCommitted = "BEGIN ISOLATION LEVEL READ COMMITTED";
constexpr const char* kBeginRead = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

StatusOr<std::string> ReadPasswordFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read the database password file " + path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.empty()) return InvalidArgument("the database password file " + path + " is empty");
  return line;
}

// Full jitter: a uniformly random wait in [0, cap], so retrying writers that
// collided once spread out instead of colliding again in lockstep.
void SleepJittered(std::chrono::milliseconds cap) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<int64_t> d(0, std::chrono::duration_cast<std::chrono::microseconds>(cap).count());
  std::this_thread::sleep_for(std::chrono::microseconds(d(rng)));
}

}  // namespace

// Returns its connection to the pool on every path.
class PgDatabase::Lease {
 public:
  Lease(PgDatabase* db, std::unique_ptr<PgConn> c) : db_(db), c_(std::move(c)) {}
  ~Lease() {
    if (c_) db_->Release(std::move(c_));
  }
  PgConn& operator*() { return *c_; }
  PgConn* operator->() { return c_.get(); }

 private:
  PgDatabase* db_;
  std::unique_ptr<PgConn> c_;
};

PgDatabase::PgDatabase(PgConnParams params, PgOptions options)
    : params_(std::move(params)), options_(std::move(options)) {}

PgDatabase::~PgDatabase() = default;

StatusOr<std::unique_ptr<PgDatabase>> PgDatabase::Create(const std::string& uri, const PgOptions& options) {
  if (options.pool_size < 1) return InvalidArgument("postgresql: pool size must be at least 1");
  PgConnParams params;
  params.uri = uri;
  params.application_name = options.application_name;
  params.connect_timeout_s = options.connect_timeout_s;
  if (!options.password_file.empty()) {
    KILN_ASSIGN_OR_RETURN(params.password, ReadPasswordFile(options.password_file));
  }
  std::unique_ptr<PgDatabase> db(new PgDatabase(std::move(params), options));
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> first, db->Acquire());
  db->Release(std::move(first));
  return db;
}

StatusOr<std::unique_ptr<PgConn>> PgDatabase::Acquire(bool fresh) {
  std::unique_lock<std::mutex> lk(mu_);
  const auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
  while (true) {
    if (fresh && !idle_.empty() && open_ >= options_.pool_size) {
      // Make room for a new connection by closing an idle one.
      std::unique_ptr<PgConn> old = std::move(idle_.back());
      idle_.pop_back();
      --open_;
      lk.unlock();
      old.reset();
      lk.lock();
      continue;
    }
    if (!fresh && !idle_.empty()) {
      std::unique_ptr<PgConn> c = std::move(idle_.back());
      idle_.pop_back();
      lk.unlock();
      c->CollectPending();  // a read's COMMIT, sent without waiting (answered by now, as a rule)
      if (!c->broken()) return c;
      c.reset();
      lk.lock();
      --open_;
      ++reconnects_;
      continue;
    }
    if (open_ < options_.pool_size) {
      ++open_;
      lk.unlock();
      StatusOr<std::unique_ptr<PgConn>> c = PgConn::Connect(params_);
      if (!c.ok()) {
        lk.lock();
        --open_;
        cv_.notify_one();
      }
      return c;
    }
    if (cv_.wait_until(lk, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.pool_size) {
      return Unavailable("postgresql: all " + std::to_string(options_.pool_size) + " connections busy for " +
                         std::to_string(options_.acquire_timeout.count()) + " ms");
    }
  }
}

void PgDatabase::DropIdle() {
  std::vector<std::unique_ptr<PgConn>> drop;
  {
    std::lock_guard<std::mutex> lk(mu_);
    drop.swap(idle_);
    open_ -= static_cast<int>(drop.size());
    cv_.notify_all();
  }
}

void PgDatabase::Release(std::unique_ptr<PgConn> c) {
  if (!c->broken() && c->in_transaction()) (void)c->Exec("ROLLBACK");
  const bool keep = !c->broken() && !c->in_transaction();
  if (!keep) c.reset();
  std::lock_guard<std::mutex> lk(mu_);
  if (keep) {
    idle_.push_back(std::move(c));
  } else {
    --open_;
  }
  cv_.notify_one();
}

Status PgDatabase::RunTxn(const char* begin, const TxnFn& fn, bool read_only) {
  std::chrono::milliseconds backoff = options_.backoff_initial;
  bool replaced_lost = false;
  // Many writers on one hot row (a model's next version number) can make the
  // same transaction lose again and again. From the third attempt on, this
  // process's retrying writers take turns, so each competes with first
  // attempts only (recursive: fn may itself call Write).
  std::unique_lock<std::recursive_mutex> turn(retry_turn_, std::defer_lock);
  for (int attempt = 1;; ++attempt) {
    if (attempt >= 3 && !turn.owns_lock()) turn.lock();
    Status s;
    bool commit_sent = false;
    bool lost = false;
    bool conflict = false;
    {
      KILN_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> raw, Acquire(/*fresh=*/replaced_lost));
      Lease conn(this, std::move(raw));  // back to the pool (rolled back) before any backoff
      conn->ResetOutcome();
      if (begin != nullptr) conn->BeginLazily(begin);  // sent with fn's first statement
      try {
        s = fn(*conn);
      } catch (const std::exception& e) {
        s = Internal(std::string("postgresql transaction: ") + e.what());
      }
      if (s.ok() && PQtransactionStatus(conn->raw()) == PQTRANS_INERROR) {
        // COMMIT of a failed transaction silently rolls back: never report
        // it as committed.
        s = conn->saw_conflict() ? Status(StatusCode::kAborted, "postgresql: serialization failure")
                                 : Internal("postgresql: a statement failed inside the transaction and the "
                                            "error was not returned; rolled back");
      }
      if (s.ok() && begin == nullptr) {
        // Each statement committed itself; one still open means fn broke
        // the contract (it ran BEGIN): never leave that to Release's ROLLBACK.
        if (conn->in_transaction()) s = Internal("postgresql: a single-statement write left a transaction open");
      } else if (s.ok()) {
        commit_sent = true;
        // A read has everything it asked for: its COMMIT need not delay the
        // caller by a round trip (the next user of the connection collects
        // the answer).
        s = read_only ? conn->SendCommitNoWait() : conn->Exec("COMMIT");
      }
      lost = conn->broken() || conn->saw_lost();
      conflict = conn->saw_conflict();
    }
    if (s.ok()) return s;
    if (lost) {
      if (commit_sent && read_only) return Status::Ok();  // what fn read came from one snapshot
      if (commit_sent) {
        return Unavailable("postgresql: connection lost while committing; the transaction's outcome is unknown: " +
                           s.message());
      }
      if (!replaced_lost) {
        replaced_lost = true;
        DropIdle();
        std::lock_guard<std::mutex> lk(mu_);
        ++reconnects_;
        continue;
      }
      return s.code() == StatusCode::kUnavailable ? s : Unavailable("postgresql: connection lost: " + s.message());
    }
    if (!conflict) return s;
    if (attempt >= options_.max_attempts) {
      return Status(StatusCode::kAborted, "postgresql: transaction still conflicting after " +
                                              std::to_string(attempt) + " attempts: " + s.message());
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      ++retries_;
    }
    SleepJittered(backoff);
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
}

Status PgDatabase::Write(const TxnFn& fn) { return RunTxn(kBeginWrite, fn, false); }

Status PgDatabase::WriteCommitted(const TxnFn& fn) { return RunTxn(kBeginWriteCommitted, fn, false); }

Status PgDatabase::WriteOneStatement(const TxnFn& fn) { return RunTxn(nullptr, fn, false); }

Status PgDatabase::Read(const TxnFn& fn) { return RunTxn(kBeginRead, fn, true); }

Status PgDatabase::WithConnection(const TxnFn& fn) {
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> raw, Acquire());
  Lease conn(this, std::move(raw));
  try {
    return fn(*conn);
  } catch (const std::exception& e) {
    return Internal(std::string("postgresql: ") + e.what());
  }
}

Status PgDatabase::Ping() {
  return Read([](sql::Conn& c) { return c.QueryInt("SELECT 1").status(); });
}

Status PgDatabase::Notify(const std::string& channel, const std::string& payload) {
  return WithConnection([&](sql::Conn& c) { return NotifyIn(c, channel, payload); });
}

Status NotifyIn(sql::Conn& conn, const std::string& channel, const std::string& payload) {
  KILN_ASSIGN_OR_RETURN(sql::Stmt st, conn.Prepare("SELECT pg_notify(?, ?)"));
  st.Args(channel, payload);
  return st.Run();
}

int64_t PgDatabase::retries() const {
  std::lock_guard<std::mutex> lk(mu_);
  return retries_;
}

int64_t PgDatabase::reconnects() const {
  std::lock_guard<std::mutex> lk(mu_);
  return reconnects_;
}

StatusOr<std::unique_ptr<PgDatabase>> OpenPgDatabase(const std::string& uri, const PgOptions& options) {
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<PgDatabase> db, PgDatabase::Create(uri, options));
  KILN_RETURN_IF_ERROR(PrepareSchema(*db, options.migrate_on_open));
  return db;
}

StatusOr<std::unique_ptr<sql::Database>> OpenDatabase(const std::string& uri, const PgOptions& options) {
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<PgDatabase> db, OpenPgDatabase(uri, options));
  return std::unique_ptr<sql::Database>(std::move(db));
}

}  // namespace kiln::storage::postgres
