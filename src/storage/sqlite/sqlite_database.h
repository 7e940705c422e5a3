// Database: one SQLite database file as the stores use it — a single write
// connection with group commit and a pool of read connections. The tracking
// store and the registry store share one Database, so a registry write and a
// tracking write never contend for two different write locks.
//
// Ownership: owns the write connection and the read pool; stores borrow the
// Database and must be destroyed before it.
// Thread-safety: Write() and Read() are thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "core/status.h"

namespace kiln::storage::sqlite {

class SqliteConn;
class ReadPool;

class Database {
 public:
  using TxnFn = std::function<Status(SqliteConn&)>;

  Database(std::unique_ptr<SqliteConn> writer, std::unique_ptr<ReadPool> readers);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Applies fn atomically on the write connection and returns its status.
  // Group commit: concurrent writers queue up; whichever thread finds no
  // commit in progress becomes the leader and runs every queued fn in one
  // BEGIN IMMEDIATE ... COMMIT, each inside its own SAVEPOINT, so a failing
  // fn rolls back alone while the others share one commit. Catches exceptions.
  Status Write(const TxnFn& fn);
  // Runs fn inside a read transaction on a pooled read connection.
  Status Read(const TxnFn& fn);

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
