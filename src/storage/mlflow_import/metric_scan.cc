#include "storage/mlflow_import/metric_scan.h"

#include <sqlite3.h>

#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <limits>
#include <cstdlib>
#include <numeric>
#include <thread>

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

constexpr int kFetchRows = 20000;
constexpr int64_t kParallelMinRows = 4096;  // below this a second thread costs more than it saves  // PostgreSQL cursor batch: libpq buffers a whole result

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

namespace {

// The rows of MLflow's metrics, in rowid order, to `row` (a callable taking
// run, key, value, timestamp, step, is_nan). NOT INDEXED: the table itself in
// rowid (logging) order, not MLflow's covering primary-key index, whose pages
// are in key order on disk only when the rows were inserted that way; a rowid
// range still seeks.
template <typename RowFn>
Status ScanRows(sqlite3* db, bool range, int64_t lo, int64_t hi, RowFn row) {
  sqlite3_stmt* st = nullptr;
  std::string q = "SELECT run_uuid, key, value, timestamp, step, is_nan FROM metrics NOT INDEXED";
  if (range) q += " WHERE rowid >= ?1 AND rowid < ?2";
  int rc = sqlite3_prepare_v2(db, q.c_str(), -1, &st, nullptr);
  if (rc != SQLITE_OK) return sqlite::SqliteError(rc, db, "prepare metric scan");
  if (range) {
    sqlite3_bind_int64(st, 1, lo);
    sqlite3_bind_int64(st, 2, hi);
  }
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    auto text = [&](int col) {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
      return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(st, col))) : std::string_view();
    };
    row(text(0), text(1), sqlite3_column_double(st, 2), sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4),
        sqlite3_column_int64(st, 5) != 0);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return sqlite::SqliteError(rc, db, "metric scan");
  return Status::Ok();
}

StatusOr<std::string> QueryText(sqlite3* db, const char* q) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db, q, -1, &st, nullptr);
  if (rc != SQLITE_OK) return sqlite::SqliteError(rc, db, q);
  std::string out;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && sqlite3_column_text(st, 0)) {
    out.assign(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
               static_cast<size_t>(sqlite3_column_bytes(st, 0)));
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite::SqliteError(rc, db, q);
  return out;
}

// The benchmark's knob (bench/import/README.md): 1 scans on one thread.
int ScanThreads() {
  if (const char* env = std::getenv("KILN_IMPORT_SCAN_THREADS")) return std::max(1, std::atoi(env));
  return std::thread::hardware_concurrency() >= 2 ? 2 : 1;
}

}  // namespace

Status MetricScan::ScanSqlite(sqlite3* db, bool range, int64_t lo, int64_t hi) {
  return ScanRows(db, range, lo, hi,
                  [&](std::string_view run, std::string_view key, double value, int64_t ts, int64_t step,
                      bool is_nan) { AddRow(run, key, value, ts, step, is_nan); });
}

void MetricScan::AddToPart(Part& part, std::string_view run, std::string_view key, double value, int64_t ts,
                           int64_t step, bool is_nan) const {
  ++part.rows;
  auto it = index_.find(run);
  if (it == index_.end()) return;
  const size_t r = it->second;
  if (r < lo_ || r >= hi_) return;
  if (part.last_key == UINT32_MAX || part.keys[part.last_key] != key) {
    auto k = part.key_index.find(std::string(key));
    if (k == part.key_index.end()) {
      k = part.key_index.emplace(std::string(key), static_cast<uint32_t>(part.keys.size())).first;
      part.keys.emplace_back(key);
    }
    part.last_key = k->second;
  }
  part.buckets[r].push_back({part.last_key, step, ts, Decode(value, is_nan)});
}

void MetricScan::MergePart(Part& part) {
  std::vector<uint32_t> to_ours(part.keys.size());
  for (size_t k = 0; k < part.keys.size(); ++k) to_ours[k] = KeyIndex(part.keys[k]);
  for (size_t r = lo_; r < hi_; ++r) {
    std::vector<Point>& theirs = part.buckets[r];
    if (theirs.empty()) continue;
    std::vector<Point>& ours = buckets_[r];
    ours.reserve(ours.size() + theirs.size());
    for (Point p : theirs) {
      p.key = to_ours[p.key];
      ours.push_back(p);
    }
    held_ += static_cast<int64_t>(theirs.size());
    std::vector<Point>().swap(theirs);
  }
  points_read_ += part.rows;
}

StatusOr<bool> MetricScan::ScanSqliteParallel(sqlite3* db) {
  if (ScanThreads() < 2) return false;
  const char* file = sqlite3_db_filename(db, "main");
  if (!file || !*file) return false;  // in memory: no second connection sees it
  // In WAL mode a second connection could start on a newer snapshot.
  KILN_ASSIGN_OR_RETURN(std::string mode, QueryText(db, "PRAGMA journal_mode"));
  if (mode == "wal") return false;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT min(rowid), max(rowid) FROM metrics", -1, &st, nullptr) != SQLITE_OK) {
    sqlite3_finalize(st);
    return false;  // no rowid (not MLflow's table): one thread
  }
  int64_t lo = 0, hi = -1;
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
    lo = sqlite3_column_int64(st, 0);
    hi = sqlite3_column_int64(st, 1);
  }
  sqlite3_finalize(st);
  // Rows never exceed the rowid span, so the window cannot overflow the
  // budget and no part has to drop runs (Shrink is single-threaded).
  if (hi < lo || hi - lo >= budget_ || hi - lo < kParallelMinRows) return false;
  const int64_t mid = lo + (hi - lo) / 2;
  // The caller's read transaction has read the runs already, so it holds the
  // file's shared lock: no writer commits before the helper's reads end.
  Part helper;
  helper.buckets.resize(ids_.size());
  Status helper_status;
  const std::string path = file;
  std::thread t([&] {
    sqlite3* h = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &h, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc == SQLITE_OK) {
      sqlite3_busy_timeout(h, 5000);
      rc = sqlite3_exec(h, "PRAGMA mmap_size = 68719476736; PRAGMA cache_size = -262144; BEGIN", nullptr, nullptr,
                        nullptr);
    }
    if (rc != SQLITE_OK) {
      helper_status = sqlite::SqliteError(rc, h, "open a second reader of " + path);
    } else {
      helper_status = ScanRows(h, true, mid + 1, hi + 1,
                               [&](std::string_view run, std::string_view key, double value, int64_t ts,
                                   int64_t step, bool is_nan) { AddToPart(helper, run, key, value, ts, step, is_nan); });
      (void)sqlite3_exec(h, "COMMIT", nullptr, nullptr, nullptr);
    }
    sqlite3_close_v2(h);
  });
  Status mine = ScanSqlite(db, true, lo, mid + 1);
  t.join();
  KILN_RETURN_IF_ERROR(mine);
  ++parallel_scans_;
  if (!helper_status.ok()) {
    // The second reader could not run (e.g. a writer waiting on the file's
    // lock refused it): this thread reads its half too.
    KILN_RETURN_IF_ERROR(ScanSqlite(db, true, mid + 1, hi + 1));
    return true;
  }
  MergePart(helper);
  return true;
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
    StatusOr<bool> parallel = ScanSqliteParallel(db);
    if (!parallel.ok()) {
      s = parallel.status();
    } else if (!*parallel) {
      s = ScanSqlite(db, false, 0, 0);
    }
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
