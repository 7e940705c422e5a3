#include "storage/postgres/pg_migrations.h"

#include <gtest/gtest.h>

#include <future>
#include <vector>

#include "storage/postgres/pg_test_util.h"
#include "storage/sqlite/migrations.h"

namespace kiln::storage::postgres {
namespace {

using testing::PgTest;

int Version(PgDatabase& db, const char* table = "schema_migrations") {
  int64_t v = -1;
  Status s = db.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(v, c.QueryInt(std::string("SELECT coalesce(max(version), 0) FROM ") + table));
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return static_cast<int>(v);
}

TEST(PgSchema, SameVersionsAsSqlite) {
  EXPECT_EQ(LatestSchemaVersion(), sqlite::LatestSchemaVersion());
  EXPECT_GE(LatestAuditSchemaVersion(), 1);
}

class PgMigrationsTest : public PgTest {};

TEST_F(PgMigrationsTest, CreatesTheLatestSchemaAndIsIdempotent) {
  auto db = OpenPgDatabase(uri_, PgOptions{});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(Version(**db), LatestSchemaVersion());
  EXPECT_EQ(Version(**db, "audit_schema_migrations"), LatestAuditSchemaVersion());
  ASSERT_TRUE(Migrate(**db).ok());
  auto again = OpenPgDatabase(uri_, PgOptions{});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  int64_t rows = 0;
  ASSERT_TRUE((*again)
                  ->Read([&](sql::Conn& c) -> Status {
                    KILN_ASSIGN_OR_RETURN(rows, c.QueryInt("SELECT count(*) FROM schema_migrations"));
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(rows, LatestSchemaVersion());
}

TEST_F(PgMigrationsTest, TextColumnsCompareBytewise) {
  auto db = OpenPgDatabase(uri_, PgOptions{});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  int64_t non_c = -1;
  ASSERT_TRUE((*db)
                  ->Read([&](sql::Conn& c) -> Status {
                    KILN_ASSIGN_OR_RETURN(
                        non_c, c.QueryInt("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                                          "current_schema() AND data_type = 'text' AND "
                                          "coalesce(collation_name, '') <> 'C'"));
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(non_c, 0);
  std::vector<std::string> order;
  ASSERT_TRUE((*db)
                  ->Write([&](sql::Conn& c) -> Status {
                    KILN_RETURN_IF_ERROR(
                        c.Exec("INSERT INTO experiments(experiment_id, name, artifact_location, creation_time, "
                               "last_update_time) VALUES (1, 'b', '', 0, 0), (2, 'B', '', 0, 0), (3, 'a', '', 0, 0), "
                               "(4, '_', '', 0, 0)"));
                    KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare("SELECT name FROM experiments ORDER BY name"));
                    order.clear();
                    while (true) {
                      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
                      if (!row) break;
                      order.push_back(st.Text(0));
                    }
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(order, (std::vector<std::string>{"B", "_", "a", "b"}));
}

TEST_F(PgMigrationsTest, IdentityColumnsNumberRows) {
  auto db = OpenPgDatabase(uri_, PgOptions{});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  int64_t first = 0, second = 0;
  ASSERT_TRUE((*db)
                  ->Write([&](sql::Conn& c) -> Status {
                    KILN_ASSIGN_OR_RETURN(first, c.QueryInt("INSERT INTO registered_models(name, creation_time, "
                                                            "last_updated_time) VALUES ('m1', 1, 1) RETURNING id"));
                    KILN_ASSIGN_OR_RETURN(second, c.QueryInt("INSERT INTO registered_models(name, creation_time, "
                                                             "last_updated_time) VALUES ('m2', 1, 1) RETURNING id"));
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(second, first + 1);
}

TEST_F(PgMigrationsTest, ConcurrentOpenersMigrateOnce) {
  std::vector<std::future<StatusOr<std::unique_ptr<PgDatabase>>>> opens;
  for (int i = 0; i < 3; ++i) {
    opens.push_back(std::async(std::launch::async, [&] { return OpenPgDatabase(uri_, PgOptions{}); }));
  }
  std::vector<std::unique_ptr<PgDatabase>> dbs;
  for (auto& f : opens) {
    auto db = f.get();
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    dbs.push_back(std::move(*db));
  }
  int64_t rows = 0;
  ASSERT_TRUE(dbs[0]
                  ->Read([&](sql::Conn& c) -> Status {
                    KILN_ASSIGN_OR_RETURN(rows, c.QueryInt("SELECT count(*) FROM schema_migrations"));
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(rows, LatestSchemaVersion());
}

TEST_F(PgMigrationsTest, RefusesANewerDatabase) {
  auto db = OpenPgDatabase(uri_, PgOptions{});
  ASSERT_TRUE(db.ok());
  const int newer = LatestSchemaVersion() + 1;
  ASSERT_TRUE((*db)
                  ->Write([&](sql::Conn& c) {
                    return c.Exec("INSERT INTO schema_migrations(version) VALUES (" + std::to_string(newer) + ")");
                  })
                  .ok());
  auto again = OpenPgDatabase(uri_, PgOptions{});
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("newer"), std::string::npos) << again.status().message();
  PgOptions no_migrate;
  no_migrate.migrate_on_open = false;
  EXPECT_EQ(OpenPgDatabase(uri_, no_migrate).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(PgMigrationsTest, WithoutMigrateOnOpenAnOlderDatabaseIsRefused) {
  PgOptions no_migrate;
  no_migrate.migrate_on_open = false;
  auto empty = OpenPgDatabase(uri_, no_migrate);
  EXPECT_EQ(empty.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(empty.status().message().find("kiln migrate"), std::string::npos) << empty.status().message();
  ASSERT_TRUE(OpenPgDatabase(uri_, PgOptions{}).ok());
  EXPECT_TRUE(OpenPgDatabase(uri_, no_migrate).ok());
}

}  // namespace
}  // namespace kiln::storage::postgres
