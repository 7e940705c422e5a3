// MetricScan: the points of MLflow's `metrics` table read in one sequential
// pass and bucketed by run in memory, instead of one index lookup per run.
// MLflow's rows sit in logging order (many runs interleaved), so per-run reads
// through index_metrics_run_uuid touch the table's pages in no order; a
// sequential scan reads each page once.
//
// Memory is bounded: points are held compactly (32 bytes each) for a window
// of runs [lo, hi) of the id-sorted run list; when the window would exceed
// `budget_points`, its highest runs are dropped and read by a later pass
// (one more sequential scan per window). A 100 M-point source with the
// default budget is one pass.
//
// Values come decoded as SqlSource decodes them (is_nan -> NaN, +-DBL_MAX ->
// +-inf). Take() hands a run's points out sorted in kiln's primary-key order
// (key bytewise, step, timestamp, stored value, is_nan), so NormalizeMetrics
// only drops duplicates.
//
// Ownership: owns the buckets; borrows nothing past a call.
// Thread-safety: none.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/mlflow_import/records.h"
#include "storage/sql/sql_conn.h"

struct sqlite3;

namespace kiln::storage::mlflow_import {

class MetricScan {
 public:
  // `run_ids`: every run of the source, ascending.
  MetricScan(std::vector<std::string> run_ids, int64_t budget_points);

  // The points of run `run_id` (scanning first when its window is not
  // loaded). Each run's points can be taken once per window.
  StatusOr<std::vector<MetricRec>> Take(sql::Conn& c, const std::string& run_id);

  double scan_seconds() const { return scan_seconds_; }
  int64_t scans() const { return scans_; }
  int64_t points_read() const { return points_read_; }

 private:
  struct Point {
    uint32_t key;
    int64_t step;
    int64_t timestamp;
    double value;  // decoded: NaN, +-inf restored
  };
  // Loads runs [from, hi_) with one pass over the table.
  Status Scan(sql::Conn& c, size_t from);
  Status ScanSqlite(sql::Conn& c, ::sqlite3* db);
  Status ScanGeneric(sql::Conn& c);
  void AddRow(std::string_view run, std::string_view key, double value, int64_t ts, int64_t step, bool is_nan);
  uint32_t KeyIndex(std::string_view key);
  void Shrink();

  std::vector<std::string> ids_;
  std::unordered_map<std::string_view, uint32_t> index_;  // views into ids_
  int64_t budget_;
  std::vector<std::vector<Point>> buckets_;
  std::vector<bool> taken_;
  size_t lo_ = 0, hi_ = 0;  // loaded window; empty before the first scan
  bool loaded_ = false;
  int64_t held_ = 0;        // points in the window
  std::vector<std::string> keys_;
  std::unordered_map<std::string, uint32_t> key_index_;
  std::vector<uint32_t> rank_;  // key index -> bytewise rank among keys_
  uint32_t last_key_ = UINT32_MAX;
  double scan_seconds_ = 0;
  int64_t scans_ = 0;
  int64_t points_read_ = 0;
};

}  // namespace kiln::storage::mlflow_import
