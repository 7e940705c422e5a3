#include <gtest/gtest.h>

#include "storage/sqlite/migrations.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sql/sql_registry_store.h"
#include "storage/sql/sql_test_util.h"

namespace kiln::storage::testing {
namespace {

using sqlite::SqliteConn;

class SqliteMigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    path_ = dir_ + "/legacy.db";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // A version-1 database holding one experiment, one run and its data,
  // written with raw SQL the way an old kiln would have.
  void CreateV1Database() {
    auto conn = SqliteConn::Open(path_, false);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    ASSERT_TRUE(sqlite::MigrateTo(**conn, 1).ok());
    ASSERT_TRUE((*conn)
                    ->Exec("INSERT INTO experiments VALUES (7, 'legacy', 's3://b/7', 'active', "
                           "10, 11);"
                           "INSERT INTO experiment_tags VALUES (7, 'owner', 'ops');"
                           "INSERT INTO runs(id, run_id, experiment_id, name, user_id, status, "
                           "start_time, end_time, artifact_uri, lifecycle_stage) VALUES "
                           "(1, 'oldrun', 7, 'old', 'u', 'FINISHED', 100, 200, "
                           "'s3://b/7/oldrun/artifacts', 'active');"
                           "INSERT INTO params VALUES (1, 'lr', '0.1');"
                           "INSERT INTO tags VALUES (1, 'mlflow.runName', 'old');"
                           "INSERT INTO metrics VALUES (1, 'acc', 0, 5, 0.5, 0), "
                           "(1, 'acc', 1, 6, 0.7, 0);"
                           "INSERT INTO latest_metrics VALUES (1, 'acc', 1, 6, 0.7, 0);")
                    .ok());
  }

  std::string dir_, path_;
};

TEST_F(SqliteMigrationTest, FreshDatabaseIsLatest) {
  auto store = OpenTestStore(path_);
  ASSERT_TRUE(store.ok());
  auto v = SqliteSchemaVersion(path_);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, LatestSqliteSchemaVersion());
  EXPECT_GE(LatestSqliteSchemaVersion(), 2);
  EXPECT_EQ((*store)->GetExperiment("0")->artifact_location, "mlflow-artifacts:/0");
}

TEST_F(SqliteMigrationTest, OlderSchemaRefusedWithoutMigrateOnOpen) {
  CreateV1Database();
  EXPECT_EQ(*SqliteSchemaVersion(path_), 1);
  sqlite::DatabaseOptions opts;
  opts.migrate_on_open = false;
  auto store = OpenTestStore(path_, opts);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.status().message(),
            "database schema version 1 is older than " +
                std::to_string(LatestSqliteSchemaVersion()) + "; run `kiln migrate`");
  EXPECT_EQ(*SqliteSchemaVersion(path_), 1) << "refusing must not modify the database";

  ASSERT_TRUE(MigrateSqlite(path_).ok());
  EXPECT_EQ(*SqliteSchemaVersion(path_), LatestSqliteSchemaVersion());
  ASSERT_TRUE(MigrateSqlite(path_).ok()) << "migrating twice is a no-op";
  auto after = OpenTestStore(path_, opts);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ((*after)->GetRun("oldrun")->params.size(), 1u);
}

TEST_F(SqliteMigrationTest, UpgradesV1InPlaceWithoutLoss) {
  CreateV1Database();
  auto store = OpenTestStore(path_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto& s = **store;
  EXPECT_EQ(*SqliteSchemaVersion(path_), LatestSqliteSchemaVersion());

  auto e = s.GetExperiment("7");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->name, "legacy");
  ASSERT_EQ(e->tags.size(), 1u);
  EXPECT_EQ(e->tags[0].value, "ops");
  EXPECT_EQ(s.GetExperiment("0").status().code(), StatusCode::kNotFound)
      << "a non-empty database gets no Default experiment";

  auto r = s.GetRun("oldrun");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->info.run_name, "old");
  EXPECT_EQ(r->info.end_time.value_or(0), 200);
  ASSERT_EQ(r->metrics.size(), 1u);
  EXPECT_EQ(r->metrics[0].value, 0.7);
  auto h = s.GetMetricHistory("oldrun", "acc", 0, 10);
  ASSERT_EQ(h->items.size(), 2u);
  EXPECT_EQ(h->items[0].model_id, "");

  // v2 features work on the upgraded database.
  ASSERT_TRUE(s.LogOutputs("oldrun", {{"m-1", 1}}).ok());
  LoggedModel m;
  m.model_id = "m-1";
  m.experiment_id = "7";
  m.name = "model";
  auto cm = s.CreateLoggedModel(m);
  ASSERT_TRUE(cm.ok()) << cm.status().ToString();
  EXPECT_EQ(cm->artifact_uri, "s3://b/7/models/m-1/artifacts");
  auto id = s.CreateExperiment("new", "", "s3://b", {}, 1);
  EXPECT_EQ(*id, "8");
}

// v5 adds the external location of model versions and the dataset of
// logged-model metrics; rows written before keep their copies and read as
// "no dataset".
TEST_F(SqliteMigrationTest, V5KeepsRegistryCopiesAndLoggedModelMetrics) {
  {
    auto conn = SqliteConn::Open(path_, false);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    ASSERT_TRUE(sqlite::MigrateTo(**conn, 4).ok());
    ASSERT_TRUE((*conn)
                    ->Exec("INSERT INTO experiments VALUES (1, 'e', 'mlflow-artifacts:/1', 'active', 10, 11);"
                           "INSERT INTO runs(id, run_id, experiment_id, status, start_time, artifact_uri) VALUES "
                           "(1, 'r1', 1, 'RUNNING', 100, 'mlflow-artifacts:/1/r1/artifacts');"
                           "INSERT INTO logged_models(model_id, experiment_id, name, artifact_uri, "
                           "creation_timestamp, last_updated_timestamp, status) VALUES "
                           "('m-1', 1, 'model', 'mlflow-artifacts:/1/models/m-1/artifacts', 1, 1, 'READY');"
                           "INSERT INTO logged_model_metrics(model_id, key, step, timestamp, value, run_id) VALUES "
                           "('m-1', 'acc', 0, 5, 0.5, 'r1');"
                           "INSERT INTO registered_models(id, name, creation_time, last_updated_time, next_version) "
                           "VALUES (1, 'reg', 1, 1, 2);"
                           "INSERT INTO model_versions(model_pk, version, creation_time, last_updated_time, source, "
                           "storage_path) VALUES (1, 1, 1, 1, 'runs:/r1/model', '_registry/abc');")
                    .ok());
  }
  auto store = OpenTestStore(path_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(*SqliteSchemaVersion(path_), LatestSqliteSchemaVersion());
  SqlRegistryStore registry((*store)->database());
  auto v = registry.GetModelVersion("reg", 1);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->storage_path, "_registry/abc");
  EXPECT_EQ(v->external_location, "");
  auto m = (*store)->GetLoggedModel("m-1");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->metrics.size(), 1u);
  EXPECT_EQ(m->metrics[0].dataset_name, "");
  EXPECT_EQ(m->metrics[0].dataset_digest, "");

  // The new columns round-trip.
  Metric point;
  point.key = "acc";
  point.value = 0.75;
  point.timestamp = 6;
  point.step = 1;
  point.model_id = "m-1";
  point.dataset_name = "eval";
  point.dataset_digest = "d1";
  ASSERT_TRUE((*store)->LogBatch("r1", {point}, {}, {}).ok());
  m = (*store)->GetLoggedModel("m-1");
  ASSERT_EQ(m->metrics.size(), 2u);
  EXPECT_EQ(m->metrics[1].dataset_name, "eval");
  EXPECT_EQ(m->metrics[1].dataset_digest, "d1");
}

TEST_F(SqliteMigrationTest, NewerSchemaIsRefused) {
  {
    auto store = OpenTestStore(path_);
    ASSERT_TRUE(store.ok());
  }
  auto conn = SqliteConn::Open(path_, false);
  ASSERT_TRUE((*conn)->Exec("INSERT INTO schema_migrations(version) VALUES (99)").ok());
  auto store = OpenTestStore(path_);
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(MigrateSqlite(path_).code(), StatusCode::kFailedPrecondition);
}

TEST_F(SqliteMigrationTest, VersionOfMissingFileIsZeroAndCreatesNothing) {
  auto v = SqliteSchemaVersion(path_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 0);
  EXPECT_FALSE(std::filesystem::exists(path_));
  // `kiln migrate` on a fresh data dir creates the latest schema.
  ASSERT_TRUE(MigrateSqlite(path_).ok());
  EXPECT_EQ(*SqliteSchemaVersion(path_), LatestSqliteSchemaVersion());
  sqlite::DatabaseOptions opts;
  opts.migrate_on_open = false;
  auto store = OpenTestStore(path_, opts);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->GetExperiment("0")->name, "Default");
}

TEST_F(SqliteMigrationTest, UnopenablePathIsUnavailable) {
  auto store = OpenTestStore(dir_ + "/no/such/dir/x.db");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
}

TEST_F(SqliteMigrationTest, ANewerExpandOnlyDatabaseIsUsedAndAContractOneRefused) {
  {
    auto store = OpenTestStore(path_);
    ASSERT_TRUE(store.ok());
  }
  const int latest = LatestSqliteSchemaVersion();
  {
    auto conn = SqliteConn::Open(path_, false);
    for (int v = 1; v <= latest; ++v) {
      EXPECT_EQ(*(*conn)->QueryInt("SELECT compatible_since FROM schema_migrations WHERE version = " +
                                   std::to_string(v)),
                sqlite::CompatibleSince(v));
    }
    // A later build's expand-only step, and its row saying this build still runs.
    ASSERT_TRUE((*conn)->Exec("CREATE TABLE later_things (id INTEGER)").ok());
    ASSERT_TRUE((*conn)
                    ->Exec("INSERT INTO schema_migrations(version, compatible_since) VALUES (" +
                           std::to_string(latest + 1) + ", " + std::to_string(latest) + ")")
                    .ok());
  }
  {
    auto store = OpenTestStore(path_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ((*store)->GetExperiment("0")->name, "Default");
  }
  sqlite::DatabaseOptions no_migrate;
  no_migrate.migrate_on_open = false;
  ASSERT_TRUE(OpenTestStore(path_, no_migrate).ok());
  ASSERT_TRUE(MigrateSqlite(path_).ok());
  EXPECT_EQ(*SqliteSchemaVersion(path_), latest + 1);
  {
    auto conn = SqliteConn::Open(path_, false);
    ASSERT_TRUE((*conn)
                    ->Exec("INSERT INTO schema_migrations(version, compatible_since) VALUES (" +
                           std::to_string(latest + 2) + ", " + std::to_string(latest + 2) + ")")
                    .ok());
  }
  auto refused = OpenTestStore(path_);
  ASSERT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("no longer compatible"), std::string::npos) << refused.status().message();
  EXPECT_NE(refused.status().message().find("version " + std::to_string(latest + 2) + " or later"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(MigrateSqlite(path_).code(), StatusCode::kFailedPrecondition);
}

TEST_F(SqliteMigrationTest, AVersionTableWithoutTheColumnIsUpgradedInPlace) {
  {
    // What builds before compatible_since existed created.
    auto conn = SqliteConn::Open(path_, false);
    ASSERT_TRUE(sqlite::MigrateTo(**conn, 3).ok());
    ASSERT_TRUE((*conn)->Exec("ALTER TABLE schema_migrations DROP COLUMN compatible_since").ok());
  }
  ASSERT_TRUE(MigrateSqlite(path_).ok());
  auto conn = SqliteConn::Open(path_, false);
  EXPECT_EQ(*(*conn)->QueryInt("SELECT count(*) FROM schema_migrations WHERE compatible_since IS NULL"), 0);
  EXPECT_EQ(*(*conn)->QueryInt("SELECT compatible_since FROM schema_migrations WHERE version = 2"),
            sqlite::CompatibleSince(2));
}

}  // namespace
}  // namespace kiln::storage::testing
