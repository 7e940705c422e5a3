#include "api/ui_data/ui_data_json.h"

#include "api/mlflow/entity_json.h"

namespace kiln::api::ui_data {

using mlflow::DoubleJson;
using nlohmann::json;

namespace {

json OptDouble(const std::optional<double>& v) { return v ? DoubleJson(*v) : json(nullptr); }

json PointJson(const storage::BucketPoint& p, storage::MetricAxis axis) {
  return {{"x", axis == storage::MetricAxis::kStep ? p.step : p.timestamp},
          {"step", p.step},
          {"timestamp", p.timestamp},
          {"value", DoubleJson(p.value)}};
}

}  // namespace

json MetricBucketsJson(const storage::MetricBuckets& b, storage::MetricAxis axis) {
  json buckets = json::array();
  for (const auto& k : b.buckets) {
    buckets.push_back({{"x_start", k.x_start},
                       {"x_end", k.x_end},
                       {"count", k.count},
                       {"nan_count", k.nan_count},
                       {"min", OptDouble(k.min)},
                       {"max", OptDouble(k.max)},
                       {"mean", OptDouble(k.mean)},
                       {"first", PointJson(k.first, axis)},
                       {"last", PointJson(k.last, axis)}});
  }
  json out = {{"run_id", b.run_id},
              {"key", b.key},
              {"x", axis == storage::MetricAxis::kStep ? "step" : "time"},
              {"total_count", b.total_count},
              {"x_min", b.x_min ? json(*b.x_min) : json(nullptr)},
              {"x_max", b.x_max ? json(*b.x_max) : json(nullptr)},
              {"range_count", b.range_count},
              {"buckets", std::move(buckets)}};
  if (b.plan) {
    out["start"] = b.plan->start;
    out["end"] = b.plan->end;
    out["bucket_width"] = b.plan->width;
  } else {
    out["start"] = nullptr;
    out["end"] = nullptr;
    out["bucket_width"] = nullptr;
  }
  return out;
}

json RunsTableJson(const tracking::RunsTablePage& page) {
  json runs = json::array();
  for (const auto& row : page.rows) {
    json metrics = json::object();
    for (const auto& [key, cell] : row.metrics) {
      json m = json::object();
      if (page.last && cell.last) {
        m["last"] = DoubleJson(cell.last->value);
        m["last_step"] = cell.last->step;
        m["last_timestamp"] = cell.last->timestamp;
      }
      if (cell.range) {
        if (page.min) m["min"] = OptDouble(cell.range->min);
        if (page.max) m["max"] = OptDouble(cell.range->max);
        m["count"] = cell.range->count;
        m["nan_count"] = cell.range->nan_count;
      }
      if (!m.empty()) metrics[key] = std::move(m);
    }
    runs.push_back({{"info", mlflow::RunInfoJson(row.info)},
                    {"params", row.params},
                    {"tags", row.tags},
                    {"metrics", std::move(metrics)}});
  }
  json out = {{"runs", std::move(runs)}};
  if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
  return out;
}

json RunColumnsJson(const storage::RunColumnKeys& keys) {
  return {{"params", keys.params}, {"metrics", keys.metrics}, {"tags", keys.tags}};
}

json RunGroupsJson(const std::vector<tracking::RunGroup>& groups) {
  json out = json::array();
  for (const auto& g : groups) {
    out.push_back({{"value", g.value ? json(*g.value) : json(nullptr)},
                   {"count", static_cast<int64_t>(g.run_ids.size())},
                   {"run_ids", g.run_ids},
                   {"metric_count", g.metric_count},
                   {"nan_count", g.nan_count},
                   {"mean", OptDouble(g.mean)},
                   {"min", OptDouble(g.min)},
                   {"max", OptDouble(g.max)}});
  }
  return {{"groups", std::move(out)}};
}

}  // namespace kiln::api::ui_data
