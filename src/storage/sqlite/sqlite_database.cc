#include "storage/sqlite/sqlite_database.h"

#include <exception>
#include <string>

#include <sqlite3.h>

#include "storage/sqlite/read_pool.h"
#include "storage/sqlite/sqlite_db.h"

namespace kiln::storage::sqlite {

Database::Database(std::unique_ptr<SqliteConn> writer, std::unique_ptr<ReadPool> readers)
    : writer_(std::move(writer)), readers_(std::move(readers)) {}

Database::~Database() = default;

Status Database::Write(const TxnFn& fn) {
  if (!writer_) return FailedPrecondition("database opened read-only");
  PendingWrite me{&fn, Status::Ok()};
  std::unique_lock lock(queue_mu_);
  queue_.push_back(&me);
  while (!me.done) {
    if (leader_active_) {
      queue_cv_.wait(lock);
      continue;
    }
    leader_active_ = true;
    std::vector<PendingWrite*> group;
    group.swap(queue_);
    lock.unlock();
    CommitGroup(group);
    lock.lock();
    for (PendingWrite* p : group) p->done = true;
    leader_active_ = false;
    queue_cv_.notify_all();
  }
  return me.result;
}

// SQLite may end a transaction by itself when a statement fails with
// SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM or SQLITE_BUSY: every change before
// it is gone, and the connection is back in autocommit mode, where each later
// statement -- and a SAVEPOINT followed by RELEASE -- would commit on its own.
// So after each fn the leader checks the transaction is still open; when it
// is not, the writes already run are reported as lost (they were), and the
// rest of the group gets a transaction of its own.
void Database::CommitGroup(const std::vector<PendingWrite*>& group) {
  auto run_one = [this](PendingWrite* p) {
    try {
      return (*p->fn)(*writer_);
    } catch (const std::exception& e) {
      return Internal(std::string("sqlite store: ") + e.what());
    }
  };
  auto in_txn = [this] { return sqlite3_get_autocommit(writer_->raw()) == 0; };
  size_t first = 0;
  while (first < group.size()) {
    Status begin = writer_->Exec("BEGIN IMMEDIATE");
    if (!begin.ok()) {
      for (size_t i = first; i < group.size(); ++i) group[i]->result = begin;
      return;
    }
    const bool single = group.size() - first == 1;
    size_t next = first;
    std::string lost;  // why the transaction ended early, if it did
    for (; next < group.size(); ++next) {
      PendingWrite* p = group[next];
      if (!single) {
        Status sp = writer_->Exec("SAVEPOINT kiln_write");
        if (!sp.ok()) {
          p->result = sp;
          if (!in_txn()) {
            lost = sp.message();
            ++next;
            break;
          }
          continue;
        }
      }
      p->result = run_one(p);
      if (!in_txn()) {
        lost = p->result.ok() ? "the write ended its own transaction" : p->result.message();
        if (p->result.ok()) p->result = Internal("sqlite store: " + lost);
        ++next;
        break;
      }
      if (single) continue;
      if (!p->result.ok()) (void)writer_->Exec("ROLLBACK TO kiln_write");
      (void)writer_->Exec("RELEASE kiln_write");
    }
    if (!lost.empty()) {
      for (size_t i = first; i + 1 < next; ++i) {
        if (group[i]->result.ok()) {
          group[i]->result = Unavailable("sqlite store: the write was rolled back with its commit group (" + lost +
                                         "); it can be retried");
        }
      }
      first = next;
      continue;
    }
    bool any_ok = false;
    for (size_t i = first; i < next; ++i) any_ok = any_ok || group[i]->result.ok();
    Status end = writer_->Exec(any_ok ? "COMMIT" : "ROLLBACK");
    if (!end.ok()) {
      if (in_txn()) (void)writer_->Exec("ROLLBACK");
      for (size_t i = first; i < next; ++i) {
        if (group[i]->result.ok()) group[i]->result = end;
      }
    }
    first = next;
  }
}

Status Database::Read(const TxnFn& fn) {
  try {
    auto lease = readers_->Acquire();
    SqliteConn& c = lease.conn();  // a sql::Conn to fn
    KILN_RETURN_IF_ERROR(c.Exec("BEGIN"));
    Status s = fn(c);
    Status end = c.Exec(s.ok() ? "COMMIT" : "ROLLBACK");
    return s.ok() ? end : s;
  } catch (const std::exception& e) {
    return Internal(std::string("sqlite store: ") + e.what());
  }
}

Status Database::Ping() {
  return Read([](sql::Conn& c) { return c.QueryInt("SELECT 1").status(); });
}

}  // namespace kiln::storage::sqlite
