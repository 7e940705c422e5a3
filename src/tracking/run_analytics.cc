#include "tracking/run_analytics.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "tracking/search_filter_parser.h"
#include "tracking/validation.h"

namespace kiln::tracking {

RunAnalytics::RunAnalytics(storage::UiQueryStore& store, TrackingService& tracking)
    : store_(store), tracking_(tracking) {}

namespace {

Status RequireExperiments(const std::vector<std::string>& ids) {
  if (ids.empty()) return InvalidArgument("experiment_ids must name at least one experiment");
  for (const auto& id : ids) KILN_RETURN_IF_ERROR(ValidateExperimentId(id));
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<storage::MetricBuckets>> RunAnalytics::MetricBuckets(const MetricBucketsRequest& req) {
  if (req.run_ids.empty()) return InvalidArgument("the request must name at least one run (run_id or run_ids)");
  if (req.run_ids.size() > kMaxUiChartRuns) {
    return InvalidArgument("at most " + std::to_string(kMaxUiChartRuns) + " runs per request; got " +
                           std::to_string(req.run_ids.size()));
  }
  if (req.key.empty()) return InvalidArgument("missing value for required parameter 'key'");
  const int64_t buckets = req.buckets.value_or(kDefaultUiBuckets);
  if (buckets < 1 || buckets > kMaxUiBuckets) {
    return InvalidArgument("buckets must be between 1 and " + std::to_string(kMaxUiBuckets) + "; got " +
                           std::to_string(buckets));
  }
  if (req.start && req.end && *req.end < *req.start) {
    return InvalidArgument("end (" + std::to_string(*req.end) + ") is before start (" + std::to_string(*req.start) +
                           ")");
  }
  std::vector<storage::MetricBucketsQuery> queries;
  std::set<std::string> seen;
  for (const auto& id : req.run_ids) {
    KILN_RETURN_IF_ERROR(ValidateRunId(id));
    if (!seen.insert(id).second) continue;  // one series per run
    storage::MetricBucketsQuery q;
    q.run_id = id;
    q.key = req.key;
    q.axis = req.axis;
    q.start = req.start;
    q.end = req.end;
    q.max_buckets = buckets;
    queries.push_back(std::move(q));
  }
  return store_.GetMetricBuckets(queries);
}

StatusOr<RunsTablePage> RunAnalytics::RunsTable(const RunsTableRequest& req) {
  KILN_RETURN_IF_ERROR(RequireExperiments(req.experiment_ids));
  const int64_t page_size = req.max_results.value_or(kDefaultUiPageSize);
  if (page_size < 1 || page_size > kMaxUiPageSize) {
    return InvalidArgument("max_results must be between 1 and " + std::to_string(kMaxUiPageSize) + "; got " +
                           std::to_string(page_size));
  }
  RunsTablePage out;
  for (const auto& a : req.metric_aggregates) {
    if (a == "last") {
      out.last = true;
    } else if (a == "min") {
      out.min = true;
    } else if (a == "max") {
      out.max = true;
    } else {
      return InvalidArgument("unknown metric aggregate '" + a + "': expected \"last\", \"min\" or \"max\"");
    }
  }
  if (req.metric_aggregates.empty()) out.last = true;

  SearchRunsRequest search;
  search.experiment_ids = req.experiment_ids;
  search.filter = req.filter;
  search.view_type = req.view_type;
  search.max_results = page_size;
  search.order_by = req.order_by;
  search.page_token = req.page_token;
  KILN_ASSIGN_OR_RETURN(auto page, tracking_.SearchRuns(search));
  out.next_page_token = page.next_page_token;

  std::map<std::string, std::map<std::string, storage::MetricRange>> ranges;
  if ((out.min || out.max) && !req.columns.metrics.empty() && !page.items.empty()) {
    std::vector<std::string> ids;
    for (const auto& r : page.items) ids.push_back(r.info.run_id);
    KILN_ASSIGN_OR_RETURN(ranges, store_.GetMetricRanges(ids, req.columns.metrics));
  }
  const std::set<std::string> want_params(req.columns.params.begin(), req.columns.params.end());
  const std::set<std::string> want_tags(req.columns.tags.begin(), req.columns.tags.end());
  const std::set<std::string> want_metrics(req.columns.metrics.begin(), req.columns.metrics.end());
  for (auto& run : page.items) {
    RunsTableRow row;
    row.info = run.info;
    for (auto& p : run.params) {
      if (want_params.count(p.key)) row.params[p.key] = p.value;
    }
    for (auto& t : run.tags) {
      if (want_tags.count(t.key)) row.tags[t.key] = t.value;
    }
    for (auto& m : run.metrics) {
      if (want_metrics.count(m.key)) row.metrics[m.key].last = m;
    }
    if (auto r = ranges.find(run.info.run_id); r != ranges.end()) {
      for (auto& [key, range] : r->second) row.metrics[key].range = range;
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

StatusOr<storage::RunColumnKeys> RunAnalytics::RunColumns(const std::vector<std::string>& experiment_ids) {
  KILN_RETURN_IF_ERROR(RequireExperiments(experiment_ids));
  return store_.GetRunColumnKeys(experiment_ids);
}

StatusOr<std::vector<RunGroup>> RunAnalytics::RunGroups(const RunGroupsRequest& req) {
  KILN_RETURN_IF_ERROR(RequireExperiments(req.experiment_ids));
  if (req.group_key.empty()) return InvalidArgument("group_by must name a param or tag key");
  storage::RunQuery q;
  q.experiment_ids = req.experiment_ids;
  if (!req.view_type.empty()) {
    KILN_ASSIGN_OR_RETURN(q.view, ParseViewType(req.view_type));
  }
  KILN_ASSIGN_OR_RETURN(q.filter, ParseRunFilter(req.filter));
  KILN_ASSIGN_OR_RETURN(auto rows,
                        store_.GetGroupRows(q, req.source, req.group_key, req.metric_key, kMaxUiGroupRuns));
  std::map<std::string, RunGroup> valued;
  RunGroup none;
  std::map<const RunGroup*, double> sums;
  for (auto& r : rows) {
    RunGroup* g = r.group_value ? &valued[*r.group_value] : &none;
    if (r.group_value) g->value = r.group_value;
    g->run_ids.push_back(r.run_id);
    if (!r.last_value || req.metric_key.empty()) continue;
    const double v = *r.last_value;
    if (std::isnan(v)) {
      ++g->nan_count;
      continue;
    }
    ++g->metric_count;
    sums[g] += v;
    g->min = g->min ? std::min(*g->min, v) : v;
    g->max = g->max ? std::max(*g->max, v) : v;
  }
  std::vector<RunGroup> out;
  auto finish = [&](RunGroup& g) {
    // +inf and -inf members make the sum NaN: the mean is then undefined, and left unset.
    if (g.metric_count > 0) {
      const double mean = sums[&g] / static_cast<double>(g.metric_count);
      if (!std::isnan(mean)) g.mean = mean;
    }
    out.push_back(std::move(g));
  };
  for (auto& [value, g] : valued) finish(g);
  if (!none.run_ids.empty()) finish(none);
  return out;
}

}  // namespace kiln::tracking
