// Test fixture for the SQL stores: a fresh database in a private temporary
// directory per test, opened in one place (NewTestDatabase) so that the store
// tests can be pointed at another engine there. Test-only; not synchronised.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include <cstdlib>
#include <map>

#include "storage/postgres/pg_database.h"
#include "storage/postgres/pg_test_server.h"
#include "storage/sql/sql_conn.h"
#include "storage/sql/sql_tracking_store.h"
#include "storage/sqlite/sqlite_database.h"

namespace kiln::storage::testing {

inline std::string MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kiln_sql_XXXXXX").string();
  char* dir = mkdtemp(tmpl.data());
  return dir ? std::string(dir) : std::string();
}

// KILN_TEST_DATABASE=postgres runs the store tests on PostgreSQL (a
// throwaway server, a fresh database per test; CTest registers the SQL store
// tests a second time that way), otherwise on SQLite.
inline bool TestOnPostgres() {
  const char* e = std::getenv("KILN_TEST_DATABASE");
  return e != nullptr && std::string(e) == "postgres";
}

inline std::map<std::string, std::string>& PgTestUris() {
  static std::map<std::string, std::string> uris;  // test dir -> its database
  return uris;
}

// The database the store tests run on: a fresh database migrated to the
// latest schema (SQLite: <dir>/kiln.db).
inline StatusOr<std::unique_ptr<sql::Database>> NewTestDatabase(const std::string& dir) {
  if (!TestOnPostgres()) return sqlite::OpenDatabase(dir + "/kiln.db");
  auto& server = postgres::testing::PgTestServer::Get();
  if (!server.status().ok()) return server.status();
  KILN_ASSIGN_OR_RETURN(std::string uri, server.CreateDatabase());
  PgTestUris()[dir] = uri;
  return postgres::OpenDatabase(uri, postgres::PgOptions{});
}

// The same database again (after the test closed it).
inline StatusOr<std::unique_ptr<sql::Database>> ReopenTestDatabase(const std::string& dir) {
  if (!TestOnPostgres()) return sqlite::OpenDatabase(dir + "/kiln.db");
  return postgres::OpenDatabase(PgTestUris()[dir], postgres::PgOptions{});
}

// A tracking store with the SQLite database file it runs on, for tests that
// open a given file (migrations, reopening).
struct TestStore {
  std::unique_ptr<sql::Database> db;
  std::unique_ptr<SqlTrackingStore> store;
  SqlTrackingStore* operator->() const { return store.get(); }
  SqlTrackingStore& operator*() const { return *store; }
};

inline StatusOr<TestStore> OpenTestStore(const std::string& path, const sqlite::DatabaseOptions& opts = {},
                                         const std::string& default_artifact_root = "mlflow-artifacts:") {
  TestStore t;
  KILN_ASSIGN_OR_RETURN(t.db, sqlite::OpenDatabase(path, opts));
  KILN_ASSIGN_OR_RETURN(t.store, SqlTrackingStore::Create(*t.db, default_artifact_root));
  return t;
}

class SqlStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    ASSERT_FALSE(dir_.empty());
    path_ = dir_ + "/kiln.db";
    auto db = NewTestDatabase(dir_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    auto s = SqlTrackingStore::Create(*db_, "file:///art");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  // Closes the stores' database and opens the file again.
  void Reopen() {
    store_.reset();
    db_.reset();
    auto db = ReopenTestDatabase(dir_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    auto s = SqlTrackingStore::Create(*db_, "file:///art");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string NewExperiment(const std::string& name, int64_t now = 1000) {
    auto id = store_->CreateExperiment(name, "", "file:///art", {}, now);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : std::string();
  }

  storage::Run NewRun(const std::string& exp, const std::string& run_id, int64_t start = 1000,
             const std::string& name = "") {
    RunInfo info;
    info.run_id = run_id;
    info.experiment_id = exp;
    info.run_name = name;
    info.user_id = "alice";
    info.start_time = start;
    auto r = store_->CreateRun(info, {});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : storage::Run{};
  }

  static Metric M(const std::string& key, double v, int64_t ts, int64_t step) {
    Metric m;
    m.key = key;
    m.value = v;
    m.timestamp = ts;
    m.step = step;
    return m;
  }

  std::string dir_;
  std::string path_;
  std::unique_ptr<sql::Database> db_;
  std::unique_ptr<SqlTrackingStore> store_;
};

}  // namespace kiln::storage::testing
