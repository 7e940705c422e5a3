#include "storage/sqlite/sqlite_database.h"

#include <exception>
#include <string>

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

void Database::CommitGroup(const std::vector<PendingWrite*>& group) {
  auto run_one = [this](PendingWrite* p) {
    try {
      return (*p->fn)(*writer_);
    } catch (const std::exception& e) {
      return Internal(std::string("sqlite store: ") + e.what());
    }
  };
  Status begin = writer_->Exec("BEGIN IMMEDIATE");
  if (!begin.ok()) {
    for (PendingWrite* p : group) p->result = begin;
    return;
  }
  if (group.size() == 1) {
    group[0]->result = run_one(group[0]);
  } else {
    for (PendingWrite* p : group) {
      Status sp = writer_->Exec("SAVEPOINT kiln_write");
      if (!sp.ok()) {
        p->result = sp;
        continue;
      }
      p->result = run_one(p);
      if (!p->result.ok()) (void)writer_->Exec("ROLLBACK TO kiln_write");
      (void)writer_->Exec("RELEASE kiln_write");
    }
  }
  bool any_ok = false;
  for (PendingWrite* p : group) any_ok = any_ok || p->result.ok();
  Status end = writer_->Exec(any_ok ? "COMMIT" : "ROLLBACK");
  if (!end.ok()) {
    (void)writer_->Exec("ROLLBACK");
    for (PendingWrite* p : group) {
      if (p->result.ok()) p->result = end;
    }
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
