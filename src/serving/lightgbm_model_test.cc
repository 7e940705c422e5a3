#include "serving/lightgbm_model.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "serving/lightgbm_runtime.h"

#ifndef KILN_SOURCE_DIR
#error "KILN_SOURCE_DIR must name the source tree (src/serving/CMakeLists.txt defines it)"
#endif

namespace kiln::serving {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// ---------------------------------------------------------------------------
// Hand-written models, laid out as LightGBM writes them.

std::string Model(const std::string& objective, const std::vector<std::string>& trees, int num_features = 2,
                  int num_class = 1, int tree_per_iteration = 1, const std::string& extra_header = "") {
  std::string names, infos;
  for (int i = 0; i < num_features; ++i) {
    names += (i ? " f" : "f") + std::to_string(i);
    infos += i ? " none" : "none";
  }
  std::string s = "tree\nversion=v4\nnum_class=" + std::to_string(num_class) +
                  "\nnum_tree_per_iteration=" + std::to_string(tree_per_iteration) +
                  "\nlabel_index=0\nmax_feature_idx=" + std::to_string(num_features - 1) + "\n";
  if (!objective.empty()) s += "objective=" + objective + "\n";
  s += extra_header;
  s += "feature_names=" + names + "\nfeature_infos=" + infos + "\n\n";
  for (size_t i = 0; i < trees.size(); ++i) s += "Tree=" + std::to_string(i) + "\n" + trees[i] + "\n\n\n";
  s += "end of trees\n\nfeature_importances:\nf0=1\n\nparameters:\n[boosting: gbdt]\nend of parameters\n\n"
       "pandas_categorical:null\n";
  return s;
}

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Two leaves: `left` when the split goes left, `right` otherwise.
std::string Stump(int feature, const std::string& threshold, int decision_type, double left = 10, double right = 20,
                  const std::string& categorical = "") {
  return "num_leaves=2\nnum_cat=" + std::string(categorical.empty() ? "0" : "1") +
         "\nsplit_feature=" + std::to_string(feature) + "\nsplit_gain=1\nthreshold=" + threshold +
         "\ndecision_type=" + std::to_string(decision_type) + "\nleft_child=-1\nright_child=-2\nleaf_value=" +
         Num(left) + " " + Num(right) +
         "\nleaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\ninternal_weight=0\ninternal_count=2\n" + categorical +
         "is_linear=0\nshrinkage=1";
}

std::string Leaf(double value) {
  return "num_leaves=1\nnum_cat=0\nsplit_feature=\nsplit_gain=\nthreshold=\ndecision_type=\nleft_child=\n"
         "right_child=\nleaf_value=" +
         Num(value) + "\nleaf_weight=\nleaf_count=1\ninternal_value=\ninternal_weight=\ninternal_count=\n"
                      "is_linear=0\nshrinkage=1";
}

std::unique_ptr<LightGbmModel> MustParse(const std::string& text) {
  auto m = LightGbmModel::Parse(text);
  EXPECT_TRUE(m.ok()) << m.status().message() << "\n" << text;
  return m.ok() ? std::move(m).value() : nullptr;
}

std::vector<double> PredictRow(const LightGbmModel& m, const std::vector<double>& row, bool raw = false) {
  std::vector<double> out(m.num_outputs(), -12345);
  Status s = raw ? m.PredictRaw(row.data(), row.size(), out.data()) : m.Predict(row.data(), row.size(), out.data());
  EXPECT_TRUE(s.ok()) << s.message();
  return out;
}

// The outputs for feature 1 taking each of `values` (feature 0 is 0).
std::vector<double> Sweep(const LightGbmModel& m, const std::vector<double>& values) {
  std::vector<double> out;
  for (double v : values) out.push_back(PredictRow(m, {0.0, v})[0]);
  return out;
}

using V = std::vector<double>;

// The expected values below were confirmed against lightgbm 4.7.0's
// Booster(model_str=...).predict on the same texts.

TEST(LightGbmModel, NumericalSplitWithoutMissingTypeReadsNanAsZero) {
  auto m = MustParse(Model("regression", {Stump(1, "0.5", 0)}));
  ASSERT_TRUE(m);
  EXPECT_EQ(Sweep(*m, {0.3, 0.5, 0.7, kNaN, kInf, -kInf}), (V{10, 10, 20, 10, 20, 10}));
  // default_left means nothing without a missing type: NaN is 0, and 0 > -1.
  auto d = MustParse(Model("regression", {Stump(1, "-1", 2)}));
  ASSERT_TRUE(d);
  EXPECT_EQ(Sweep(*d, {kNaN, -2, 0}), (V{20, 10, 20}));
}

TEST(LightGbmModel, NanMissingTypeFollowsDefaultDirection) {
  auto right = MustParse(Model("regression", {Stump(1, "0.5", 8)}));
  ASSERT_TRUE(right);
  EXPECT_EQ(Sweep(*right, {kNaN, 0.3, 0, 0.7}), (V{20, 10, 10, 20}));
  auto left = MustParse(Model("regression", {Stump(1, "-1", 10)}));
  ASSERT_TRUE(left);
  EXPECT_EQ(Sweep(*left, {kNaN, 0, -2}), (V{10, 20, 10}));
}

TEST(LightGbmModel, ZeroMissingTypeTreatsZeroAndNanAsMissing) {
  auto right = MustParse(Model("regression", {Stump(1, "0.5", 4)}));
  ASSERT_TRUE(right);
  EXPECT_EQ(Sweep(*right, {0, 1e-36, -1e-36, kNaN, 0.3, 0.7}), (V{20, 20, 20, 20, 10, 20}));
  auto left = MustParse(Model("regression", {Stump(1, "-1", 6)}));
  ASSERT_TRUE(left);
  EXPECT_EQ(Sweep(*left, {0, kNaN, -2, 3, 1e-30}), (V{10, 10, 10, 20, 20}));
}

TEST(LightGbmModel, ValuesWithinZeroThresholdAreZero) {
  // LightGBM's C API drops |x| <= 1e-35 when it densifies a row, so -1e-36
  // compares as 0 against this threshold.
  auto m = MustParse(Model("regression", {Stump(1, "-1.0000000000000001e-36", 0)}));
  ASSERT_TRUE(m);
  EXPECT_EQ(Sweep(*m, {-1e-36, -2e-36, -1e-34}), (V{20, 20, 10}));
}

TEST(LightGbmModel, CategoricalSplitUsesBitset) {
  // Categories {0, 3, 33}: word 0 = bits 0 and 3, word 1 = bit 1.
  const std::string cats = "cat_boundaries=0 2\ncat_threshold=9 2\n";
  auto m = MustParse(Model("regression", {Stump(1, "0", 1, 10, 20, cats)}));
  ASSERT_TRUE(m);
  EXPECT_EQ(Sweep(*m, {0, 3, 33, 3.7, -0.5, 2, 1, 32, 64, -1, kNaN, 1e10, kInf, -kInf, 2147483647.0, 2147483648.0,
                       4294967299.0}),
            (V{10, 10, 10, 10, 10, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20}));
  auto nan_type = MustParse(Model("regression", {Stump(1, "0", 9, 10, 20, cats)}));
  ASSERT_TRUE(nan_type);
  EXPECT_EQ(Sweep(*nan_type, {0, kNaN, -0.5}), (V{10, 20, 10}));
}

TEST(LightGbmModel, SeveralCategorySetsAndInternalChildren) {
  // Node 0: f0 in {1} -> leaf 0, else node 1: f1 in {2, 40} -> leaf 1, else leaf 2.
  const std::string tree =
      "num_leaves=3\nnum_cat=2\nsplit_feature=0 1\nsplit_gain=1 1\nthreshold=0 1\ndecision_type=1 1\n"
      "left_child=-1 -2\nright_child=1 -3\nleaf_value=1 2 3\nleaf_weight=1 1 1\nleaf_count=1 1 1\n"
      "internal_value=0 0\ninternal_weight=0 0\ninternal_count=3 2\ncat_boundaries=0 1 3\ncat_threshold=2 4 256\n"
      "is_linear=0\nshrinkage=1";
  auto m = MustParse(Model("regression", {tree}));
  ASSERT_TRUE(m);
  EXPECT_EQ(PredictRow(*m, {1, 2})[0], 1);
  EXPECT_EQ(PredictRow(*m, {0, 2})[0], 2);
  EXPECT_EQ(PredictRow(*m, {0, 40})[0], 2);
  EXPECT_EQ(PredictRow(*m, {0, 1})[0], 3);
  EXPECT_EQ(PredictRow(*m, {kNaN, 41})[0], 3);
}

TEST(LightGbmModel, SingleLeafTreesAddTheirValue) {
  auto m = MustParse(Model("regression", {Leaf(0.25), Stump(0, "0", 0, -1, 1)}));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->num_trees(), 2u);
  EXPECT_DOUBLE_EQ(PredictRow(*m, {-3, 0})[0], -0.75);
  EXPECT_DOUBLE_EQ(PredictRow(*m, {3, 0})[0], 1.25);
}

TEST(LightGbmModel, MulticlassSoftmaxOverInterleavedTrees) {
  // Tree t belongs to class t % 3.
  auto m = MustParse(Model("multiclass num_class:3",
                           {Leaf(1.0), Stump(0, "0", 0, -1, 2), Leaf(0.5), Leaf(0.25), Leaf(0), Leaf(-0.5)},
                           /*num_features=*/2, /*num_class=*/3, /*tree_per_iteration=*/3));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->num_outputs(), 3u);
  EXPECT_EQ(m->num_iterations(), 2u);
  for (double x : {1.0, -1.0}) {
    const V raw = PredictRow(*m, {x, 0}, /*raw=*/true);
    const V want_raw = {1.25, x > 0 ? 2.0 : -1.0, 0.0};
    EXPECT_EQ(raw, want_raw);
    double sum = 0;
    for (double r : want_raw) sum += std::exp(r);
    const V p = PredictRow(*m, {x, 0});
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(p[c], std::exp(want_raw[c]) / sum, 1e-15);
  }
}

TEST(LightGbmModel, BinarySigmoidScale) {
  auto m = MustParse(Model("binary sigmoid:2", {Stump(0, "0", 0, -0.3, 0.4), Leaf(0.1)}));
  ASSERT_TRUE(m);
  EXPECT_DOUBLE_EQ(PredictRow(*m, {1, 0}, true)[0], 0.5);
  EXPECT_DOUBLE_EQ(PredictRow(*m, {1, 0})[0], 1 / (1 + std::exp(-2 * 0.5)));
  EXPECT_DOUBLE_EQ(PredictRow(*m, {-1, 0})[0], 1 / (1 + std::exp(-2 * -0.2)));
}

TEST(LightGbmModel, ObjectiveTransforms) {
  const double v = 0.7;
  const double sig = 1 / (1 + std::exp(-v));
  struct Case {
    std::string objective;
    double leaf;
    double want;
  };
  const std::vector<Case> cases = {
      {"regression", v, v},
      {"regression sqrt", v, v * v},
      {"regression sqrt", -v, -v * v},
      {"regression_l1 sqrt", v, v * v},
      {"huber sqrt", v, v},  // LightGBM disables sqrt for Huber
      {"regression_l1", v, v},
      {"huber", v, v},
      {"fair", v, v},
      {"quantile", v, v},
      {"mape", v, v},
      {"poisson", v, std::exp(v)},
      {"gamma", v, std::exp(v)},
      {"tweedie", v, std::exp(v)},
      {"cross_entropy", v, sig},
      {"cross_entropy_lambda", v, std::log1p(std::exp(v))},
      {"binary sigmoid:1", v, sig},
      {"lambdarank", v, v},
      {"rank_xendcg", v, v},
      {"", v, v},  // custom objective: raw scores
  };
  for (const Case& c : cases) {
    auto m = MustParse(Model(c.objective, {Leaf(c.leaf)}));
    ASSERT_TRUE(m) << c.objective;
    EXPECT_DOUBLE_EQ(PredictRow(*m, {0, 0})[0], c.want) << c.objective;
    EXPECT_DOUBLE_EQ(PredictRow(*m, {0, 0}, true)[0], c.leaf) << c.objective;
  }
  auto ova = MustParse(Model("multiclassova num_class:2 sigmoid:1.5", {Leaf(v), Leaf(-v)}, 2, 2, 2));
  ASSERT_TRUE(ova);
  const V p = PredictRow(*ova, {0, 0});
  EXPECT_DOUBLE_EQ(p[0], 1 / (1 + std::exp(-1.5 * v)));
  EXPECT_DOUBLE_EQ(p[1], 1 / (1 + std::exp(1.5 * v)));
}

TEST(LightGbmModel, RandomForestAveragesIterations) {
  auto m = MustParse(Model("regression", {Leaf(1), Leaf(3)}, 2, 1, 1, "average_output\n"));
  ASSERT_TRUE(m);
  EXPECT_DOUBLE_EQ(PredictRow(*m, {0, 0})[0], 2);
  EXPECT_DOUBLE_EQ(PredictRow(*m, {0, 0}, true)[0], 4);  // LightGBM's raw scores are not averaged
}

TEST(LightGbmModel, RefusesUnsupportedObjectivesNamingThem) {
  struct Case {
    std::string objective;
    int num_class;
    std::string mention;
  };
  const std::vector<Case> cases = {
      {"foo_objective bar", 1, "foo_objective"},
      {"binary", 1, "sigmoid"},
      {"binary sigmoid:-1", 1, "sigmoid"},
      {"binary sigmoid:abc", 1, "sigmoid"},
      {"multiclass num_class:4", 3, "num_class"},
      {"multiclass", 3, "num_class"},
      {"multiclassova num_class:3", 3, "sigmoid"},
      {"binary sigmoid:1", 3, "num_tree_per_iteration"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> trees(static_cast<size_t>(c.num_class), Leaf(0));
    auto m = LightGbmModel::Parse(Model(c.objective, trees, 2, c.num_class, c.num_class));
    ASSERT_FALSE(m.ok()) << c.objective;
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(m.status().message().find(c.mention), std::string::npos) << m.status().message();
  }
}

TEST(LightGbmModel, RefusesLinearTrees) {
  std::string tree = Stump(0, "0", 0);
  tree.replace(tree.find("is_linear=0"), 11, "is_linear=1\nleaf_const=0 0\nnum_features=0 0\nleaf_features= \n"
                                             "leaf_coeff= ");
  auto m = LightGbmModel::Parse(Model("regression", {tree}));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("linear"), std::string::npos) << m.status().message();
}

TEST(LightGbmModel, PredictChecksTheRowWidth) {
  auto m = MustParse(Model("regression", {Leaf(1)}, 3));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->num_features(), 3u);
  const double row[4] = {0, 0, 0, 0};
  double out = 0;
  EXPECT_FALSE(m->Predict(row, 2, &out).ok());
  EXPECT_FALSE(m->Predict(row, 4, &out).ok());
  EXPECT_TRUE(m->Predict(row, 3, &out).ok());
  EXPECT_EQ(m->feature_names(), (std::vector<std::string>{"f0", "f1", "f2"}));
}

// ---------------------------------------------------------------------------
// Malformed models: refused with InvalidArgument, never a crash.

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << "test setup: '" << from << "' not in the model";
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

void ExpectRefused(const std::string& text, const std::string& label) {
  auto m = LightGbmModel::Parse(text);
  ASSERT_FALSE(m.ok()) << label;
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument) << label << ": " << m.status().message();
  EXPECT_FALSE(m.status().message().empty()) << label;
}

TEST(LightGbmModel, RefusesGarbage) {
  ExpectRefused("", "empty");
  ExpectRefused("garbage", "a word");
  ExpectRefused(std::string("\0\x01\xff\xfe=\n\n==\r\n", 11), "binary bytes");
  ExpectRefused("tree\nversion=v4\n", "header only");
  ExpectRefused(Model("regression", {}), "no trees");
  ExpectRefused("{\"name\": \"tree\"}", "JSON dump");
}

TEST(LightGbmModel, RefusesBadHeaders) {
  const std::string ok = Model("regression", {Stump(1, "0.5", 0)});
  ASSERT_TRUE(LightGbmModel::Parse(ok).ok());
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"num_class=1", "num_class=0"},
      {"num_class=1", "num_class=-1"},
      {"num_class=1", "num_class=abc"},
      {"num_class=1", "num_class=99999999999999999999"},
      {"num_class=1\n", ""},
      {"num_tree_per_iteration=1", "num_tree_per_iteration=0"},
      {"num_tree_per_iteration=1", "num_tree_per_iteration=2"},
      {"max_feature_idx=1", "max_feature_idx=-1"},
      {"max_feature_idx=1", "max_feature_idx=2147483647"},
      {"max_feature_idx=1", "max_feature_idx=0"},
      {"max_feature_idx=1\n", ""},
      {"feature_names=f0 f1", "feature_names=f0"},
      {"feature_names=f0 f1\n", ""},
      {"version=v4", "version=v4\nversion=v4"},
      {"feature_infos", "tree_sizes=1 2 3\nfeature_infos"},
      {"Tree=0", "Tree=1"},
      {"Tree=0", "Tree=abc"},
      {"Tree=0", "Tree=-1"},
      {"end of trees", "end of tree"},
      {"end of trees", ""},
      {"\n\nend of trees", "\nnot a tree\nend of trees"},
  };
  for (const auto& [from, to] : edits) ExpectRefused(Replace(ok, from, to), from + " -> " + to);
}

TEST(LightGbmModel, RefusesBadTrees) {
  const std::string ok = Model("regression", {Stump(1, "0.5", 0)});
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"num_leaves=2", "num_leaves=3"},
      {"num_leaves=2", "num_leaves=0"},
      {"num_leaves=2", "num_leaves=-5"},
      {"num_leaves=2", "num_leaves=2147483647"},
      {"num_leaves=2", "num_leaves=1e3"},
      {"num_leaves=2\n", ""},
      {"num_cat=0", "num_cat=-1"},
      {"num_cat=0\n", ""},
      {"leaf_value=10 20", "leaf_value=10"},
      {"leaf_value=10 20", "leaf_value=10 20 30"},
      {"leaf_value=10 20", "leaf_value=10 abc"},
      {"leaf_value=10 20", "leaf_value=10 1e999"},
      {"leaf_value=10 20", "leaf_value=10 20x"},
      {"leaf_value=10 20\n", ""},
      {"threshold=0.5", "threshold=1e999"},
      {"threshold=0.5", "threshold="},
      {"split_feature=1", "split_feature=2"},
      {"split_feature=1", "split_feature=-1"},
      {"split_feature=1", "split_feature=99999999999"},
      {"left_child=-1", "left_child=5"},
      {"left_child=-1", "left_child=-3"},
      {"left_child=-1", "left_child=0"},
      {"left_child=-1", "left_child=-2"},
      {"left_child=-1", "left_child=-2147483648"},
      {"right_child=-2\n", ""},
      {"decision_type=0", "decision_type=16"},
      {"decision_type=0", "decision_type=12"},
      {"decision_type=0", "decision_type=-1"},
      {"decision_type=0", "decision_type=1"},  // categorical without category sets
      {"decision_type=0", "decision_type=0 0"},
      {"is_linear=0", "is_linear=x"},
      {"shrinkage=1", "shrinkage"},
      {"shrinkage=1", "shrinkage=1\nshrinkage=1"},
  };
  for (const auto& [from, to] : edits) ExpectRefused(Replace(ok, from, to), from + " -> " + to);

  const std::string cats = "cat_boundaries=0 2\ncat_threshold=9 2\n";
  const std::string cat_ok = Model("regression", {Stump(1, "0", 1, 10, 20, cats)});
  ASSERT_TRUE(LightGbmModel::Parse(cat_ok).ok());
  const std::vector<std::pair<std::string, std::string>> cat_edits = {
      {"cat_boundaries=0 2\n", ""},
      {"cat_threshold=9 2\n", ""},
      {"cat_boundaries=0 2", "cat_boundaries=0 5"},
      {"cat_boundaries=0 2", "cat_boundaries=1 2"},
      {"cat_boundaries=0 2", "cat_boundaries=0 -2"},
      {"cat_boundaries=0 2", "cat_boundaries=0 2 2"},
      {"cat_threshold=9 2", "cat_threshold=9 -2"},
      {"cat_threshold=9 2", "cat_threshold=9 4294967296"},
      {"threshold=0", "threshold=1"},
      {"threshold=0", "threshold=0.5"},
      {"threshold=0", "threshold=-1"},
      {"threshold=0", "threshold=nan"},
  };
  for (const auto& [from, to] : cat_edits) ExpectRefused(Replace(cat_ok, from, to), from + " -> " + to);

  // A node reachable twice would let a walk loop or revisit.
  const std::string three =
      "num_leaves=3\nnum_cat=0\nsplit_feature=0 1\nthreshold=0 0\ndecision_type=0 0\nleft_child=1 -1\n"
      "right_child=-2 -3\nleaf_value=1 2 3";
  ASSERT_TRUE(LightGbmModel::Parse(Model("regression", {three})).ok());
  ExpectRefused(Model("regression", {Replace(three, "left_child=1 -1", "left_child=1 1")}), "self loop");
  ExpectRefused(Model("regression", {Replace(three, "left_child=1 -1", "left_child=1 0")}), "back to the root");
  ExpectRefused(Model("regression", {Replace(three, "right_child=-2 -3", "right_child=1 -3")}), "two parents");
  ExpectRefused(Model("regression", {Replace(three, "right_child=-2 -3", "right_child=-1 -3")}), "leaf twice");
  ExpectRefused(Model("regression", {"num_leaves=1\nnum_cat=0\nleaf_value=1\nno equals sign"}), "line without =");

  // Three trees cannot be split into iterations of two.
  ExpectRefused(Model("multiclass num_class:2", {Leaf(1), Leaf(2), Leaf(3)}, 2, 2, 2), "partial iteration");
}

TEST(LightGbmModel, EveryTruncationIsRefusedUntilTheTreesEnd) {
  const std::string cats = "cat_boundaries=0 2\ncat_threshold=9 2\n";
  const std::string text = Model("multiclass num_class:2", {Stump(1, "0", 9, 1, 2, cats), Leaf(0.5),
                                                            Stump(0, "0.25", 10, -1, 1), Leaf(-0.5)},
                                 2, 2, 2);
  const std::string end_marker = "end of trees";
  const size_t complete = text.find(end_marker) + end_marker.size();
  for (size_t len = 0; len <= text.size(); ++len) {
    auto m = LightGbmModel::Parse(std::string_view(text).substr(0, len));
    if (len < complete) {
      ASSERT_FALSE(m.ok()) << "prefix of " << len << " bytes: " << text.substr(0, len);
      EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
    } else {
      ASSERT_TRUE(m.ok()) << len << ": " << m.status().message();
    }
  }
}

// Random byte edits of a valid model: whatever parses must also predict
// without reading out of bounds (meaningful under the asan preset).
TEST(LightGbmModel, MutatedModelsNeverCrash) {
  const std::string cats = "cat_boundaries=0 1 3\ncat_threshold=2 4 256\n";
  const std::string three =
      "num_leaves=3\nnum_cat=2\nsplit_feature=0 1\nsplit_gain=1 1\nthreshold=0 1\ndecision_type=1 9\n"
      "left_child=-1 -2\nright_child=1 -3\nleaf_value=1 2 3\nleaf_weight=1 1 1\nleaf_count=1 1 1\n"
      "internal_value=0 0\ninternal_weight=0 0\ninternal_count=3 2\n" +
      cats + "is_linear=0\nshrinkage=1";
  const std::string base = Model("multiclass num_class:2", {three, Stump(1, "0.5", 6), Leaf(1), Leaf(2)}, 2, 2, 2);
  ASSERT_TRUE(LightGbmModel::Parse(base).ok());
  const std::string alphabet = "0123456789-+.e=\n abcnNaif:";
  std::mt19937 rng(20240611);
  const std::vector<std::vector<double>> rows = {{0, 0}, {1, 2}, {kNaN, kNaN}, {-1, 40}, {1e10, -kInf}, {3, 33}};
  int parsed = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::string s = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const size_t at = rng() % s.size();
      switch (rng() % 4) {
        case 0:
          s[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          s.erase(at, 1 + rng() % 8);
          break;
        case 2:
          s.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        default:
          s.insert(at, s.substr(rng() % s.size(), 1 + rng() % 40));
          break;
      }
    }
    auto m = LightGbmModel::Parse(s);
    if (!m.ok()) {
      EXPECT_FALSE(m.status().message().empty());
      continue;
    }
    ++parsed;
    std::vector<double> out(m.value()->num_outputs());
    for (const auto& row : rows) {
      if (row.size() != m.value()->num_features()) continue;
      EXPECT_TRUE(m.value()->Predict(row.data(), row.size(), out.data()).ok());
    }
  }
  // Some edits (in numbers, importances, parameters) keep the model valid.
  EXPECT_GT(parsed, 0);
}

// ---------------------------------------------------------------------------
// The serving::Runtime.

Tensor MakeTensor(DataType dtype, std::vector<int64_t> shape, const std::vector<double>& values) {
  Tensor t;
  t.name = "input-0";
  t.dtype = dtype;
  t.shape = std::move(shape);
  for (double v : values) {
    if (dtype == DataType::kFp64) {
      const char* p = reinterpret_cast<const char*>(&v);
      t.data.insert(t.data.end(), p, p + sizeof v);
    } else {
      const auto f = static_cast<float>(v);
      const char* p = reinterpret_cast<const char*>(&f);
      t.data.insert(t.data.end(), p, p + sizeof f);
    }
  }
  return t;
}

std::vector<float> Floats(const Tensor& t) {
  std::vector<float> out(t.data.size() / sizeof(float));
  std::memcpy(out.data(), t.data.data(), out.size() * sizeof(float));
  return out;
}

std::unique_ptr<LightGbmRuntime> MustRuntime(const std::string& text) {
  auto r = LightGbmRuntime::FromText(text);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(r).value() : nullptr;
}

TEST(LightGbmRuntime, DescribesItsTensors) {
  auto binary = MustRuntime(Model("binary sigmoid:1", {Stump(1, "0.5", 0, -1, 1)}, 4));
  ASSERT_TRUE(binary);
  EXPECT_EQ(binary->backend(), "lightgbm");
  ASSERT_EQ(binary->inputs().size(), 1u);
  EXPECT_EQ(binary->inputs()[0].name, "input-0");
  EXPECT_EQ(binary->inputs()[0].dtype, DataType::kFp32);
  EXPECT_EQ(binary->inputs()[0].shape, (std::vector<int64_t>{-1, 4}));
  ASSERT_EQ(binary->outputs().size(), 1u);
  EXPECT_EQ(binary->outputs()[0].name, "output-0");
  EXPECT_EQ(binary->outputs()[0].dtype, DataType::kFp32);
  EXPECT_EQ(binary->outputs()[0].shape, (std::vector<int64_t>{-1}));

  auto multi = MustRuntime(Model("multiclass num_class:3", {Leaf(0), Leaf(1), Leaf(2)}, 2, 3, 3));
  ASSERT_TRUE(multi);
  EXPECT_EQ(multi->outputs()[0].shape, (std::vector<int64_t>{-1, 3}));
}

TEST(LightGbmRuntime, ExecutesFp32AndFp64Batches) {
  auto rt = MustRuntime(Model("binary sigmoid:1", {Stump(1, "0.5", 10, -1, 1)}));
  ASSERT_TRUE(rt);
  const float lo = static_cast<float>(1 / (1 + std::exp(1.0)));
  const float hi = static_cast<float>(1 / (1 + std::exp(-1.0)));
  for (DataType dt : {DataType::kFp32, DataType::kFp64}) {
    auto out = rt->Execute({MakeTensor(dt, {3, 2}, {0, 0.2, 0, 0.9, 0, kNaN})});
    ASSERT_TRUE(out.ok()) << out.status().message();
    ASSERT_EQ(out->size(), 1u);
    const Tensor& t = (*out)[0];
    EXPECT_EQ(t.name, "output-0");
    EXPECT_EQ(t.dtype, DataType::kFp32);
    EXPECT_EQ(t.shape, (std::vector<int64_t>{3}));
    EXPECT_EQ(Floats(t), (std::vector<float>{lo, hi, lo}));
  }
  // One row as a rank-1 tensor, and an empty batch.
  auto one = rt->Execute({MakeTensor(DataType::kFp32, {2}, {0, 0.9})});
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ((*one)[0].shape, (std::vector<int64_t>{1}));
  EXPECT_EQ(Floats((*one)[0]), (std::vector<float>{hi}));
  auto none = rt->Execute({MakeTensor(DataType::kFp32, {0, 2}, {})});
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_EQ((*none)[0].shape, (std::vector<int64_t>{0}));
  EXPECT_TRUE((*none)[0].data.empty());
}

TEST(LightGbmRuntime, MulticlassOutputsOneRowPerInput) {
  auto rt = MustRuntime(Model("multiclass num_class:3", {Leaf(0), Stump(0, "0", 0, -1, 1), Leaf(0)}, 2, 3, 3));
  ASSERT_TRUE(rt);
  auto out = rt->Execute({MakeTensor(DataType::kFp64, {2, 2}, {-1, 0, 1, 0})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape, (std::vector<int64_t>{2, 3}));
  const std::vector<float> p = Floats((*out)[0]);
  ASSERT_EQ(p.size(), 6u);
  const double e = std::exp(1.0);
  EXPECT_FLOAT_EQ(p[0], static_cast<float>(1 / (2 + 1 / e)));
  EXPECT_FLOAT_EQ(p[1], static_cast<float>((1 / e) / (2 + 1 / e)));
  EXPECT_FLOAT_EQ(p[4], static_cast<float>(e / (2 + e)));
}

TEST(LightGbmRuntime, RefusesBadTensors) {
  auto rt = MustRuntime(Model("regression", {Stump(1, "0.5", 0)}));
  ASSERT_TRUE(rt);
  auto refused = [&](std::vector<Tensor> inputs, const std::string& mention, const std::string& label) {
    auto out = rt->Execute(inputs);
    ASSERT_FALSE(out.ok()) << label;
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument) << label;
    EXPECT_NE(out.status().message().find(mention), std::string::npos) << label << ": " << out.status().message();
  };
  refused({}, "exactly one input", "no input");
  refused({MakeTensor(DataType::kFp32, {1, 2}, {0, 0}), MakeTensor(DataType::kFp32, {1, 2}, {0, 0})},
          "exactly one input", "two inputs");
  Tensor ints = MakeTensor(DataType::kFp32, {1, 2}, {0, 0});
  ints.dtype = DataType::kInt32;
  refused({ints}, "INT32", "datatype");
  refused({MakeTensor(DataType::kFp32, {2, 3}, {0, 0, 0, 0, 0, 0})}, "[-1, 2]", "too many columns");
  refused({MakeTensor(DataType::kFp32, {3}, {0, 0, 0})}, "[-1, 2]", "rank 1 of the wrong width");
  refused({MakeTensor(DataType::kFp32, {1, 1, 2}, {0, 0})}, "[-1, 2]", "rank 3");
  refused({MakeTensor(DataType::kFp32, {-1, 2}, {0, 0})}, "[-1, 2]", "negative batch");
  refused({MakeTensor(DataType::kFp32, {}, {0})}, "[-1, 2]", "scalar");
  Tensor short_data = MakeTensor(DataType::kFp32, {2, 2}, {0, 0, 0, 0});
  short_data.data.pop_back();
  refused({short_data}, "bytes", "one byte short");
  refused({MakeTensor(DataType::kFp64, {2, 2}, {0, 0})}, "bytes", "half the rows");
  refused({MakeTensor(DataType::kFp32, {int64_t{1} << 62, 2}, {0, 0})}, "bytes", "huge batch");
  refused({MakeTensor(DataType::kFp64, {std::numeric_limits<int64_t>::max(), 2}, {0, 0})}, "bytes",
          "batch overflowing the byte count");
}

TEST(LightGbmRuntime, ConcurrentExecuteAgrees) {
  auto rt = MustRuntime(Model("multiclass num_class:3", {Leaf(0), Stump(0, "0", 0, -1, 1), Stump(1, "0", 8, 1, -1)},
                              2, 3, 3));
  ASSERT_TRUE(rt);
  std::vector<double> values;
  for (int i = 0; i < 512; ++i) values.push_back(i % 7 == 0 ? kNaN : std::sin(i));
  const Tensor input = MakeTensor(DataType::kFp32, {256, 2}, values);
  auto want = rt->Execute({input});
  ASSERT_TRUE(want.ok());
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto got = rt->Execute({input});
        if (!got.ok() || (*got)[0].data != (*want)[0].data) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

std::string MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kiln-lightgbm-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return "";
  return tmpl;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(LightGbmRuntime, LoadFile) {
  const std::string dir = MakeTempDir();
  ASSERT_FALSE(dir.empty());
  auto missing = LightGbmRuntime::LoadFile(dir + "/nope.txt");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  auto directory = LightGbmRuntime::LoadFile(dir);
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().code(), StatusCode::kInvalidArgument);

  const std::string good = dir + "/model.txt";
  std::ofstream(good) << Model("regression", {Stump(1, "0.5", 0)});
  auto rt = LightGbmRuntime::LoadFile(good);
  ASSERT_TRUE(rt.ok()) << rt.status().message();
  EXPECT_EQ((*rt)->model().num_features(), 2u);

  const std::string bad = dir + "/bad.txt";
  std::ofstream(bad) << "tree\nnum_class=1\n";
  auto refused = LightGbmRuntime::LoadFile(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find(bad), std::string::npos) << refused.status().message();
  std::filesystem::remove_all(dir);
}

// ---------------------------------------------------------------------------
// Parity with the real lightgbm package: tests/runtimes/gen_lightgbm.py trains
// models and records Booster.predict outputs; kiln must match within 1e-5
// relative on every value.

static_assert(std::endian::native == std::endian::little, "the reference files are little-endian");

std::vector<double> ReadF64(const std::string& path) {
  const std::string bytes = ReadText(path);
  std::vector<double> out(bytes.size() / sizeof(double));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(double));
  return out;
}

double RelErr(double got, double want) {
  if (std::isnan(got) && std::isnan(want)) return 0;
  return std::fabs(got - want) / std::max(1.0, std::fabs(want));
}

constexpr double kTolerance = 1e-5;

TEST(LightGbmParity, MatchesPythonLightgbm) {
  const std::string source = KILN_SOURCE_DIR;
  const std::string python = source + "/.venv/bin/python";
  const std::string script = source + "/tests/runtimes/gen_lightgbm.py";
  ASSERT_TRUE(std::filesystem::exists(python))
      << python << " is missing: run `make setup` (it builds .venv with the pinned lightgbm)";
  const std::string dir = MakeTempDir();
  ASSERT_FALSE(dir.empty());
  const std::string log = dir + "/gen.log";
  const std::string cmd = "'" + python + "' '" + script + "' '" + dir + "' > '" + log + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  ASSERT_EQ(rc, 0) << cmd << " failed:\n" << ReadText(log);
  std::cout << ReadText(log);

  std::vector<std::string> names;
  {
    std::istringstream in(ReadText(dir + "/models.txt"));
    for (std::string name; std::getline(in, name);) {
      if (!name.empty()) names.push_back(name);
    }
  }
  for (const char* required : {"binary", "multiclass", "regression"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), required), names.end()) << required;
  }

  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const std::string d = dir + "/" + name;
    size_t rows = 0, features = 0, outputs = 0;
    std::istringstream(ReadText(d + "/shape.txt")) >> rows >> features >> outputs;
    ASSERT_GE(rows, 1000u);
    const std::vector<double> x = ReadF64(d + "/x.f64");
    const std::vector<double> pred = ReadF64(d + "/pred.f64");
    const std::vector<double> raw = ReadF64(d + "/raw.f64");
    ASSERT_EQ(x.size(), rows * features);
    ASSERT_EQ(pred.size(), rows * outputs);
    ASSERT_EQ(raw.size(), rows * outputs);

    auto rt = LightGbmRuntime::LoadFile(d + "/model.txt");
    ASSERT_TRUE(rt.ok()) << rt.status().message();
    const LightGbmModel& model = (*rt)->model();
    ASSERT_EQ(model.num_features(), features);
    ASSERT_EQ(model.num_outputs(), outputs);

    // Direct evaluation in double precision, transformed and raw.
    double max_pred = 0, max_raw = 0;
    size_t bad = 0;
    std::vector<double> out(outputs);
    for (size_t r = 0; r < rows; ++r) {
      ASSERT_TRUE(model.Predict(&x[r * features], features, out.data()).ok());
      for (size_t c = 0; c < outputs; ++c) {
        const double e = RelErr(out[c], pred[r * outputs + c]);
        max_pred = std::max(max_pred, e);
        if (!(e <= kTolerance) && bad++ < 5) {
          ADD_FAILURE() << "row " << r << " output " << c << ": kiln " << out[c] << ", lightgbm "
                        << pred[r * outputs + c];
        }
      }
      ASSERT_TRUE(model.PredictRaw(&x[r * features], features, out.data()).ok());
      for (size_t c = 0; c < outputs; ++c) {
        const double e = RelErr(out[c], raw[r * outputs + c]);
        max_raw = std::max(max_raw, e);
        if (!(e <= kTolerance) && bad++ < 5) {
          ADD_FAILURE() << "row " << r << " raw " << c << ": kiln " << out[c] << ", lightgbm " << raw[r * outputs + c];
        }
      }
    }

    // Through the Runtime, as FP32 (the values are float32-exact) and FP64.
    double max_rt[2] = {0, 0};
    int k = 0;
    for (DataType dt : {DataType::kFp32, DataType::kFp64}) {
      auto result = (*rt)->Execute({MakeTensor(dt, {static_cast<int64_t>(rows), static_cast<int64_t>(features)}, x)});
      ASSERT_TRUE(result.ok()) << result.status().message();
      const std::vector<float> got = Floats((*result)[0]);
      ASSERT_EQ(got.size(), rows * outputs);
      for (size_t i = 0; i < got.size(); ++i) {
        const double e = RelErr(got[i], pred[i]);
        max_rt[k] = std::max(max_rt[k], e);
        if (!(e <= kTolerance) && bad++ < 5) {
          ADD_FAILURE() << DataTypeName(dt) << " value " << i << ": kiln " << got[i] << ", lightgbm " << pred[i];
        }
      }
      ++k;
    }
    EXPECT_EQ(bad, 0u);
    std::printf("lightgbm parity %-16s %zu rows x %zu outputs, %zu trees: max rel err predict %.3g, raw %.3g, "
                "runtime FP32 %.3g, FP64 %.3g\n",
                name.c_str(), rows, outputs, model.num_trees(), max_pred, max_raw, max_rt[0], max_rt[1]);
    RecordProperty(name + "_max_rel_err", std::to_string(max_pred));
  }
  if (!HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kiln::serving
