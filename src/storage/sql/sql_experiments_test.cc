#include <gtest/gtest.h>

#include "storage/sql/sql_test_util.h"

namespace kiln::storage::testing {
namespace {

TEST_F(SqlStoreTest, DefaultExperimentExists) {
  auto e = store_->GetExperiment("0");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->name, "Default");
  EXPECT_EQ(e->artifact_location, "file:///art/0");
  EXPECT_EQ(e->lifecycle_stage, "active");
  EXPECT_TRUE(store_->Ping().ok());
}

TEST_F(SqlStoreTest, CreateGetRenameExperiment) {
  auto id = store_->CreateExperiment("exp-a", "", "s3://bucket", {{"team", "ml"}}, 5000);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "1");
  auto id2 = store_->CreateExperiment("exp-b", "s3://custom/loc", "s3://bucket", {}, 6000);
  ASSERT_TRUE(id2.ok());
  EXPECT_EQ(*id2, "2");

  auto e = store_->GetExperiment("1");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->name, "exp-a");
  EXPECT_EQ(e->artifact_location, "s3://bucket/1");
  EXPECT_EQ(e->creation_time, 5000);
  ASSERT_EQ(e->tags.size(), 1u);
  EXPECT_EQ(e->tags[0].key, "team");
  EXPECT_EQ(store_->GetExperiment("2")->artifact_location, "s3://custom/loc");

  auto by_name = store_->GetExperimentByName("exp-b");
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(by_name->experiment_id, "2");
  EXPECT_EQ(store_->GetExperimentByName("nope").status().code(), StatusCode::kNotFound);

  auto dup = store_->CreateExperiment("exp-a", "", "x", {}, 1);
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.status().message(), "Experiment 'exp-a' already exists.");

  ASSERT_TRUE(store_->RenameExperiment("1", "renamed", 7000).ok());
  e = store_->GetExperiment("1");
  EXPECT_EQ(e->name, "renamed");
  EXPECT_EQ(e->last_update_time, 7000);
  EXPECT_EQ(store_->RenameExperiment("1", "exp-b", 1).code(), StatusCode::kAlreadyExists);
}

TEST_F(SqlStoreTest, MissingExperimentErrors) {
  auto e = store_->GetExperiment("5");
  EXPECT_EQ(e.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(e.status().message(), "Experiment with id '5' does not exist.");
  EXPECT_EQ(store_->GetExperiment("abc").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->SetExperimentTag("9", {"k", "v"}).code(), StatusCode::kNotFound);
}

TEST_F(SqlStoreTest, ExperimentTags) {
  std::string id = NewExperiment("tags");
  ASSERT_TRUE(store_->SetExperimentTag(id, {"a", "1"}).ok());
  ASSERT_TRUE(store_->SetExperimentTag(id, {"a", "2"}).ok());
  ASSERT_TRUE(store_->SetExperimentTag(id, {"b", "3"}).ok());
  auto e = store_->GetExperiment(id);
  ASSERT_EQ(e->tags.size(), 2u);
  EXPECT_EQ(e->tags[0].value, "2");
  ASSERT_TRUE(store_->DeleteExperimentTag(id, "a").ok());
  EXPECT_EQ(store_->GetExperiment(id)->tags.size(), 1u);
  EXPECT_EQ(store_->DeleteExperimentTag(id, "a").code(), StatusCode::kNotFound);
}

TEST_F(SqlStoreTest, DeleteExperimentCascadesToRunsAndRestore) {
  std::string id = NewExperiment("doomed");
  NewRun(id, "r1");
  NewRun(id, "r2");
  ASSERT_TRUE(store_->SetRunLifecycle("r2", "deleted", 10).ok());
  ASSERT_TRUE(store_->SetExperimentLifecycle(id, "deleted", 2000).ok());
  EXPECT_EQ(store_->GetExperiment(id)->lifecycle_stage, "deleted");
  EXPECT_EQ(store_->GetRun("r1")->info.lifecycle_stage, "deleted");

  RunInfo info;
  info.run_id = "r3";
  info.experiment_id = id;
  auto r = store_->CreateRun(info, {});
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(),
            "The experiment " + id + " must be in the 'active' state. Current state is deleted.");
  EXPECT_EQ(store_->RenameExperiment(id, "x", 1).code(), StatusCode::kFailedPrecondition);

  ASSERT_TRUE(store_->SetExperimentLifecycle(id, "active", 3000).ok());
  EXPECT_EQ(store_->GetRun("r1")->info.lifecycle_stage, "active");
  EXPECT_EQ(store_->GetRun("r2")->info.lifecycle_stage, "active");
  EXPECT_EQ(store_->GetExperiment(id)->last_update_time, 3000);

  // Experiment 0 may be deleted too.
  EXPECT_TRUE(store_->SetExperimentLifecycle("0", "deleted", 1).ok());
}

TEST_F(SqlStoreTest, SearchExperiments) {
  for (int i = 0; i < 30; ++i) {
    auto id = store_->CreateExperiment("exp-" + std::to_string(i), "", "r",
                                       {{"parity", i % 2 ? "odd" : "even"}}, 100 + i);
    ASSERT_TRUE(id.ok());
  }
  ASSERT_TRUE(store_->SetExperimentLifecycle("3", "deleted", 1).ok());

  ExperimentQuery q;  // default order: creation_time DESC
  q.max_results = 10;
  auto p = store_->SearchExperiments(q);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->items.size(), 10u);
  EXPECT_TRUE(p->has_more);
  EXPECT_EQ(p->items[0].name, "Default");  // created "now"
  EXPECT_EQ(p->items[1].name, "exp-29");
  EXPECT_EQ(p->items[1].tags.size(), 1u);

  q.max_results = 100;
  p = store_->SearchExperiments(q);
  EXPECT_EQ(p->items.size(), 30u);  // 31 incl. Default, minus one deleted
  EXPECT_FALSE(p->has_more);
  q.view = ViewType::kDeletedOnly;
  EXPECT_EQ(store_->SearchExperiments(q)->items.size(), 1u);
  q.view = ViewType::kAll;
  EXPECT_EQ(store_->SearchExperiments(q)->items.size(), 31u);

  ExperimentQuery f;
  f.filter.push_back({SearchEntity::kTag, "parity", CompareOp::kEq, std::string("odd")});
  f.filter.push_back({SearchEntity::kAttribute, "name", CompareOp::kLike, std::string("exp-1%")});
  f.order_by.push_back({SearchEntity::kAttribute, "name", true});
  p = store_->SearchExperiments(f);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->items.size(), 6u);  // 1 11 13 15 17 19
  EXPECT_EQ(p->items[0].name, "exp-1");
  EXPECT_EQ(p->items[1].name, "exp-11");
  EXPECT_EQ(p->items[5].name, "exp-19");

  ExperimentQuery ids;
  ids.filter.push_back({SearchEntity::kAttribute, "experiment_id", CompareOp::kIn,
                        std::vector<std::string>{"1", "2", "7"}});
  ids.order_by.push_back({SearchEntity::kAttribute, "experiment_id", false});
  p = store_->SearchExperiments(ids);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->items.size(), 3u);
  EXPECT_EQ(p->items[0].experiment_id, "7");

  ExperimentQuery t;
  t.filter.push_back({SearchEntity::kAttribute, "creation_time", CompareOp::kGe, 125.0});
  t.filter.push_back({SearchEntity::kAttribute, "name", CompareOp::kILike, std::string("EXP-%")});
  auto tp = store_->SearchExperiments(t);
  ASSERT_TRUE(tp.ok());
  std::string names;
  for (const auto& e : tp->items) names += e.name + ",";
  EXPECT_EQ(names, "exp-29,exp-28,exp-27,exp-26,exp-25,");

  ExperimentQuery bad;
  bad.filter.push_back({SearchEntity::kAttribute, "nope", CompareOp::kEq, std::string("x")});
  EXPECT_EQ(store_->SearchExperiments(bad).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::storage::testing
