// The UI's aggregate queries on both engines (SqlStoreTest runs a second time
// on PostgreSQL under CTest's "postgres:" prefix) and the bucket math.
#include "storage/sql/sql_ui_queries.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <tuple>

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
    if (s == 12345) v = 1e6;  // a spike a sampler would drop
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

// What the buckets of a step range must hold, computed from the points
// themselves: the reference the block summaries are checked against.
struct Point {
  int64_t step, ts;
  double value;
};

void ExpectBucketsMatchPoints(const MetricBuckets& got, const std::vector<Point>& points, int64_t start, int64_t end,
                              int64_t max_buckets) {
  auto plan = PlanBuckets(start, end, max_buckets);
  ASSERT_TRUE(plan.ok());
  struct Want {
    int64_t count = 0, nans = 0;
    std::optional<double> min, max;
    long double sum = 0;
    double max_abs = 0;
    const Point* first = nullptr;
    const Point* last = nullptr;
  };
  std::map<int64_t, Want> want;
  int64_t in_range = 0;
  // MLflow's order of a history: step, timestamp, value.
  auto before = [](const Point* a, const Point* b) {
    auto stored = [](double v) { return std::isnan(v) ? 0.0 : v; };
    return std::make_tuple(a->step, a->ts, stored(a->value), std::isnan(a->value)) <
           std::make_tuple(b->step, b->ts, stored(b->value), std::isnan(b->value));
  };
  for (const Point& p : points) {
    if (p.step < start || p.step > end) continue;
    ++in_range;
    Want& w = want[plan->IndexOf(p.step)];
    ++w.count;
    if (std::isnan(p.value)) {
      ++w.nans;
    } else {
      w.min = w.min ? std::min(*w.min, p.value) : p.value;
      w.max = w.max ? std::max(*w.max, p.value) : p.value;
      w.sum += p.value;
      if (std::isfinite(p.value)) w.max_abs = std::max(w.max_abs, std::abs(p.value));
    }
    if (!w.first || before(&p, w.first)) w.first = &p;
    if (!w.last || before(w.last, &p)) w.last = &p;
  }
  EXPECT_EQ(got.range_count, in_range);
  ASSERT_EQ(got.buckets.size(), want.size()) << "range [" << start << ", " << end << "] in " << max_buckets;
  size_t i = 0;
  for (const auto& [index, w] : want) {
    const MetricBucket& b = got.buckets[i++];
    SCOPED_TRACE("bucket " + std::to_string(index) + " of [" + std::to_string(start) + ", " + std::to_string(end) +
                 "] in " + std::to_string(max_buckets));
    EXPECT_EQ(b.x_start, plan->BucketStart(index));
    EXPECT_EQ(b.x_end, plan->BucketEnd(index));
    EXPECT_EQ(b.count, w.count);
    EXPECT_EQ(b.nan_count, w.nans);
    EXPECT_EQ(b.min, w.min);
    EXPECT_EQ(b.max, w.max);
    if (!w.min) {
      EXPECT_FALSE(b.mean.has_value());
    } else if (std::isinf(*w.min) && std::isinf(*w.max) && *w.min < 0 && *w.max > 0) {
      ASSERT_TRUE(b.mean.has_value());
      EXPECT_TRUE(std::isnan(*b.mean));
    } else if (std::isinf(*w.max) && *w.max > 0) {
      EXPECT_EQ(b.mean, w.max);
    } else if (std::isinf(*w.min)) {
      EXPECT_EQ(b.mean, w.min);
    } else {
      ASSERT_TRUE(b.mean.has_value());
      // PostgreSQL sums in numeric from 15 significant digits per point.
      EXPECT_NEAR(*b.mean, static_cast<double>(w.sum / static_cast<long double>(w.count - w.nans)),
                  1e-9 + 1e-14 * w.max_abs);
    }
    EXPECT_EQ(b.first.step, w.first->step);
    EXPECT_EQ(b.first.timestamp, w.first->ts);
    EXPECT_EQ(std::isnan(b.first.value), std::isnan(w.first->value));
    if (!std::isnan(w.first->value)) {
      EXPECT_EQ(b.first.value, w.first->value);
    }
    EXPECT_EQ(b.last.step, w.last->step);
    EXPECT_EQ(b.last.timestamp, w.last->ts);
    if (!std::isnan(w.last->value)) {
      EXPECT_EQ(b.last.value, w.last->value);
    }
  }
}

// The step buckets come from metric_blocks (64 steps per row, kept by the
// schema's triggers): whatever the range and bucket count, they must hold
// exactly what the points say, with negative steps, several points per step,
// NaN and infinities, and after rows are deleted or changed behind the
// store's back.
TEST_F(SqlStoreTest, UiStepBucketsFromBlocksMatchThePoints) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r1");
  std::mt19937 gen(11);
  std::uniform_int_distribution<int64_t> step_of(-3000, 3000);
  std::uniform_int_distribution<int> kind(0, 99);
  std::normal_distribution<double> noise(0, 10);
  std::vector<Point> points;
  std::vector<Metric> batch;
  for (int i = 0; i < 6000; ++i) {
    Point p{step_of(gen), 1000 + i, noise(gen)};
    const int k = kind(gen);
    if (k == 0) p.value = std::numeric_limits<double>::quiet_NaN();
    if (k == 1) p.value = std::numeric_limits<double>::infinity();
    if (k == 2) p.value = -std::numeric_limits<double>::infinity();
    // Huge finite values: a float sum of a few overflows.
    if (k == 3) p.value = 1.5e308;
    if (k == 4) p.value = -1.7e308;
    if (k == 5) p.value = 1e308;
    points.push_back(p);
    batch.push_back(M("loss", p.value, p.ts, p.step));
    if (batch.size() == static_cast<size_t>(1 + i % 700)) {
      ASSERT_TRUE(store_->LogBatch("r1", batch, {}, {}).ok());
      batch.clear();
    }
  }
  ASSERT_TRUE(store_->LogBatch("r1", batch, {}, {}).ok());
  // Points of another key and run interleave with the blocks of this one.
  ASSERT_TRUE(store_->LogBatch("r1", {M("loss2", 5, 1, 10), M("loss2", 6, 1, 100)}, {}, {}).ok());

  SqlUiQueryStore ui(*db_);
  auto check = [&](std::optional<int64_t> start, std::optional<int64_t> end, int64_t max_buckets) {
    MetricBucketsQuery q;
    q.run_id = "r1";
    q.key = "loss";
    q.start = start;
    q.end = end;
    q.max_buckets = max_buckets;
    auto res = ui.GetMetricBuckets({q});
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    int64_t lo = points[0].step, hi = points[0].step;
    for (const Point& p : points) lo = std::min(lo, p.step), hi = std::max(hi, p.step);
    EXPECT_EQ((*res)[0].total_count, static_cast<int64_t>(points.size()));
    EXPECT_EQ((*res)[0].x_min, lo);
    EXPECT_EQ((*res)[0].x_max, hi);
    ExpectBucketsMatchPoints((*res)[0], points, start.value_or(lo), end.value_or(hi), max_buckets);
  };
  for (int64_t n : {1, 3, 7, 64, 100, 1000, 20000}) check(std::nullopt, std::nullopt, n);
  check(-64, 63, 2);      // bucket edges on block edges
  check(-65, 64, 3);      // ... and one step off them
  check(-1, -1, 10);      // one step
  check(100, 2000, 13);   // zoomed, edges inside blocks
  check(2990, 5000, 50);  // past the history's end
  check(std::nullopt, -2900, 9);

  // Behind the store's back: delete a range and change values; the triggers
  // rebuild the touched blocks from the points left.
  ASSERT_TRUE(
      db_->Write([](sql::Conn& c) { return c.Exec("DELETE FROM metrics WHERE step >= -70 AND step <= 70"); }).ok());
  ASSERT_TRUE(db_->Write([](sql::Conn& c) {
                   return c.Exec(
                       "UPDATE metrics SET value = value + 1000, step = step + 1 WHERE key = 'loss' AND "
                       "step >= 500 AND step <= 530 AND is_nan = 0");
                 })
                  .ok());
  std::vector<Point> left;
  for (Point p : points) {
    if (p.step >= -70 && p.step <= 70) continue;
    if (p.step >= 500 && p.step <= 530 && !std::isnan(p.value)) {
      p.value += 1000;
      p.step += 1;
    }
    left.push_back(p);
  }
  points = left;
  for (int64_t n : {1, 100, 1000}) check(std::nullopt, std::nullopt, n);
  check(-200, 200, 7);
  check(450, 600, 150);
}

// Values near DBL_MAX: their sum overflows a double (PostgreSQL raises an
// error on that, SQLite answers Infinity) but their mean does not; logging
// them must succeed and every bucket's mean must be the true one, on both
// axes.
TEST_F(SqlStoreTest, UiMetricMeanOfHugeValuesDoesNotOverflow) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r1");
  const double big = std::numeric_limits<double>::max();
  ASSERT_TRUE(store_
                  ->LogBatch("r1",
                             {M("m", big, 10, 0), M("m", big, 11, 1), M("m", 0.5 * big, 12, 2), M("m", -big, 13, 100),
                              M("m", -big, 14, 101), M("m", 3, 15, 102)},
                             {}, {})
                  .ok());
  // One more point into the first block after its sum overflowed.
  ASSERT_TRUE(store_->LogBatch("r1", {M("m", big, 16, 3)}, {}, {}).ok());
  SqlUiQueryStore ui(*db_);
  for (MetricAxis axis : {MetricAxis::kStep, MetricAxis::kTime}) {
    SCOPED_TRACE(axis == MetricAxis::kStep ? "step" : "time");
    MetricBucketsQuery q;
    q.run_id = "r1";
    q.key = "m";
    q.axis = axis;
    q.max_buckets = 1;
    auto all = ui.GetMetricBuckets({q});
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    ASSERT_EQ((*all)[0].buckets.size(), 1u);
    ASSERT_TRUE((*all)[0].buckets[0].mean.has_value());
    EXPECT_NEAR(*(*all)[0].buckets[0].mean, big / 7 * 1.5 + 3.0 / 7, 1e-14 * big);
    // Only the first four points (steps 0-3, times 10-12 and 16 apart).
    q.start = axis == MetricAxis::kStep ? 0 : 10;
    q.end = axis == MetricAxis::kStep ? 3 : 12;
    auto first = ui.GetMetricBuckets({q});
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    ASSERT_EQ((*first)[0].buckets.size(), 1u);
    const MetricBucket& b = (*first)[0].buckets[0];
    const double want = axis == MetricAxis::kStep ? (3.5 / 4) * big : (2.5 / 3) * big;
    ASSERT_TRUE(b.mean.has_value());
    EXPECT_TRUE(std::isfinite(*b.mean));
    EXPECT_NEAR(*b.mean, want, 1e-14 * big);
    EXPECT_EQ(b.max, big);
  }
}

TEST_F(SqlStoreTest, UiMetricBucketsEdgeCases) {
  std::string exp = NewExperiment("e");
  NewRun(exp, "r1");
  // Several points at one step: first/last follow (step, timestamp, value).
  ASSERT_TRUE(
      store_->LogBatch("r1", {M("m", 3, 20, 5), M("m", 1, 10, 5), M("m", 2, 30, 5), M("m", 9, 5, 6)}, {}, {}).ok());
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
  ASSERT_TRUE(store_
                  ->LogBatch("r1",
                             {M("inf", inf, 1, 0), M("inf", -inf, 1, 1), M("inf", 2, 1, 2), M("pinf", 1, 1, 0),
                              M("pinf", inf, 1, 1)},
                             {}, {})
                  .ok());
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
  EXPECT_EQ(ui.GetGroupRows(q, GroupSource::kParam, "lr", "acc", 3).status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace kiln::storage
