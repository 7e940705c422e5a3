// Test fixture: an AuditLog over a real SqlAuditStore (SQLite audit.db) in a temporary
// directory, and raw SQL access to the file for tampering. Test-only.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "audit/audit_log.h"
#include "core/clock.h"
#include "storage/sql/sql_audit_store.h"
#include "storage/sqlite/sqlite_audit_db.h"

namespace kiln::audit::testing {

class ManualClock final : public Clock {
 public:
  int64_t NowMillis() const override { return now_; }
  void Set(int64_t now) { now_ = now; }

 private:
  int64_t now_ = 1'700'000'000'000;
};

class AuditFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kiln_auditlog_XXXXXX").string();
    char* dir = mkdtemp(tmpl.data());
    ASSERT_NE(dir, nullptr);
    dir_ = dir;
    db_path_ = dir_ + "/audit.db";
    options_.key_file = dir_ + "/audit_signing_key.pem";
    options_.hmac_key = std::string(32, 'k');
    options_.checkpoint_interval_ms = 0;  // checkpoints by count only: deterministic
    OpenStore();
  }
  void TearDown() override {
    log_.reset();
    store_.reset();
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void OpenStore() {
    store_.reset();
    db_.reset();
    auto db = storage::sqlite::OpenAuditDatabase(db_path_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    store_ = std::make_unique<storage::SqlAuditStore>(*db_);
  }
  void OpenLog() {
    auto l = AuditLog::Create(*store_, options_, clock_);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    log_ = std::move(*l);
  }
  static AuditEvent Event(const std::string& actor, const std::string& action, const std::string& body = "") {
    AuditEvent e;
    e.stage = "request";
    e.actor = actor;
    e.actor_kind = "user";
    e.service = action.substr(0, action.find('.'));
    e.action = action;
    e.decision = "allow";
    e.object = "experiment:1";
    e.request_json = body;
    return e;
  }
  // Runs SQL against the file from a connection of its own (the tamperer).
  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << sql << ": " << msg;
  }

  std::string dir_, db_path_;
  AuditOptions options_;
  ManualClock clock_;
  std::unique_ptr<storage::sql::Database> db_;
  std::unique_ptr<storage::SqlAuditStore> store_;
  std::unique_ptr<AuditLog> log_;
};

}  // namespace kiln::audit::testing
