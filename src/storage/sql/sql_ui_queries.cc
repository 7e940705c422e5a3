#include "storage/sql/sql_ui_queries.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <string>

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

// The sum of a bucket's points for its mean. PostgreSQL raises an error when
// a float8 sum overflows, so there it sums the finite points in numeric
// (exact; an infinity decides the mean through min/max anyway). SQLite's
// float sum turns to Infinity or NULL instead: BucketAcc notices and the
// bucket's mean is summed again from its points (ExactMean).
std::string SumValue(sql::Dialect d) {
  return d == sql::Dialect::kPostgres
             ? "SUM(CASE WHEN is_nan = 0 AND value <> 'Infinity' AND value <> '-Infinity' THEN value::numeric END)"
             : "SUM(CASE WHEN is_nan = 0 THEN value END)";
}

// A sum column as read back: numeric arrives as text of any length, which
// long double holds (its exponent reaches 10^4932); NULL is nullopt.
std::optional<long double> OptSum(const Stmt& st, int col, sql::Dialect d) {
  if (st.IsNull(col)) return std::nullopt;
  if (d == sql::Dialect::kPostgres) return std::strtold(st.Text(col).c_str(), nullptr);
  return static_cast<long double>(st.Double(col));
}

// The mean of a bucket's non-NaN points: sum / count when every value is
// finite; with an infinity among them the answer follows from min/max alone.
std::optional<double> BucketMean(const MetricBucket& b, std::optional<long double> sum) {
  if (!b.min || !b.max) return std::nullopt;
  const bool pos_inf = std::isinf(*b.max) && *b.max > 0, neg_inf = std::isinf(*b.min) && *b.min < 0;
  if (pos_inf && neg_inf) return std::numeric_limits<double>::quiet_NaN();
  if (pos_inf) return *b.max;
  if (neg_inf) return *b.min;
  if (!sum) return std::nullopt;
  const int64_t n = b.count - b.nan_count;
  return n > 0 ? std::optional<double>(static_cast<double>(*sum / static_cast<long double>(n))) : std::nullopt;
}

std::optional<double> OptDouble(const Stmt& st, int col) {
  if (st.IsNull(col)) return std::nullopt;
  return st.Double(col);
}

// metric_blocks.block is step >> 6: the schema's triggers keep one row per
// 64 steps of each history (storage/sqlite/migrations.cc, v10).
constexpr int kBlockShift = 6;

// A bucket being summed from block summaries and single points. Sums add in
// long double, which no sum of doubles overflows.
struct BucketAcc {
  int64_t count = 0;
  int64_t nan_count = 0;
  std::optional<double> min, max;
  std::optional<long double> sum;
  bool sum_unknown = false;                          // a part with non-NaN points came without a finite sum
  int64_t lo = std::numeric_limits<int64_t>::max();  // smallest and greatest x of its points
  int64_t hi = std::numeric_limits<int64_t>::min();

  void Add(int64_t n, int64_t nans, std::optional<double> vmin, std::optional<double> vmax,
           std::optional<long double> vsum, int64_t xlo, int64_t xhi) {
    count += n;
    nan_count += nans;
    if (vmin) min = min ? std::min(*min, *vmin) : *vmin;
    if (vmax) max = max ? std::max(*max, *vmax) : *vmax;
    if (n > nans) {
      if (vsum && std::isfinite(*vsum)) {
        sum = sum ? *sum + *vsum : *vsum;
      } else {
        sum_unknown = true;
      }
    }
    lo = std::min(lo, xlo);
    hi = std::max(hi, xhi);
  }
  void AddPoint(int64_t x, double stored_value, bool is_nan) {
    if (is_nan) {
      Add(1, 1, std::nullopt, std::nullopt, std::nullopt, x, x);
    } else {
      Add(1, 0, stored_value, stored_value, stored_value, x, x);
    }
  }
};

// The sum of the non-NaN points with x in [lo, hi], added one by one: for a
// bucket whose summaries could not give it (SQLite's sum overflowed).
StatusOr<long double> ExactSum(sql::Conn& c, int64_t run_pk, const std::string& key, const std::string& x, int64_t lo,
                               int64_t hi) {
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("SELECT value FROM metrics WHERE run_pk = ?1 AND key = ?2 AND " + x +
                                           " >= ?3 AND " + x + " <= ?4 AND is_nan = 0"));
  st.Bind(1, run_pk).Bind(2, key).Bind(3, lo).Bind(4, hi);
  long double sum = 0;
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    sum += st.Double(0);
  }
  return sum;
}

// Step buckets from the block summaries: a block whose points all fall in one
// bucket of the range is added whole; the points of a block that straddles a
// bucket boundary or an end of the range are read one by one (consecutive
// such blocks in one range scan). A 1 M-point history in 1,000 buckets reads
// ~16 k summaries instead of 1 M points.
Status StepBucketsFromBlocks(sql::Conn& c, int64_t run_pk, const std::string& key, const BucketPlan& plan,
                             std::map<int64_t, BucketAcc>& acc) {
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("SELECT count, nan_count, min_value, max_value, sum_value, min_step, "
                                           "max_step FROM metric_blocks WHERE run_pk = ?1 AND key = ?2 AND "
                                           "block >= ?3 AND block <= ?4 ORDER BY block"));
  st.Bind(1, run_pk).Bind(2, key).Bind(3, plan.start >> kBlockShift).Bind(4, plan.end >> kBlockShift);
  std::vector<std::pair<int64_t, int64_t>> partial;  // step ranges to read point by point
  bool last_partial = false;
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    const int64_t lo = st.Int(5), hi = st.Int(6);
    if (lo >= plan.start && hi <= plan.end && plan.IndexOf(lo) == plan.IndexOf(hi)) {
      acc[plan.IndexOf(lo)].Add(st.Int(0), st.Int(1), OptDouble(st, 2), OptDouble(st, 3), OptSum(st, 4, c.dialect()),
                                lo, hi);
      last_partial = false;
      continue;
    }
    const int64_t a = std::max(lo, plan.start), b = std::min(hi, plan.end);
    if (a > b) continue;  // the block's points lie outside the range
    if (last_partial) {
      partial.back().second = b;
    } else {
      partial.emplace_back(a, b);
    }
    last_partial = true;
  }
  if (partial.empty()) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(Stmt pts, c.Prepare("SELECT step, value, is_nan FROM metrics WHERE run_pk = ?1 AND "
                                            "key = ?2 AND step >= ?3 AND step <= ?4"));
  pts.Bind(1, run_pk).Bind(2, key);
  for (const auto& [a, b] : partial) {
    pts.Bind(3, a).Bind(4, b);
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, pts.Step());
      if (!row) break;
      const int64_t x = pts.Int(0);
      acc[plan.IndexOf(x)].AddPoint(x, pts.Double(1), pts.Int(2) != 0);
    }
    pts.Reset();
  }
  return Status::Ok();
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
                                                           "ORDER BY step ") +
                                               dir + " LIMIT 1"));
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
    KILN_ASSIGN_OR_RETURN(out.total_count, c.QueryInt("SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM "
                                                      "metric_blocks WHERE run_pk = ?1 AND key = ?2",
                                                      {run.pk, q.key}));
    return Status::Ok();
  };
  // Only one bound given and it lies past the history: nothing to bucket.
  if (end < start) {
    if (!total_known) KILN_RETURN_IF_ERROR(count_all());
    return out;
  }
  KILN_ASSIGN_OR_RETURN(BucketPlan plan, PlanBuckets(start, end, q.max_buckets));
  out.plan = plan;

  std::map<int64_t, BucketAcc> acc;  // bucket index -> its sums
  if (by_step) {
    KILN_RETURN_IF_ERROR(StepBucketsFromBlocks(c, run.pk, q.key, plan, acc));
  } else {
    // (x - start) / width is exact integer division: x >= start, so it floors.
    KILN_ASSIGN_OR_RETURN(Stmt st,
                          c.Prepare("SELECT (" + x + " - ?3) / ?4, COUNT(*), " + kNanCount + ", " + kMinValue + ", " +
                                    kMaxValue + ", MIN(" + x + "), MAX(" + x + "), " + SumValue(c.dialect()) +
                                    " FROM metrics WHERE run_pk = ?1 AND key = ?2 AND " + x + " >= ?3 AND " + x +
                                    " <= ?5 GROUP BY 1 ORDER BY 1"));
    st.Bind(1, run.pk).Bind(2, q.key).Bind(3, plan.start).Bind(4, plan.width).Bind(5, plan.end);
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      acc[st.Int(0)].Add(st.Int(1), st.Int(2), OptDouble(st, 3), OptDouble(st, 4), OptSum(st, 7, c.dialect()),
                         st.Int(5), st.Int(6));
    }
  }
  std::map<int64_t, size_t> by_index;             // bucket index -> position in out.buckets
  std::vector<std::pair<int64_t, int64_t>> ends;  // each bucket's smallest and greatest x
  for (auto& [index, a] : acc) {
    if (a.sum_unknown && a.min && a.max && std::isfinite(*a.min) && std::isfinite(*a.max)) {
      KILN_ASSIGN_OR_RETURN(a.sum, ExactSum(c, run.pk, q.key, x, a.lo, a.hi));
    }
    MetricBucket b;
    b.x_start = plan.BucketStart(index);
    b.x_end = plan.BucketEnd(index);
    b.count = a.count;
    b.nan_count = a.nan_count;
    b.min = a.min;
    b.max = a.max;
    b.mean = BucketMean(b, a.sum);
    ends.emplace_back(a.lo, a.hi);
    out.range_count += b.count;
    by_index[index] = out.buckets.size();
    out.buckets.push_back(b);
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
      Stmt st,
      c.Prepare("SELECT step, timestamp, value, is_nan FROM metrics WHERE run_pk = ?1 AND key = ?2 AND " + x + " IN " +
                sql::JsonArrayValues(c.dialect(), "?3", /*integers=*/true) + " ORDER BY " + order + ", is_nan"));
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
    KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(std::string("SELECT r.run_id, m.key, CAST(SUM(m.count) AS BIGINT), ") +
                                             "CAST(SUM(m.nan_count) AS BIGINT), MIN(m.min_value), MAX(m.max_value) "
                                             "FROM runs r JOIN metric_blocks m ON m.run_pk = r.id "
                                             "WHERE r.run_id IN " +
                                             sql::JsonArrayValues(d, "?1", false) + " AND m.key IN " +
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
      KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare(std::string("SELECT DISTINCT key FROM ") + table + " WHERE run_pk IN (" +
                                               runs + ") ORDER BY key"));
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
      "WHERE r.id IN (" +
      search.sql + ") ORDER BY r.start_time DESC, r.run_id";
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
