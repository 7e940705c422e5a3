#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "storage/sql/sql_registry_store.h"
#include "storage/sql/sql_test_util.h"

namespace kiln::storage {
namespace {

class SqliteRegistryTest : public testing::SqlStoreTest {
 protected:
  void SetUp() override {
    testing::SqlStoreTest::SetUp();
    registry_ = std::make_unique<SqlRegistryStore>(store_->database());
  }
  void TearDown() override {
    registry_.reset();
    testing::SqlStoreTest::TearDown();
  }

  static EventContext Ev(const std::string& action = "") {
    EventContext ev;
    ev.timestamp = 5000;
    ev.actor = "alice";
    ev.action = action;
    ev.model_json = [](const RegisteredModel& m) { return "model:" + m.name; };
    ev.version_json = [](const ModelVersion& v) { return "version:" + std::to_string(v.version) + ":" + v.current_stage; };
    return ev;
  }

  RegisteredModel Model(const std::string& name) {
    RegisteredModel m;
    m.name = name;
    m.creation_timestamp = m.last_updated_timestamp = 1000;
    m.tags = {{"team", "risk"}};
    auto ev = Ev();
    auto out = registry_->CreateRegisteredModel(m, ev);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : m;
  }

  int64_t Version(const std::string& name, const std::string& run_id = "r1") {
    ModelVersion v;
    v.name = name;
    v.source = "runs:/" + run_id + "/model";
    v.run_id = run_id;
    v.storage_path = "_registry/" + name + "-" + run_id;
    v.creation_timestamp = v.last_updated_timestamp = 2000;
    auto ev = Ev();
    auto out = registry_->CreateModelVersion(v, ev);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? out->version : -1;
  }

  std::unique_ptr<SqlRegistryStore> registry_;
};

TEST_F(SqliteRegistryTest, CreateGetAndDuplicate) {
  Model("fraud");
  auto got = registry_->GetRegisteredModel("fraud");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->tags.size(), 1u);
  auto ev = Ev();
  RegisteredModel again;
  again.name = "fraud";
  EXPECT_EQ(registry_->CreateRegisteredModel(again, ev).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(registry_->GetRegisteredModel("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(registry_->GetRegisteredModel("nope").status().message(), "Registered Model with name=nope not found");
}

TEST_F(SqliteRegistryTest, VersionsNumberUpAndAreNeverReused) {
  Model("m");
  EXPECT_EQ(Version("m"), 1);
  EXPECT_EQ(Version("m"), 2);
  auto ev = Ev();
  ASSERT_TRUE(registry_->DeleteModelVersion("m", 2, ev).ok());
  EXPECT_EQ(Version("m"), 3);  // as MLflow: a deleted number is not handed out again
  EXPECT_EQ(registry_->GetModelVersion("m", 2).status().message(), "Model Version (name=m, version=2) not found");
}

TEST_F(SqliteRegistryTest, RenameKeepsVersionsAliasesAndTags) {
  Model("old");
  Version("old");
  auto ev = Ev();
  ASSERT_TRUE(registry_->SetAlias("old", "champion", 1, ev).ok());
  ASSERT_TRUE(registry_->SetModelVersionTag("old", 1, {"k", "v"}, ev).ok());
  auto renamed = registry_->RenameRegisteredModel("old", "new", 9000, ev);
  ASSERT_TRUE(renamed.ok()) << renamed.status().ToString();
  EXPECT_EQ(renamed->name, "new");
  EXPECT_EQ(renamed->tags.size(), 1u);
  ASSERT_EQ(renamed->aliases.size(), 1u);
  auto v = registry_->GetModelVersionByAlias("new", "champion");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->name, "new");
  EXPECT_EQ(v->tags.size(), 1u);
  EXPECT_EQ(registry_->GetRegisteredModel("old").status().code(), StatusCode::kNotFound);
  Model("other");
  EXPECT_EQ(registry_->RenameRegisteredModel("new", "other", 9001, ev).status().code(), StatusCode::kAlreadyExists);
}

TEST_F(SqliteRegistryTest, TransitionArchivesOthersInTheSameStage) {
  Model("m");
  for (int i = 0; i < 3; ++i) Version("m");
  auto ev = Ev("transition_model_version_stage");
  ASSERT_TRUE(registry_->TransitionStage("m", 1, kStageProduction, false, 10, ev).ok());
  ASSERT_TRUE(registry_->TransitionStage("m", 2, kStageProduction, false, 11, ev).ok());
  auto out = registry_->TransitionStage("m", 3, kStageProduction, true, 12, ev);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->current_stage, kStageProduction);
  ASSERT_EQ(ev.recorded.size(), 3u);  // the transition plus two archivals
  EXPECT_EQ(ev.recorded[1].after_json, "version:1:Archived");
  EXPECT_EQ(registry_->GetModelVersion("m", 1)->current_stage, kStageArchived);
  EXPECT_EQ(registry_->GetModelVersion("m", 2)->current_stage, kStageArchived);
  auto latest = registry_->GetLatestVersions("m", {kStageProduction});
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_EQ((*latest)[0].version, 3);
  // A missing version fails and archives nothing.
  EXPECT_EQ(registry_->TransitionStage("m", 9, kStageProduction, true, 13, ev).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(registry_->GetModelVersion("m", 3)->current_stage, kStageProduction);
}

TEST_F(SqliteRegistryTest, AliasNeedsAnExistingVersionAndGoesWithIt) {
  Model("m");
  Version("m");
  auto ev = Ev();
  EXPECT_EQ(registry_->SetAlias("m", "a", 5, ev).code(), StatusCode::kNotFound);
  ASSERT_TRUE(registry_->SetAlias("m", "a", 1, ev).ok());
  ASSERT_TRUE(registry_->DeleteModelVersion("m", 1, ev).ok());
  EXPECT_EQ(registry_->GetModelVersionByAlias("m", "a").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(registry_->GetRegisteredModel("m")->aliases.empty());
}

TEST_F(SqliteRegistryTest, DeleteModelReturnsStoragePathsAndRemovesEverything) {
  Model("m");
  Version("m", "a");
  Version("m", "b");
  auto ev = Ev("delete_registered_model");
  auto paths = registry_->DeleteRegisteredModel("m", ev);
  ASSERT_TRUE(paths.ok());
  std::vector<std::string> sorted = *paths;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<std::string>{"_registry/m-a", "_registry/m-b"}));
  EXPECT_EQ(registry_->GetRegisteredModel("m").status().code(), StatusCode::kNotFound);
  Model("m");  // the name is free again, and numbering restarts with the new model
  EXPECT_EQ(Version("m"), 1);
}

TEST_F(SqliteRegistryTest, SearchFiltersOrdersAndPages) {
  for (const char* n : {"alpha", "beta", "gamma", "alphabet"}) Model(n);
  RegisteredModelQuery q;
  q.filter = {{SearchEntity::kAttribute, "name", CompareOp::kLike, std::string("alpha%")}};
  auto page = registry_->SearchRegisteredModels(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].name, "alpha");
  // The prompt filter MLflow 3 clients add matches models without the tag.
  q.filter = {{SearchEntity::kTag, "mlflow.prompt.is_prompt", CompareOp::kNe, std::string("true")}};
  q.order_by = {{SearchEntity::kAttribute, "name", false}};
  q.max_results = 3;
  page = registry_->SearchRegisteredModels(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 3u);
  EXPECT_EQ(page->items[0].name, "gamma");
  EXPECT_TRUE(page->has_more);
  q.offset = 3;
  page = registry_->SearchRegisteredModels(q);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_FALSE(page->has_more);
}

TEST_F(SqliteRegistryTest, SearchVersionsByRunAndNumber) {
  Model("m");
  Version("m", "r1");
  Version("m", "r2");
  Version("m", "r1");
  ModelVersionQuery q;
  q.filter = {{SearchEntity::kAttribute, "run_id", CompareOp::kEq, std::string("r1")},
              {SearchEntity::kAttribute, "version_number", CompareOp::kGt, 1.0}};
  auto page = registry_->SearchModelVersions(q);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].version, 3);
}

TEST_F(SqliteRegistryTest, EventsAreStoredWithTheMutationOnly) {
  Model("m");
  auto ev = Ev("set_registered_model_tag");
  ASSERT_TRUE(registry_->SetRegisteredModelTag("m", {"k", "v"}, ev).ok());
  ASSERT_EQ(ev.recorded.size(), 1u);
  EXPECT_EQ(ev.recorded[0].before_json, "model:m");
  auto failing = Ev("set_registered_model_tag");
  EXPECT_FALSE(registry_->SetRegisteredModelTag("missing", {"k", "v"}, failing).ok());
  auto events = registry_->ListEvents({});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].actor, "alice");
  EXPECT_EQ((*events)[0].action, "set_registered_model_tag");
}

TEST_F(SqliteRegistryTest, ConcurrentCreatesGetDistinctGaplessNumbers) {
  Model("m");
  constexpr int kThreads = 8;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  std::vector<std::vector<int64_t>> got(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) got[t].push_back(Version("m", "t" + std::to_string(t) + "-" + std::to_string(i)));
    });
  }
  for (auto& th : threads) th.join();
  std::set<int64_t> all;
  for (const auto& g : got) all.insert(g.begin(), g.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), kThreads * kEach);
}

}  // namespace
}  // namespace kiln::storage
