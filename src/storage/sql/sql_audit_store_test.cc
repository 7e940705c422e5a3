#include "storage/sql/sql_audit_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>

#include "storage/sql/sql_test_util.h"
#include "storage/sqlite/sqlite_audit_db.h"

namespace kiln::storage {
namespace {

std::string TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kiln_audit_XXXXXX").string();
  char* dir = mkdtemp(tmpl.data());
  return dir ? std::string(dir) : std::string();
}

StoredAuditRecord Rec(int64_t seq, std::string actor, std::string action, int64_t time_ms) {
  StoredAuditRecord r;
  r.seq = seq;
  r.time_ms = time_ms;
  r.audit_id = "aud_" + std::to_string(seq);
  r.actor = std::move(actor);
  r.action = std::move(action);
  r.object = "experiment:" + std::to_string(seq % 3);
  r.decision = seq % 5 == 0 ? "deny" : "allow";
  r.stage = "request";
  r.json = "{\"seq\":" + std::to_string(seq) + "}";
  r.hash = "h" + std::to_string(seq);
  return r;
}

class SqliteAuditStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir();
    ASSERT_FALSE(dir_.empty());
    path_ = dir_ + "/audit.db";
    auto db = sqlite::OpenAuditDatabase(path_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    store_ = std::make_unique<SqlAuditStore>(*db_);
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_, path_;
  std::unique_ptr<sql::Database> db_;
  std::unique_ptr<SqlAuditStore> store_;
};

// The store on either engine: its own audit.db on SQLite, the test's fresh
// database on PostgreSQL (KILN_TEST_DATABASE=postgres, sql_test_util.h;
// CTest runs this suite a second time that way).
class SqlAuditStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir();
    ASSERT_FALSE(dir_.empty());
    auto db =
        testing::TestOnPostgres() ? testing::NewTestDatabase(dir_) : sqlite::OpenAuditDatabase(dir_ + "/audit.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    store_ = std::make_unique<SqlAuditStore>(*db_);
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_;
  std::unique_ptr<sql::Database> db_;
  std::unique_ptr<SqlAuditStore> store_;
};

TEST_F(SqlAuditStoreTest, AppendsConsecutiveRecordsAndReadsThemBack) {
  auto last = store_->Last();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->seq, 0);
  ASSERT_TRUE(store_->Append({Rec(1, "alice", "mlflow.runs.create", 10), Rec(2, "bob", "mlflow.runs.log-batch", 20)}).ok());
  ASSERT_TRUE(store_->Append({Rec(3, "alice", "feast.ApplyFeatureView", 30)}).ok());
  last = store_->Last();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->seq, 3);
  EXPECT_EQ(last->json, "{\"seq\":3}");
  EXPECT_EQ(last->hash, "h3");
  auto range = store_->Range(2, 3);
  ASSERT_TRUE(range.ok());
  ASSERT_EQ(range->size(), 2u);
  EXPECT_EQ((*range)[0].actor, "bob");
  EXPECT_EQ((*range)[1].action, "feast.ApplyFeatureView");
}

TEST_F(SqlAuditStoreTest, RefusesAGapOrAReplayAndKeepsTheBatchAtomic) {
  ASSERT_TRUE(store_->Append({Rec(1, "a", "x", 1)}).ok());
  EXPECT_EQ(store_->Append({Rec(3, "a", "x", 1)}).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Append({Rec(1, "a", "x", 1)}).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Append({Rec(2, "a", "x", 1), Rec(4, "a", "x", 1)}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Last()->seq, 1);
}

TEST_F(SqlAuditStoreTest, QueriesByFieldPrefixTimeAndPages) {
  std::vector<StoredAuditRecord> batch;
  for (int64_t i = 1; i <= 20; ++i) batch.push_back(Rec(i, i % 2 ? "alice" : "bob", i % 4 ? "mlflow.runs.x" : "feast.y_z", i * 100));
  ASSERT_TRUE(store_->Append(batch).ok());
  AuditQuery q;
  q.actor = "alice";
  auto r = store_->Query(q);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 10u);
  q = {};
  q.action_prefix = "mlflow.";
  EXPECT_EQ(store_->Query(q)->size(), 15u);
  q.action_prefix = "feast.y_";
  EXPECT_EQ(store_->Query(q)->size(), 5u);
  q.action_prefix = "feast.y%";  // LIKE metacharacters are literal
  EXPECT_EQ(store_->Query(q)->size(), 0u);
  q = {};
  q.since_ms = 500;
  q.until_ms = 900;
  EXPECT_EQ(store_->Query(q)->size(), 5u);
  q = {};
  q.decision = "deny";
  EXPECT_EQ(store_->Query(q)->size(), 4u);
  q = {};
  q.audit_id = "aud_7";
  ASSERT_EQ(store_->Query(q)->size(), 1u);
  q = {};
  q.object = "experiment:1";
  EXPECT_EQ(store_->Query(q)->size(), 7u);
  q = {};
  q.max_results = 8;
  auto page1 = store_->Query(q);
  ASSERT_EQ(page1->size(), 8u);
  q.after_seq = page1->back().seq;
  auto page2 = store_->Query(q);
  ASSERT_EQ(page2->size(), 8u);
  EXPECT_EQ(page2->front().seq, 9);
}

TEST_F(SqlAuditStoreTest, QueriesNewestFirstWithFiltersAndPages) {
  std::vector<StoredAuditRecord> batch;
  for (int64_t i = 1; i <= 20; ++i) batch.push_back(Rec(i, i % 2 ? "alice" : "bob", "mlflow.runs.x", i * 100));
  ASSERT_TRUE(store_->Append(batch).ok());
  AuditQuery q;
  q.newest_first = true;
  q.actor = "alice";
  q.max_results = 4;
  auto page1 = store_->Query(q);
  ASSERT_TRUE(page1.ok());
  std::vector<int64_t> seqs;
  for (const auto& r : *page1) seqs.push_back(r.seq);
  EXPECT_EQ(seqs, (std::vector<int64_t>{19, 17, 15, 13}));
  q.before_seq = page1->back().seq;
  auto page2 = store_->Query(q);
  seqs.clear();
  for (const auto& r : *page2) seqs.push_back(r.seq);
  EXPECT_EQ(seqs, (std::vector<int64_t>{11, 9, 7, 5}));
  // The time range and the lower bound apply inside the same query.
  q = {};
  q.newest_first = true;
  q.since_ms = 500;
  q.until_ms = 900;
  q.after_seq = 6;
  auto ranged = store_->Query(q);
  ASSERT_TRUE(ranged.ok());
  seqs.clear();
  for (const auto& r : *ranged) seqs.push_back(r.seq);
  EXPECT_EQ(seqs, (std::vector<int64_t>{9, 8, 7}));
}

TEST_F(SqlAuditStoreTest, CheckpointsKeepTheirOrder) {
  StoredCheckpoint c1{5, "h5", 100, "", "sig1", "k"};
  StoredCheckpoint c2{9, "h9", 200, "sig1", "sig2", "k"};
  ASSERT_TRUE(store_->AppendCheckpoint(c1).ok());
  ASSERT_TRUE(store_->AppendCheckpoint(c2).ok());
  auto cps = store_->Checkpoints();
  ASSERT_TRUE(cps.ok());
  ASSERT_EQ(cps->size(), 2u);
  EXPECT_EQ((*cps)[1].prev_signature, "sig1");
  EXPECT_EQ((*cps)[1].seq, 9);
}

TEST_F(SqliteAuditStoreTest, FailsFastWhileAnotherConnectionHoldsTheWriteLock) {
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  Status s = store_->Append({Rec(1, "a", "x", 1)});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_TRUE(store_->Last().ok());  // reads go on (WAL)
  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  EXPECT_TRUE(store_->Append({Rec(1, "a", "x", 1)}).ok());
}

TEST_F(SqliteAuditStoreTest, ReopensAndOpensReadOnly) {
  ASSERT_TRUE(store_->Append({Rec(1, "a", "x", 1)}).ok());
  store_.reset();
  db_.reset();
  auto again = sqlite::OpenAuditDatabase(path_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(SqlAuditStore(**again).Last()->seq, 1);
  auto ro = sqlite::OpenAuditDatabaseReadOnly(path_);
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  SqlAuditStore read_only(**ro);
  EXPECT_EQ(read_only.Last()->seq, 1);
  EXPECT_FALSE(read_only.Append({Rec(2, "a", "x", 1)}).ok());
}

TEST_F(SqliteAuditStoreTest, ADirectoryCannotBeOpened) {
  auto s = sqlite::OpenAuditDatabase(dir_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(sqlite::OpenAuditDatabaseReadOnly(dir_ + "/missing.db").ok());
}

}  // namespace
}  // namespace kiln::storage
