#include "storage/sql/sql_audit_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

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

// The store on either engine: its own audit.db on SQLite, the test's fresh
// database on PostgreSQL (KILN_TEST_DATABASE=postgres, sql_test_util.h;
// CTest runs this suite a second time that way).
class SqlAuditStoreTest : public ::testing::Test {
 protected:
  virtual bool OnPostgres() const { return testing::TestOnPostgres(); }
  StatusOr<std::unique_ptr<sql::Database>> Open() {
    if (!OnPostgres()) return sqlite::OpenAuditDatabase(path_);
    auto& server = postgres::testing::PgTestServer::Get();
    if (!server.status().ok()) return server.status();
    KILN_ASSIGN_OR_RETURN(std::string uri, server.CreateDatabase());
    return postgres::OpenDatabase(uri, postgres::PgOptions{});
  }
  void SetUp() override {
    dir_ = TempDir();
    ASSERT_FALSE(dir_.empty());
    path_ = dir_ + "/audit.db";
    auto db = Open();
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
  int64_t Count(const std::string& table) {
    int64_t n = -1;
    Status s = db_->Read([&](sql::Conn& c) -> Status {
      KILN_ASSIGN_OR_RETURN(n, c.QueryInt("SELECT COUNT(*) FROM " + table));
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return n;
  }
  std::string dir_, path_;  // path_: the SQLite file (unused on PostgreSQL)
  std::unique_ptr<sql::Database> db_;
  std::unique_ptr<SqlAuditStore> store_;
};

// A database whose single-statement writes behave as PgDatabase's do when
// the connection is lost with the statement sent: fn runs a second time on
// another connection. first_commits: the lost run had committed (otherwise
// it had not: here it is refused by a read-only transaction); between runs
// in the meantime (another appender).
class RerunDatabase final : public sql::Database {
 public:
  RerunDatabase(sql::Database& inner, bool first_commits, std::function<void()> between)
      : inner_(inner), first_commits_(first_commits), between_(std::move(between)) {}
  sql::Dialect dialect() const override { return inner_.dialect(); }
  Status Write(const TxnFn& fn) override { return inner_.Write(fn); }
  Status WriteCommitted(const TxnFn& fn) override { return inner_.WriteCommitted(fn); }
  Status WriteOneStatement(const TxnFn& fn) override {
    Status first = first_commits_ ? inner_.WriteOneStatement(fn) : inner_.Read(fn);
    if (first_commits_ && !first.ok()) return first;
    if (between_) between_();
    return inner_.WriteOneStatement(fn);
  }
  Status Read(const TxnFn& fn) override { return inner_.Read(fn); }
  Status Ping() override { return inner_.Ping(); }

 private:
  sql::Database& inner_;
  const bool first_commits_;
  const std::function<void()> between_;
};

// Stand-in for the audit log's chain hash: deterministic, covers prev.
std::string ChainOf(const std::string& prev, const std::string& json) {
  return std::to_string(std::hash<std::string>{}(prev + "|" + json));
}

TEST_F(SqlAuditStoreTest, AppendsConsecutiveRecordsAndReadsThemBack) {
  auto last = store_->Last();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->seq, 0);
  ASSERT_TRUE(
      store_->Append({Rec(1, "alice", "mlflow.runs.create", 10), Rec(2, "bob", "mlflow.runs.log-batch", 20)}).ok());
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
  for (int64_t i = 1; i <= 20; ++i)
    batch.push_back(Rec(i, i % 2 ? "alice" : "bob", i % 4 ? "mlflow.runs.x" : "feast.y_z", i * 100));
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

TEST_F(SqlAuditStoreTest, TextWithQuotesBackslashesUnicodeAndControlCharactersRoundTrips) {
  const std::vector<std::string> texts = {
      "",
      "NULL",
      "\"",
      "\\",
      "\\\"",
      "'; DROP TABLE records; --",
      "a,b,c",
      "{}",
      "{\"a\":[1,\"b\\\\\",{\"c\":\"}\"}]}",
      "{,\"}",
      " leading and trailing ",
      "tab\there\nnewline\rreturn",
      std::string("\x01\x02\x1f\x7f", 4),
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91 \xe4\xb8\xad\xe6\x96\x87",
      "$1 ?1 ? $$x$$ E'\\n'",
  };
  std::vector<StoredAuditRecord> batch;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string& t = texts[i];
    const std::string& u = texts[(i + 1) % texts.size()];
    StoredAuditRecord r;
    r.seq = static_cast<int64_t>(i) + 1;
    r.time_ms = i % 2 ? -static_cast<int64_t>(i) : int64_t{1} << 62;
    r.audit_id = t;
    r.actor = u;
    r.action = t + u;
    r.object = u + t;
    r.decision = t;
    r.stage = u;
    r.json = "{\"text\":" + t + "}";
    r.hash = t + "#" + std::to_string(i);
    batch.push_back(r);
  }
  ASSERT_TRUE(store_->Append(batch).ok());
  auto back = store_->Range(1, static_cast<int64_t>(batch.size()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const StoredAuditRecord& w = batch[i];
    const StoredAuditRecord& g = (*back)[i];
    EXPECT_EQ(g.seq, w.seq);
    EXPECT_EQ(g.time_ms, w.time_ms) << i;
    EXPECT_EQ(g.audit_id, w.audit_id) << i;
    EXPECT_EQ(g.actor, w.actor) << i;
    EXPECT_EQ(g.action, w.action) << i;
    EXPECT_EQ(g.object, w.object) << i;
    EXPECT_EQ(g.decision, w.decision) << i;
    EXPECT_EQ(g.stage, w.stage) << i;
    EXPECT_EQ(g.json, w.json) << i;
    EXPECT_EQ(g.hash, w.hash) << i;
  }
  // The copies are what queries match on, byte for byte.
  AuditQuery q;
  q.audit_id = texts[8];
  auto found = store_->Query(q);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->front().seq, 9);
}

// A NUL byte in a request field (the fuzzer sends them in model names)
// must not make the audit log refuse the change.
TEST_F(SqlAuditStoreTest, ARecordWithANulByteInAFieldIsAppended) {
  StoredAuditRecord r = Rec(1, "alice", "platform.models.rollback", 10);
  r.object = std::string("registered_model: \0x", 20);
  ASSERT_TRUE(store_->Append({r, Rec(2, "bob", "x", 11)}).ok());
  auto all = store_->Range(1, 2);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].json, r.json);
  EXPECT_EQ((*all)[0].hash, r.hash);
  EXPECT_EQ((*all)[1].seq, 2);
  ASSERT_TRUE(store_->Append({Rec(3, "carol", "y", 12)}).ok());
}

TEST_F(SqlAuditStoreTest, AppendsABatchOf512Records) {
  std::vector<StoredAuditRecord> batch;
  for (int64_t i = 1; i <= 512; ++i) batch.push_back(Rec(i, "actor" + std::to_string(i % 7), "mlflow.runs.x", i));
  ASSERT_TRUE(store_->Append(batch).ok());
  std::vector<StoredAuditRecord> next;
  for (int64_t i = 513; i <= 1024; ++i) next.push_back(Rec(i, "bob", "feast.y", i));
  ASSERT_TRUE(store_->Append(next).ok());
  auto all = store_->Range(1, 2000);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 1024u);
  for (int64_t i = 1; i <= 1024; ++i) {
    const StoredAuditRecord& r = (*all)[static_cast<size_t>(i - 1)];
    ASSERT_EQ(r.seq, i);
    EXPECT_EQ(r.json, "{\"seq\":" + std::to_string(i) + "}");
    EXPECT_EQ(r.hash, "h" + std::to_string(i));
    EXPECT_EQ(r.time_ms, i);
  }
  EXPECT_EQ(Count("record_json"), 1024);
}

TEST_F(SqlAuditStoreTest, AnAppendAtTheWrongSeqIsRefusedAndStoresNothing) {
  ASSERT_TRUE(store_->Append({Rec(1, "a", "x", 1), Rec(2, "a", "x", 2), Rec(3, "a", "x", 3)}).ok());
  Status ahead = store_->Append({Rec(5, "b", "y", 5), Rec(6, "b", "y", 6)});
  EXPECT_EQ(ahead.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ahead.message(), "audit append at seq 5 but the log ends at 3");
  Status behind = store_->Append({Rec(2, "b", "y", 2), Rec(3, "b", "y", 3), Rec(4, "b", "y", 4)});
  EXPECT_EQ(behind.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(behind.message(), "audit append at seq 2 but the log ends at 3");
  EXPECT_EQ(Count("records"), 3);
  EXPECT_EQ(Count("record_json"), 3);
  auto all = store_->Range(1, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  for (const StoredAuditRecord& r : *all) EXPECT_EQ(r.actor, "a");
  // The right seq still goes in.
  EXPECT_TRUE(store_->Append({Rec(4, "c", "z", 4)}).ok());
  EXPECT_EQ(store_->Last()->seq, 4);
}

TEST_F(SqlAuditStoreTest, ConcurrentAppendersLeaveAGapFreeChainAndLoseNoRecord) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 30;
  std::atomic<int> failures{0};
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = "t" + std::to_string(t) + "_" + std::to_string(i);
        bool written = false;
        for (int attempt = 0; attempt < 10000 && !written; ++attempt) {
          auto last = store_->Last();
          if (!last.ok()) {
            errors[t] = last.status().ToString();
            break;
          }
          StoredAuditRecord r = Rec(last->seq + 1, "actor" + std::to_string(t), "x", i);
          r.audit_id = id;
          r.json = "{\"prev\":\"" + last->hash + "\",\"id\":\"" + id + "\"}";
          r.hash = ChainOf(last->hash, r.json);
          Status s = store_->Append({r});
          if (s.ok()) {
            written = true;
          } else if (s.code() != StatusCode::kFailedPrecondition) {
            errors[t] = s.ToString();
            break;
          }
        }
        if (!written) {
          ++failures;
          return;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0) << errors[0] << " | " << errors[1] << " | " << errors[2] << " | " << errors[3];
  constexpr int64_t kTotal = int64_t{kThreads} * kPerThread;
  auto all = store_->Range(1, kTotal + 100);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(static_cast<int64_t>(all->size()), kTotal);
  std::string prev;
  std::set<std::string> ids;
  for (int64_t i = 0; i < kTotal; ++i) {
    const StoredAuditRecord& r = (*all)[static_cast<size_t>(i)];
    ASSERT_EQ(r.seq, i + 1);
    EXPECT_EQ(r.json, "{\"prev\":\"" + prev + "\",\"id\":\"" + r.audit_id + "\"}") << "seq " << r.seq;
    EXPECT_EQ(r.hash, ChainOf(prev, r.json)) << "seq " << r.seq;
    ids.insert(r.audit_id);
    prev = r.hash;
  }
  std::set<std::string> want;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) want.insert("t" + std::to_string(t) + "_" + std::to_string(i));
  }
  EXPECT_EQ(ids, want);
  EXPECT_EQ(Count("record_json"), kTotal);
}

// Tests of the SQLite file itself (locks, reopening read-only).
class SqliteAuditStoreTest : public SqlAuditStoreTest {
 protected:
  bool OnPostgres() const override { return false; }
};

// PostgreSQL's own append path, whatever the variant (it is not in the
// postgres: filter, so it runs once).
class PgAuditStoreTest : public SqlAuditStoreTest {
 protected:
  bool OnPostgres() const override { return true; }
};

// PostgreSQL's single statement may run twice (connection lost with the
// statement sent). Its own earlier write is success, whatever came after it.
TEST_F(PgAuditStoreTest, ARerunThatFindsItsOwnWriteSucceeds) {
  ASSERT_TRUE(store_->Append({Rec(1, "a", "x", 1)}).ok());
  RerunDatabase rerun(*db_, /*first_commits=*/true, nullptr);
  SqlAuditStore twice(rerun);
  EXPECT_TRUE(twice.Append({Rec(2, "a", "x", 2), Rec(3, "a", "x", 3)}).ok());
  // Another appender got in between the lost run and its rerun.
  RerunDatabase overtaken(*db_, /*first_commits=*/true,
                          [&] { ASSERT_TRUE(store_->Append({Rec(5, "b", "y", 5)}).ok()); });
  SqlAuditStore overtaken_store(overtaken);
  EXPECT_TRUE(overtaken_store.Append({Rec(4, "a", "x", 4)}).ok());
  auto all = store_->Range(1, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  for (int64_t i = 0; i < 5; ++i) EXPECT_EQ((*all)[static_cast<size_t>(i)].seq, i + 1);
  EXPECT_EQ(Count("record_json"), 5);
}

// ... but another writer's record at the same seq is not.
TEST_F(PgAuditStoreTest, ARerunThatFindsAnotherWritersRecordIsRefused) {
  ASSERT_TRUE(store_->Append({Rec(1, "a", "x", 1)}).ok());
  StoredAuditRecord theirs = Rec(2, "b", "y", 2);
  theirs.hash = "theirs";
  RerunDatabase lost(*db_, /*first_commits=*/false, [&] { ASSERT_TRUE(store_->Append({theirs}).ok()); });
  SqlAuditStore store(lost);
  Status s = store.Append({Rec(2, "a", "x", 2)});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_EQ(s.message(), "audit append at seq 2 but the log ends at 2");
  auto last = store_->Last();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->seq, 2);
  EXPECT_EQ(last->hash, "theirs");
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
