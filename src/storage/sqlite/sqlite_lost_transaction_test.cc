// A write whose statement makes SQLite end the transaction by itself
// (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM, SQLITE_BUSY) takes every change
// of its commit group with it. Whatever each caller is told must match what
// is stored: an OK write is in the database, a failed one is not. Here the
// lost transaction is made with an explicit ROLLBACK inside the write, the
// state SQLite leaves behind after such an error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "storage/sqlite/sqlite_database.h"

namespace kiln::storage::sqlite {
namespace {

class LostTransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kiln-lost-txn-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto db = OpenDatabase((dir_ / "kiln.db").string());
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Write([](sql::Conn& c) { return c.Exec("CREATE TABLE scratch(id INTEGER PRIMARY KEY)"); }).ok());
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  Status Insert(int64_t id, bool lose_transaction) {
    return db_->Write([&](sql::Conn& c) -> Status {
      KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare("INSERT INTO scratch(id) VALUES (?)"));
      st.Args(id);
      KILN_RETURN_IF_ERROR(st.Run());
      if (!lose_transaction) return Status::Ok();
      KILN_RETURN_IF_ERROR(c.Exec("ROLLBACK"));
      return Internal("database or disk is full (simulated)");
    });
  }

  std::set<int64_t> Stored() {
    std::set<int64_t> ids;
    Status s = db_->Read([&](sql::Conn& c) -> Status {
      KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare("SELECT id FROM scratch"));
      while (true) {
        KILN_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) return Status::Ok();
        ids.insert(st.Int(0));
      }
    });
    EXPECT_TRUE(s.ok()) << s.message();
    return ids;
  }

  std::filesystem::path dir_;
  std::unique_ptr<sql::Database> db_;
};

TEST_F(LostTransactionTest, AloneTheWriteFailsAndNothingIsStored) {
  EXPECT_FALSE(Insert(1, /*lose_transaction=*/true).ok());
  ASSERT_TRUE(Insert(2, false).ok());
  EXPECT_EQ(Stored(), (std::set<int64_t>{2}));
}

TEST_F(LostTransactionTest, InAGroupEveryCallerIsToldWhatWasStored) {
  constexpr int kThreads = 8, kRounds = 80;
  std::mutex mu;
  std::set<int64_t> acknowledged;
  std::atomic<int> lost_groups{0}, retryable{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const int64_t id = t * 1000 + i;
        const bool lose = (t + i) % 7 == 0;
        Status s = Insert(id, lose);
        if (lose) {
          EXPECT_FALSE(s.ok());
          ++lost_groups;
        } else if (s.ok()) {
          std::lock_guard lock(mu);
          acknowledged.insert(id);
        } else {
          // Rolled back with the write that lost the transaction: a retry stores it.
          EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.message();
          ++retryable;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GT(lost_groups.load(), 0);
  EXPECT_EQ(Stored(), acknowledged) << retryable.load() << " writes were reported rolled back";
}

}  // namespace
}  // namespace kiln::storage::sqlite
