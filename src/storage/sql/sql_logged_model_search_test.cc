// Logged-model search on metrics and the datasets they were computed on.
#include <gtest/gtest.h>

#include "storage/sql/sql_test_util.h"

namespace kiln::storage::testing {
namespace {

class LoggedModelSearchTest : public SqlStoreTest {
 protected:
  void SetUp() override {
    SqlStoreTest::SetUp();
    exp_ = NewExperiment("e");
    NewRun(exp_, "r");
    for (int i = 0; i < 3; ++i) {
      LoggedModel m;
      m.model_id = "m-" + std::to_string(i);
      m.experiment_id = exp_;
      m.name = "m";
      m.creation_timestamp = 1000 + i;
      ASSERT_TRUE(store_->CreateLoggedModel(m).ok());
    }
    // m-0: acc 0.9 on a/da, then 0.2 on b/db; m-1: 0.5 on a/da; m-2: 0.7 on b/db,
    // then 0.1 on b/db later (its latest value there).
    Log("m-0", 0.9, "a", "da", 10);
    Log("m-0", 0.2, "b", "db", 11);
    Log("m-1", 0.5, "a", "da", 10);
    Log("m-2", 0.7, "b", "db", 10);
    Log("m-2", 0.1, "b", "db", 20);
  }

  void Log(const std::string& model_id, double value, const std::string& ds, const std::string& digest,
           int64_t ts) {
    Metric m = M("acc", value, ts, 0);
    m.model_id = model_id;
    m.dataset_name = ds;
    m.dataset_digest = digest;
    ASSERT_TRUE(store_->LogBatch("r", {m}, {}, {}).ok());
  }

  std::vector<std::string> Search(const LoggedModelQuery& q) {
    auto page = store_->SearchLoggedModels(q);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> out;
    if (page.ok()) {
      for (const auto& m : page->items) out.push_back(m.model_id);
    }
    return out;
  }

  LoggedModelQuery Query() {
    LoggedModelQuery q;
    q.experiment_ids = {exp_};
    return q;
  }

  std::string exp_;
};

using Ids = std::vector<std::string>;

TEST_F(LoggedModelSearchTest, DatasetsAlone) {
  LoggedModelQuery q = Query();
  q.datasets = {{"a", ""}};
  EXPECT_EQ(Search(q), (Ids{"m-1", "m-0"}));
  q.datasets = {{"b", "db"}};
  EXPECT_EQ(Search(q), (Ids{"m-2", "m-0"}));
  q.datasets = {{"b", "other"}};
  EXPECT_EQ(Search(q), Ids{});
  q.datasets = {{"a", "da"}, {"b", ""}};
  EXPECT_EQ(Search(q), (Ids{"m-2", "m-1", "m-0"}));
}

TEST_F(LoggedModelSearchTest, MetricFiltersMatchAnyValueOnTheDatasets) {
  LoggedModelQuery q = Query();
  q.filter.push_back({SearchEntity::kMetric, "acc", CompareOp::kGt, 0.6});
  EXPECT_EQ(Search(q), (Ids{"m-2", "m-0"}));  // m-2's earlier 0.7 counts
  q.datasets = {{"a", "da"}};
  EXPECT_EQ(Search(q), (Ids{"m-0"}));
  q.datasets = {{"b", ""}};
  EXPECT_EQ(Search(q), (Ids{"m-2"}));
  q.filter.push_back({SearchEntity::kMetric, "acc", CompareOp::kLt, 0.15});
  EXPECT_EQ(Search(q), (Ids{"m-2"}));
  q.filter.push_back({SearchEntity::kAttribute, "model_id", CompareOp::kEq, std::string("m-0")});
  EXPECT_EQ(Search(q), Ids{});
}

TEST_F(LoggedModelSearchTest, OrderByLatestMetricOnADataset) {
  LoggedModelQuery q = Query();
  q.order_by.push_back({SearchEntity::kMetric, "acc", false, "a", ""});
  EXPECT_EQ(Search(q), (Ids{"m-0", "m-1", "m-2"}));  // m-2 has none on a: last
  q.order_by = {{SearchEntity::kMetric, "acc", true, "b", "db"}};
  EXPECT_EQ(Search(q), (Ids{"m-2", "m-0", "m-1"}));  // m-2's latest on b is 0.1
  q.order_by = {{SearchEntity::kMetric, "acc", true}};
  EXPECT_EQ(Search(q), (Ids{"m-2", "m-0", "m-1"}));
  // The query's datasets scope the ordering too (MLflow 3.18); the latest
  // value is the highest step first.
  q.order_by = {{SearchEntity::kMetric, "acc", false}};
  q.datasets = {{"a", "da"}};
  EXPECT_EQ(Search(q), (Ids{"m-0", "m-1"}));
  q.datasets.clear();
  Metric later = M("acc", 0.05, 5, 3);  // a higher step with an older timestamp wins
  later.model_id = "m-1";
  ASSERT_TRUE(store_->LogBatch("r", {later}, {}, {}).ok());
  EXPECT_EQ(Search(q), (Ids{"m-0", "m-2", "m-1"}));
  q.order_by = {{SearchEntity::kAttribute, "model_id", false}};
  EXPECT_EQ(Search(q), (Ids{"m-2", "m-1", "m-0"}));
  q.max_results = 1;
  q.offset = 1;
  EXPECT_EQ(Search(q), (Ids{"m-1"}));
}

TEST_F(LoggedModelSearchTest, MetricsKeepTheirDataset) {
  auto m = store_->GetLoggedModel("m-0");
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->metrics.size(), 2u);
  EXPECT_EQ(m->metrics[0].dataset_name + "/" + m->metrics[0].dataset_digest, "a/da");
  EXPECT_EQ(m->metrics[1].dataset_name + "/" + m->metrics[1].dataset_digest, "b/db");
}

}  // namespace
}  // namespace kiln::storage::testing
