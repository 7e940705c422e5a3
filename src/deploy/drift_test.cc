#include "deploy/drift.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <thread>

namespace kiln::deploy {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<double> Gen(int64_t n, const std::function<double(int64_t)>& f) {
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(f(i));
  return v;
}

// Reference values computed by Evidently itself (evidently 0.7.23, numpy
// 2.4.6, pandas 2.3.3, in a private venv). For each dataset both the public
// Report API and the stattest agree to the last digit:
//
//   from evidently import Report, Dataset, DataDefinition
//   from evidently.metrics import ValueDrift
//   from evidently.legacy.calculations.stattests.psi import _psi
//   from evidently.legacy.core import ColumnType
//   dd = DataDefinition(numerical_columns=["x"])
//   snap = Report([ValueDrift(column="x", method="psi")]).run(
//       Dataset.from_pandas(pd.DataFrame({"x": cur}), data_definition=dd),
//       Dataset.from_pandas(pd.DataFrame({"x": ref}), data_definition=dd))
//   snap.dict()["metrics"][0]["value"]
//   clean = lambda v: pd.Series(v).replace([-np.inf, np.inf], np.nan).dropna()
//   _psi(clean(ref), clean(cur), ColumnType.Numerical, 0.1)   # (psi, drifted)
//
// with the datasets below written in Python as the same integer formulas
// (e.g. shifted: ref = [((i * 37) % 101) / 7.0 for i in range(500)]).
struct Reference {
  const char* name;
  std::vector<double> ref, cur;
  double psi;
  bool drifted;  // at Evidently's default threshold 0.1
};

std::vector<Reference> EvidentlyReferences() {
  std::vector<Reference> out;
  // More than 20 distinct reference values: Sturges bins over both samples.
  out.push_back({"shifted", Gen(500, [](int64_t i) { return ((i * 37) % 101) / 7.0; }),
                 Gen(300, [](int64_t i) { return ((i * 53) % 89) / 5.0 + 3.0; }), 3.439840804031045, true});
  // At most 20 distinct reference values: one bin per value; 5 and 6 only in current.
  out.push_back({"categorical", Gen(400, [](int64_t i) { return static_cast<double>(i % 5); }),
                 Gen(350, [](int64_t i) { return static_cast<double>(i % 7); }), 2.1702335309674394, true});
  // NaN and +-inf dropped first; 600 + 424 finite values (N = 1024).
  Reference nonfinite{"nonfinite", Gen(600, [](int64_t i) { return ((i * 29) % 97) / 3.0 - 10.0; }),
                      Gen(424, [](int64_t i) { return ((i * 31) % 83) / 4.0 - 8.0; }), 2.065891704154061, true};
  nonfinite.ref.insert(nonfinite.ref.end(), {kNaN, kInf});
  nonfinite.cur.insert(nonfinite.cur.end(), {-kInf, kNaN, kNaN});
  out.push_back(nonfinite);
  // The same distribution: a small PSI, not drifted.
  out.push_back({"same", Gen(1000, [](int64_t i) { return ((i * 41) % 113) * 0.5; }),
                 Gen(800, [](int64_t i) { return ((i * 41 + 7) % 113) * 0.5; }), 8.151385889567227e-05, false});
  // A lone outlier: shares below 0.0001, so empty bins take min share / 1e6.
  Reference outlier{"outlier", Gen(20000, [](int64_t i) { return ((i * 7919) % 10007) / 100.0; }),
                    Gen(15000, [](int64_t i) { return ((i * 104729) % 9973) / 90.0; }), 0.033314702631371755,
                    false};
  outlier.ref.push_back(1000.0);
  out.push_back(outlier);
  // Integral values on bin edges: bins are [a, b) except the last, [a, b].
  out.push_back({"edges", Gen(700, [](int64_t i) { return static_cast<double>(i % 50); }),
                 Gen(300, [](int64_t i) { return static_cast<double>(i % 60); }), 0.810247975837204, true});
  return out;
}

TEST(PopulationStabilityIndex, EqualsEvidentlyOnFixedDatasets) {
  for (const Reference& r : EvidentlyReferences()) {
    const double psi = PopulationStabilityIndex(r.ref, r.cur, 30);
    EXPECT_NEAR(psi, r.psi, 1e-9) << r.name;
    EXPECT_EQ(psi >= 0.1, r.drifted) << r.name;
  }
}

TEST(PopulationStabilityIndex, OrderOfValuesDoesNotMatter) {
  Reference r = EvidentlyReferences()[0];
  std::vector<double> ref(r.ref.rbegin(), r.ref.rend());
  EXPECT_NEAR(PopulationStabilityIndex(ref, r.cur, 30), r.psi, 1e-9);
}

TEST(PopulationStabilityIndex, IdenticalSamplesAreZeroAndEmptyHasNone) {
  std::vector<double> v = Gen(300, [](int64_t i) { return i * 0.25; });
  EXPECT_EQ(PopulationStabilityIndex(v, v, 30), 0.0);
  EXPECT_TRUE(std::isnan(PopulationStabilityIndex({}, v, 30)));
  EXPECT_TRUE(std::isnan(PopulationStabilityIndex(v, {kNaN, kInf}, 30))) << "nothing finite left";
}

std::vector<double> RowMajor(const std::vector<std::vector<double>>& cols) {
  std::vector<double> out;
  for (size_t r = 0; r < cols[0].size(); ++r) {
    for (const auto& c : cols) out.push_back(c[r]);
  }
  return out;
}

TEST(DriftMonitor, ComputesPerFeatureFromObservedRows) {
  const Reference shifted = EvidentlyReferences()[0];
  const Reference same = EvidentlyReferences()[3];
  Baseline b{{"a", shifted.ref}, {"b", same.ref}};
  auto m = DriftMonitor::Create(b);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  // Columns in another order, with one the baseline does not know; in two calls.
  std::vector<double> b_cur(same.cur.begin(), same.cur.begin() + 300);
  std::vector<double> rows = RowMajor({b_cur, shifted.cur, std::vector<double>(300, 7.0)});
  (*m)->Observe({"b", "a", "unknown"}, rows.data(), 100);
  (*m)->Observe({"b", "a", "unknown"}, rows.data() + 300, 200);
  auto st = (*m)->Compute();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].feature, "a");
  EXPECT_EQ(st[0].current_rows, 300u);
  EXPECT_NEAR(st[0].psi, shifted.psi, 1e-9);
  EXPECT_TRUE(st[0].drifted);
  EXPECT_EQ(st[1].feature, "b");
  EXPECT_NEAR(st[1].psi, PopulationStabilityIndex(same.ref, b_cur, 30), 1e-12);
  EXPECT_FALSE(st[1].drifted);
}

TEST(DriftMonitor, NoVerdictBelowMinRowsAndNonFiniteInputsSkipped) {
  DriftOptions opt;
  opt.min_rows = 30;
  auto m = DriftMonitor::Create({{"x", Gen(100, [](int64_t i) { return i * 1.0; })}}, opt);
  ASSERT_TRUE(m.ok());
  std::vector<double> v(29, 500.0);
  v.push_back(kNaN);
  (*m)->Observe({"x"}, v.data(), static_cast<int64_t>(v.size()));
  auto st = (*m)->Compute();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].current_rows, 29u) << "NaN is not a value";
  EXPECT_EQ(st[0].psi, 0.0);
  EXPECT_FALSE(st[0].drifted);
  double one = 500.0;
  (*m)->Observe({"x"}, &one, 1);
  st = (*m)->Compute();
  EXPECT_EQ(st[0].current_rows, 30u);
  EXPECT_GT(st[0].psi, 0.1);
  EXPECT_TRUE(st[0].drifted);
}

TEST(DriftMonitor, WindowKeepsTheMostRecentValues) {
  DriftOptions opt;
  opt.window_rows = 50;
  opt.min_rows = 1;
  std::vector<double> ref = Gen(200, [](int64_t i) { return static_cast<double>(i % 40); });
  auto m = DriftMonitor::Create({{"x", ref}}, opt);
  ASSERT_TRUE(m.ok());
  std::vector<double> old(500, 1000.0);  // far off: drifted
  (*m)->Observe({"x"}, old.data(), 500);
  EXPECT_TRUE((*m)->Compute()[0].drifted);
  std::vector<double> recent = Gen(50, [](int64_t i) { return static_cast<double>(i % 40); });
  (*m)->Observe({"x"}, recent.data(), 50);
  auto st = (*m)->Compute();
  EXPECT_EQ(st[0].current_rows, 50u);
  EXPECT_NEAR(st[0].psi, PopulationStabilityIndex(ref, recent, 30), 1e-12) << "only the last 50 values count";
}

TEST(DriftMonitor, ThresholdIsInclusiveLikeEvidently) {
  const Reference r = EvidentlyReferences()[3];
  DriftOptions opt;
  opt.threshold = PopulationStabilityIndex(r.ref, r.cur, 30);
  opt.window_rows = r.cur.size();
  auto m = DriftMonitor::Create({{"x", r.ref}}, opt);
  ASSERT_TRUE(m.ok());
  (*m)->Observe({"x"}, r.cur.data(), static_cast<int64_t>(r.cur.size()));
  EXPECT_TRUE((*m)->Compute()[0].drifted) << "psi == threshold is drift";
}

TEST(DriftMonitor, CreateRefusesEmptyBaselines) {
  EXPECT_EQ(DriftMonitor::Create({}).status().code(), StatusCode::kInvalidArgument);
  auto s = DriftMonitor::Create({{"x", {kNaN, kNaN}}});
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(), "baseline feature 'x' has no finite values");
}

TEST(DriftMonitor, ConcurrentObserveAndCompute) {
  DriftOptions opt;
  opt.window_rows = 1000;
  auto m = DriftMonitor::Create({{"x", Gen(500, [](int64_t i) { return i * 0.1; })}}, opt);
  ASSERT_TRUE(m.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      std::vector<double> v = Gen(10, [](int64_t i) { return i * 5.0; });
      for (int k = 0; k < 2000; ++k) (*m)->Observe({"x"}, v.data(), 10);
    });
  }
  threads.emplace_back([&] {
    for (int k = 0; k < 50; ++k) ASSERT_EQ((*m)->Compute().size(), 1u);
  });
  for (auto& th : threads) th.join();
  EXPECT_EQ((*m)->Compute()[0].current_rows, 1000u);
}

TEST(ReadBaselineFile, ReadsCsvThroughDuckDb) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kiln_drift_XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::string path = tmpl + "/train.csv";
  {
    std::ofstream f(path);
    f << "x,y,label\n";
    for (int i = 0; i < 40; ++i) f << i << "," << (i % 3 == 0 ? "" : std::to_string(i * 0.5)) << ",l" << i << "\n";
  }
  auto all = ReadBaselineFile(path, {});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(all->at("x").size(), 40u);
  EXPECT_TRUE(std::isnan(all->at("y")[0]));
  auto m = DriftMonitor::Create(*all);
  ASSERT_TRUE(m.ok()) << m.status().ToString();

  auto bad = ReadBaselineFile(path, {"label"});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "column 'label' of '" + path + "' is VARCHAR, not numeric");
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
}

}  // namespace
}  // namespace kiln::deploy
