#include "storage/mlflow_import/metric_block_summary.h"

#include <cmath>

namespace kiln::storage::mlflow_import {

void MetricBlockSummary::Add(int64_t run_pk, const MetricRec& m) {
  const int64_t block = m.step >> 6;  // arithmetic shift (C++20), as SQLite's >> on negative steps
  MetricBlockRow* row = nullptr;
  if (!rows_.empty()) {
    MetricBlockRow& last = rows_.back();
    if (last.run_pk == run_pk && last.block == block && last.key == m.key) row = &last;
  }
  if (!row) {
    auto [it, added] = index_.emplace(std::make_tuple(run_pk, m.key, block), rows_.size());
    if (!added) row = &rows_[it->second];
  }
  const bool nan = std::isnan(m.value);
  if (!row) {
    // The trigger's INSERT: the block's first point.
    MetricBlockRow r;
    r.run_pk = run_pk;
    r.key = m.key;
    r.block = block;
    r.count = 1;
    r.nan_count = nan ? 1 : 0;
    if (!nan) r.min_value = r.max_value = r.sum_value = m.value;
    r.min_step = r.max_step = m.step;
    rows_.push_back(std::move(r));
    return;
  }
  // The trigger's ON CONFLICT DO UPDATE; every right-hand side reads the
  // row as it was before this point.
  const bool all_nan_before = row->count == row->nan_count;
  row->count += 1;
  row->nan_count += nan ? 1 : 0;
  if (!nan) {
    const double v = m.value;
    // SQLite's min(a, b) returns b when a >= b; max(a, b) returns b only when a < b.
    if (!row->min_value || *row->min_value >= v) row->min_value = v;
    if (!row->max_value || *row->max_value < v) row->max_value = v;
    if (all_nan_before) {
      row->sum_value = v;
    } else if (row->sum_value) {
      const double s = *row->sum_value + v;
      if (std::isnan(s)) {
        row->sum_value.reset();  // SQLite's arithmetic gives NULL for a NaN result
      } else {
        row->sum_value = s;
      }
    }
  }
  if (m.step < row->min_step) row->min_step = m.step;
  if (m.step > row->max_step) row->max_step = m.step;
}

}  // namespace kiln::storage::mlflow_import
