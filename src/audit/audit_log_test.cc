#include "audit/audit_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "audit/audit_crypto.h"
#include "audit/audit_test_util.h"
#include "audit/audit_verify.h"
#include "audit/registry_events.h"

namespace kiln::audit {
namespace {

using json = nlohmann::json;
using testing::AuditFixture;

// Counts the transactions the log asks for; everything else goes to the
// real store.
class CountingStore final : public storage::AuditStore {
 public:
  explicit CountingStore(storage::AuditStore& inner) : inner_(inner) {}
  Status Append(const std::vector<storage::StoredAuditRecord>& r) override {
    ++appends;
    return inner_.Append(r);
  }
  StatusOr<storage::StoredAuditRecord> Last() override { return inner_.Last(); }
  StatusOr<std::vector<storage::StoredAuditRecord>> Query(const storage::AuditQuery& q) override { return inner_.Query(q); }
  StatusOr<std::vector<storage::StoredAuditRecord>> Range(int64_t a, int64_t b) override { return inner_.Range(a, b); }
  Status AppendCheckpoint(const storage::StoredCheckpoint& c) override { return inner_.AppendCheckpoint(c); }
  StatusOr<std::vector<storage::StoredCheckpoint>> Checkpoints() override { return inner_.Checkpoints(); }
  Status Ping() override { return inner_.Ping(); }
  std::atomic<int> appends{0};

 private:
  storage::AuditStore& inner_;
};

json RecordJson(storage::AuditStore& store, int64_t seq) {
  auto rows = store.Range(seq, seq);
  EXPECT_TRUE(rows.ok() && rows->size() == 1);
  return rows.ok() && rows->size() == 1 ? json::parse((*rows)[0].json) : json();
}

TEST_F(AuditFixture, StartupWritesATestRecordAndRecordsChain) {
  OpenLog();
  auto first = store_->Last();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->seq, 1);
  json startup = json::parse(first->json);
  EXPECT_EQ(startup["action"], "audit.startup");
  EXPECT_EQ(startup["actor"], "system");
  EXPECT_EQ(startup["prev"], std::string(kGenesisHash));

  auto id = log_->Record(Event("alice", "mlflow.runs.create", R"({"experiment_id":"1"})"));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->rfind("aud_", 0), 0u);
  json r = RecordJson(*store_, 2);
  EXPECT_EQ(r["audit_id"], *id);
  EXPECT_EQ(r["seq"], 2);
  EXPECT_EQ(r["prev"], first->hash);
  EXPECT_EQ(r["request"]["experiment_id"], "1");
  EXPECT_EQ(r["time"], clock_.NowMillis());
  EXPECT_FALSE(r.contains("error"));  // empty fields are omitted
  EXPECT_FALSE(r.contains("status"));
  auto last = store_->Last();
  EXPECT_EQ(last->hash, ChainHash(first->hash, last->json));
  EXPECT_EQ(last->json, json::parse(last->json).dump());  // canonical: sorted keys, no spaces
}

TEST_F(AuditFixture, BodiesAreEmbeddedAsValidJsonWhateverTheyContain) {
  OpenLog();
  ASSERT_TRUE(log_->Record(Event("alice", "mlflow.runs.log-batch", " {\"seq\": 99, \"prev\": \"x\",\n \"a\": [1, 2]}\n")).ok());
  auto last = store_->Last();
  json r = json::parse(last->json);
  EXPECT_EQ(r["seq"], last->seq);
  EXPECT_EQ(r["request"]["seq"], 99);
  EXPECT_EQ(r["request"]["a"], json::array({1, 2}));
  EXPECT_EQ(last->hash, ChainHash(r["prev"].get<std::string>(), last->json));
  ASSERT_TRUE(log_->Record(Event("alice", "mlflow.runs.log-batch", "not json {")).ok());
  EXPECT_EQ(json::parse(store_->Last()->json)["request"], "not json {");
  ASSERT_TRUE(log_->Record(Event("alice", "mlflow.runs.log-batch", "{\"bad\": \"\xff\"}")).ok());
  EXPECT_TRUE(json::accept(store_->Last()->json));
}

TEST_F(AuditFixture, GivenAuditIdIsKept) {
  OpenLog();
  AuditEvent e = Event("bob", "mlflow.runs.update");
  e.audit_id = "aud_given.r";
  e.stage = "response";
  e.status = 200;
  auto id = log_->Record(e);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "aud_given.r");
  ASSERT_TRUE(log_->Checkpoint().ok());  // writes the queued outcome record
  EXPECT_EQ(store_->Last()->audit_id, "aud_given.r");
  EXPECT_EQ(store_->Last()->stage, "response");
}

TEST_F(AuditFixture, SecretsAnywhereInTheBodyBecomeTheirHmac) {
  OpenLog();
  AuditEvent e = Event("admin", "auth.users.create",
                       R"({"username":"carol","password":"s3cret!","nested":[{"token":"tok_123"}],"n":{"password":42}})");
  e.secret_fields = {"password", "token"};
  e.after_json = R"({"username":"carol","token":"tok_123"})";
  ASSERT_TRUE(log_->Record(e).ok());
  auto last = store_->Last();
  EXPECT_EQ(last->json.find("s3cret!"), std::string::npos);
  EXPECT_EQ(last->json.find("tok_123"), std::string::npos);
  json r = json::parse(last->json);
  EXPECT_EQ(r["request"]["username"], "carol");
  EXPECT_EQ(r["request"]["password"], "hmac-sha256:" + HmacSha256Hex(options_.hmac_key, "s3cret!"));
  EXPECT_EQ(r["request"]["password"], "hmac-sha256:" + log_->HmacOf("s3cret!"));
  EXPECT_EQ(r["request"]["nested"][0]["token"], "hmac-sha256:" + log_->HmacOf("tok_123"));
  EXPECT_EQ(r["request"]["n"]["password"], "hmac-sha256:" + log_->HmacOf("42"));
  EXPECT_EQ(r["after"]["token"], "hmac-sha256:" + log_->HmacOf("tok_123"));
}

TEST_F(AuditFixture, NonJsonBodyWithSecretsAndOversizeBodiesAreDigested) {
  options_.max_field_bytes = 64;
  OpenLog();
  AuditEvent e = Event("admin", "auth.users.create", "username=carol&password=s3cret");
  e.secret_fields = {"password"};
  ASSERT_TRUE(log_->Record(e).ok());
  json r = json::parse(store_->Last()->json);
  EXPECT_EQ(r["request"]["bytes"], 30);
  EXPECT_EQ(r["request"]["sha256"], Sha256Hex("username=carol&password=s3cret"));

  std::string big = R"({"metrics":[)";
  for (int i = 0; i < 20; ++i) big += std::string(i ? "," : "") + R"({"key":"m","value":1.5})";
  big += "]}";
  ASSERT_TRUE(log_->Record(Event("alice", "mlflow.runs.log-batch", big)).ok());
  r = json::parse(store_->Last()->json);
  EXPECT_EQ(r["request"]["sha256"], Sha256Hex(big));
  EXPECT_EQ(r["request"]["bytes"], big.size());
}

TEST_F(AuditFixture, ConcurrentRecordsAreGroupCommittedIntoOneIntactChain) {
  CountingStore counting(*store_);
  auto l = AuditLog::Create(counting, options_, clock_);
  ASSERT_TRUE(l.ok());
  constexpr int kThreads = 8, kEach = 200;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        AuditEvent e = Event("user" + std::to_string(t), "mlflow.runs.log-batch", R"({"i":1})");
        if (i % 2) e.stage = "response";
        if (!(*l)->Record(e).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  (*l)->Flush();
  EXPECT_EQ(store_->Last()->seq, 1 + kThreads * kEach);
  EXPECT_LT(counting.appends.load(), 1 + kThreads * kEach);  // some callers shared a transaction
  std::string pem = (*l)->PublicKeyPem();
  l->reset();
  auto v = VerifyAuditStore(*store_, pem);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->ok) << v->message;
  EXPECT_EQ(v->records, 1 + kThreads * kEach);
  EXPECT_EQ(v->uncovered, 0);  // the destructor's checkpoint covers everything
}

TEST_F(AuditFixture, OutcomeRecordsAreQueuedAndWrittenWithTheNextBatchOrAtCheckpoint) {
  OpenLog();
  for (int i = 0; i < 5; ++i) {
    AuditEvent e = Event("alice", "mlflow.runs.create");
    e.stage = "response";
    e.audit_id = "aud_x" + std::to_string(i) + ".r";
    e.status = 200;
    auto id = log_->Record(e);
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(*id, e.audit_id);
  }
  ASSERT_TRUE(log_->Record(Event("alice", "mlflow.runs.create")).ok());  // waited for, so it takes them along
  EXPECT_EQ(store_->Last()->seq, 7);
  EXPECT_EQ(store_->Last()->stage, "request");
  AuditEvent e = Event("alice", "mlflow.runs.create");
  e.stage = "response";
  ASSERT_TRUE(log_->Record(e).ok());
  ASSERT_TRUE(log_->Checkpoint().ok());
  EXPECT_EQ(store_->Last()->seq, 8);
  EXPECT_EQ(store_->Checkpoints()->back().seq, 8);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(log_->Record(e).ok());
  std::string pem = log_->PublicKeyPem();
  log_.reset();  // flushed before the final checkpoint
  EXPECT_EQ(store_->Last()->seq, 11);
  auto v = VerifyAuditStore(*store_, pem);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->message;
  EXPECT_EQ(v->uncovered, 0);
}

// Without a request to take them along, outcome records reach the store on
// their own -- also the ones queued while the flusher already waits, and the
// ones queued after it went back to sleep.
TEST_F(AuditFixture, OutcomeRecordsNobodyTakesAlongAreWrittenByTheFlusher) {
  OpenLog();
  auto wait_for_seq = [this](int64_t seq) {
    for (int i = 0; i < 500 && store_->Last()->seq < seq; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return store_->Last()->seq;
  };
  AuditEvent e = Event("alice", "mlflow.runs.create");
  e.stage = "response";
  const int64_t start = store_->Last()->seq;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(log_->Record(e).ok());
  EXPECT_EQ(wait_for_seq(start + 3), start + 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the flusher is idle again
  ASSERT_TRUE(log_->Record(e).ok());
  EXPECT_EQ(wait_for_seq(start + 4), start + 4);
  EXPECT_EQ(store_->Last()->stage, "response");
}

TEST_F(AuditFixture, FailsClosedWhileTheStoreIsLockedAndRecoversAfterwards) {
  OpenLog();
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto refused = log_->Record(Event("alice", "mlflow.runs.create"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  ASSERT_TRUE(log_->Record(Event("alice", "mlflow.runs.create")).ok());
  std::string pem = log_->PublicKeyPem();
  log_.reset();
  auto v = VerifyAuditStore(*store_, pem);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->message;
  EXPECT_EQ(v->records, 2);
}

TEST_F(AuditFixture, CreateFailsWhenTheStoreCannotBeWritten) {
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto l = AuditLog::Create(*store_, options_, clock_);
  EXPECT_FALSE(l.ok());
  sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(other);
}

TEST_F(AuditFixture, ReopeningContinuesTheChainAndKeepsTheKey) {
  OpenLog();
  ASSERT_TRUE(log_->Record(Event("alice", "mlflow.runs.create")).ok());
  std::string key_id = log_->KeyId();
  log_.reset();
  struct stat st {};
  ASSERT_EQ(::stat(options_.key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  OpenLog();
  EXPECT_EQ(log_->KeyId(), key_id);
  EXPECT_EQ(store_->Last()->seq, 3);  // startup, create, startup
  std::string pem = log_->PublicKeyPem();
  log_.reset();
  auto v = VerifyAuditStore(*store_, pem);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->message;
  EXPECT_EQ(v->checkpoints, 2);
}

// Three replicas' logs on one store (same key file, as replicas share
// --audit-key-file): each keeps its own idea of where the log ends, appends
// collide, and every record still lands exactly once in one chain whose
// checkpoints never fork.
TEST_F(AuditFixture, ReplicasSharingTheStoreAppendOneChain) {
  options_.checkpoint_every = 25;
  std::vector<std::unique_ptr<AuditLog>> replicas;
  for (int i = 0; i < 3; ++i) {
    auto l = AuditLog::Create(*store_, options_, clock_);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    replicas.push_back(std::move(*l));
  }
  constexpr int kThreads = 6, kEach = 100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        if (!replicas[t % 3]->Record(Event("user" + std::to_string(t), "mlflow.runs.create")).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  const std::string pem = replicas[0]->PublicKeyPem();
  replicas.clear();
  EXPECT_EQ(store_->Last()->seq, 3 + kThreads * kEach);  // a startup record each, then every event
  auto cps = store_->Checkpoints();
  ASSERT_TRUE(cps.ok());
  ASSERT_GE(cps->size(), 2u);
  for (size_t i = 1; i < cps->size(); ++i) {
    EXPECT_GT((*cps)[i].seq, (*cps)[i - 1].seq);
    EXPECT_EQ((*cps)[i].prev_signature, (*cps)[i - 1].signature);
  }
  auto v = VerifyAuditStore(*store_, pem);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->ok) << v->message;
  EXPECT_EQ(v->records, 3 + kThreads * kEach);
}

TEST_F(AuditFixture, CheckpointsEveryNRecordsSignedAndChained) {
  options_.checkpoint_every = 10;
  OpenLog();
  for (int i = 0; i < 24; ++i) ASSERT_TRUE(log_->Record(Event("alice", "mlflow.runs.create")).ok());
  auto cps = store_->Checkpoints();
  ASSERT_TRUE(cps.ok());
  ASSERT_EQ(cps->size(), 2u);
  EXPECT_EQ((*cps)[0].seq, 10);
  EXPECT_EQ((*cps)[1].seq, 20);
  EXPECT_EQ((*cps)[0].prev_signature, "");
  EXPECT_EQ((*cps)[1].prev_signature, (*cps)[0].signature);
  EXPECT_EQ((*cps)[1].key_id, log_->KeyId());
  ASSERT_TRUE(log_->Checkpoint().ok());
  ASSERT_TRUE(log_->Checkpoint().ok());  // nothing new: no second one
  EXPECT_EQ(store_->Checkpoints()->size(), 3u);
  EXPECT_EQ(store_->Checkpoints()->back().seq, 25);
}

TEST_F(AuditFixture, RegistryEventsBecomeEventRecords) {
  OpenLog();
  storage::RegistryEvent ev;
  ev.id = 7;
  ev.timestamp = 1234;
  ev.action = "transition_model_version_stage";
  ev.name = "fraud";
  ev.version = "3";
  ev.before_json = R"({"current_stage":"None"})";
  ev.after_json = R"({"current_stage":"Production"})";
  RegistryEventSubscriber(*log_)(ev);
  json r = json::parse(store_->Last()->json);
  EXPECT_EQ(r["stage"], "event");
  EXPECT_EQ(r["actor"], "system");
  EXPECT_EQ(r["action"], "registry.transition_model_version_stage");
  EXPECT_EQ(r["object"], "registered_model:fraud");
  EXPECT_EQ(r["after"]["current_stage"], "Production");
  EXPECT_EQ(r["time"], 1234);
  ev.actor = "alice";
  RegistryEventSubscriber(*log_)(ev);
  EXPECT_EQ(store_->Last()->actor, "alice");
}

}  // namespace
}  // namespace kiln::audit

namespace kiln::audit {
namespace {

// Prints the cost of one record like a log-batch request's (100 metrics),
// alone and from 8 threads; asserts only that every record was written.
TEST_F(AuditFixture, PerfLogBatchSizedRecords) {
  OpenLog();
  std::string body = R"({"run_id":"0123456789abcdef0123456789abcdef","metrics":[)";
  for (int k = 0; k < 100; ++k) {
    body += std::string(k ? "," : "") + R"({"key":"metric_)" + std::to_string(k) +
            R"(","value":12.5,"timestamp":1700000000000,"step":7})";
  }
  body += "]}";
  constexpr int kRecords = 2000;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kRecords; ++i) ASSERT_TRUE(log_->Record(Event("alice", "mlflow.runs.log-batch", body)).ok());
  double alone = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / kRecords;
  t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRecords / 8; ++i) {
        if (!log_->Record(Event("alice", "mlflow.runs.log-batch", body)).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  double together = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / kRecords;
  EXPECT_EQ(failures.load(), 0);
  std::printf("audit record of a %zu-byte log-batch body: %.1f us alone, %.1f us each from 8 threads\n", body.size(),
              alone, together);
}

// A store whose appends start failing on demand (a full disk, a lost database).
class FailingStore final : public storage::AuditStore {
 public:
  explicit FailingStore(storage::AuditStore& inner) : inner_(inner) {}
  Status Append(const std::vector<storage::StoredAuditRecord>& r) override {
    return fail ? Unavailable("disk full") : inner_.Append(r);
  }
  StatusOr<storage::StoredAuditRecord> Last() override { return inner_.Last(); }
  StatusOr<std::vector<storage::StoredAuditRecord>> Query(const storage::AuditQuery& q) override { return inner_.Query(q); }
  StatusOr<std::vector<storage::StoredAuditRecord>> Range(int64_t a, int64_t b) override { return inner_.Range(a, b); }
  Status AppendCheckpoint(const storage::StoredCheckpoint& c) override {
    return fail ? Unavailable("disk full") : inner_.AppendCheckpoint(c);
  }
  StatusOr<std::vector<storage::StoredCheckpoint>> Checkpoints() override { return inner_.Checkpoints(); }
  Status Ping() override { return inner_.Ping(); }
  bool fail = false;

 private:
  storage::AuditStore& inner_;
};

TEST_F(AuditFixture, MetricsCountWrittenAndFailedRecordsFromZero) {
  MetricsRegistry metrics;
  options_.metrics = &metrics;
  FailingStore failing(*store_);
  auto log = AuditLog::Create(failing, options_, clock_);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  std::string text = metrics.Render();
  EXPECT_NE(text.find("kiln_audit_records_total 1\n"), std::string::npos) << text;  // the startup record
  EXPECT_NE(text.find("kiln_audit_write_failures_total 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("kiln_audit_checkpoint_failures_total 0\n"), std::string::npos) << text;

  failing.fail = true;
  EXPECT_FALSE((*log)->Record(Event("alice", "mlflow.runs.create")).ok());
  EXPECT_FALSE((*log)->Checkpoint().ok());
  text = metrics.Render();
  EXPECT_NE(text.find("kiln_audit_write_failures_total 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("kiln_audit_checkpoint_failures_total 1\n"), std::string::npos) << text;
  failing.fail = false;
  EXPECT_TRUE((*log)->Record(Event("alice", "mlflow.runs.create")).ok());
  EXPECT_NE(metrics.Render().find("kiln_audit_records_total 2\n"), std::string::npos);
}

}  // namespace
}  // namespace kiln::audit
