// RunAnalytics: the aggregate reads behind kiln's web UI — metric histories
// reduced to min/max buckets for a visible x range, one page of the runs
// table with only the asked columns and last/min/max per metric, the column
// chooser's keys, and runs grouped by a param or tag. Enforces the UI
// protocol's limits (buckets <= 2000, runs per chart <= 100, page <= 1000)
// with InvalidArgument; knows no HTTP and no SQL.
//
// Borrows the query store and the tracking service, which must outlive it.
// Thread-safe (both are).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/ui_query_store.h"
#include "tracking/tracking_service.h"

namespace kiln::tracking {

inline constexpr int64_t kMaxUiBuckets = 2000;
inline constexpr int64_t kDefaultUiBuckets = 1000;
inline constexpr size_t kMaxUiChartRuns = 100;
inline constexpr int64_t kMaxUiPageSize = 1000;
inline constexpr int64_t kDefaultUiPageSize = 100;
inline constexpr int64_t kMaxUiGroupRuns = 100000;

struct MetricBucketsRequest {
  std::vector<std::string> run_ids;
  std::string key;
  storage::MetricAxis axis = storage::MetricAxis::kStep;
  std::optional<int64_t> start;
  std::optional<int64_t> end;
  std::optional<int64_t> buckets;
};

struct RunsTableColumns {
  std::vector<std::string> params;
  std::vector<std::string> metrics;
  std::vector<std::string> tags;
};

struct RunsTableRequest {
  std::vector<std::string> experiment_ids;
  std::string filter;
  std::string view_type;
  std::vector<std::string> order_by;
  std::string page_token;
  std::optional<int64_t> max_results;
  RunsTableColumns columns;
  std::vector<std::string> metric_aggregates;  // of "last", "min", "max"; empty: "last"
};

struct MetricCell {
  std::optional<storage::Metric> last;  // the latest point (greatest step, then timestamp, value)
  std::optional<storage::MetricRange> range;  // min/max over the whole history, when asked
};

struct RunsTableRow {
  storage::RunInfo info;
  std::map<std::string, std::string> params;  // asked and present
  std::map<std::string, std::string> tags;
  std::map<std::string, MetricCell> metrics;
};

struct RunsTablePage {
  std::vector<RunsTableRow> rows;
  std::string next_page_token;
  bool last = false, min = false, max = false;  // the aggregates computed
};

struct RunGroupsRequest {
  std::vector<std::string> experiment_ids;
  std::string filter;
  std::string view_type;
  storage::GroupSource source = storage::GroupSource::kParam;
  std::string group_key;
  std::string metric_key;  // empty: groups without metric statistics
};

struct RunGroup {
  std::optional<std::string> value;  // unset: runs without the param/tag
  std::vector<std::string> run_ids;
  int64_t metric_count = 0;  // members whose last value is a number (not NaN)
  int64_t nan_count = 0;     // members whose last value is NaN
  std::optional<double> mean, min, max;  // over the metric_count members
};

class RunAnalytics {
 public:
  RunAnalytics(storage::UiQueryStore& store, TrackingService& tracking);

  StatusOr<std::vector<storage::MetricBuckets>> MetricBuckets(const MetricBucketsRequest& req);
  StatusOr<RunsTablePage> RunsTable(const RunsTableRequest& req);
  StatusOr<storage::RunColumnKeys> RunColumns(const std::vector<std::string>& experiment_ids);
  // Groups in value order, the "no value" group last.
  StatusOr<std::vector<RunGroup>> RunGroups(const RunGroupsRequest& req);

 private:
  storage::UiQueryStore& store_;
  TrackingService& tracking_;
};

}  // namespace kiln::tracking
