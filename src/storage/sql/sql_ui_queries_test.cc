// The UI's aggregate queries on both engines (SqlStoreTest runs a second time
// on PostgreSQL under CTest's "postgres:" prefix) and the bucket math.
#include "storage/sql/sql_ui_queries.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "storage/sql/run_search_sql.h"
#include "storage/sql/sql_test_util.h"

namespace kiln::storage {
namespace {

using testing::SqlStoreTest;

TEST(UiBucketPlanTest, WidthCoversTheRangeInAtMostNBuckets) {
  auto p = PlanBuckets(0, 999999, 1000);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->width, 1000);
  EXPECT_EQ(p->count, 1000);
  EXPECT_EQ(p->IndexOf(0), 0);
  EXPECT_EQ(p->IndexOf(999), 0);
  EXPECT_EQ(p->IndexOf(1000), 1);
  EXPECT_EQ(p->BucketEnd(999), 999999);

  auto q = PlanBuckets(10, 14, 1000);  // fewer values than buckets: one value each
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->width, 1);
  EXPECT_EQ(q->count, 5);

  auto r = PlanBuckets(0, 1000, 1000);  // 1001 values: width 2, 501 buckets, the last clipped
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->width, 2);
  EXPECT_EQ(r->count, 501);
  EXPECT_EQ(r->BucketStart(500), 1000);
  EXPECT_EQ(r->BucketEnd(500), 1000);

  auto neg = PlanBuckets(-5, 4, 3);
  ASSERT_TRUE(neg.ok());
  EXPECT_EQ(neg->width, 4);
  EXPECT_EQ(neg->IndexOf(-5), 0);
  EXPECT_EQ(neg->IndexOf(-2), 0);
  EXPECT_EQ(neg->IndexOf(-1), 1);
  EXPECT_EQ(neg->IndexOf(4), 2);
}

TEST(UiBucketPlanTest, RefusesEmptyAndTooWideRanges) {
  EXPECT_EQ(PlanBuckets(5, 4, 10).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PlanBuckets(0, 10, 0).status().code(), StatusCode::kInvalidArgument);
  const int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(PlanBuckets(lo, hi, 2000).status().code(), StatusCode::kInvalidArgument);
  auto half = PlanBuckets(0, hi - 1, 2000);  // 2^63-1 values: still representable
  ASSERT_TRUE(half.ok()) << half.status().ToString();
  EXPECT_LE(half->count, 2000);
  EXPECT_EQ(half->IndexOf(hi - 1), half->count - 1);
}

TEST_F(SqlStoreTest, UiMetricBucketsKeepEverySpike) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r1");
  std::vector<Metric> ms;
  std::vector<double> values;
  std::mt19937 gen(7);
  std::normal_distribution<double> noise(0, 1);
  for (int64_t s = 0; s < 20000; ++s) {
    double v = noise(gen);
    if (s == 12345) v = 1e6;   // a spike a sampler would drop
    if (s == 777) v = -5e5;
    values.push_back(v);
    ms.push_back(M("loss", v, 1000 + s, s));
  }
  ms.push_back(M("loss", std::numeric_limits<double>::quiet_NaN(), 50000, 20000));
  ms.push_back(M("loss", std::numeric_limits<double>::infinity(), 50001, 20001));
  for (size_t i = 0; i < ms.size(); i += 1000) {
    std::vector<Metric> chunk(ms.begin() + i, ms.begin() + std::min(ms.size(), i + 1000));
    ASSERT_TRUE(store_->LogBatch("r1", chunk, {}, {}).ok());
  }
  SqlUiQueryStore ui(*db_);
  MetricBucketsQuery q;
  q.run_id = "r1";
  q.key = "loss";
  q.max_buckets = 100;
  auto res = ui.GetMetricBuckets({q});
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  const MetricBuckets& b = (*res)[0];
  EXPECT_EQ(b.total_count, 20002);
  EXPECT_EQ(*b.x_min, 0);
  EXPECT_EQ(*b.x_max, 20001);
  ASSERT_TRUE(b.plan);
  EXPECT_EQ(b.plan->width, 201);
  EXPECT_EQ(static_cast<int64_t>(b.buckets.size()), b.plan->count);
  int64_t total = 0;
  for (const auto& k : b.buckets) {
    total += k.count;
    if (k.x_end <= 19999) {
      double lo = 1e300, hi = -1e300;
      for (int64_t s = k.x_start; s <= k.x_end; ++s) {
        lo = std::min(lo, values[s]);
        hi = std::max(hi, values[s]);
      }
      double sum = 0;
      for (int64_t s = k.x_start; s <= k.x_end; ++s) sum += values[s];
      EXPECT_EQ(*k.min, lo) << k.x_start;
      EXPECT_EQ(*k.max, hi) << k.x_start;
      ASSERT_TRUE(k.mean.has_value());
      EXPECT_NEAR(*k.mean, sum / static_cast<double>(k.count), 1e-9 * std::max(1.0, std::abs(hi - lo))) << k.x_start;
      EXPECT_EQ(k.first.step, k.x_start);
      EXPECT_EQ(k.first.value, values[k.x_start]);
      EXPECT_EQ(k.last.step, k.x_end);
      EXPECT_EQ(k.last.value, values[k.x_end]);
    }
  }
  EXPECT_EQ(total, 20002);
  // The last bucket holds the NaN (counted, not a magnitude) and +inf (its max).
  const MetricBucket& tail = b.buckets.back();
  EXPECT_EQ(tail.nan_count, 1);
  EXPECT_TRUE(std::isinf(*tail.max));
  EXPECT_TRUE(std::isinf(*tail.mean) && *tail.mean > 0);  // +inf among the points, the NaN left out
  EXPECT_TRUE(std::isinf(tail.last.value));
  EXPECT_EQ(tail.last.step, 20001);

  // Zoomed: a narrow range around the spike, one step per bucket.
  q.start = 12340;
  q.end = 12349;
  res = ui.GetMetricBuckets({q});
  ASSERT_TRUE(res.ok());
  ASSERT_EQ((*res)[0].buckets.size(), 10u);
  EXPECT_EQ((*res)[0].range_count, 10);
  EXPECT_EQ((*res)[0].total_count, 20002);
  EXPECT_EQ(*(*res)[0].buckets[5].max, 1e6);
  EXPECT_EQ((*res)[0].buckets[5].x_start, 12345);

  // By time: timestamps are 1000 + step.
  q.axis = MetricAxis::kTime;
  q.start = 1000 + 12300;
  q.end = 1000 + 12399;
  q.max_buckets = 1;
  res = ui.GetMetricBuckets({q});
  ASSERT_TRUE(res.ok());
  ASSERT_EQ((*res)[0].buckets.size(), 1u);
  EXPECT_EQ(*(*res)[0].buckets[0].max, 1e6);
  EXPECT_EQ((*res)[0].buckets[0].count, 100);
  EXPECT_EQ((*res)[0].buckets[0].first.timestamp, 13300);
  EXPECT_EQ((*res)[0].buckets[0].last.timestamp, 13399);
}

TEST_F(SqlStoreTest, UiMetricBucketsEdgeCases) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r1");
  // Several points at one step: first/last follow (step, timestamp, value).
  ASSERT_TRUE(store_->LogBatch("r1", {M("m", 3, 20, 5), M("m", 1, 10, 5), M("m", 2, 30, 5), M("m", 9, 5, 6)}, {}, {})
                  .ok());
  ASSERT_TRUE(store_->LogBatch("r1", {M("nan", std::numeric_limits<double>::quiet_NaN(), 1, 0)}, {}, {}).ok());
  SqlUiQueryStore ui(*db_);
  MetricBucketsQuery q;
  q.run_id = "r1";
  q.key = "m";
  q.max_buckets = 1;
  auto res = ui.GetMetricBuckets({q});
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  ASSERT_EQ((*res)[0].buckets.size(), 1u);
  const MetricBucket& k = (*res)[0].buckets[0];
  EXPECT_EQ(k.count, 4);
  EXPECT_EQ(*k.min, 1);
  EXPECT_EQ(*k.max, 9);
  EXPECT_EQ(*k.mean, 15.0 / 4);
  EXPECT_EQ(k.first.value, 1);  // step 5, earliest timestamp
  EXPECT_EQ(k.last.value, 9);

  q.key = "nan";
  res = ui.GetMetricBuckets({q});
  ASSERT_TRUE(res.ok());
  ASSERT_EQ((*res)[0].buckets.size(), 1u);
  EXPECT_FALSE((*res)[0].buckets[0].min.has_value());
  EXPECT_FALSE((*res)[0].buckets[0].mean.has_value());
  EXPECT_EQ((*res)[0].buckets[0].nan_count, 1);
  EXPECT_TRUE(std::isnan((*res)[0].buckets[0].first.value));

  // +inf and -inf in one bucket: the mean is NaN on both engines (SQLite's
  // SUM would be NULL, PostgreSQL's NaN); a finite one beside an infinity is it.
  const double inf = std::numeric_limits<double>::infinity();
  ASSERT_TRUE(store_->LogBatch("r1", {M("inf", inf, 1, 0), M("inf", -inf, 1, 1), M("inf", 2, 1, 2),
                                      M("pinf", 1, 1, 0), M("pinf", inf, 1, 1)}, {}, {}).ok());
  q.key = "inf";
  res = ui.GetMetricBuckets({q});
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_TRUE(std::isnan(*(*res)[0].buckets[0].mean));
  q.key = "pinf";
  res = ui.GetMetricBuckets({q});
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(*(*res)[0].buckets[0].mean, inf);

  q.key = "never";
  res = ui.GetMetricBuckets({q});
  ASSERT_TRUE(res.ok());
  EXPECT_EQ((*res)[0].total_count, 0);
  EXPECT_TRUE((*res)[0].buckets.empty());

  q.key = "m";
  q.start = 100;  // past the history
  res = ui.GetMetricBuckets({q});
  ASSERT_TRUE(res.ok());
  EXPECT_TRUE((*res)[0].buckets.empty());
  EXPECT_EQ((*res)[0].total_count, 4);

  q.run_id = "missing";
  EXPECT_EQ(ui.GetMetricBuckets({q}).status().code(), StatusCode::kNotFound);
}

TEST_F(SqlStoreTest, UiMetricRangesColumnsAndGroups) {
  std::string exp = NewExperiment("e");
  for (int i = 0; i < 4; ++i) {
    std::string id = "run" + std::to_string(i);
    NewRun(exp, id, 1000 + i);
    std::vector<Metric> ms;
    for (int s = 0; s < 10; ++s) ms.push_back(M("acc", i * 10 + s, 100 + s, s));
    ms.push_back(M("acc", i == 3 ? std::numeric_limits<double>::quiet_NaN() : 0.5 * i, 200, 10));
    std::vector<Param> ps{{"lr", i % 2 == 0 ? "0.1" : "0.01"}};
    if (i == 3) ps.clear();
    ASSERT_TRUE(store_->LogBatch(id, ms, ps, {{"team", "a"}}).ok());
  }
  SqlUiQueryStore ui(*db_);
  auto ranges = ui.GetMetricRanges({"run1", "run3"}, {"acc", "none"});
  ASSERT_TRUE(ranges.ok()) << ranges.status().ToString();
  ASSERT_EQ(ranges->size(), 2u);
  EXPECT_EQ(*(*ranges)["run1"]["acc"].min, 0.5);
  EXPECT_EQ(*(*ranges)["run1"]["acc"].max, 19);
  EXPECT_EQ((*ranges)["run1"]["acc"].count, 11);
  EXPECT_EQ((*ranges)["run3"]["acc"].nan_count, 1);
  EXPECT_EQ(*(*ranges)["run3"]["acc"].min, 30);
  EXPECT_EQ((*ranges)["run1"].count("none"), 0u);

  auto cols = ui.GetRunColumnKeys({exp});
  ASSERT_TRUE(cols.ok()) << cols.status().ToString();
  EXPECT_EQ(cols->params, std::vector<std::string>{"lr"});
  EXPECT_EQ(cols->metrics, std::vector<std::string>{"acc"});
  EXPECT_NE(std::find(cols->tags.begin(), cols->tags.end(), "team"), cols->tags.end());

  RunQuery q;
  q.experiment_ids = {exp};
  auto rows = ui.GetGroupRows(q, GroupSource::kParam, "lr", "acc", 100);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[0].run_id, "run3");  // newest first, as a search
  EXPECT_FALSE((*rows)[0].group_value.has_value());
  EXPECT_TRUE(std::isnan(*(*rows)[0].last_value));
  EXPECT_EQ(*(*rows)[1].group_value, "0.1");
  EXPECT_EQ(*(*rows)[1].last_value, 1.0);

  // The search's filter applies inside the query.
  q.filter.push_back({SearchEntity::kParam, "lr", CompareOp::kEq, std::string("0.01")});
  rows = ui.GetGroupRows(q, GroupSource::kTag, "team", "acc", 100);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].run_id, "run1");
  EXPECT_EQ(*(*rows)[0].group_value, "a");

  q.filter.clear();
  EXPECT_EQ(ui.GetGroupRows(q, GroupSource::kParam, "lr", "acc", 3).status().code(),
            StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace kiln::storage
