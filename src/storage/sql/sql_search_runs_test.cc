#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "storage/sql/sql_test_util.h"

namespace kiln::storage::testing {
namespace {

constexpr int kRuns = 300;

std::string RunId(int i) {
  char buf[16];
  snprintf(buf, sizeof(buf), "run%04d", i);
  return buf;
}

// Run i: metric acc = i/1000 unless i % 3 == 0; param model cnn/MLP;
// tag team t<i%4>; status FINISHED for even i; start_time 10000+i;
// dataset "mnist"/training for i%10==0, "Cifar"/eval for i%10==5.
class SqliteSearchRunsTest : public SqlStoreTest {
 protected:
  void SetUp() override {
    SqlStoreTest::SetUp();
    exp_ = NewExperiment("search");
    other_ = NewExperiment("other");
    for (int i = 0; i < kRuns; ++i) {
      NewRun(exp_, RunId(i), 10000 + i, "name-" + std::to_string(i));
      std::vector<Metric> ms;
      if (i % 3 != 0) ms.push_back(M("acc", i / 1000.0, 1, 0));
      ms.push_back(M("loss", 1.0 - i / 1000.0, 1, 0));
      ASSERT_TRUE(store_
                      ->LogBatch(RunId(i), ms, {{"model", i % 2 ? "MLP" : "cnn"}},
                                 {{"team", "t" + std::to_string(i % 4)}})
                      .ok());
      if (i % 2 == 0) {
        ASSERT_TRUE(store_->UpdateRun(RunId(i), std::string("FINISHED"), int64_t{20000 + i}, {})
                        .ok());
      }
      if (i % 10 == 0 || i % 10 == 5) {
        DatasetInput in;
        bool mnist = i % 10 == 0;
        in.dataset = {mnist ? "mnist" : "Cifar", mnist ? "dg1" : "dg2", "local", "/d", "", ""};
        in.tags = {{"mlflow.data.context", mnist ? "training" : "eval"}};
        ASSERT_TRUE(store_->LogInputs(RunId(i), {in}, {}).ok());
      }
    }
    for (int i = 0; i < 20; ++i) NewRun(other_, "o" + std::to_string(i), 5);
  }

  RunQuery Query() {
    RunQuery q;
    q.experiment_ids = {exp_};
    q.max_results = 1000;
    return q;
  }

  std::vector<std::string> Ids(const RunQuery& q) {
    auto p = store_->SearchRuns(q);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    std::vector<std::string> ids;
    if (!p.ok()) return ids;
    for (const auto& r : p->items) ids.push_back(r.info.run_id);
    return ids;
  }

  size_t Count(FilterClause c) {
    RunQuery q = Query();
    q.filter.push_back(std::move(c));
    return Ids(q).size();
  }

  std::string exp_, other_;
};

TEST_F(SqliteSearchRunsTest, DefaultOrderAndExperimentScope) {
  auto ids = Ids(Query());
  ASSERT_EQ(ids.size(), static_cast<size_t>(kRuns));
  EXPECT_EQ(ids.front(), RunId(kRuns - 1));  // start_time DESC
  EXPECT_EQ(ids.back(), RunId(0));
  RunQuery both = Query();
  both.experiment_ids.push_back(other_);
  EXPECT_EQ(Ids(both).size(), static_cast<size_t>(kRuns + 20));
  // Equal start_time: run_id ASC.
  RunQuery o;
  o.experiment_ids = {other_};
  auto oid = Ids(o);
  ASSERT_EQ(oid.size(), 20u);
  EXPECT_EQ(oid[0], "o0");
  EXPECT_EQ(oid[1], "o1");
  EXPECT_EQ(oid[2], "o10");
}

TEST_F(SqliteSearchRunsTest, RunsCarryTheirData) {
  RunQuery q = Query();
  q.filter.push_back({SearchEntity::kAttribute, "run_id", CompareOp::kEq, RunId(10)});
  auto p = store_->SearchRuns(q);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->items.size(), 1u);
  const auto& r = p->items[0];
  EXPECT_EQ(r.info.run_name, "name-10");
  EXPECT_EQ(r.metrics.size(), 2u);
  ASSERT_EQ(r.params.size(), 1u);
  EXPECT_EQ(r.params[0].value, "cnn");
  EXPECT_EQ(r.tags.size(), 2u);  // team + mlflow.runName
  ASSERT_EQ(r.dataset_inputs.size(), 1u);
  EXPECT_EQ(r.dataset_inputs[0].dataset.name, "mnist");
}

TEST_F(SqliteSearchRunsTest, MetricFilters) {
  size_t expect = 0;
  for (int i = 0; i < kRuns; ++i) {
    if (i % 3 != 0 && i / 1000.0 > 0.15) ++expect;
  }
  EXPECT_EQ(Count({SearchEntity::kMetric, "acc", CompareOp::kGt, 0.15}), expect);
  EXPECT_EQ(Count({SearchEntity::kMetric, "acc", CompareOp::kEq, 0.1}), 1u);
  EXPECT_EQ(Count({SearchEntity::kMetric, "acc", CompareOp::kLe, 0.002}), 2u);  // 1, 2
  EXPECT_EQ(Count({SearchEntity::kMetric, "acc", CompareOp::kGe, 0.0}), 200u);
  EXPECT_EQ(Count({SearchEntity::kMetric, "nope", CompareOp::kGe, 0.0}), 0u);

  // NaN satisfies != only.
  ASSERT_TRUE(store_
                  ->LogBatch(RunId(3), {M("acc", std::numeric_limits<double>::quiet_NaN(), 1, 0)},
                             {}, {})
                  .ok());
  EXPECT_EQ(Count({SearchEntity::kMetric, "acc", CompareOp::kGe, 0.0}), 200u);
  EXPECT_EQ(Count({SearchEntity::kMetric, "acc", CompareOp::kNe, 0.1}), 200u);

  RunQuery two = Query();
  two.filter.push_back({SearchEntity::kMetric, "acc", CompareOp::kGt, 0.1});
  two.filter.push_back({SearchEntity::kMetric, "loss", CompareOp::kGt, 0.85});
  size_t e2 = 0;
  for (int i = 0; i < kRuns; ++i) {
    if (i % 3 != 0 && i / 1000.0 > 0.1 && 1.0 - i / 1000.0 > 0.85) ++e2;
  }
  EXPECT_EQ(Ids(two).size(), e2);
}

TEST_F(SqliteSearchRunsTest, ParamAndTagFilters) {
  EXPECT_EQ(Count({SearchEntity::kParam, "model", CompareOp::kEq, std::string("cnn")}), 150u);
  EXPECT_EQ(Count({SearchEntity::kParam, "model", CompareOp::kNe, std::string("cnn")}), 150u);
  EXPECT_EQ(Count({SearchEntity::kParam, "model", CompareOp::kLike, std::string("m%")}), 0u);
  EXPECT_EQ(Count({SearchEntity::kParam, "model", CompareOp::kLike, std::string("M%")}), 150u);
  EXPECT_EQ(Count({SearchEntity::kParam, "model", CompareOp::kILike, std::string("m%")}), 150u);
  EXPECT_EQ(Count({SearchEntity::kParam, "model", CompareOp::kILike, std::string("%N")}), 150u);
  EXPECT_EQ(Count({SearchEntity::kTag, "team", CompareOp::kEq, std::string("t1")}), 75u);
  EXPECT_EQ(Count({SearchEntity::kTag, "team", CompareOp::kIn,
                   std::vector<std::string>{"t1", "t2"}}),
            150u);
  EXPECT_EQ(Count({SearchEntity::kTag, "team", CompareOp::kNotIn,
                   std::vector<std::string>{"t1", "t2"}}),
            150u);
  EXPECT_EQ(Count({SearchEntity::kTag, "mlflow.runName", CompareOp::kLike,
                   std::string("name-1__")}),
            100u);
  // A missing key never matches, not even with !=.
  EXPECT_EQ(Count({SearchEntity::kParam, "absent", CompareOp::kNe, std::string("x")}), 0u);
  // Values that look like SQL are just values.
  EXPECT_EQ(Count({SearchEntity::kParam, "model", CompareOp::kEq, std::string("' OR 1=1 --")}),
            0u);
}

TEST_F(SqliteSearchRunsTest, AttributeFilters) {
  EXPECT_EQ(Count({SearchEntity::kAttribute, "status", CompareOp::kEq, std::string("FINISHED")}),
            150u);
  EXPECT_EQ(Count({SearchEntity::kAttribute, "status", CompareOp::kIn,
                   std::vector<std::string>{"RUNNING", "FAILED"}}),
            150u);
  EXPECT_EQ(Count({SearchEntity::kAttribute, "start_time", CompareOp::kGe, 10290.0}), 10u);
  EXPECT_EQ(Count({SearchEntity::kAttribute, "end_time", CompareOp::kLt, 20010.0}), 5u);
  EXPECT_EQ(Count({SearchEntity::kAttribute, "run_name", CompareOp::kLike, std::string("name-2_")}),
            10u);
  EXPECT_EQ(Count({SearchEntity::kAttribute, "run_name", CompareOp::kILike,
                   std::string("NAME-29_")}),
            10u);
  EXPECT_EQ(Count({SearchEntity::kAttribute, "run_id", CompareOp::kNotIn,
                   std::vector<std::string>{RunId(1), RunId(2)}}),
            static_cast<size_t>(kRuns - 2));
  EXPECT_EQ(Count({SearchEntity::kAttribute, "user_id", CompareOp::kEq, std::string("alice")}),
            static_cast<size_t>(kRuns));
  EXPECT_EQ(Count({SearchEntity::kAttribute, "artifact_uri", CompareOp::kLike,
                   std::string("%/" + RunId(7) + "/artifacts")}),
            1u);
  RunQuery bad = Query();
  bad.filter.push_back({SearchEntity::kAttribute, "bogus", CompareOp::kEq, std::string("x")});
  EXPECT_EQ(store_->SearchRuns(bad).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteSearchRunsTest, DatasetFilters) {
  EXPECT_EQ(Count({SearchEntity::kDataset, "name", CompareOp::kEq, std::string("mnist")}), 30u);
  EXPECT_EQ(Count({SearchEntity::kDataset, "name", CompareOp::kILike, std::string("cifar")}), 30u);
  EXPECT_EQ(Count({SearchEntity::kDataset, "name", CompareOp::kLike, std::string("cifar")}), 0u);
  EXPECT_EQ(Count({SearchEntity::kDataset, "digest", CompareOp::kIn,
                   std::vector<std::string>{"dg1", "dg2"}}),
            60u);
  EXPECT_EQ(Count({SearchEntity::kDataset, "context", CompareOp::kEq, std::string("eval")}), 30u);
  EXPECT_EQ(Count({SearchEntity::kDataset, "context", CompareOp::kNe, std::string("eval")}), 30u);
  EXPECT_EQ(Count({SearchEntity::kDataset, "context", CompareOp::kNotIn,
                   std::vector<std::string>{"training"}}),
            30u);
}

TEST_F(SqliteSearchRunsTest, OrderByMetricWithNullsLastAndPaging) {
  for (bool asc : {false, true}) {
    RunQuery q = Query();
    q.order_by.push_back({SearchEntity::kMetric, "acc", asc});
    q.max_results = 40;
    std::vector<std::string> all;
    bool more = true;
    while (more) {
      auto p = store_->SearchRuns(q);
      ASSERT_TRUE(p.ok()) << p.status().ToString();
      for (const auto& r : p->items) all.push_back(r.info.run_id);
      more = p->has_more;
      q.offset += q.max_results;
      ASSERT_LT(q.offset, 1000);
    }
    ASSERT_EQ(all.size(), static_cast<size_t>(kRuns));
    EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), all.size());
    EXPECT_EQ(all.front(), asc ? RunId(1) : RunId(299));
    // The 100 runs without the metric come last, by start_time DESC.
    EXPECT_EQ(all[200], RunId(297));
    EXPECT_EQ(all.back(), RunId(0));
  }
}

TEST_F(SqliteSearchRunsTest, OrderByFilteredMetric) {
  ASSERT_TRUE(store_
                  ->LogBatch(RunId(3), {M("acc", std::numeric_limits<double>::quiet_NaN(), 1, 0)},
                             {}, {})
                  .ok());
  RunQuery q = Query();
  q.filter.push_back({SearchEntity::kMetric, "acc", CompareOp::kGt, 0.1});
  q.order_by.push_back({SearchEntity::kMetric, "acc", true});
  q.max_results = 5;
  auto ids = Ids(q);
  ASSERT_EQ(ids.size(), 5u);
  EXPECT_EQ(ids[0], RunId(101));  // acc(100) == 0.1 is not > 0.1; 102 has no acc
  EXPECT_EQ(ids[1], RunId(103));
  q.order_by[0].ascending = false;
  EXPECT_EQ(Ids(q)[0], RunId(299));
  // "!=" keeps NaN rows, which then sort after the numbers.
  RunQuery ne = Query();
  ne.filter.push_back({SearchEntity::kMetric, "acc", CompareOp::kNe, 0.5});
  ne.order_by.push_back({SearchEntity::kMetric, "acc", true});
  auto all = Ids(ne);
  ASSERT_EQ(all.size(), 201u);
  EXPECT_EQ(all.front(), RunId(1));
  EXPECT_EQ(all.back(), RunId(3));
}

TEST_F(SqliteSearchRunsTest, OrderByParamTagAttribute) {
  RunQuery q = Query();
  q.order_by.push_back({SearchEntity::kParam, "model", true});
  q.order_by.push_back({SearchEntity::kAttribute, "start_time", true});
  auto ids = Ids(q);
  ASSERT_EQ(ids.size(), static_cast<size_t>(kRuns));
  EXPECT_EQ(ids[0], RunId(1));    // "MLP" < "cnn" (binary collation), oldest first
  EXPECT_EQ(ids[150], RunId(0));  // then cnn
  RunQuery t = Query();
  t.order_by.push_back({SearchEntity::kTag, "team", false});
  t.max_results = 3;
  auto tid = Ids(t);
  ASSERT_EQ(tid.size(), 3u);
  EXPECT_EQ(tid[0], RunId(299));  // t3, newest first
  EXPECT_EQ(tid[1], RunId(295));
  RunQuery e = Query();
  e.order_by.push_back({SearchEntity::kAttribute, "end_time", true});
  auto eid = Ids(e);
  EXPECT_EQ(eid.front(), RunId(0));
  EXPECT_EQ(eid[150], RunId(299));  // NULL end_time last, then start_time DESC
}

TEST_F(SqliteSearchRunsTest, ViewTypes) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store_->SetRunLifecycle(RunId(i), "deleted", 1).ok());
  RunQuery q = Query();
  EXPECT_EQ(Ids(q).size(), static_cast<size_t>(kRuns - 10));
  q.view = ViewType::kDeletedOnly;
  auto del = Ids(q);
  ASSERT_EQ(del.size(), 10u);
  EXPECT_EQ(del.front(), RunId(9));
  q.view = ViewType::kAll;
  EXPECT_EQ(Ids(q).size(), static_cast<size_t>(kRuns));
  RunQuery none;
  none.experiment_ids = {"12345", "not-a-number"};
  EXPECT_TRUE(Ids(none).empty());
}

}  // namespace
}  // namespace kiln::storage::testing
