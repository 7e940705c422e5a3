// UiQueryStore: the read-only aggregate queries behind kiln's web UI (metric
// histories reduced to min/max buckets, per-run metric ranges, the column
// chooser's keys, grouping rows). They are computed inside the database so a
// 1,000,000-point history never crosses into memory; the SQL implementation
// is storage/sql/sql_ui_queries.h.
//
// Contract: every call is one read transaction (a consistent snapshot);
// thread-safe; NotFound for an unknown run ("Run with id=<id> not found").
// Limits (bucket count, run count) are the caller's job.
//
// Metric values follow MLflow's storage: a NaN point is a point (it counts)
// but has no magnitude, so it never takes part in min/max; +-Infinity does
// (it is the bucket's min or max, exactly as logged).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/search_query.h"

namespace kiln::storage {

enum class MetricAxis { kStep, kTime };  // x = the point's step, or its timestamp (ms)

// Equal-width integer buckets over the inclusive range [start, end]: bucket b
// holds start + b*width .. start + (b+1)*width - 1 (the last one clipped to
// end), so every x lands in exactly one bucket and there are at most the
// requested count.
struct BucketPlan {
  int64_t start = 0;
  int64_t end = 0;
  int64_t width = 1;
  int64_t count = 0;  // buckets the range is cut into
  int64_t IndexOf(int64_t x) const;
  int64_t BucketStart(int64_t b) const;
  int64_t BucketEnd(int64_t b) const;
};
// InvalidArgument when end < start, max_buckets < 1, or the range holds more
// than INT64_MAX values.
StatusOr<BucketPlan> PlanBuckets(int64_t start, int64_t end, int64_t max_buckets);

struct BucketPoint {
  int64_t step = 0;
  int64_t timestamp = 0;
  double value = 0;  // NaN when logged as NaN
};

struct MetricBucket {
  int64_t x_start = 0;  // the bucket's nominal bounds (inclusive)
  int64_t x_end = 0;
  int64_t count = 0;      // points, NaN ones included
  int64_t nan_count = 0;  // points logged as NaN
  std::optional<double> min;  // over the non-NaN points; unset when all are NaN
  std::optional<double> max;
  // Arithmetic mean of the non-NaN points (what a chart's line and its
  // smoothing follow); unset when all are NaN. +Infinity among them makes it
  // +Infinity, -Infinity -Infinity, both NaN: decided from min/max here, not
  // left to the engine's overflow rules.
  std::optional<double> mean;
  BucketPoint first;  // smallest x (ties: step, timestamp, value order)
  BucketPoint last;   // greatest x
};

struct MetricBucketsQuery {
  std::string run_id;
  std::string key;
  MetricAxis axis = MetricAxis::kStep;
  std::optional<int64_t> start;  // unset: the history's first x
  std::optional<int64_t> end;    // unset: the history's last x
  int64_t max_buckets = 1000;
};

struct MetricBuckets {
  std::string run_id;
  std::string key;
  int64_t total_count = 0;           // points of the whole history
  std::optional<int64_t> x_min;      // the whole history's x range (unset: no points)
  std::optional<int64_t> x_max;
  std::optional<BucketPlan> plan;    // unset when the range holds no point to bucket
  int64_t range_count = 0;           // points inside [plan.start, plan.end]
  std::vector<MetricBucket> buckets; // non-empty buckets only, in x order
};

// Min/max over a run's whole history of one metric.
struct MetricRange {
  int64_t count = 0;
  int64_t nan_count = 0;
  std::optional<double> min;
  std::optional<double> max;
};

struct RunColumnKeys {
  std::vector<std::string> params;   // sorted, distinct
  std::vector<std::string> metrics;
  std::vector<std::string> tags;
};

enum class GroupSource { kParam, kTag };

struct GroupRow {
  std::string run_id;
  std::optional<std::string> group_value;  // unset: the run has no such param/tag
  std::optional<double> last_value;        // latest value of the metric (NaN possible); unset: never logged
};

class UiQueryStore {
 public:
  virtual ~UiQueryStore() = default;

  virtual StatusOr<std::vector<MetricBuckets>> GetMetricBuckets(const std::vector<MetricBucketsQuery>& queries) = 0;
  // run id -> metric key -> range, for the runs and keys given (absent: no point).
  virtual StatusOr<std::map<std::string, std::map<std::string, MetricRange>>> GetMetricRanges(
      const std::vector<std::string>& run_ids, const std::vector<std::string>& keys) = 0;
  // Keys over the experiments' active runs.
  virtual StatusOr<RunColumnKeys> GetRunColumnKeys(const std::vector<std::string>& experiment_ids) = 0;
  // One row per run the query matches (its order); FailedPrecondition when
  // more than max_runs match.
  virtual StatusOr<std::vector<GroupRow>> GetGroupRows(const RunQuery& query, GroupSource source,
                                                       const std::string& group_key, const std::string& metric_key,
                                                       int64_t max_runs) = 0;
};

}  // namespace kiln::storage
