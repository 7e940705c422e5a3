#include "storage/postgres/pg_migrations.h"

#include <gtest/gtest.h>

#include <future>
#include <string>
#include <vector>

#include "storage/postgres/pg_schema.h"
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

TEST(PgSchema, SameCompatibilityAsSqlite) {
  for (int v = 1; v <= LatestSchemaVersion(); ++v) {
    EXPECT_EQ(SchemaCompatibleSince(v), sqlite::CompatibleSince(v)) << "version " << v;
    EXPECT_LE(SchemaCompatibleSince(v), v);
    if (v > 1) {
      EXPECT_GE(SchemaCompatibleSince(v), SchemaCompatibleSince(v - 1)) << "version " << v;
    }
  }
}

int64_t QueryOne(PgDatabase& db, const std::string& sql) {
  int64_t v = -1;
  Status s = db.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(v, c.QueryInt(sql));
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return v;
}

Status ExecOn(PgDatabase& db, const std::string& sql) {
  return db.Write([&](sql::Conn& c) { return c.Exec(sql); });
}

TEST_F(PgMigrationsTest, RecordsCompatibleSinceForEveryVersion) {
  auto db = OpenPgDatabase(uri_, PgOptions{});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  for (int v = 1; v <= LatestSchemaVersion(); ++v) {
    EXPECT_EQ(QueryOne(**db, "SELECT compatible_since FROM schema_migrations WHERE version = " + std::to_string(v)),
              SchemaCompatibleSince(v));
  }
  EXPECT_EQ(QueryOne(**db, "SELECT compatible_since FROM audit_schema_migrations WHERE version = 1"), 1);
}

TEST_F(PgMigrationsTest, ANewerExpandOnlyDatabaseIsUsedAsItIs) {
  auto db = OpenPgDatabase(uri_, PgOptions{});
  ASSERT_TRUE(db.ok());
  const int latest = LatestSchemaVersion();
  // What a later build's expand-only step leaves behind: a new table and its
  // row saying builds of this version still run.
  ASSERT_TRUE(ExecOn(**db, "CREATE TABLE later_things (id BIGINT)").ok());
  ASSERT_TRUE(ExecOn(**db, "INSERT INTO schema_migrations(version, compatible_since) VALUES (" +
                               std::to_string(latest + 1) + ", " + std::to_string(latest) + ")")
                  .ok());
  auto again = OpenPgDatabase(uri_, PgOptions{});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  PgOptions no_migrate;
  no_migrate.migrate_on_open = false;
  ASSERT_TRUE(OpenPgDatabase(uri_, no_migrate).ok());
  EXPECT_EQ(Version(**again), latest + 1);  // not rolled back, nothing re-applied
  EXPECT_EQ(QueryOne(**again, "SELECT count(*) FROM schema_migrations"), latest + 1);

  // A contract step on top: this build is refused, naming what it needs.
  ASSERT_TRUE(ExecOn(**db, "INSERT INTO schema_migrations(version, compatible_since) VALUES (" +
                               std::to_string(latest + 2) + ", " + std::to_string(latest + 2) + ")")
                  .ok());
  for (const PgOptions& o : {PgOptions{}, no_migrate}) {
    auto refused = OpenPgDatabase(uri_, o);
    ASSERT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(refused.status().message().find("no longer compatible"), std::string::npos)
        << refused.status().message();
    EXPECT_NE(refused.status().message().find("version " + std::to_string(latest + 2) + " or later"),
              std::string::npos)
        << refused.status().message();
  }
}

TEST_F(PgMigrationsTest, VersionTablesWithoutTheColumnAreUpgradedInPlace) {
  // A database migrated by a build from before compatible_since existed.
  auto db = OpenPgDatabase(uri_, PgOptions{});
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(ExecOn(**db, "ALTER TABLE schema_migrations DROP COLUMN compatible_since").ok());
  ASSERT_TRUE(ExecOn(**db, "ALTER TABLE audit_schema_migrations DROP COLUMN compatible_since").ok());
  PgOptions no_migrate;
  no_migrate.migrate_on_open = false;
  ASSERT_TRUE(OpenPgDatabase(uri_, no_migrate).ok());  // read-only: usable, nothing written
  auto again = OpenPgDatabase(uri_, PgOptions{});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(QueryOne(**again, "SELECT count(*) FROM schema_migrations WHERE compatible_since IS NULL"), 0);
  EXPECT_EQ(QueryOne(**again, "SELECT compatible_since FROM schema_migrations WHERE version = " +
                                  std::to_string(LatestSchemaVersion())),
            SchemaCompatibleSince(LatestSchemaVersion()));
}

}  // namespace
}  // namespace kiln::storage::postgres
