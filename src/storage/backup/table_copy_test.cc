#include "storage/backup/table_copy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "storage/postgres/pg_database.h"
#include "storage/postgres/pg_test_server.h"
#include "storage/sql/sql_test_util.h"
#include "storage/sql/sql_tracking_store.h"
#include "storage/sqlite/sqlite_database.h"

namespace kiln::storage::backup {
namespace {

using sql::Conn;

// A SQLite deployment with rows whose values are easy to get subtly wrong:
// infinities, NaN flags, text with quotes and non-ASCII bytes, NULLs.
class TableCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir();
    auto db = sqlite::OpenDatabase(dir_ + "/src.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    src_ = std::move(*db);
    auto store = SqlTrackingStore::Create(*src_, "file:///art");
    ASSERT_TRUE(store.ok());
    auto exp = (*store)->CreateExperiment("it's \xc3\xa9t\xc3\xa9", "", "file:///art", {{"k", "v\"q"}}, 1000);
    ASSERT_TRUE(exp.ok());
    RunInfo info;
    info.run_id = "0123456789abcdef0123456789abcdef";
    info.experiment_id = *exp;
    info.start_time = 5;
    ASSERT_TRUE((*store)->CreateRun(info, {}).ok());
    std::vector<Metric> metrics;
    const double values[] = {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                             std::nan(""), 0.1 + 0.2, -0.0, 5e-324};
    for (int i = 0; i < 6; ++i) {
      Metric m;
      m.key = "m";
      m.value = values[i];
      m.step = i;
      m.timestamp = 100 + i;
      metrics.push_back(m);
    }
    ASSERT_TRUE((*store)->LogBatch(info.run_id, metrics, {{"p", "1"}}, {}).ok());
  }
  void TearDown() override {
    src_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Copies every table of `from` into `to` and returns the digests of both.
  void CopyAndCompare(sql::Database& from, sql::Database& to) {
    std::vector<TableInfo> tables;
    ASSERT_TRUE(from.Read([&](Conn& c) -> Status {
                      KILN_ASSIGN_OR_RETURN(tables, ListTables(c));
                      return Status::Ok();
                    })
                    .ok());
    ASSERT_FALSE(tables.empty());
    // PostgreSQL keeps the audit tables in the metadata database; SQLite does not.
    std::vector<TableInfo> in_target;
    ASSERT_TRUE(to.Read([&](Conn& c) -> Status {
                    KILN_ASSIGN_OR_RETURN(in_target, ListTables(c));
                    return Status::Ok();
                  })
                    .ok());
    std::set<std::string> names;
    for (const auto& t : in_target) names.insert(t.name);
    std::erase_if(tables, [&](const TableInfo& t) { return !names.count(t.name); });
    Status copied = from.Read([&](Conn& fc) -> Status {
      return to.Write([&](Conn& tc) -> Status {
        for (const auto& t : tables) {
          if (t.name == "feature_registry_generation") {
            KILN_RETURN_IF_ERROR(tc.Exec("DELETE FROM feature_registry_generation"));
          }
          KILN_ASSIGN_OR_RETURN(int64_t n, CopyTable(fc, tc, t));
          (void)n;
        }
        return Status::Ok();
      });
    });
    ASSERT_TRUE(copied.ok()) << copied.ToString();
    int compared = 0;
    for (const auto& t : tables) {
      TableDigest a, b;
      ASSERT_TRUE(from.Read([&](Conn& c) -> Status {
                        KILN_ASSIGN_OR_RETURN(a, DigestTable(c, t));
                        return Status::Ok();
                      })
                      .ok());
      ASSERT_TRUE(to.Read([&](Conn& c) -> Status {
                      KILN_ASSIGN_OR_RETURN(b, DigestTable(c, t));
                      return Status::Ok();
                    })
                      .ok());
      EXPECT_EQ(a.rows, b.rows) << t.name;
      EXPECT_EQ(a.sha256, b.sha256) << t.name;
      if (a.rows > 0) ++compared;
    }
    EXPECT_GE(compared, 5);  // experiments, tags, runs, params, metrics, latest_metrics...
  }

  std::string dir_;
  std::unique_ptr<sql::Database> src_;
};

TEST_F(TableCopyTest, ParentsComeBeforeTheTablesThatReferToThem) {
  std::vector<TableInfo> tables;
  ASSERT_TRUE(src_->Read([&](Conn& c) -> Status {
                    KILN_ASSIGN_OR_RETURN(tables, ListTables(c));
                    return Status::Ok();
                  })
                  .ok());
  std::map<std::string, size_t> pos;
  for (size_t i = 0; i < tables.size(); ++i) pos[tables[i].name] = i;
  ASSERT_TRUE(pos.count("runs") && pos.count("metrics") && pos.count("experiments"));
  EXPECT_LT(pos["experiments"], pos["runs"]);
  EXPECT_LT(pos["runs"], pos["metrics"]);
  EXPECT_FALSE(pos.count("schema_migrations"));
}

TEST_F(TableCopyTest, SqliteToSqliteKeepsEveryRowExact) {
  auto dst = sqlite::OpenDatabase(dir_ + "/dst.db");
  ASSERT_TRUE(dst.ok());
  CopyAndCompare(*src_, **dst);
}

TEST_F(TableCopyTest, SqliteToPostgresAndBackKeepsEveryRowExact) {
  auto& server = postgres::testing::PgTestServer::Get();
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  auto uri = server.CreateDatabase();
  ASSERT_TRUE(uri.ok());
  auto pg = postgres::OpenDatabase(*uri, postgres::PgOptions{});
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  CopyAndCompare(*src_, **pg);
  auto back = sqlite::OpenDatabase(dir_ + "/back.db");
  ASSERT_TRUE(back.ok());
  CopyAndCompare(**pg, **back);
}

TEST_F(TableCopyTest, ADifferentValueChangesTheDigest) {
  std::vector<TableInfo> tables;
  ASSERT_TRUE(src_->Read([&](Conn& c) -> Status {
                    KILN_ASSIGN_OR_RETURN(tables, ListTables(c));
                    return Status::Ok();
                  })
                  .ok());
  const TableInfo* params = nullptr;
  for (const auto& t : tables) {
    if (t.name == "params") params = &t;
  }
  ASSERT_NE(params, nullptr);
  TableDigest before, after;
  ASSERT_TRUE(src_->Read([&](Conn& c) -> Status {
                    KILN_ASSIGN_OR_RETURN(before, DigestTable(c, *params));
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_TRUE(src_->Write([](Conn& c) { return c.Exec("UPDATE params SET value = '2'"); }).ok());
  ASSERT_TRUE(src_->Read([&](Conn& c) -> Status {
                    KILN_ASSIGN_OR_RETURN(after, DigestTable(c, *params));
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(before.rows, after.rows);
  EXPECT_NE(before.sha256, after.sha256);
}

}  // namespace
}  // namespace kiln::storage::backup
