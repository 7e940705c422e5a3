#include "storage/postgres/pg_database.h"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "storage/postgres/pg_test_util.h"

namespace kiln::storage::postgres {
namespace {

using testing::PgTest;
using testing::PgTestServer;

class PgDatabaseTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    db_ = Open();
    ASSERT_NE(db_, nullptr);
    ASSERT_TRUE(db_->Write([](sql::Conn& c) {
                     return c.Exec("CREATE TABLE n (k BIGINT PRIMARY KEY, who TEXT COLLATE \"C\" NOT NULL)");
                   }).ok());
  }
  int64_t Count() {
    int64_t n = -1;
    Status s = db_->Read([&](sql::Conn& c) -> Status {
      KILN_ASSIGN_OR_RETURN(n, c.QueryInt("SELECT count(*) FROM n"));
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return n;
  }
  std::unique_ptr<PgDatabase> db_;
};

TEST_F(PgDatabaseTest, WriteCommitsAllOrNothing) {
  ASSERT_TRUE(db_->Write([](sql::Conn& c) { return c.Exec("INSERT INTO n VALUES (1, 'a'), (2, 'a')"); }).ok());
  Status s = db_->Write([](sql::Conn& c) -> Status {
    KILN_RETURN_IF_ERROR(c.Exec("INSERT INTO n VALUES (3, 'b')"));
    return NotFound("changed my mind");
  });
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  s = db_->Write([](sql::Conn& c) -> Status {
    KILN_RETURN_IF_ERROR(c.Exec("INSERT INTO n VALUES (4, 'b')"));
    return c.Exec("INSERT INTO n VALUES (1, 'dup')");
  });
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
  EXPECT_EQ(Count(), 2);
}

TEST_F(PgDatabaseTest, AnErrorTheStoreSwallowedStillRollsBack) {
  Status s = db_->Write([](sql::Conn& c) -> Status {
    KILN_RETURN_IF_ERROR(c.Exec("INSERT INTO n VALUES (5, 'a')"));
    (void)c.Exec("INSERT INTO n VALUES (5, 'dup')");
    return Status::Ok();
  });
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  EXPECT_EQ(Count(), 0);
}

TEST_F(PgDatabaseTest, ReadIsReadOnly) {
  Status s = db_->Read([](sql::Conn& c) { return c.Exec("INSERT INTO n VALUES (1, 'a')"); });
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("read-only"), std::string::npos) << s.message();
  EXPECT_TRUE(db_->Ping().ok());
}

// Two writers number rows by reading max()+1 and meet at a barrier before
// inserting, so both read the same maximum: SERIALIZABLE turns the race
// into a serialization failure, Write retries the loser, and the numbers
// come out distinct.
TEST_F(PgDatabaseTest, RetriesASerializationConflictBetweenTwoThreads) {
  std::barrier meet(2);
  std::atomic<int> runs{0};
  auto writer = [&](std::string who) {
    bool first = true;
    return db_->Write([&, who](sql::Conn& c) -> Status {
      ++runs;
      KILN_ASSIGN_OR_RETURN(int64_t next, c.QueryInt("SELECT coalesce(max(k), 0) + 1 FROM n"));
      if (first) {
        first = false;
        meet.arrive_and_wait();
      }
      KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare("INSERT INTO n(k, who) VALUES (?, ?)"));
      st.Args(next, who);
      return st.Run();
    });
  };
  auto a = std::async(std::launch::async, writer, "a");
  auto b = std::async(std::launch::async, writer, "b");
  Status sa = a.get(), sb = b.get();
  EXPECT_TRUE(sa.ok()) << sa.ToString();
  EXPECT_TRUE(sb.ok()) << sb.ToString();
  EXPECT_GE(runs.load(), 3);
  EXPECT_GE(db_->retries(), 1);
  int64_t distinct = -1;
  ASSERT_TRUE(db_->Read([&](sql::Conn& c) -> Status {
                   KILN_ASSIGN_OR_RETURN(distinct, c.QueryInt("SELECT count(DISTINCT k) FROM n WHERE k IN (1, 2)"));
                   return Status::Ok();
                 }).ok());
  EXPECT_EQ(distinct, 2);
}

TEST_F(PgDatabaseTest, ManyConcurrentWritersNumberWithoutGapsOrDuplicates) {
  constexpr int kThreads = 6, kEach = 15;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        Status s = db_->Write([&](sql::Conn& c) -> Status {
          KILN_ASSIGN_OR_RETURN(int64_t next, c.QueryInt("SELECT coalesce(max(k), 0) + 1 FROM n"));
          KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare("INSERT INTO n(k, who) VALUES (?, ?)"));
          st.Args(next, std::to_string(t));
          return st.Run();
        });
        if (!s.ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Count(), kThreads * kEach);
  int64_t top = 0;
  ASSERT_TRUE(db_->Read([&](sql::Conn& c) -> Status {
                   KILN_ASSIGN_OR_RETURN(top, c.QueryInt("SELECT max(k) FROM n"));
                   return Status::Ok();
                 }).ok());
  EXPECT_EQ(top, kThreads * kEach);
}

// One hot counter row (like registered_models.next_version) under eight
// writers: every increment commits exactly once, none gives up.
TEST_F(PgDatabaseTest, HotRowWritersAllFinish) {
  ASSERT_TRUE(db_->Write([](sql::Conn& c) {
                   return c.Exec("CREATE TABLE counter (id BIGINT PRIMARY KEY, next BIGINT NOT NULL);"
                                 "INSERT INTO counter VALUES (1, 1)");
                 }).ok());
  constexpr int kThreads = 8, kEach = 25;
  std::vector<std::vector<int64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        int64_t mine = -1;
        Status s = db_->Write([&](sql::Conn& c) -> Status {
          KILN_ASSIGN_OR_RETURN(int64_t n, c.QueryInt("SELECT next FROM counter WHERE id = 1"));
          KILN_RETURN_IF_ERROR(c.Exec("UPDATE counter SET next = next + 1 WHERE id = 1"));
          mine = n;
          return Status::Ok();
        });
        EXPECT_TRUE(s.ok()) << s.ToString();
        got[t].push_back(mine);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<int64_t> all;
  for (const auto& g : got) all.insert(g.begin(), g.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), kThreads * kEach);
}

TEST_F(PgDatabaseTest, WriteIsSerializableWriteCommittedIsReadCommitted) {
  std::string level;
  auto isolation = [&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare("SELECT current_setting('transaction_isolation')"));
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) level = st.Text(0);
    return Status::Ok();
  };
  ASSERT_TRUE(db_->Write(isolation).ok());
  EXPECT_EQ(level, "serializable");
  ASSERT_TRUE(db_->WriteCommitted(isolation).ok());
  EXPECT_EQ(level, "read committed");
  ASSERT_TRUE(db_->Read(isolation).ok());
  EXPECT_EQ(level, "repeatable read");
}

// The pattern that made runs/create answer 409 under load: look for the key,
// then insert it. Under SERIALIZABLE the lookups' predicate locks on the
// index pages make concurrent inserts of other keys fail each other; at READ
// COMMITTED (the primary key catching a duplicate) none is retried, and a
// duplicate is still refused.
TEST_F(PgDatabaseTest, WriteCommittedInsertsOfDistinctKeysNeverConflict) {
  constexpr int kThreads = 8, kEach = 40;
  std::barrier start(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kEach; ++i) {
        const int64_t k = int64_t{t} * 1000 + i;
        Status s = db_->WriteCommitted([&](sql::Conn& c) -> Status {
          KILN_ASSIGN_OR_RETURN(sql::Stmt look, c.Prepare("SELECT 1 FROM n WHERE k = ?"));
          look.Bind(1, k);
          KILN_ASSIGN_OR_RETURN(bool exists, look.Step());
          if (exists) return AlreadyExists("dup");
          KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare("INSERT INTO n(k, who) VALUES (?, ?) ON CONFLICT DO NOTHING"));
          st.Args(k, std::to_string(t));
          return st.Run();
        });
        if (!s.ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(db_->retries(), 0);
  EXPECT_EQ(Count(), kThreads * kEach);
  Status dup = db_->WriteCommitted([](sql::Conn& c) { return c.Exec("INSERT INTO n VALUES (0, 'again')"); });
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists) << dup.ToString();
}

// A read's COMMIT is sent without waiting; the next transaction on the same
// (only) connection collects its answer first and runs normally.
TEST_F(PgDatabaseTest, AReadsCommitIsCollectedByTheNextUserOfTheConnection) {
  PgOptions o;
  o.pool_size = 1;
  auto db = Open(o);
  ASSERT_NE(db, nullptr);
  for (int i = 1; i <= 30; ++i) {
    int64_t before = -1;
    ASSERT_TRUE(db->Read([&](sql::Conn& c) -> Status {
                     KILN_ASSIGN_OR_RETURN(before, c.QueryInt("SELECT count(*) FROM n"));
                     return Status::Ok();
                   }).ok());
    EXPECT_EQ(before, i - 1);
    Status w = (i % 2 ? static_cast<sql::Database&>(*db).Write(
                            [&](sql::Conn& c) { return c.Exec("INSERT INTO n VALUES (" + std::to_string(i) + ", 'r')"); })
                      : db->WriteCommitted(
                            [&](sql::Conn& c) { return c.Exec("INSERT INTO n VALUES (" + std::to_string(i) + ", 'r')"); }));
    ASSERT_TRUE(w.ok()) << w.ToString();
    // A read that runs no statement sends neither BEGIN nor COMMIT.
    ASSERT_TRUE(db->Read([](sql::Conn&) { return Status::Ok(); }).ok());
  }
  // The connection is idle, not idle in a transaction, once the pool has
  // collected the last read's COMMIT (the next Read does).
  ASSERT_TRUE(db->Read([](sql::Conn& c) { return c.QueryInt("SELECT 1").status(); }).ok());
  // (The server handles that COMMIT on its own schedule: poll briefly.)
  int64_t stuck = -1;
  for (int tries = 0; tries < 100 && stuck != 0; ++tries) {
    if (tries) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(db_->Read([&](sql::Conn& c) -> Status {
                     KILN_ASSIGN_OR_RETURN(stuck, c.QueryInt("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                                             "current_database() AND state = 'idle in transaction'"));
                     return Status::Ok();
                   }).ok());
  }
  EXPECT_EQ(stuck, 0);
  EXPECT_EQ(Count(), 30);
}

TEST_F(PgDatabaseTest, GivesUpAfterMaxAttemptsWithAborted) {
  PgOptions o;
  o.max_attempts = 3;
  auto db = Open(o);
  ASSERT_NE(db, nullptr);
  int runs = 0;
  Status s = db->Write([&](sql::Conn& c) -> Status {
    ++runs;
    return c.Exec("DO $$ BEGIN RAISE EXCEPTION SQLSTATE '40001' USING MESSAGE = 'forced'; END $$");
  });
  EXPECT_EQ(s.code(), StatusCode::kAborted) << s.ToString();
  EXPECT_EQ(runs, 3);
}

TEST_F(PgDatabaseTest, ExhaustedPoolRefusesAfterTheWait) {
  PgOptions o;
  o.pool_size = 1;
  o.acquire_timeout = std::chrono::milliseconds(200);
  auto db = Open(o);
  ASSERT_NE(db, nullptr);
  std::promise<void> inside, release;
  auto holder = std::async(std::launch::async, [&] {
    return db->Write([&](sql::Conn&) {
      inside.set_value();
      release.get_future().wait();
      return Status::Ok();
    });
  });
  inside.get_future().wait();
  Status s = db->Read([](sql::Conn&) { return Status::Ok(); });
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("busy"), std::string::npos);
  release.set_value();
  EXPECT_TRUE(holder.get().ok());
  EXPECT_TRUE(db->Read([](sql::Conn&) { return Status::Ok(); }).ok());
}

TEST_F(PgDatabaseTest, ReplacesATerminatedConnectionTransparently) {
  PgOptions o;
  o.pool_size = 1;
  auto db = Open(o);
  ASSERT_NE(db, nullptr);
  int64_t pid = 0;
  ASSERT_TRUE(db->Read([&](sql::Conn& c) -> Status {
                   KILN_ASSIGN_OR_RETURN(pid, c.QueryInt("SELECT pg_backend_pid()"));
                   return Status::Ok();
                 }).ok());
  ASSERT_TRUE(PgTestServer::Get().AdminExec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")").ok());
  int64_t pid2 = 0;
  Status s = db->Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(pid2, c.QueryInt("SELECT pg_backend_pid()"));
    return c.Exec("INSERT INTO n VALUES (1, 'after')");
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_NE(pid2, pid);
  EXPECT_GE(db->reconnects(), 1);
  EXPECT_EQ(Count(), 1);
}

// The connection dies in the middle of fn (before COMMIT): the server rolled
// the transaction back, so Write runs fn again on a fresh connection.
TEST_F(PgDatabaseTest, ATransactionWhoseConnectionDiedBeforeCommitRunsAgain) {
  int runs = 0;
  Status s = db_->Write([&](sql::Conn& c) -> Status {
    ++runs;
    KILN_RETURN_IF_ERROR(c.Exec("INSERT INTO n VALUES (" + std::to_string(runs) + ", 'x')"));
    if (runs == 1) return c.Exec("SELECT pg_terminate_backend(pg_backend_pid())");
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(runs, 2);
  int64_t only = 0;
  ASSERT_TRUE(db_->Read([&](sql::Conn& c) -> Status {
                   KILN_ASSIGN_OR_RETURN(only, c.QueryInt("SELECT min(k) FROM n"));
                   return Status::Ok();
                 }).ok());
  EXPECT_EQ(only, 2);  // the first run's row went with its connection
  EXPECT_EQ(Count(), 1);
}

// A server restart drops every pooled connection at once: the first
// transaction afterwards finds one dead, and its retry must not pick
// another dead one.
TEST_F(PgDatabaseTest, SurvivesLosingEveryPooledConnection) {
  PgOptions o;
  o.pool_size = 3;
  auto db = Open(o);
  ASSERT_NE(db, nullptr);
  std::barrier all(3);
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      EXPECT_TRUE(db->Read([&](sql::Conn&) {
                      all.arrive_and_wait();
                      return Status::Ok();
                    }).ok());
    });
  }
  for (auto& t : readers) t.join();
  const std::string name = uri_.substr(uri_.rfind('/') + 1);
  ASSERT_TRUE(PgTestServer::Get()
                  .AdminExec("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '" + name +
                             "'")
                  .ok());
  Status s = db->Write([](sql::Conn& c) { return c.Exec("INSERT INTO n VALUES (1, 'after restart')"); });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(db->Ping().ok());
  EXPECT_EQ(Count(), 1);
}

TEST_F(PgDatabaseTest, UnreachableServerIsUnavailable) {
  PgOptions o;
  o.connect_timeout_s = 2;
  auto db = PgDatabase::Create("postgresql://postgres@127.0.0.1:1/x", o);
  EXPECT_EQ(db.status().code(), StatusCode::kUnavailable);
}

TEST_F(PgDatabaseTest, PasswordFromAFile) {
  const std::string uri = PgTestServer::Get().Uri(uri_.substr(uri_.rfind('/') + 1), testing::kPasswordUser);
  const std::string file = PgTestServer::Get().dir() + "/pw-" + std::to_string(getpid());
  {
    std::ofstream(file) << testing::kPassword << "\n";
  }
  PgOptions o;
  o.password_file = file;
  auto db = PgDatabase::Create(uri, o);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (db.ok()) {
    EXPECT_TRUE((*db)->Ping().ok());
  }

  {
    std::ofstream(file) << "wrong\n";
  }
  auto wrong = PgDatabase::Create(uri, o);
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(wrong.status().message().find("wrong"), std::string::npos) << "the password must not be echoed";
  EXPECT_EQ(PgDatabase::Create(uri, PgOptions{}).status().code(), StatusCode::kUnavailable);
  o.password_file = file + ".missing";
  EXPECT_EQ(PgDatabase::Create(uri, o).status().code(), StatusCode::kInvalidArgument);
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace kiln::storage::postgres
