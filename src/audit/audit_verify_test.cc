#include "audit/audit_verify.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "audit/audit_crypto.h"
#include "audit/audit_test_util.h"

namespace kiln::audit {
namespace {

using testing::AuditFixture;

// 30 records (startup + 29), checkpoints at 10, 20 and 30 (the last one
// written when the log closes).
class VerifyTest : public AuditFixture {
 protected:
  void SetUp() override {
    AuditFixture::SetUp();
    options_.checkpoint_every = 10;
    OpenLog();
    for (int i = 0; i < 29; ++i) {
      clock_.Set(clock_.NowMillis() + 1);
      ASSERT_TRUE(log_->Record(Event(i % 2 ? "alice" : "bob", "mlflow.runs.log-batch", R"({"run_id":"r1"})")).ok());
    }
    pem_ = log_->PublicKeyPem();
    log_.reset();
  }
  AuditVerifyResult Verify(const std::string& pem = "") {
    auto v = VerifyAuditStore(*store_, pem.empty() ? pem_ : pem);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : AuditVerifyResult{};
  }
  std::string pem_;
};

TEST_F(VerifyTest, IntactLogVerifies) {
  AuditVerifyResult r = Verify();
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.records, 30);
  EXPECT_EQ(r.first_seq, 1);
  EXPECT_EQ(r.last_seq, 30);
  EXPECT_EQ(r.checkpoints, 3);
  EXPECT_EQ(r.last_checkpoint_seq, 30);
  EXPECT_EQ(r.uncovered, 0);
  EXPECT_NE(DescribeResult(r).find("intact: 30 records (1..30)"), std::string::npos) << DescribeResult(r);
}

TEST_F(VerifyTest, EditedContentIsNamed) {
  Sql("UPDATE record_json SET json = replace(json, '\"r1\"', '\"r2\"') WHERE seq = 12");
  AuditVerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 12);
  EXPECT_EQ(r.problem, AuditProblem::kEdited);
  EXPECT_EQ(r.message, "record 12 edited: its content does not match its hash");
}

TEST_F(VerifyTest, EditedAndRehashedRecordIsNamedThroughTheNextLink) {
  auto rows = store_->Range(12, 12);
  ASSERT_TRUE(rows.ok());
  std::string json = (*rows)[0].json;
  std::string edited = json.replace(json.find("\"r1\""), 4, "\"r9\"");
  std::string prev = nlohmann::json::parse(edited)["prev"];
  Sql("UPDATE record_json SET json = '" + edited + "' WHERE seq = 12; UPDATE records SET hash = '" +
      ChainHash(prev, edited) + "' WHERE seq = 12");
  AuditVerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 12);
  EXPECT_EQ(r.problem, AuditProblem::kBrokenLink);
}

TEST_F(VerifyTest, EditedIndexedColumnIsNamed) {
  Sql("UPDATE records SET actor = 'mallory' WHERE seq = 4");
  AuditVerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 4);
  EXPECT_EQ(r.problem, AuditProblem::kEdited);
}

TEST_F(VerifyTest, RemovedRecordIsNamed) {
  Sql("DELETE FROM records WHERE seq = 7");
  AuditVerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 7);
  EXPECT_EQ(r.problem, AuditProblem::kMissing);
  EXPECT_EQ(r.message, "record 7 missing (the next stored record is 8)");
}

TEST_F(VerifyTest, RemovedRecordTextIsNamed) {
  Sql("DELETE FROM record_json WHERE seq = 9");
  AuditVerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 9);
  EXPECT_EQ(r.problem, AuditProblem::kEdited);
}

TEST_F(VerifyTest, RemovedFirstRecordIsNamed) {
  Sql("DELETE FROM records WHERE seq = 1");
  AuditVerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 1);
  EXPECT_EQ(r.problem, AuditProblem::kMissing);
}

TEST_F(VerifyTest, SwappedRecordsAreNamed) {
  for (const char* table : {"records", "record_json"}) {
    Sql(std::string("UPDATE ") + table + " SET seq = -1 WHERE seq = 8; UPDATE " + table +
        " SET seq = 8 WHERE seq = 9; UPDATE " + table + " SET seq = 9 WHERE seq = -1");
  }
  AuditVerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 8);
  EXPECT_EQ(r.problem, AuditProblem::kOutOfOrder);
  EXPECT_EQ(r.message, "record 8 out of order: the record stored there is record 9");
}

TEST_F(VerifyTest, TruncationAfterACheckpointIsNamed) {
  Sql("DELETE FROM records WHERE seq > 24");
  AuditVerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 25);
  EXPECT_EQ(r.problem, AuditProblem::kTruncated);
  EXPECT_NE(r.message.find("log truncated after checkpoint 3"), std::string::npos) << r.message;
}

TEST_F(VerifyTest, ForgedCheckpointIsNamed) {
  Sql("UPDATE checkpoints SET time_ms = time_ms + 1 WHERE seq = 20");
  AuditVerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 20);
  EXPECT_EQ(r.problem, AuditProblem::kBadCheckpoint);
  EXPECT_NE(r.message.find("bad checkpoint signature"), std::string::npos) << r.message;
}

TEST_F(VerifyTest, RemovedCheckpointBreaksTheirChain) {
  Sql("DELETE FROM checkpoints WHERE seq = 10");
  AuditVerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 20);
  EXPECT_EQ(r.problem, AuditProblem::kBadCheckpoint);
}

TEST_F(VerifyTest, RewrittenTailIsCaughtByTheCheckpoint) {
  // Re-chain records 15..30 consistently: every link holds, but checkpoint
  // 2 signed record 20's old hash.
  auto rows = store_->Range(15, 30);
  ASSERT_TRUE(rows.ok());
  std::string prev = store_->Range(14, 14)->front().hash;
  std::string sql;
  for (auto& row : *rows) {
    auto j = nlohmann::json::parse(row.json);
    j["prev"] = prev;
    if (row.seq == 15) j["request"]["run_id"] = "r7";
    std::string text = j.dump();
    std::string hash = ChainHash(prev, text);
    sql += "UPDATE record_json SET json = '" + text + "' WHERE seq = " + std::to_string(row.seq) + ";";
    sql += "UPDATE records SET hash = '" + hash + "' WHERE seq = " + std::to_string(row.seq) + ";";
    prev = hash;
  }
  Sql(sql);
  AuditVerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 20);
  EXPECT_EQ(r.problem, AuditProblem::kBadCheckpoint);
  EXPECT_NE(r.message.find("does not match the record's hash"), std::string::npos) << r.message;
}

TEST_F(VerifyTest, AnotherKeyIsRefused) {
  auto other = Ed25519Key::LoadOrCreate(dir_ + "/other.pem");
  ASSERT_TRUE(other.ok());
  AuditVerifyResult r = Verify((*other)->PublicPem());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 10);
  EXPECT_EQ(r.problem, AuditProblem::kBadCheckpoint);
}

TEST_F(VerifyTest, TheEarliestProblemWins) {
  Sql("DELETE FROM records WHERE seq = 25; UPDATE record_json SET json = json || ' ' WHERE seq = 3");
  AuditVerifyResult r = Verify();
  EXPECT_EQ(r.bad_seq, 3);
  EXPECT_EQ(r.problem, AuditProblem::kEdited);
}

TEST_F(VerifyTest, NotAKeyIsAnError) { EXPECT_FALSE(VerifyAuditStore(*store_, "not a pem").ok()); }

}  // namespace
}  // namespace kiln::audit
