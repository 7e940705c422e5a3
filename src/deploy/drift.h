// Drift of an endpoint's input features against a baseline: the Population
// Stability Index per feature, computed as Evidently 0.7 does (non-finite
// values ignored; more than 20 distinct reference values: numpy's Sturges
// equal-width edges over both samples, else one bin per distinct value; zero
// shares replaced by a small constant; drift when psi >= threshold, 0.1 by
// default). drift.cc states the rules exactly; drift_test.cc checks them
// against values Evidently itself computed.
//
// Thread-safety: DriftMonitor is thread-safe: Observe takes a short mutex
// (the request path appends values to bounded per-feature windows); Compute
// copies the windows under the mutex and bins outside it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"

namespace kiln::deploy {

// Baseline values per feature name (NaN: missing, ignored).
using Baseline = std::map<std::string, std::vector<double>>;

struct DriftStatus {
  std::string feature;
  double psi = 0;
  bool drifted = false;        // psi >= threshold (Evidently: drift when psi >= threshold)
  uint64_t current_rows = 0;   // values in the current window
};

struct DriftOptions {
  double threshold = 0.1;
  // Evidently's PSI n_bins: kept for its API, but, as in Evidently, unused
  // (its binning follows Sturges' rule).
  int bins = 30;
  size_t window_rows = 10000;    // most recent values kept per feature
  size_t min_rows = 30;          // fewer current values: no verdict (psi 0, not drifted)
};

// PSI of `current` against `reference` (NaNs ignored). Pure.
double PopulationStabilityIndex(const std::vector<double>& reference, const std::vector<double>& current, int bins);

class DriftMonitor {
 public:
  // InvalidArgument for an empty baseline or a feature without values.
  static StatusOr<std::shared_ptr<DriftMonitor>> Create(Baseline baseline, DriftOptions options = {});
  // One call's model inputs: `names` columns, `rows` rows, row-major values.
  // Columns without a baseline are ignored.
  void Observe(const std::vector<std::string>& names, const double* values, int64_t rows);
  // One status per baseline feature, by name.
  std::vector<DriftStatus> Compute() const;
  const DriftOptions& options() const { return options_; }

 private:
  DriftMonitor(Baseline baseline, DriftOptions options);
  const Baseline baseline_;
  const DriftOptions options_;
  mutable std::mutex mu_;
  // Ring buffers of the most recent values per baseline feature.
  struct Window {
    std::vector<double> values;
    size_t next = 0;
    uint64_t seen = 0;
  };
  std::map<std::string, Window> current_;  // guarded by mu_
};

// Reads numeric columns of a CSV or Parquet file (by extension) as a
// baseline, through the offline engine's DuckDB (storage/duckdb). `columns`
// empty: every numeric column. InvalidArgument naming the file or column.
StatusOr<Baseline> ReadBaselineFile(const std::string& path, const std::vector<std::string>& columns);

}  // namespace kiln::deploy
