// PgDatabase: kiln's metadata database on a PostgreSQL server (sql::Database
// over a bounded pool of PgConns).
//
// Write runs fn in BEGIN ISOLATION LEVEL SERIALIZABLE ... COMMIT. SERIALIZABLE
// because the stores number things by reading then writing inside one
// transaction (max(experiment_id)+1, registered_models.next_version, endpoint
// revisions, config_version checks): under READ COMMITTED two replicas could
// both read the same number and one would fail with a unique violation or,
// where no constraint exists, silently overwrite; under SERIALIZABLE the
// server turns every such race into a serialization failure (40001), which
// Write retries with jittered exponential backoff (from the third attempt
// on, a process's retrying writers take turns, so a hot row cannot starve
// one of them). WriteCommitted runs fn in BEGIN ISOLATION LEVEL READ
// COMMITTED, for the hot paths whose duplicates the constraints catch
// (creating a run, logging a batch): a SERIALIZABLE `SELECT 1 ... WHERE
// run_id = ?` before the INSERT took predicate locks on index pages that
// every concurrent run creation touched, and under load the resulting
// serialization failures exhausted the retries. Deadlocks (40P01) are
// retried at either level. WriteOneStatement sends no BEGIN/COMMIT at all
// (a metrics-only log-batch: one statement, one round trip). Read runs fn in REPEATABLE
// READ READ ONLY: one snapshot, no predicate locks, never blocks or aborts
// writers.
//
// A connection found dead is replaced: a transaction whose connection was
// lost before COMMIT was sent is run again once on a fresh connection (the
// server rolled it back), and the idle connections are closed, since a server
// restart or failover has dropped them too. A connection lost while COMMIT was in flight is
// reported as Unavailable ("outcome unknown") and not retried.
//
// Ownership: owns its connections; stores borrow the PgDatabase.
// Thread-safety: all methods are thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/postgres/pg_conn.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage::postgres {

struct PgOptions {
  int pool_size = 16;                                  // connections this process opens at most
  std::chrono::milliseconds acquire_timeout{5000};     // wait for a free connection, then Unavailable
  std::string password_file;                           // first line is the password (kept out of the URI)
  bool migrate_on_open = true;                         // false: an older schema is refused (FailedPrecondition)
  int max_attempts = 20;                               // a Write's tries on serialization failures
  std::chrono::milliseconds backoff_initial{2};        // first retry waits up to this (jittered)
  std::chrono::milliseconds backoff_max{250};
  int connect_timeout_s = 10;
  std::string application_name = "kiln";
};

class PgDatabase final : public sql::Database {
 public:
  // Reads the password file (if any) and opens one connection to check the
  // server answers. No migrations (OpenDatabase runs them).
  static StatusOr<std::unique_ptr<PgDatabase>> Create(const std::string& uri, const PgOptions& options);
  ~PgDatabase() override;

  sql::Dialect dialect() const override { return sql::Dialect::kPostgres; }
  Status Write(const TxnFn& fn) override;
  Status WriteCommitted(const TxnFn& fn) override;
  Status WriteOneStatement(const TxnFn& fn) override;
  Status Read(const TxnFn& fn) override;
  Status Ping() override;

  // Runs fn on a pooled connection outside any transaction (migrations,
  // LISTEN-free NOTIFY, maintenance).
  Status WithConnection(const TxnFn& fn);
  // Delivered to listeners when (and only when) the current transaction
  // commits; outside one, at once.
  Status Notify(const std::string& channel, const std::string& payload);

  const PgConnParams& conn_params() const { return params_; }
  // Counters for tests and metrics.
  int64_t retries() const;
  int64_t reconnects() const;

 private:
  class Lease;
  PgDatabase(PgConnParams params, PgOptions options);
  // fresh: skip idle connections (after one was found dead, the others
  // probably are too: a server restart or failover drops them all).
  StatusOr<std::unique_ptr<PgConn>> Acquire(bool fresh = false);
  // Closes every idle connection.
  void DropIdle();
  void Release(std::unique_ptr<PgConn> conn);
  // begin nullptr: no transaction block (each statement commits itself).
  Status RunTxn(const char* begin, const TxnFn& fn, bool read_only);

  const PgConnParams params_;
  const PgOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::recursive_mutex retry_turn_;            // held by a writer on its third and later attempts
  std::vector<std::unique_ptr<PgConn>> idle_;  // guarded by mu_
  int open_ = 0;                               // connections alive (idle or leased), guarded by mu_
  int64_t retries_ = 0;                        // guarded by mu_
  int64_t reconnects_ = 0;                     // guarded by mu_
};

// Opens the database at `uri` (postgresql://user@host:port/db?sslmode=...) and
// brings its schema to this build's version (or, with migrate_on_open false,
// refuses an older one).
StatusOr<std::unique_ptr<sql::Database>> OpenDatabase(const std::string& uri, const PgOptions& options);
// The same, keeping the PostgreSQL type (Notify, counters).
StatusOr<std::unique_ptr<PgDatabase>> OpenPgDatabase(const std::string& uri, const PgOptions& options);

// Inside a transaction: NOTIFY delivered when it commits.
Status NotifyIn(sql::Conn& conn, const std::string& channel, const std::string& payload);

}  // namespace kiln::storage::postgres
