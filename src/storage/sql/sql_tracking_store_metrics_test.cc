// Multi-row metric writes (sql_tracking_store_metrics.cc) against the
// semantics of inserting points one at a time, on SQLite and (CTest's
// "postgres:" pass) PostgreSQL.
#include "storage/sql/sql_tracking_store_metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "storage/sql/sql_test_util.h"

namespace kiln::storage::testing {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// (step, timestamp, stored value, is_nan): a point as the tables hold it.
using Row = std::tuple<int64_t, int64_t, double, int64_t>;

Row RowOf(const Metric& m) {
  const bool nan = std::isnan(m.value);
  return {m.step, m.timestamp, nan ? 0.0 : m.value, nan ? 1 : 0};
}

// What applying the points one at a time yields.
struct Reference {
  std::map<std::string, std::set<Row>> points;  // -0.0 and 0.0 compare equal, as in the engines
  std::map<std::string, Row> latest;

  void Log(const std::vector<Metric>& batch) {
    for (const auto& m : batch) {
      const Row r = RowOf(m);
      if (!points[m.key].insert(r).second) continue;  // already stored
      auto it = latest.find(m.key);
      if (it == latest.end()) {
        latest.emplace(m.key, r);
      } else if (std::make_tuple(std::get<0>(r), std::get<1>(r), std::get<2>(r)) >
                 std::make_tuple(std::get<0>(it->second), std::get<1>(it->second), std::get<2>(it->second))) {
        it->second = r;
      }
    }
  }
};

// The tests are SqlStoreTest's, so that CTest's "postgres:" pass (which
// selects SqlStoreTest.*) runs them on PostgreSQL too.
void ExpectMatches(SqlTrackingStore& store, const std::string& run_id, const Reference& ref) {
    auto run = store.GetRun(run_id);
    ASSERT_TRUE(run.ok()) << run.status().ToString();
    ASSERT_EQ(run->metrics.size(), ref.latest.size());
    for (const auto& m : run->metrics) {
      auto it = ref.latest.find(m.key);
      ASSERT_NE(it, ref.latest.end()) << m.key;
      const Row got = RowOf(m);
      EXPECT_EQ(std::get<0>(got), std::get<0>(it->second)) << m.key;
      EXPECT_EQ(std::get<1>(got), std::get<1>(it->second)) << m.key;
      EXPECT_EQ(std::get<3>(got), std::get<3>(it->second)) << m.key;
      EXPECT_EQ(std::get<2>(got), std::get<2>(it->second)) << m.key;
    }
    for (const auto& [key, rows] : ref.points) {
      auto h = store.GetMetricHistory(run_id, key, 0, 100000);
      ASSERT_TRUE(h.ok()) << h.status().ToString();
      std::multiset<Row> got;
      for (const auto& m : h->items) got.insert(RowOf(m));
      EXPECT_EQ(got.size(), rows.size()) << key;
      EXPECT_TRUE(std::equal(got.begin(), got.end(), rows.begin(), rows.end())) << key;
    }
}

TEST_F(SqlStoreTest, MetricBatchRepeatsInsideAndAcrossBatchesAreStoredOnce) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r");
  Reference ref;
  std::vector<Metric> b1 = {M("a", 1, 10, 0), M("a", 1, 10, 0), M("a", 2, 10, 1), M("b", 5, 10, 0),
                            M("a", 0.0, 11, 2), M("a", -0.0, 11, 2)};
  ASSERT_TRUE(store_->LogBatch("r", b1, {}, {}).ok());
  ref.Log(b1);
  ExpectMatches(*store_, "r", ref);
  std::vector<Metric> b2 = {M("a", 2, 10, 1), M("b", 4, 9, 0), M("c", kInf, 1, 0), M("c", -kInf, 1, 0)};
  ASSERT_TRUE(store_->LogBatch("r", b2, {}, {}).ok());
  ref.Log(b2);
  ExpectMatches(*store_, "r", ref);
  EXPECT_EQ(store_->GetMetricHistory("r", "a", 0, 100)->items.size(), 3u);  // (0,1) (1,2) (2,+-0)
}

TEST_F(SqlStoreTest, MetricBatchLatestKeepsTheFirstOfEqualPoints) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r");
  Reference ref;
  // NaN is stored as 0 with is_nan 1: (5, 7, NaN) and (5, 7, 0.0) order alike,
  // so the first logged stays latest, in one batch or in two.
  std::vector<Metric> b1 = {M("n", kNaN, 7, 5), M("n", 0.0, 7, 5), M("z", -0.0, 3, 1), M("z", 0.0, 3, 1)};
  ASSERT_TRUE(store_->LogBatch("r", b1, {}, {}).ok());
  ref.Log(b1);
  std::vector<Metric> b2 = {M("z", 0.0, 3, 1), M("n", 0.0, 7, 5), M("o", 0.0, 1, 1)};
  ASSERT_TRUE(store_->LogBatch("r", b2, {}, {}).ok());
  ref.Log(b2);
  ExpectMatches(*store_, "r", ref);
  auto run = store_->GetRun("r");
  for (const auto& m : run->metrics) {
    if (m.key == "n") {
      EXPECT_TRUE(std::isnan(m.value));
    }
  }
}

// PostgreSQL receives the batch as array literals: keys that need quoting
// there (quotes, backslashes, braces, commas, spaces, the word NULL) come
// back as they were sent.
TEST_F(SqlStoreTest, MetricBatchKeysThatNeedQuotingRoundTrip) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r");
  Reference ref;
  const std::vector<std::string> keys = {"a\"b", "c\\d", "{x,y}", "NULL", "null", " spaced ", "t\tab",
                                         "\u00fc/\u00df", "comma,sep", "\"", "\\", "}{"};
  std::vector<Metric> batch;
  for (size_t i = 0; i < keys.size(); ++i) {
    batch.push_back(M(keys[i], 1.5 + i, 10, 0));
    batch.push_back(M(keys[i], 0.25, 11, 1));
  }
  ASSERT_TRUE(store_->LogBatch("r", batch, {}, {}).ok());
  ref.Log(batch);
  ExpectMatches(*store_, "r", ref);
}

TEST_F(SqlStoreTest, MetricBatchOlderPointsLeaveTheLatestValue) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r");
  Reference ref;
  std::vector<Metric> b1 = {M("a", 3, 100, 10)};
  std::vector<Metric> b2 = {M("a", 9, 50, 9), M("a", 1, 200, 10), M("a", 0.5, 200, 10)};
  ASSERT_TRUE(store_->LogBatch("r", b1, {}, {}).ok());
  ASSERT_TRUE(store_->LogBatch("r", b2, {}, {}).ok());
  ref.Log(b1);
  ref.Log(b2);
  ExpectMatches(*store_, "r", ref);
  EXPECT_EQ(store_->GetRun("r")->metrics.at(0).value, 1);  // (10, 200, 1) beats (10, 200, 0.5)
}

// More points than one statement holds, with repeats across statement
// boundaries, and every batch size from 1 to 70 (each padded shape).
TEST_F(SqlStoreTest, MetricBatchLargeAndOddSizedBatchesMatchOneAtATime) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r");
  Reference ref;
  std::mt19937_64 rng(7);
  const double values[] = {0.0, -0.0, 1.5, -2.25, kInf, -kInf, kNaN, 1e-310, 3.0};
  auto random_point = [&](int keys, int steps) {
    return M("k" + std::to_string(rng() % keys), values[rng() % std::size(values)],
             static_cast<int64_t>(rng() % 3), static_cast<int64_t>(rng() % steps));
  };
  std::vector<Metric> big;
  for (size_t i = 0; i < 2 * sql::kMetricRowsPerStatement + 77; ++i) big.push_back(random_point(700, 4));
  ASSERT_TRUE(store_->LogBatch("r", big, {}, {}).ok());
  ref.Log(big);
  ExpectMatches(*store_, "r", ref);
  for (int n = 1; n <= 70; ++n) {
    std::vector<Metric> batch;
    for (int i = 0; i < n; ++i) batch.push_back(random_point(40, 6));
    ASSERT_TRUE(store_->LogBatch("r", batch, {}, {}).ok()) << n;
    ref.Log(batch);
  }
  ExpectMatches(*store_, "r", ref);
}

TEST_F(SqlStoreTest, MetricBatchLoggedModelMetricsFromInsertedPointsOnly) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r");
  LoggedModel lm;
  lm.experiment_id = exp;
  lm.name = "m";
  lm.model_id = "m-1";
  lm.source_run_id = "r";
  auto created = store_->CreateLoggedModel(lm);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Metric a = M("acc", 0.9, 5, 1);
  a.model_id = created->model_id;
  a.dataset_name = "d";
  a.dataset_digest = "x";
  ASSERT_TRUE(store_->LogBatch("r", {a, a, M("loss", 1, 5, 1)}, {}, {}).ok());
  ASSERT_TRUE(store_->LogBatch("r", {a}, {}, {}).ok());
  auto got = store_->GetLoggedModel(created->model_id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->metrics.size(), 1u);
  EXPECT_EQ(got->metrics[0].key, "acc");
  EXPECT_EQ(got->metrics[0].run_id, "r");
  EXPECT_EQ(got->metrics[0].dataset_digest, "x");
}

TEST_F(SqlStoreTest, MetricBatchInactiveRunIsRefusedWithNothingWritten) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r");
  ASSERT_TRUE(store_->SetRunLifecycle("r", "deleted", 5).ok());
  EXPECT_EQ(store_->LogBatch("r", {M("a", 1, 1, 1)}, {}, {}).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->SetRunLifecycle("r", "active", 6).ok());
  EXPECT_TRUE(store_->GetMetricHistory("r", "a", 0, 10)->items.empty());
}

}  // namespace
}  // namespace kiln::storage::testing
