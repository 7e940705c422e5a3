#include "storage/sql/sql_ui_queries.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "storage/sql/run_search_sql.h"
#include "storage/sql/search_sql_common.h"
#include "storage/sql/store_queries.h"

namespace kiln::storage {

using sql::Stmt;

namespace {

// NaN points are stored as value 0 with is_nan = 1: they must not reach MIN/MAX.
constexpr const char* kMinValue = "MIN(CASE WHEN is_nan = 0 THEN value END)";
constexpr const char* kMaxValue = "MAX(CASE WHEN is_nan = 0 THEN value END)";
constexpr const char* kNanCount = "COUNT(CASE WHEN is_nan <> 0 THEN 1 END)";
constexpr const char* kSumValue = "SUM(CASE WHEN is_nan = 0 THEN value END)";

// The mean of a bucket's non-NaN points: SUM / count when every value is
// finite; with an infinity among them the answer follows from min/max alone
// (engines differ on inf - inf in SUM: NULL on SQLite, NaN on PostgreSQL).
std::optional<double> BucketMean(const MetricBucket& b, const Stmt& st, int sum_col) {
  if (!b.min || !b.max) return std::nullopt;
  const bool pos_inf = std::isinf(*b.max) && *b.max > 0, neg_inf = std::isinf(*b.min) && *b.min < 0;
  if (pos_inf && neg_inf) return std::numeric_limits<double>::quiet_NaN();
  if (pos_inf) return *b.max;
  if (neg_inf) return *b.min;
  if (st.IsNull(sum_col)) return std::nullopt;
  const int64_t n = b.count - b.nan_count;
  return n > 0 ? std::optional<double>(st.Double(sum_col) / static_cast<double>(n)) : std::nullopt;
}

std::optional<double> OptDouble(const Stmt& st, int col) {
  if (st.IsNull(col)) return std::nullopt;
  return st.Double(col);
}

StatusOr<MetricBuckets> BucketsOfRun(sql::Conn& c, const MetricBucketsQuery& q) {
  KILN_ASSIGN_OR_RETURN(sql::RunRef run, sql::FindRun(c, q.run_id));
  MetricBuckets out;
  out.run_id = q.run_id;
  out.key = q.key;
  const bool by_step = q.axis == MetricAxis::kStep;
  const std::string x = by_step ? "step" : "timestamp";
  bool total_known = false;
  if (by_step) {
    // The primary key is ordered by step: the history's ends are two seeks, not a scan.
    for (const char* dir : {"ASC", "DESC"}) {
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(std::string("SELECT step FROM metrics WHERE run_pk = ?1 AND key = ?2 "
                                                           "ORDER BY step ") + dir + " LIMIT 1"));
      st.Bind(1, run.pk).Bind(2, q.key);
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;  // no point at all
      (dir[0] == 'A' ? out.x_min : out.x_max) = st.Int(0);
    }
  } else {
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("SELECT COUNT(*), MIN(timestamp), MAX(timestamp) FROM metrics "
                                             "WHERE run_pk = ?1 AND key = ?2"));
    st.Bind(1, run.pk).Bind(2, q.key);
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) out.total_count = st.Int(0);
    if (out.total_count == 0) return out;
    out.x_min = st.Int(1);
    out.x_max = st.Int(2);
    total_known = true;
  }
  const int64_t start = q.start.value_or(*out.x_min);
  const int64_t end = q.end.value_or(*out.x_max);
  auto count_all = [&]() -> Status {
    KILN_ASSIGN_OR_RETURN(out.total_count,
                          c.QueryInt("SELECT COUNT(*) FROM metrics WHERE run_pk = ?1 AND key = ?2", {run.pk, q.key}));
    return Status::Ok();
  };
  // Only one bound given and it lies past the history: nothing to bucket.
  if (end < start) {
    if (!total_known) KILN_RETURN_IF_ERROR(count_all());
    return out;
  }
  KILN_ASSIGN_OR_RETURN(BucketPlan plan, PlanBuckets(start, end, q.max_buckets));
  out.plan = plan;

  std::map<int64_t, size_t> by_index;  // bucket index -> position in out.buckets
  std::vector<std::pair<int64_t, int64_t>> ends;  // each bucket's smallest and greatest x
  auto add_bucket = [&](int64_t index, const Stmt& st) {
    MetricBucket b;
    b.x_start = plan.BucketStart(index);
    b.x_end = plan.BucketEnd(index);
    b.count = st.Int(1);
    b.nan_count = st.Int(2);
    b.min = OptDouble(st, 3);
    b.max = OptDouble(st, 4);
    b.mean = BucketMean(b, st, 7);
    ends.emplace_back(st.Int(5), st.Int(6));
    out.range_count += b.count;
    by_index[index] = out.buckets.size();
    out.buckets.push_back(b);
  };
  if (by_step && c.dialect() == sql::Dialect::kSqlite) {
    // SQLite sorts a GROUP BY on an expression in a temporary B-tree; one
    // range aggregate per bucket walks the step-ordered key instead.
    KILN_ASSIGN_OR_RETURN(
        Stmt st, c.Prepare(std::string("SELECT 0, COUNT(*), ") + kNanCount + ", " + kMinValue + ", " + kMaxValue +
                           ", MIN(step), MAX(step), " + kSumValue +
                           " FROM metrics WHERE run_pk = ?1 AND key = ?2 AND step >= ?3 AND step <= ?4"));
    st.Bind(1, run.pk).Bind(2, q.key);
    for (int64_t i = 0; i < plan.count; ++i) {
      st.Bind(3, plan.BucketStart(i)).Bind(4, plan.BucketEnd(i));
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (row && st.Int(1) > 0) add_bucket(i, st);
      st.Reset();
    }
  } else {
    // (x - start) / width is exact integer division: x >= start, so it floors.
    KILN_ASSIGN_OR_RETURN(
        Stmt st, c.Prepare("SELECT (" + x + " - ?3) / ?4, COUNT(*), " + kNanCount + ", " + kMinValue + ", " +
                           kMaxValue + ", MIN(" + x + "), MAX(" + x + "), " + kSumValue +
                           " FROM metrics WHERE run_pk = ?1 AND key = ?2 AND " + x + " >= ?3 AND " + x +
                           " <= ?5 GROUP BY 1 ORDER BY 1"));
    st.Bind(1, run.pk).Bind(2, q.key).Bind(3, plan.start).Bind(4, plan.width).Bind(5, plan.end);
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      add_bucket(st.Int(0), st);
    }
  }
  if (!total_known) {
    if (plan.start <= *out.x_min && plan.end >= *out.x_max) {
      out.total_count = out.range_count;  // the range holds the whole history
    } else {
      KILN_RETURN_IF_ERROR(count_all());
    }
  }
  if (out.buckets.empty()) return out;

  std::vector<int64_t> xs;
  xs.reserve(ends.size() * 2);
  for (const auto& [lo, hi] : ends) {
    xs.push_back(lo);
    if (hi != lo) xs.push_back(hi);
  }
  // Ties at one x are ordered as MLflow orders a history: step, timestamp, value.
  const std::string order = by_step ? "step, timestamp, value" : "timestamp, step, value";
  KILN_ASSIGN_OR_RETURN(
      Stmt st, c.Prepare("SELECT step, timestamp, value, is_nan FROM metrics WHERE run_pk = ?1 AND key = ?2 AND " +
                         x + " IN " + sql::JsonArrayValues(c.dialect(), "?3", /*integers=*/true) + " ORDER BY " +
                         order + ", is_nan"));
  st.Bind(1, run.pk).Bind(2, q.key).Bind(3, sql::JsonIntArray(xs));
  std::vector<bool> have_first(out.buckets.size(), false);
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    BucketPoint p{st.Int(0), st.Int(1), sql::DecodeMetricValue(st.Double(2), st.Int(3) != 0)};
    const int64_t px = by_step ? p.step : p.timestamp;
    auto it = by_index.find(plan.IndexOf(px));
    if (it == by_index.end()) continue;
    const size_t i = it->second;
    if (px == ends[i].first && !have_first[i]) {
      out.buckets[i].first = p;
      have_first[i] = true;
    }
    if (px == ends[i].second) out.buckets[i].last = p;  // rows ascend: the final one wins
  }
  return out;
}

}  // namespace

StatusOr<std::vector<MetricBuckets>> SqlUiQueryStore::GetMetricBuckets(const std::vector<MetricBucketsQuery>& queries) {
  std::vector<MetricBuckets> result;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    result.clear();
    for (const auto& q : queries) {
      KILN_ASSIGN_OR_RETURN(MetricBuckets b, BucketsOfRun(c, q));
      result.push_back(std::move(b));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return result;
}

StatusOr<std::map<std::string, std::map<std::string, MetricRange>>> SqlUiQueryStore::GetMetricRanges(
    const std::vector<std::string>& run_ids, const std::vector<std::string>& keys) {
  std::map<std::string, std::map<std::string, MetricRange>> out;
  if (run_ids.empty() || keys.empty()) return out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    out.clear();
    const sql::Dialect d = c.dialect();
    KILN_ASSIGN_OR_RETURN(
        Stmt st, c.Prepare(std::string("SELECT r.run_id, m.key, COUNT(*), ") +
                           "COUNT(CASE WHEN m.is_nan <> 0 THEN 1 END), MIN(CASE WHEN m.is_nan = 0 THEN m.value END), "
                           "MAX(CASE WHEN m.is_nan = 0 THEN m.value END) FROM runs r JOIN metrics m ON m.run_pk = r.id "
                           "WHERE r.run_id IN " + sql::JsonArrayValues(d, "?1", false) + " AND m.key IN " +
                           sql::JsonArrayValues(d, "?2", false) + " GROUP BY r.run_id, m.key"));
    st.Bind(1, sql::JsonStringArray(run_ids)).Bind(2, sql::JsonStringArray(keys));
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      MetricRange r;
      r.count = st.Int(2);
      r.nan_count = st.Int(3);
      r.min = OptDouble(st, 4);
      r.max = OptDouble(st, 5);
      out[st.Text(0)][st.Text(1)] = r;
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<RunColumnKeys> SqlUiQueryStore::GetRunColumnKeys(const std::vector<std::string>& experiment_ids) {
  std::vector<int64_t> ids;
  for (const auto& e : experiment_ids) {
    int64_t v = 0;
    if (sql::ParseInt64(e, &v)) ids.push_back(v);  // a non-numeric id names no experiment
  }
  RunColumnKeys out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    out = RunColumnKeys{};
    const std::string runs = "SELECT id FROM runs WHERE experiment_id IN " +
                             sql::JsonArrayValues(c.dialect(), "?1", true) + " AND lifecycle_stage = 'active'";
    // latest_metrics holds one row per (run, key): the keys without the histories.
    for (auto [table, dest] : {std::pair<const char*, std::vector<std::string>*>{"params", &out.params},
                               {"latest_metrics", &out.metrics},
                               {"tags", &out.tags}}) {
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(std::string("SELECT DISTINCT key FROM ") + table +
                                               " WHERE run_pk IN (" + runs + ") ORDER BY key"));
      st.Bind(1, sql::JsonIntArray(ids));
      while (true) {
        KILN_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        dest->push_back(st.Text(0));
      }
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

StatusOr<std::vector<GroupRow>> SqlUiQueryStore::GetGroupRows(const RunQuery& query, GroupSource source,
                                                              const std::string& group_key,
                                                              const std::string& metric_key, int64_t max_runs) {
  RunQuery all = query;
  all.offset = 0;
  all.max_results = max_runs;  // the search asks max_results + 1: tells "too many" apart
  KILN_ASSIGN_OR_RETURN(sql::SqlQuery search, sql::BuildRunSearchSql(all, db_.dialect()));
  const std::string sql =
      std::string("SELECT r.run_id, g.value, lm.value, lm.is_nan FROM runs r LEFT JOIN ") +
      (source == GroupSource::kParam ? "params" : "tags") +
      " g ON g.run_pk = r.id AND g.key = ? LEFT JOIN latest_metrics lm ON lm.run_pk = r.id AND lm.key = ? "
      "WHERE r.id IN (" + search.sql + ") ORDER BY r.start_time DESC, r.run_id";
  std::vector<sql::Arg> args{group_key, metric_key};
  args.insert(args.end(), search.args.begin(), search.args.end());
  std::vector<GroupRow> out;
  Status s = db_.Read([&](sql::Conn& c) -> Status {
    out.clear();
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(sql, /*cache=*/false));
    st.BindAll(args);
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      if (static_cast<int64_t>(out.size()) >= max_runs) {
        return FailedPrecondition("more than " + std::to_string(max_runs) +
                                  " runs match: narrow the filter to group them");
      }
      GroupRow g;
      g.run_id = st.Text(0);
      if (!st.IsNull(1)) g.group_value = st.Text(1);
      if (!st.IsNull(2)) g.last_value = sql::DecodeMetricValue(st.Double(2), st.Int(3) != 0);
      out.push_back(std::move(g));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace kiln::storage
