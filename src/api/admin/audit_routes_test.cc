// The audit routes in process over a real AuditLog and SqlAuditStore (SQLite audit.db).
#include "api/admin/audit_routes.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "storage/sql/sql_audit_store.h"
#include "storage/sqlite/sqlite_audit_db.h"

namespace kiln::api::admin {
namespace {

using nlohmann::json;

class AuditRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kiln_auditroutes_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto db = storage::sqlite::OpenAuditDatabase(dir_ + "/audit.db");
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
    store_ = std::make_unique<storage::SqlAuditStore>(*db_);
    audit::AuditOptions o;
    o.key_file = dir_ + "/key.pem";
    o.hmac_key = "0123456789abcdef0123456789abcdef";
    o.checkpoint_interval_ms = 0;
    auto log = audit::AuditLog::Create(*store_, o, clock_);
    ASSERT_TRUE(log.ok());
    log_ = std::move(*log);
    AddAuditRoutes(router_, *store_, *log_);
    for (int i = 0; i < 25; ++i) {
      audit::AuditEvent e;
      e.stage = "request";
      e.actor = i % 2 ? "alice" : "bob";
      e.action = i % 5 ? "mlflow.runs.log-batch" : "auth.users.create";
      e.decision = i % 7 ? "allow" : "deny";
      e.object = "experiment:" + std::to_string(i % 3);
      ASSERT_TRUE(log_->Record(e).ok());
    }
  }
  void TearDown() override {
    log_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  net::HttpResponse Get(const std::string& path, std::vector<std::pair<std::string, std::string>> query = {}) {
    net::RouteMatch m = router_.Match("GET", path);
    EXPECT_NE(m.route, nullptr) << path;
    if (!m.route) return net::HttpResponse::Text(599, "");
    EXPECT_EQ(m.route->access.kind, net::AccessKind::kAdmin);
    EXPECT_FALSE(m.route->access.mutation);
    net::HttpRequest req;
    req.method = "GET";
    req.path = path;
    req.query = std::move(query);
    return m.route->handler(req);
  }

  std::string dir_;
  SystemClock clock_;
  std::unique_ptr<storage::sql::Database> db_;
  std::unique_ptr<storage::SqlAuditStore> store_;
  std::unique_ptr<audit::AuditLog> log_;
  net::Router router_;
};

TEST_F(AuditRoutesTest, FiltersAndPages) {
  net::HttpResponse res = Get("/api/v1/audit", {{"actor", "alice"}, {"action", "mlflow."}, {"max_results", "5"}});
  ASSERT_EQ(res.status, 200u) << res.body;
  json page = json::parse(res.body);
  ASSERT_EQ(page["records"].size(), 5u);
  for (const auto& r : page["records"]) {
    EXPECT_EQ(r["actor"], "alice");
    EXPECT_EQ(r["action"], "mlflow.runs.log-batch");
    EXPECT_EQ(r["hash"].get<std::string>().size(), 64u);
  }
  std::vector<int64_t> seqs;
  std::string token = page["next_page_token"];
  for (const auto& r : page["records"]) seqs.push_back(r["seq"]);
  while (!token.empty()) {
    res = Get("/api/v1/audit",
              {{"actor", "alice"}, {"action", "mlflow."}, {"max_results", "5"}, {"page_token", token}});
    ASSERT_EQ(res.status, 200u);
    page = json::parse(res.body);
    for (const auto& r : page["records"]) seqs.push_back(r["seq"]);
    token = page.value("next_page_token", "");
  }
  EXPECT_EQ(seqs.size(), 10u);  // alice: 12 odd i, minus i = 5, 15
  EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
  res = Get("/api/v1/audit", {{"decision", "deny"}});
  EXPECT_EQ(json::parse(res.body)["records"].size(), 4u);  // i = 0, 7, 14, 21
  EXPECT_FALSE(json::parse(res.body).contains("next_page_token"));
}

TEST_F(AuditRoutesTest, NewestFirstFiltersInTheQueryAndPages) {
  std::vector<std::pair<std::string, std::string>> q = {
      {"actor", "alice"}, {"action", "mlflow."}, {"order", "desc"}, {"max_results", "4"}};
  net::HttpResponse res = Get("/api/v1/audit", q);
  ASSERT_EQ(res.status, 200u) << res.body;
  json page = json::parse(res.body);
  std::vector<int64_t> seqs;
  for (const auto& r : page["records"]) {
    EXPECT_EQ(r["actor"], "alice");
    seqs.push_back(r["seq"]);
  }
  ASSERT_EQ(seqs.size(), 4u);
  // Records 2..26 are i = 0..24; alice is odd i without i = 5, 15: the newest is i = 23 (seq 25).
  EXPECT_EQ(seqs.front(), 25);
  std::string token = page["next_page_token"];
  while (!token.empty()) {
    auto next = q;
    next.emplace_back("page_token", token);
    page = json::parse(Get("/api/v1/audit", next).body);
    for (const auto& r : page["records"]) seqs.push_back(r["seq"]);
    token = page.value("next_page_token", "");
  }
  EXPECT_EQ(seqs.size(), 10u);
  EXPECT_TRUE(std::is_sorted(seqs.rbegin(), seqs.rend()));
  EXPECT_EQ(std::adjacent_find(seqs.begin(), seqs.end()), seqs.end());
  // A token of one order is not accepted by the other.
  res = Get("/api/v1/audit", {{"order", "desc"}, {"max_results", "1"}});
  std::string desc_token = json::parse(res.body)["next_page_token"];
  EXPECT_EQ(Get("/api/v1/audit", {{"page_token", desc_token}}).status, 400u);
}

TEST_F(AuditRoutesTest, BadParametersAreRefusedInTheApiShape) {
  for (auto q : std::vector<std::pair<std::string, std::string>>{{"max_results", "0"},
                                                                  {"max_results", "x"},
                                                                  {"page_token", "!!"},
                                                                  {"since", "-1"},
                                                                  {"decision", "maybe"},
                                                                  {"order", "newest"}}) {
    net::HttpResponse res = Get("/api/v1/audit", {q});
    EXPECT_EQ(res.status, 400u) << q.first;
    EXPECT_EQ(json::parse(res.body)["error_code"], "INVALID_PARAMETER_VALUE");
  }
}

TEST_F(AuditRoutesTest, ExportIsJsonLinesBounded) {
  net::HttpResponse res = Get("/api/v1/audit/export", {{"after_seq", "20"}});
  ASSERT_EQ(res.status, 200u);
  EXPECT_EQ(res.content_type, "application/x-ndjson");
  int lines = 0;
  for (size_t pos = 0; pos < res.body.size();) {
    size_t nl = res.body.find('\n', pos);
    json r = json::parse(res.body.substr(pos, nl - pos));
    EXPECT_EQ(r["seq"], 21 + lines);
    ++lines;
    pos = nl + 1;
  }
  EXPECT_EQ(lines, 6);  // 26 records: startup + 25
  res = Get("/api/v1/audit/export", {{"max_results", "3"}});
  ASSERT_EQ(res.status, 200u);
  EXPECT_EQ(std::count(res.body.begin(), res.body.end(), '\n'), 3);
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0], (std::pair<std::string, std::string>{"X-Kiln-Audit-Next-After-Seq", "3"}));
}

TEST_F(AuditRoutesTest, VerifyAndPublicKey) {
  ASSERT_TRUE(log_->Checkpoint().ok());
  json v = json::parse(Get("/api/v1/audit/verify").body);
  EXPECT_TRUE(v["ok"]) << v.dump();
  EXPECT_EQ(v["records"], 26);
  EXPECT_EQ(v["checkpoints"], 1);
  json k = json::parse(Get("/api/v1/audit/public-key").body);
  EXPECT_EQ(k["algorithm"], "Ed25519");
  EXPECT_EQ(k["key_id"], log_->KeyId());
  EXPECT_NE(k["public_key_pem"].get<std::string>().find("BEGIN PUBLIC KEY"), std::string::npos);
}

}  // namespace
}  // namespace kiln::api::admin
