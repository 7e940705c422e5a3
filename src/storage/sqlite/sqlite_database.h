// Database: one SQLite database file as the stores use it (sql::Database) --
// a single write connection with group commit and a pool of read
// connections. Every store of one server shares one Database, so a registry
// write and a tracking write never contend for two different write locks.
//
// Ownership: owns the write connection and the read pool; stores borrow the
// Database and must be destroyed before it.
// Thread-safety: Write(), Read() and Ping() are thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage::sqlite {

class SqliteConn;
class ReadPool;

struct DatabaseOptions {
  // Upgrade an older schema when opening; if false an older schema is
  // FailedPrecondition (the operator runs `kiln migrate`).
  bool migrate_on_open = true;
  int read_connections = 4;
};

// Opens (creating when missing) the metadata database at `path` and brings
// its schema to the latest version (storage/sqlite/migrations.h).
StatusOr<std::unique_ptr<sql::Database>> OpenDatabase(const std::string& path,
                                                      const DatabaseOptions& opts = {});

class Database final : public sql::Database {
 public:
  using TxnFn = sql::Database::TxnFn;

  // writer null: a read-only database (Write fails with FailedPrecondition).
  Database(std::unique_ptr<SqliteConn> writer, std::unique_ptr<ReadPool> readers);
  ~Database() override;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sql::Dialect dialect() const override { return sql::Dialect::kSqlite; }
  // Applies fn atomically on the write connection and returns its status.
  // Group commit: concurrent writers queue up; whichever thread finds no
  // commit in progress becomes the leader and runs every queued fn in one
  // BEGIN IMMEDIATE ... COMMIT, each inside its own SAVEPOINT, so a failing
  // fn rolls back alone while the others share one commit. fn runs once.
  // Catches exceptions.
  Status Write(const TxnFn& fn) override;
  // Runs fn inside a read transaction on a pooled read connection.
  Status Read(const TxnFn& fn) override;
  Status Ping() override;

 private:
  struct PendingWrite {
    const TxnFn* fn;
    Status result;
    bool done = false;
  };
  // Runs one group on the write connection; called by the leader only.
  void CommitGroup(const std::vector<PendingWrite*>& group);

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<PendingWrite*> queue_;  // guarded by queue_mu_
  bool leader_active_ = false;        // guarded by queue_mu_
  std::unique_ptr<SqliteConn> writer_;  // used only by the current leader
  std::unique_ptr<ReadPool> readers_;
};

}  // namespace kiln::storage::sqlite

namespace kiln::storage {

// Highest schema version this build creates.
int LatestSqliteSchemaVersion();
// Schema version of the database file at `db_path` (0 if never migrated or
// the file does not exist; the probe never creates the file).
StatusOr<int> SqliteSchemaVersion(const std::string& db_path);
// Upgrades the database at `db_path` to LatestSqliteSchemaVersion().
Status MigrateSqlite(const std::string& db_path);

}  // namespace kiln::storage
