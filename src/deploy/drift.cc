#include "deploy/drift.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <utility>

#include "storage/duckdb/duckdb_table_reader.h"

// PSI exactly as Evidently computes it (evidently 0.7.23:
// legacy/calculations/stattests/psi.py `_psi` and stattests/utils.py
// `get_binned_data`, with the cleaning of data_drift.py
// `get_one_column_drift`, over float64 data):
//
// 1. Non-finite values (NaN, +-inf) are dropped from both samples; an empty
//    sample has no PSI (Evidently's _psi answers NaN, not drifted).
// 2. If the reference has more than 20 distinct values, bins are numpy's
//    np.histogram_bin_edges(reference ++ current, bins="sturges"): over the
//    combined N values with range [min, max], width = (max - min) /
//    (log2(N) + 1), n = ceil((max - min) / width) equal bins whose edges are
//    np.linspace(min, max, n + 1) (edge i = i * ((max - min) / n) + min, the
//    last edge exactly max). Each sample is counted with np.histogram
//    against those edges: bin i holds edge_i <= x < edge_{i+1}, the last bin
//    also x == max. Evidently's n_bins (30, `bins` here) does not enter:
//    get_binned_data ignores it.
// 3. Otherwise (at most 20 distinct reference values) every distinct value of
//    either sample is its own bin.
// 4. Shares are count / sample size. Zero shares are replaced per sample by
//    min(nonzero share) / 1e6 when that minimum is <= 0.0001, else by 0.0001.
// 5. PSI = sum over bins of (ref - cur) * ln(ref / cur); drift when
//    PSI >= threshold (Evidently's default threshold 0.1).
//
// numpy applies one more rule kiln cannot see: for integer-typed columns the
// Sturges width is raised to 1. kiln's inputs are doubles, so its PSI is
// Evidently's on float64 columns.

namespace kiln::deploy {
namespace {

std::vector<double> Finite(const std::vector<double>& v) {
  std::vector<double> out;
  out.reserve(v.size());
  for (double x : v) {
    if (std::isfinite(x)) out.push_back(x);
  }
  return out;
}

void SortIfNeeded(std::vector<double>& v) {
  if (!std::is_sorted(v.begin(), v.end())) std::sort(v.begin(), v.end());
}

size_t DistinctSorted(const std::vector<double>& sorted) {
  size_t n = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i == 0 || sorted[i] != sorted[i - 1]) ++n;
  }
  return n;
}

// np.linspace(first, last, n + 1) as numpy computes it.
std::vector<double> Edges(double first, double last, int64_t n) {
  std::vector<double> e(static_cast<size_t>(n) + 1);
  const double delta = last - first;
  const double step = delta / static_cast<double>(n);
  for (int64_t i = 0; i <= n; ++i) {
    const double k = static_cast<double>(i);
    e[static_cast<size_t>(i)] = (step == 0 ? (k / static_cast<double>(n)) * delta : k * step) + first;
  }
  e.back() = last;
  return e;
}

// np.histogram(sorted, edges)[0]: cumulative searchsorted, the last edge inclusive.
std::vector<double> Counts(const std::vector<double>& sorted, const std::vector<double>& edges) {
  std::vector<double> out(edges.size() - 1);
  auto cum = [&](size_t i) {
    auto it = i + 1 < edges.size() ? std::lower_bound(sorted.begin(), sorted.end(), edges[i])
                                   : std::upper_bound(sorted.begin(), sorted.end(), edges[i]);
    return static_cast<double>(it - sorted.begin());
  };
  double prev = cum(0);
  for (size_t i = 1; i < edges.size(); ++i) {
    const double c = cum(i);
    out[i - 1] = c - prev;
    prev = c;
  }
  return out;
}

void FillZeroes(std::vector<double>& shares) {
  double min_nonzero = std::numeric_limits<double>::infinity();
  for (double s : shares) {
    if (s != 0) min_nonzero = std::min(min_nonzero, s);
  }
  if (!std::isfinite(min_nonzero)) return;  // every share zero: cannot happen for a non-empty sample
  const double fill = min_nonzero <= 0.0001 ? min_nonzero / 1e6 : 0.0001;
  for (double& s : shares) {
    if (s == 0) s = fill;
  }
}

}  // namespace

double PopulationStabilityIndex(const std::vector<double>& reference_in, const std::vector<double>& current_in,
                                int /*bins: Evidently's n_bins, unused by its binning (see above)*/) {
  std::vector<double> ref = Finite(reference_in);
  std::vector<double> cur = Finite(current_in);
  if (ref.empty() || cur.empty()) return std::numeric_limits<double>::quiet_NaN();
  SortIfNeeded(ref);
  SortIfNeeded(cur);
  const double nref = static_cast<double>(ref.size());
  const double ncur = static_cast<double>(cur.size());

  std::vector<double> ref_share, cur_share;
  if (DistinctSorted(ref) > 20) {
    const double lo = std::min(ref.front(), cur.front());
    const double hi = std::max(ref.back(), cur.back());
    const double n_all = nref + ncur;
    const double width = (hi - lo) / (std::log2(n_all) + 1.0);
    // hi > lo: the reference alone has more than 20 distinct values.
    const double n_bins = std::ceil((hi - lo) / width);
    if (!(n_bins >= 1) || n_bins > 1e7) return std::numeric_limits<double>::quiet_NaN();
    const std::vector<double> edges = Edges(lo, hi, static_cast<int64_t>(n_bins));
    for (size_t i = 1; i < edges.size(); ++i) {
      // numpy refuses ("Too many bins for data range"); so does kiln.
      if (!(edges[i - 1] < edges[i])) return std::numeric_limits<double>::quiet_NaN();
    }
    ref_share = Counts(ref, edges);
    cur_share = Counts(cur, edges);
  } else {
    std::map<double, std::pair<double, double>> counts;  // value -> (reference, current)
    for (double x : ref) counts[x].first += 1;
    for (double x : cur) counts[x].second += 1;
    for (const auto& [value, c] : counts) {
      ref_share.push_back(c.first);
      cur_share.push_back(c.second);
    }
  }
  for (double& s : ref_share) s /= nref;
  for (double& s : cur_share) s /= ncur;
  FillZeroes(ref_share);
  FillZeroes(cur_share);
  double psi = 0;
  for (size_t i = 0; i < ref_share.size(); ++i) {
    psi += (ref_share[i] - cur_share[i]) * std::log(ref_share[i] / cur_share[i]);
  }
  return psi;
}

StatusOr<std::shared_ptr<DriftMonitor>> DriftMonitor::Create(Baseline baseline, DriftOptions options) {
  if (baseline.empty()) return InvalidArgument("the drift baseline has no features");
  if (options.window_rows == 0) return InvalidArgument("the drift window needs at least one row");
  if (!(options.threshold >= 0) || !std::isfinite(options.threshold)) {
    return InvalidArgument("the drift threshold must be a finite number >= 0");
  }
  for (auto& [name, values] : baseline) {
    // Cleaned and sorted once here rather than at every Compute.
    values = Finite(values);
    if (values.empty()) return InvalidArgument("baseline feature '" + name + "' has no finite values");
    std::sort(values.begin(), values.end());
  }
  return std::shared_ptr<DriftMonitor>(new DriftMonitor(std::move(baseline), options));
}

DriftMonitor::DriftMonitor(Baseline baseline, DriftOptions options)
    : baseline_(std::move(baseline)), options_(options) {
  for (const auto& [name, values] : baseline_) current_[name].values.reserve(std::min<size_t>(options_.window_rows, 1024));
}

void DriftMonitor::Observe(const std::vector<std::string>& names, const double* values, int64_t rows) {
  if (rows <= 0 || names.empty() || values == nullptr) return;
  const size_t cols = names.size();
  std::lock_guard lock(mu_);
  for (size_t c = 0; c < cols; ++c) {
    auto it = current_.find(names[c]);
    if (it == current_.end()) continue;
    Window& w = it->second;
    for (int64_t r = 0; r < rows; ++r) {
      const double v = values[static_cast<size_t>(r) * cols + c];
      if (!std::isfinite(v)) continue;  // Evidently drops them too
      if (w.values.size() < options_.window_rows) {
        w.values.push_back(v);
      } else {
        w.values[w.next] = v;
        w.next = (w.next + 1) % options_.window_rows;
      }
      ++w.seen;
    }
  }
}

std::vector<DriftStatus> DriftMonitor::Compute() const {
  std::map<std::string, std::vector<double>> snapshot;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, w] : current_) snapshot[name] = w.values;
  }
  std::vector<DriftStatus> out;
  out.reserve(baseline_.size());
  for (const auto& [name, reference] : baseline_) {
    DriftStatus s;
    s.feature = name;
    const std::vector<double>& cur = snapshot[name];
    s.current_rows = cur.size();
    if (cur.size() >= options_.min_rows && !cur.empty()) {
      const double psi = PopulationStabilityIndex(reference, cur, options_.bins);
      if (std::isfinite(psi)) {
        s.psi = psi;
        s.drifted = psi >= options_.threshold;
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

StatusOr<Baseline> ReadBaselineFile(const std::string& path, const std::vector<std::string>& columns) {
  KILN_ASSIGN_OR_RETURN(Baseline b, storage::ReadNumericColumns(path, columns));
  return b;
}

}  // namespace kiln::deploy
