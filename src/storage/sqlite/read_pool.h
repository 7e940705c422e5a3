// A fixed pool of query-only SQLite connections for reads. WAL mode lets these
// run in parallel with the single write connection.
//
// Ownership: the pool owns its connections; a Lease borrows one for the
// duration of a single store call and gives it back on destruction (never
// held across calls).
// Thread-safety: Acquire() is thread-safe and blocks while all connections are
// leased; a leased connection is used by its holder only.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/sqlite/sqlite_db.h"

namespace kiln::storage::sqlite {

class ReadPool {
 public:
  class Lease {
   public:
    Lease(ReadPool* pool, std::unique_ptr<SqliteConn> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (conn_) pool_->Release(std::move(conn_));
    }
    SqliteConn& conn() { return *conn_; }

   private:
    ReadPool* pool_;
    std::unique_ptr<SqliteConn> conn_;
  };

  static StatusOr<std::unique_ptr<ReadPool>> Open(const std::string& path, int size, int busy_timeout_ms = 5000);
  Lease Acquire();

 private:
  ReadPool() = default;
  void Release(std::unique_ptr<SqliteConn> conn);

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<SqliteConn>> free_;
};

}  // namespace kiln::storage::sqlite
