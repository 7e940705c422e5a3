#include "storage/mlflow_import/metric_scan.h"

#include <sqlite3.h>

#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "storage/mlflow_import/sqlite_import_db.h"
#include "storage/sqlite/sqlite_db.h"

namespace kiln::storage::mlflow_import {
namespace {

// MLflow's SQL stores keep +-inf as +-DBL_MAX (sanitize_metric_value).
double Decode(double stored, bool is_nan) {
  if (is_nan) return std::numeric_limits<double>::quiet_NaN();
  if (stored == DBL_MAX) return std::numeric_limits<double>::infinity();
  if (stored == -DBL_MAX) return -std::numeric_limits<double>::infinity();
  return stored;
}

// kiln stores NaN as 0 with is_nan = 1.
double Stored(double v) { return std::isnan(v) ? 0.0 : v; }

constexpr int kFetchRows = 20000;  // PostgreSQL cursor batch: libpq buffers a whole result

}  // namespace

MetricScan::MetricScan(std::vector<std::string> run_ids, int64_t budget_points)
    : ids_(std::move(run_ids)), budget_(std::max<int64_t>(1, budget_points)) {
  index_.reserve(ids_.size());
  for (size_t i = 0; i < ids_.size(); ++i) index_.emplace(ids_[i], static_cast<uint32_t>(i));
  buckets_.resize(ids_.size());
  taken_.assign(ids_.size(), false);
}

uint32_t MetricScan::KeyIndex(std::string_view key) {
  // Rows of one key often arrive together: compare with the last key first.
  if (last_key_ != UINT32_MAX && keys_[last_key_] == key) return last_key_;
  auto it = key_index_.find(std::string(key));
  if (it == key_index_.end()) {
    it = key_index_.emplace(std::string(key), static_cast<uint32_t>(keys_.size())).first;
    keys_.emplace_back(key);
  }
  last_key_ = it->second;
  return last_key_;
}

void MetricScan::Shrink() {
  // Drop the window's highest runs (a later pass reads them) until a quarter
  // of the budget is free again; the lowest run always stays.
  while (held_ > budget_ * 3 / 4 && hi_ > lo_ + 1) {
    --hi_;
    held_ -= static_cast<int64_t>(buckets_[hi_].size());
    std::vector<Point>().swap(buckets_[hi_]);
  }
}

void MetricScan::AddRow(std::string_view run, std::string_view key, double value, int64_t ts, int64_t step,
                        bool is_nan) {
  ++points_read_;
  auto it = index_.find(run);
  if (it == index_.end()) return;  // a point of no run: MLflow's reads never show it either
  const size_t r = it->second;
  if (r < lo_ || r >= hi_) return;
  buckets_[r].push_back({KeyIndex(key), step, ts, Decode(value, is_nan)});
  if (++held_ > budget_) Shrink();
}

Status MetricScan::ScanSqlite(sql::Conn&, sqlite3* db) {
  // NOT INDEXED: the table itself in rowid (logging) order, not MLflow's
  // covering primary-key index, whose pages are in key order on disk only
  // when the rows were inserted that way.
  sqlite3_stmt* st = nullptr;
  const char* q = "SELECT run_uuid, key, value, timestamp, step, is_nan FROM metrics NOT INDEXED";
  int rc = sqlite3_prepare_v2(db, q, -1, &st, nullptr);
  if (rc != SQLITE_OK) return sqlite::SqliteError(rc, db, "prepare metric scan");
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    auto text = [&](int col) {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
      return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(st, col))) : std::string_view();
    };
    AddRow(text(0), text(1), sqlite3_column_double(st, 2), sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4),
           sqlite3_column_int64(st, 5) != 0);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return sqlite::SqliteError(rc, db, "metric scan");
  return Status::Ok();
}

Status MetricScan::ScanGeneric(sql::Conn& c) {
  const std::string select =
      "SELECT run_uuid, \"key\", value, timestamp, step, CASE WHEN is_nan THEN 1 ELSE 0 END FROM metrics";
  if (c.dialect() != sql::Dialect::kPostgres) {
    KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare(select, /*cache=*/false));
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return Status::Ok();
      AddRow(st.Text(0), st.Text(1), st.Double(2), st.Int(3), st.Int(4), st.Int(5) != 0);
    }
  }
  // A cursor inside the caller's read transaction, fetched in batches.
  KILN_RETURN_IF_ERROR(c.Exec("DECLARE kiln_metric_scan NO SCROLL CURSOR FOR " + select));
  const std::string fetch = "FETCH " + std::to_string(kFetchRows) + " FROM kiln_metric_scan";
  while (true) {
    KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare(fetch, /*cache=*/false));
    int n = 0;
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      ++n;
      AddRow(st.Text(0), st.Text(1), st.Double(2), st.Int(3), st.Int(4), st.Int(5) != 0);
    }
    if (n == 0) break;
  }
  return c.Exec("CLOSE kiln_metric_scan");
}

Status MetricScan::Scan(sql::Conn& c, size_t from) {
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = lo_; i < hi_; ++i) std::vector<Point>().swap(buckets_[i]);
  lo_ = from;
  hi_ = ids_.size();
  held_ = 0;
  loaded_ = true;
  ++scans_;
  Status s = Status::Ok();
  if (sqlite3* db = ImportSqliteHandle(c)) {
    s = ScanSqlite(c, db);
  } else {
    s = ScanGeneric(c);
  }
  scan_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

StatusOr<std::vector<MetricRec>> MetricScan::Take(sql::Conn& c, const std::string& run_id) {
  auto it = index_.find(run_id);
  if (it == index_.end()) return std::vector<MetricRec>();
  const size_t r = it->second;
  if (!loaded_ || r < lo_ || r >= hi_ || taken_[r]) {
    if (taken_[r]) {
      // Asked again (a chunk re-read after a retried transaction): scan anew.
      std::fill(taken_.begin() + static_cast<std::ptrdiff_t>(r), taken_.end(), false);
    }
    KILN_RETURN_IF_ERROR(Scan(c, r));
  }
  taken_[r] = true;
  std::vector<Point> pts;
  pts.swap(buckets_[r]);
  held_ -= static_cast<int64_t>(pts.size());
  // Sort by the keys' bytewise rank, as kiln's primary key orders them.
  if (rank_.size() != keys_.size()) {
    std::vector<uint32_t> order(keys_.size());
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return keys_[a] < keys_[b]; });
    rank_.assign(keys_.size(), 0);
    for (uint32_t i = 0; i < order.size(); ++i) rank_[order[i]] = i;
  }
  const std::vector<uint32_t>& rank = rank_;
  auto less = [&](const Point& a, const Point& b) {
    if (a.key != b.key) return rank[a.key] < rank[b.key];
    if (a.step != b.step) return a.step < b.step;
    if (a.timestamp != b.timestamp) return a.timestamp < b.timestamp;
    const double sa = Stored(a.value), sb = Stored(b.value);
    if (sa != sb) return sa < sb;
    return !std::isnan(a.value) && std::isnan(b.value);
  };
  if (!std::is_sorted(pts.begin(), pts.end(), less)) std::sort(pts.begin(), pts.end(), less);
  std::vector<MetricRec> out;
  out.reserve(pts.size());
  for (const Point& p : pts) out.push_back({keys_[p.key], p.value, p.timestamp, p.step});
  return out;
}

}  // namespace kiln::storage::mlflow_import
