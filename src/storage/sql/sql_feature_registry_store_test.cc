#include "storage/sql/sql_feature_registry_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "storage/sqlite/migrations.h"
#include "storage/sql/sql_conn.h"
#include "storage/sql/sql_test_util.h"

namespace kiln::storage {
namespace {

namespace kind = feature_kind;

FeatureObject Obj(const std::string& project, const std::string& k, const std::string& name,
                         std::string proto, int64_t created, int64_t updated) {
  FeatureObject o;
  o.project = project;
  o.kind = k;
  o.name = name;
  o.proto = std::move(proto);
  o.created_us = created;
  o.updated_us = updated;
  return o;
}
FeatureEvent Ev(const std::string& action, const std::string& detail = "{}") {
  FeatureEvent e;
  e.action = action;
  e.actor = "alice";
  e.detail_json = detail;
  return e;
}

class SqliteFeatureRegistryStoreTest : public testing::SqlStoreTest {
 protected:
  void SetUp() override {
    testing::SqlStoreTest::SetUp();
    reg_ = std::make_unique<SqlFeatureRegistryStore>(store_->database());
  }
  void TearDown() override {
    reg_.reset();
    testing::SqlStoreTest::TearDown();
  }

  int64_t Gen() {
    auto g = reg_->Generation();
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return g.ok() ? *g : -1;
  }
  std::vector<FeatureEvent> Events(const std::string& project = "") {
    auto e = reg_->ListEvents(project, 0, 0);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? *e : std::vector<FeatureEvent>{};
  }

  std::unique_ptr<SqlFeatureRegistryStore> reg_;
};

TEST_F(SqliteFeatureRegistryStoreTest, PutGetRoundTripsBinaryProto) {
  std::string proto("\x0a\x03" "abc\x00\xff\x10\x01", 9);
  auto put = reg_->Put(Obj("p", kind::kFeatureView, "driver_stats", proto, 100, 100), nullptr);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->created_us, 100);
  auto got = reg_->Get("p", kind::kFeatureView, "driver_stats");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->proto, proto) << "embedded NUL and 0xff bytes survive";
  EXPECT_EQ(got->project, "p");
  EXPECT_EQ(got->kind, kind::kFeatureView);
  EXPECT_EQ(got->name, "driver_stats");
  EXPECT_EQ(got->created_us, 100);
  EXPECT_EQ(got->updated_us, 100);
}

TEST_F(SqliteFeatureRegistryStoreTest, RePutKeepsCreatedAndUpdatesTheRest) {
  ASSERT_TRUE(reg_->Put(Obj("p", kind::kEntity, "driver", "v1", 100, 100), nullptr).ok());
  auto put = reg_->Put(Obj("p", kind::kEntity, "driver", "v2", 999, 200), nullptr);
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->created_us, 100) << "the stored creation time wins";
  EXPECT_EQ(put->updated_us, 200);
  EXPECT_EQ(put->proto, "v2");
  auto got = reg_->Get("p", kind::kEntity, "driver");
  EXPECT_EQ(got->created_us, 100);
  EXPECT_EQ(got->updated_us, 200);
  EXPECT_EQ(got->proto, "v2");
}

TEST_F(SqliteFeatureRegistryStoreTest, KeysAreProjectKindAndName) {
  ASSERT_TRUE(reg_->Put(Obj("p", kind::kEntity, "x", "entity", 1, 1), nullptr).ok());
  ASSERT_TRUE(reg_->Put(Obj("p", kind::kFeatureView, "x", "view", 1, 1), nullptr).ok());
  ASSERT_TRUE(reg_->Put(Obj("q", kind::kEntity, "x", "other project", 1, 1), nullptr).ok());
  EXPECT_EQ(reg_->Get("p", kind::kEntity, "x")->proto, "entity");
  EXPECT_EQ(reg_->Get("p", kind::kFeatureView, "x")->proto, "view");
  EXPECT_EQ(reg_->Get("q", kind::kEntity, "x")->proto, "other project");
  auto missing = reg_->Get("p", kind::kFeatureService, "x");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "feature_service 'x' does not exist in project 'p'");
}

TEST_F(SqliteFeatureRegistryStoreTest, ListFiltersAndOrdersByName) {
  ASSERT_TRUE(reg_->Put(Obj("p", kind::kFeatureView, "zeta", "z", 1, 1), nullptr).ok());
  ASSERT_TRUE(reg_->Put(Obj("p", kind::kFeatureView, "alpha", "a", 1, 1), nullptr).ok());
  ASSERT_TRUE(reg_->Put(Obj("p", kind::kFeatureView, "al%_x", "odd", 1, 1), nullptr).ok());
  ASSERT_TRUE(reg_->Put(Obj("p", kind::kEntity, "alpha", "e", 1, 1), nullptr).ok());
  ASSERT_TRUE(reg_->Put(Obj("q", kind::kFeatureView, "beta", "b", 1, 1), nullptr).ok());
  ASSERT_TRUE(reg_->Put(Obj("p", kind::kProject, "p", "proj p", 1, 1), nullptr).ok());
  ASSERT_TRUE(reg_->Put(Obj("q", kind::kProject, "q", "proj q", 1, 1), nullptr).ok());

  auto views = reg_->List({"p", kind::kFeatureView, std::nullopt});
  ASSERT_TRUE(views.ok()) << views.status().ToString();
  std::vector<std::string> names;
  for (const auto& o : *views) names.push_back(o.name);
  EXPECT_EQ(names, (std::vector<std::string>{"al%_x", "alpha", "zeta"}));

  auto prefixed = reg_->List({"p", kind::kFeatureView, std::string("al%")});
  ASSERT_TRUE(prefixed.ok());
  ASSERT_EQ(prefixed->size(), 1u) << "the prefix is literal, not a LIKE pattern";
  EXPECT_EQ((*prefixed)[0].name, "al%_x");
  EXPECT_EQ(reg_->List({"p", kind::kFeatureView, std::string("al")})->size(), 2u);
  EXPECT_EQ(reg_->List({"p", kind::kFeatureView, std::string("")})->size(), 3u);

  auto projects = reg_->List({"", kind::kProject, std::nullopt});
  ASSERT_EQ(projects->size(), 2u) << "empty project: every project";
  EXPECT_EQ((*projects)[0].proto, "proj p");
  EXPECT_EQ((*projects)[1].proto, "proj q");

  EXPECT_EQ(reg_->List({"p", "", std::nullopt})->size(), 5u) << "empty kind: every kind";
  EXPECT_TRUE(reg_->List({"nope", kind::kFeatureView, std::nullopt})->empty());
}

TEST_F(SqliteFeatureRegistryStoreTest, DeleteRemovesAndReportsMissing) {
  ASSERT_TRUE(reg_->Put(Obj("p", kind::kEntity, "driver", "v", 1, 1), nullptr).ok());
  FeatureEvent ev = Ev("delete");
  ev.timestamp_us = 50;
  ASSERT_TRUE(reg_->Delete("p", kind::kEntity, "driver", &ev).ok());
  EXPECT_GT(ev.id, 0);
  EXPECT_EQ(reg_->Get("p", kind::kEntity, "driver").status().code(), StatusCode::kNotFound);
  FeatureEvent again = Ev("delete");
  Status s = reg_->Delete("p", kind::kEntity, "driver", &again);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "entity 'driver' does not exist in project 'p'");
  EXPECT_EQ(again.id, 0) << "no event for a failed delete";
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "delete");
  EXPECT_EQ(events[0].project, "p");
  EXPECT_EQ(events[0].kind, kind::kEntity);
  EXPECT_EQ(events[0].name, "driver");
  EXPECT_EQ(events[0].timestamp_us, 50);
}

TEST_F(SqliteFeatureRegistryStoreTest, EventsAreStoredWithTheChange) {
  FeatureEvent ev = Ev("apply", R"({"changed":"schema"})");
  auto put = reg_->Put(Obj("p", kind::kFeatureView, "v", "x", 10, 20), &ev);
  ASSERT_TRUE(put.ok());
  EXPECT_GT(ev.id, 0) << "the store fills in the event id";
  EXPECT_EQ(ev.project, "p") << "empty event fields default to the object's";
  EXPECT_EQ(ev.kind, kind::kFeatureView);
  EXPECT_EQ(ev.name, "v");
  EXPECT_EQ(ev.timestamp_us, 20) << "a zero timestamp takes the object's update time";

  FeatureEvent other = Ev("apply");
  ASSERT_TRUE(reg_->Put(Obj("q", kind::kEntity, "e", "x", 30, 30), &other).ok());
  EXPECT_GT(other.id, ev.id);

  auto all = Events();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, ev.id) << "oldest first";
  EXPECT_EQ(all[0].actor, "alice");
  EXPECT_EQ(all[0].detail_json, R"({"changed":"schema"})");
  EXPECT_EQ(Events("q").size(), 1u);
  auto after = reg_->ListEvents("", ev.id, 10);
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].id, other.id);
  EXPECT_EQ(reg_->ListEvents("", 0, 1)->size(), 1u) << "limit";
}

TEST_F(SqliteFeatureRegistryStoreTest, ApplyIsAtomic) {
  ASSERT_TRUE(reg_->Put(Obj("p", kind::kEntity, "old", "keep", 1, 1), nullptr).ok());
  int64_t gen = Gen();
  size_t events = Events().size();

  std::vector<FeatureRegistryStore::Mutation> bad(3);
  bad[0].object = Obj("p", kind::kEntity, "driver", "new", 5, 5);
  bad[0].event = Ev("apply");
  bad[1].op = FeatureRegistryStore::Mutation::Op::kDelete;
  bad[1].object = Obj("p", kind::kEntity, "old", "", 0, 0);
  bad[1].event = Ev("delete");
  bad[2].op = FeatureRegistryStore::Mutation::Op::kDelete;
  bad[2].object = Obj("p", kind::kFeatureView, "missing", "", 0, 0);
  bad[2].event = Ev("delete");
  Status s = reg_->Apply(bad);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(bad[0].event.id, 0) << "the caller's mutations are untouched on failure";
  EXPECT_EQ(reg_->Get("p", kind::kEntity, "driver").status().code(), StatusCode::kNotFound)
      << "the put before the failing delete is rolled back";
  EXPECT_EQ(reg_->Get("p", kind::kEntity, "old")->proto, "keep") << "so is the delete";
  EXPECT_EQ(Events().size(), events) << "and their events";
  EXPECT_EQ(Gen(), gen) << "a rolled-back apply does not bump the generation";

  std::vector<FeatureRegistryStore::Mutation> good(3);
  good[0].object = Obj("p", kind::kEntity, "driver", "new", 5, 5);
  good[0].event = Ev("apply");
  good[1].op = FeatureRegistryStore::Mutation::Op::kDelete;
  good[1].object = Obj("p", kind::kEntity, "old", "", 0, 0);
  good[1].event = Ev("delete");
  good[2].object = Obj("p", kind::kEntity, "driver2", "quiet", 6, 6);  // no event: action empty
  ASSERT_TRUE(reg_->Apply(good).ok());
  EXPECT_GT(good[0].event.id, 0);
  EXPECT_GT(good[1].event.id, good[0].event.id);
  EXPECT_EQ(good[2].event.id, 0);
  EXPECT_EQ(reg_->Get("p", kind::kEntity, "driver")->proto, "new");
  EXPECT_EQ(reg_->Get("p", kind::kEntity, "old").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reg_->Get("p", kind::kEntity, "driver2")->proto, "quiet");
  EXPECT_EQ(Events().size(), events + 2);
  EXPECT_EQ(Gen(), gen + 1) << "one bump per committed call";

  std::vector<FeatureRegistryStore::Mutation> reput(1);
  reput[0].object = Obj("p", kind::kEntity, "driver", "newer", 77, 8);
  ASSERT_TRUE(reg_->Apply(reput).ok());
  EXPECT_EQ(reput[0].object.created_us, 5) << "Apply hands back the stored creation time";
}

TEST_F(SqliteFeatureRegistryStoreTest, DeleteProjectRemovesOnlyThatProject) {
  ASSERT_TRUE(reg_->Put(Obj("p", kind::kProject, "p", "x", 1, 1), nullptr).ok());
  ASSERT_TRUE(reg_->Put(Obj("p", kind::kEntity, "e", "x", 1, 1), nullptr).ok());
  ASSERT_TRUE(reg_->Put(Obj("p", kind::kFeatureView, "v", "x", 1, 1), nullptr).ok());
  ASSERT_TRUE(reg_->Put(Obj("p", kind::kInfra, "", "x", 1, 1), nullptr).ok());
  ASSERT_TRUE(reg_->Put(Obj("q", kind::kFeatureView, "v", "x", 1, 1), nullptr).ok());
  FeatureEvent ev = Ev("delete_project");
  ASSERT_TRUE(reg_->DeleteProject("p", &ev).ok());
  EXPECT_GT(ev.id, 0);
  EXPECT_EQ(ev.kind, kind::kProject);
  EXPECT_TRUE(reg_->List({"p", "", std::nullopt})->empty());
  EXPECT_EQ(reg_->List({"q", "", std::nullopt})->size(), 1u);
  EXPECT_EQ(reg_->DeleteProject("p", nullptr).code(), StatusCode::kNotFound);
}

TEST_F(SqliteFeatureRegistryStoreTest, GenerationBumpsOnEveryCommittedMutation) {
  int64_t g0 = Gen();
  EXPECT_EQ(g0, 0);
  ASSERT_TRUE(reg_->Put(Obj("p", kind::kEntity, "e", "x", 1, 1), nullptr).ok());
  EXPECT_EQ(Gen(), g0 + 1);
  ASSERT_TRUE(reg_->Put(Obj("p", kind::kEntity, "e", "y", 1, 2), nullptr).ok());
  EXPECT_EQ(Gen(), g0 + 2);
  (void)reg_->Get("p", kind::kEntity, "e");
  (void)reg_->List({"p", "", std::nullopt});
  EXPECT_EQ(Gen(), g0 + 2) << "reads do not bump";
  ASSERT_TRUE(reg_->Delete("p", kind::kEntity, "e", nullptr).ok());
  EXPECT_EQ(Gen(), g0 + 3);
  EXPECT_FALSE(reg_->Delete("p", kind::kEntity, "e", nullptr).ok());
  EXPECT_EQ(Gen(), g0 + 3) << "a failed mutation does not bump";
}

TEST_F(SqliteFeatureRegistryStoreTest, PersistsAcrossReopen) {
  FeatureEvent ev = Ev("apply");
  ASSERT_TRUE(reg_->Put(Obj("p", kind::kDataSource, "src", "bytes", 3, 4), &ev).ok());
  reg_.reset();
  store_.reset();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  reg_ = std::make_unique<SqlFeatureRegistryStore>(store_->database());
  auto got = reg_->Get("p", kind::kDataSource, "src");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->proto, "bytes");
  EXPECT_EQ(got->created_us, 3);
  EXPECT_EQ(Events().size(), 1u);
  EXPECT_EQ(Gen(), 1);
}

TEST_F(SqliteFeatureRegistryStoreTest, ConcurrentWritersAndReaders) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::atomic<int> failures{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string name = "v" + std::to_string(t) + "_" + std::to_string(i);
        FeatureEvent ev = Ev("apply");
        if (!reg_->Put(Obj("p", kind::kFeatureView, name, name, i, i), &ev).ok() || ev.id <= 0) ++failures;
        // Every other object is re-put through Apply, racing the other writers.
        if (i % 2 == 0) {
          std::vector<FeatureRegistryStore::Mutation> m(1);
          m[0].object = Obj("p", kind::kFeatureView, name, name + "!", 1000, 1000);
          m[0].event = Ev("apply");
          if (!reg_->Apply(m).ok() || m[0].object.created_us != i) ++failures;
        }
      }
    });
  }
  std::thread reader([&] {
    int64_t last = 0;
    while (!stop.load()) {
      auto g = reg_->Generation();
      if (!g.ok() || *g < last) ++failures;  // never goes backwards
      if (g.ok()) last = *g;
      if (!reg_->List({"p", kind::kFeatureView, std::nullopt}).ok()) ++failures;
    }
  });
  for (auto& th : threads) th.join();
  stop = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  auto all = reg_->List({"p", kind::kFeatureView, std::nullopt});
  ASSERT_EQ(all->size(), static_cast<size_t>(kThreads * kPerThread));
  auto events = Events();
  EXPECT_EQ(events.size(), static_cast<size_t>(kThreads * kPerThread * 3 / 2));
  std::set<int64_t> ids;
  for (const auto& e : events) ids.insert(e.id);
  EXPECT_EQ(ids.size(), events.size());
  EXPECT_EQ(Gen(), kThreads * kPerThread * 3 / 2);
}

// Migration v6 on a database created by the previous release: its data stays
// and the feature registry's tables start empty with generation 0.
TEST(SqliteFeatureRegistryMigrationTest, V6UpgradesAV5Database) {
  std::string dir = testing::MakeTempDir();
  std::string path = dir + "/v5.db";
  {
    auto conn = sqlite::SqliteConn::Open(path, false);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    ASSERT_TRUE(sqlite::MigrateTo(**conn, 5).ok());
    ASSERT_TRUE((*conn)->Exec("INSERT INTO experiments VALUES (4, 'kept', 'mlflow-artifacts:/4', 'active', 1, 1)").ok());
  }
  EXPECT_EQ(*SqliteSchemaVersion(path), 5);
  EXPECT_GE(LatestSqliteSchemaVersion(), 6);
  {
    auto store = testing::OpenTestStore(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ(*SqliteSchemaVersion(path), LatestSqliteSchemaVersion());
    EXPECT_EQ((*store)->GetExperiment("4")->name, "kept");
    SqlFeatureRegistryStore reg((*store)->database());
    EXPECT_EQ(*reg.Generation(), 0);
    EXPECT_TRUE(reg.List({"", "", std::nullopt})->empty());
    ASSERT_TRUE(reg.Put(Obj("p", kind::kEntity, "e", "x", 1, 1), nullptr).ok());
    EXPECT_EQ(*reg.Generation(), 1);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace kiln::storage
