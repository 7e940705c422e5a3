#include "storage/sql/sql_tracking_store_metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <unordered_map>

#include "storage/sql/sql_util.h"
#include "storage/sql/store_queries.h"

namespace kiln::storage::sql {
namespace {

// A statement's row count is rounded up to a power of two (the last row
// repeated), so a connection prepares at most 10 shapes of each statement:
// PostgreSQL keeps a plan per shape on every pooled connection, and SQLite's
// statement cache is bounded.
size_t ShapeRows(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

std::string ValuesRows(size_t rows, size_t cols) {
  std::string row = "(";
  for (size_t i = 0; i < cols; ++i) row += i ? ", ?" : "?";
  row += ')';
  std::string out;
  out.reserve(rows * (row.size() + 2));
  for (size_t r = 0; r < rows; ++r) {
    if (r) out += ", ";
    out += row;
  }
  return out;
}

// metrics' primary key within one run. value is the stored value (NaN as 0
// with is_nan 1), so it is never NaN and < is a strict weak order that, like
// the engines' float comparison, treats -0.0 and 0.0 alike.
using PointKey = std::tuple<std::string, int64_t, int64_t, double, int64_t>;

PointKey KeyOf(const Metric& m) {
  return {m.key, m.step, m.timestamp, StoredMetricValue(m.value), int64_t{std::isnan(m.value)}};
}

// Inserts metrics[begin, begin + n) in one statement; marks in `inserted`
// the ones that were not stored yet. A point repeated inside the batch is
// inserted by its first occurrence, as when the points go one at a time.
Status InsertPointChunk(Conn& c, int64_t run_pk, const std::vector<Metric>& metrics, size_t begin, size_t n,
                        std::vector<bool>& inserted) {
  constexpr int kCols = 8;
  const size_t rows = ShapeRows(n);
  // The padding rows (copies of the last row) carry 0 in column8 and are
  // filtered out before they reach the table: as duplicates ON CONFLICT would
  // skip them too, but only after an index probe each. VALUES columns are
  // named column1..columnN on both engines.
  KILN_ASSIGN_OR_RETURN(
      Stmt st, c.Prepare("INSERT INTO metrics(run_pk, key, step, timestamp, value, is_nan, model_id) "
                         "SELECT column1, column2, column3, column4, column5, column6, column7 FROM (VALUES " +
                         ValuesRows(rows, kCols) +
                         ") AS v WHERE column8 = 1 "
                         "ON CONFLICT DO NOTHING RETURNING key, step, timestamp, value, is_nan"));
  for (size_t r = 0; r < rows; ++r) {
    const Metric& m = metrics[begin + std::min(r, n - 1)];
    const int b = static_cast<int>(r) * kCols;
    st.Bind(b + 8, int64_t{r < n ? 1 : 0});
    st.Bind(b + 1, run_pk);
    st.Bind(b + 2, m.key);
    st.Bind(b + 3, m.step);
    st.Bind(b + 4, m.timestamp);
    st.Bind(b + 5, StoredMetricValue(m.value));
    st.Bind(b + 6, int64_t{std::isnan(m.value)});
    st.Bind(b + 7, m.model_id);
  }
  std::map<PointKey, int> fresh;
  while (true) {
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    ++fresh[PointKey{st.Text(0), st.Int(1), st.Int(2), st.Double(3), st.Int(4)}];
  }
  size_t matched = 0;
  for (size_t i = begin; i < begin + n; ++i) {
    auto it = fresh.find(KeyOf(metrics[i]));
    if (it == fresh.end() || it->second == 0) continue;
    --it->second;
    inserted[i] = true;
    ++matched;
  }
  size_t returned = 0;
  for (const auto& [k, left] : fresh) returned += static_cast<size_t>(left);
  if (returned != 0) {
    // The engine reported a row that is none of the batch's points (a value
    // that did not read back exactly): refuse rather than guess.
    return Internal("metrics insert returned " + std::to_string(returned + matched) + " rows, " +
                    std::to_string(matched) + " of them points of the batch");
  }
  return Status::Ok();
}

struct Latest {
  const Metric* m;
  std::tuple<int64_t, int64_t, double> order;  // (step, timestamp, stored value), as the SQL compares
};

Status UpsertLatestChunk(Conn& c, int64_t run_pk, const std::vector<Latest>& latest, size_t begin, size_t n) {
  constexpr int kCols = 6;
  const size_t rows = ShapeRows(n);
  // The padding repeats the last row; DISTINCT drops the repeats (the real
  // rows have distinct keys), since PostgreSQL refuses to upsert one row
  // twice in a statement. `WHERE true` keeps SQLite from reading ON CONFLICT
  // as a join constraint.
  KILN_ASSIGN_OR_RETURN(
      Stmt st,
      c.Prepare("INSERT INTO latest_metrics(run_pk, key, step, timestamp, value, is_nan) "
                "SELECT DISTINCT * FROM (VALUES " +
                ValuesRows(rows, kCols) +
                ") AS v WHERE true ON CONFLICT(run_pk, key) DO UPDATE SET "
                "step = excluded.step, timestamp = excluded.timestamp, value = excluded.value, "
                "is_nan = excluded.is_nan "
                "WHERE (excluded.step, excluded.timestamp, excluded.value) > "
                "(latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)"));
  for (size_t r = 0; r < rows; ++r) {
    const Metric& m = *latest[begin + std::min(r, n - 1)].m;
    const int b = static_cast<int>(r) * kCols;
    st.Bind(b + 1, run_pk);
    st.Bind(b + 2, m.key);
    st.Bind(b + 3, m.step);
    st.Bind(b + 4, m.timestamp);
    st.Bind(b + 5, StoredMetricValue(m.value));
    st.Bind(b + 6, int64_t{std::isnan(m.value)});
  }
  return st.Run();
}

// PostgreSQL: the points and the latest values in one statement whatever
// the batch size, the columns as arrays (6 parameters, one prepared shape,
// a generic plan after the first few). Which points were new need not come
// back: a stored point is never greater than its key's stored latest value,
// so offering every point of the batch to the latest value (the greatest per
// key, the earliest of equals, then only if greater than the stored one)
// gives what offering only the new ones does. Rows go to latest_metrics in
// key order, so concurrent batches on one run lock them in the same order.
// The columns of a batch as PostgreSQL array literals.
struct MetricArrays {
  std::string keys, steps, timestamps, values, nans;
};

MetricArrays ArraysOf(const std::vector<Metric>& metrics) {
  std::vector<std::string_view> keys;
  std::vector<int64_t> steps, timestamps, nans;
  std::vector<double> values;
  keys.reserve(metrics.size());
  steps.reserve(metrics.size());
  timestamps.reserve(metrics.size());
  nans.reserve(metrics.size());
  values.reserve(metrics.size());
  for (const Metric& m : metrics) {
    keys.push_back(m.key);
    steps.push_back(m.step);
    timestamps.push_back(m.timestamp);
    values.push_back(StoredMetricValue(m.value));
    nans.push_back(int64_t{std::isnan(m.value)});
  }
  return {PgTextArray(keys), PgIntArray(steps), PgIntArray(timestamps), PgDoubleArray(values), PgIntArray(nans)};
}

// The statement's body after `WITH run AS (...), `: ?2..?6 are the arrays,
// `run` yields the run's primary key (one row, or none: then nothing is
// written).
constexpr const char* kPgMetricsBody =
    "p AS (SELECT * FROM unnest(CAST(?2 AS TEXT[]), CAST(?3 AS BIGINT[]), CAST(?4 AS BIGINT[]), "
    "CAST(?5 AS DOUBLE PRECISION[]), CAST(?6 AS BIGINT[])) WITH ORDINALITY AS p(key, step, ts, value, is_nan, ord)), "
    "ins AS (INSERT INTO metrics(run_pk, key, step, timestamp, value, is_nan) "
    "SELECT run.id, p.key, p.step, p.ts, p.value, p.is_nan FROM run, p ON CONFLICT DO NOTHING), "
    "up AS (INSERT INTO latest_metrics(run_pk, key, step, timestamp, value, is_nan) "
    "SELECT run.id, b.key, b.step, b.ts, b.value, b.is_nan FROM run, (SELECT DISTINCT ON (key) * FROM p "
    "ORDER BY key, step DESC, ts DESC, value DESC, ord) AS b "
    "ON CONFLICT(run_pk, key) DO UPDATE SET "
    "step = excluded.step, timestamp = excluded.timestamp, value = excluded.value, is_nan = excluded.is_nan "
    "WHERE (excluded.step, excluded.timestamp, excluded.value) > "
    "(latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)) "
    "SELECT id FROM run";

// PostgreSQL: the points and the latest values in one statement whatever
// the batch size, the columns as arrays (6 parameters, one prepared shape,
// a generic plan after the first few). Which points were new need not come
// back: a stored point is never greater than its key's stored latest value,
// so offering every point of the batch to the latest value (the greatest per
// key, the earliest of equals, then only if greater than the stored one)
// gives what offering only the new ones does. Rows go to latest_metrics in
// key order, so concurrent batches on one run lock them in the same order.
// `run` is either the given primary key or the active run named by run_id.
StatusOr<bool> InsertMetricsPostgres(Conn& c, const std::string& run_sql, const Arg& run,
                                     const std::vector<Metric>& metrics) {
  KILN_ASSIGN_OR_RETURN(Stmt st, c.Prepare("WITH run AS (" + run_sql + "), " + kPgMetricsBody));
  MetricArrays a = ArraysOf(metrics);
  st.Bind(1, run);
  st.Bind(2, a.keys);
  st.Bind(3, a.steps);
  st.Bind(4, a.timestamps);
  st.Bind(5, a.values);
  st.Bind(6, a.nans);
  KILN_ASSIGN_OR_RETURN(bool row, st.Step());
  st.Reset();
  return row;
}

bool PostgresPath(Conn& c, const std::vector<Metric>& metrics) {
  return c.dialect() == Dialect::kPostgres &&
         std::none_of(metrics.begin(), metrics.end(), [](const Metric& m) { return !m.model_id.empty(); });
}

}  // namespace

Status InsertMetrics(Conn& c, int64_t run_pk, const std::string& run_id, const std::vector<Metric>& metrics) {
  if (metrics.empty()) return Status::Ok();
  if (PostgresPath(c, metrics)) {
    KILN_ASSIGN_OR_RETURN(bool found, InsertMetricsPostgres(c, "SELECT CAST(?1 AS BIGINT) AS id", run_pk, metrics));
    return found ? Status::Ok() : Internal("metrics insert found no run");
  }
  std::vector<bool> inserted(metrics.size(), false);
  for (size_t begin = 0; begin < metrics.size(); begin += kMetricRowsPerStatement) {
    KILN_RETURN_IF_ERROR(InsertPointChunk(c, run_pk, metrics, begin,
                                          std::min(kMetricRowsPerStatement, metrics.size() - begin), inserted));
  }

  // Per key, the greatest new point (the first of equals): applied to the
  // stored latest value with the same strict comparison, this is what
  // applying the points one by one yields.
  std::vector<Latest> latest;
  std::unordered_map<std::string, size_t> slot;
  for (size_t i = 0; i < metrics.size(); ++i) {
    if (!inserted[i]) continue;
    const Metric& m = metrics[i];
    Latest cand{&m, {m.step, m.timestamp, StoredMetricValue(m.value)}};
    auto [it, added] = slot.emplace(m.key, latest.size());
    if (added) {
      latest.push_back(cand);
    } else if (cand.order > latest[it->second].order) {
      latest[it->second] = cand;
    }
  }
  for (size_t begin = 0; begin < latest.size(); begin += kMetricRowsPerStatement) {
    KILN_RETURN_IF_ERROR(
        UpsertLatestChunk(c, run_pk, latest, begin, std::min(kMetricRowsPerStatement, latest.size() - begin)));
  }

  for (size_t i = 0; i < metrics.size(); ++i) {
    const Metric& m = metrics[i];
    if (!inserted[i] || m.model_id.empty()) continue;
    KILN_ASSIGN_OR_RETURN(
        Stmt lm, c.Prepare("INSERT INTO logged_model_metrics(model_id, key, step, timestamp, "
                           "value, is_nan, run_id, dataset_name, dataset_digest) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"));
    lm.Args(m.model_id, m.key, m.step, m.timestamp, StoredMetricValue(m.value), int64_t{std::isnan(m.value)},
            run_id, m.dataset_name, m.dataset_digest);
    KILN_RETURN_IF_ERROR(lm.Run());
  }
  return Status::Ok();
}

bool CanInsertMetricsByRunId(Dialect d, const std::vector<Metric>& metrics) {
  return d == Dialect::kPostgres && !metrics.empty() &&
         std::none_of(metrics.begin(), metrics.end(), [](const Metric& m) { return !m.model_id.empty(); });
}

StatusOr<bool> InsertMetricsByRunId(Conn& c, const std::string& run_id, const std::vector<Metric>& metrics) {
  if (!CanInsertMetricsByRunId(c.dialect(), metrics)) return Internal("InsertMetricsByRunId: not applicable");
  return InsertMetricsPostgres(c, "SELECT id FROM runs WHERE run_id = ?1 AND lifecycle_stage = 'active'", run_id,
                               metrics);
}

}  // namespace kiln::storage::sql
