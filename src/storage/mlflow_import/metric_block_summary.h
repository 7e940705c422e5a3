// MetricBlockSummary: the rows of kiln's metric_blocks table (schema v10: one
// row per run, key and block of 64 steps, block = step >> 6) for points
// written in the given order, computed as the table's per-row insert trigger
// computes them: count, NaN count, min / max / sum over the non-NaN values,
// summed in insertion order in doubles (a sum that became NaN, as inf + -inf
// does, is NULL from then on, as SQLite stores it), min and max picking as
// SQLite's min() / max() do on ties.
//
// Why: the import writes 100 M points; the trigger's upsert per point more
// than doubled the cost of each insert (bench/import/README.md). The SQLite
// bulk writer suspends the trigger inside its transaction and writes these
// rows instead, a few per run.
//
// Ownership: owns its rows. Thread-safety: none.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "storage/mlflow_import/records.h"

namespace kiln::storage::mlflow_import {

struct MetricBlockRow {
  int64_t run_pk = 0;
  std::string key;
  int64_t block = 0;
  int64_t count = 0;
  int64_t nan_count = 0;
  std::optional<double> min_value, max_value, sum_value;
  int64_t min_step = 0;
  int64_t max_step = 0;
};

class MetricBlockSummary {
 public:
  // `m.value` NaN is a NaN point (kiln stores it as 0 with is_nan = 1).
  void Add(int64_t run_pk, const MetricRec& m);
  const std::vector<MetricBlockRow>& rows() const { return rows_; }

 private:
  std::vector<MetricBlockRow> rows_;
  // Blocks seen out of order (a run's points are normally contiguous and
  // sorted, so only the last row is touched).
  std::map<std::tuple<int64_t, std::string, int64_t>, size_t> index_;
};

}  // namespace kiln::storage::mlflow_import
