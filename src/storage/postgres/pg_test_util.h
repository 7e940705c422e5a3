// Test helpers: a fresh database on the shared test server per test.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "storage/postgres/pg_conn.h"
#include "storage/postgres/pg_database.h"
#include "storage/postgres/pg_test_server.h"

namespace kiln::storage::postgres::testing {

class PgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PgTestServer& server = PgTestServer::Get();
    ASSERT_TRUE(server.status().ok()) << server.status().ToString();
    auto uri = server.CreateDatabase();
    ASSERT_TRUE(uri.ok()) << uri.status().ToString();
    uri_ = *uri;
  }

  std::unique_ptr<PgConn> Connect() {
    PgConnParams p;
    p.uri = uri_;
    auto c = PgConn::Connect(p);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  std::unique_ptr<PgDatabase> Open(PgOptions options = {}) {
    auto db = PgDatabase::Create(uri_, options);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(*db) : nullptr;
  }

  std::string uri_;
};

}  // namespace kiln::storage::postgres::testing
