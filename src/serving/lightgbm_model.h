// LightGbmModel: a native evaluator for LightGBM's text model format (the
// `model.txt` that Booster.save_model writes). LightGBM has no Debian package,
// so kiln parses the format itself and walks the trees with the same decision
// rules as LightGBM's Tree::NumericalDecision/CategoricalDecision, so that
// outputs equal lightgbm.Booster.predict (see lightgbm_model_test.cc for the
// parity check against the Python package).
//
// Supported: numerical splits with every missing-value mode (None, Zero, NaN)
// and default direction, categorical (bitset) splits, single-leaf trees,
// random-forest averaging (`average_output`), and the objectives listed at
// Parse(). Refused with InvalidArgument: linear trees, unknown objectives and
// any structurally malformed file (the parser never trusts a declared count
// or index before checking it against what was read).
//
// Ownership: owns its trees; holds no reference to the parsed text.
// Thread-safety: immutable after Parse(); Predict*() are const and may run
// concurrently from any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kiln::serving {

class LightGbmModel {
 public:
  // How raw scores become predictions; chosen from the `objective=` line.
  enum class Transform {
    kIdentity,      // regression, regression_l1, huber, fair, quantile, mape, lambdarank, rank_xendcg; no objective
    kSignedSquare,  // the same regressions trained with reg_sqrt ("sqrt" flag): sign(x) * x^2
    kSigmoid,       // binary (sigmoid:<s>), cross_entropy (s = 1)
    kSoftmax,       // multiclass
    kSigmoidEach,   // multiclassova: one sigmoid per class
    kExp,           // poisson, gamma, tweedie
    kLog1pExp,      // cross_entropy_lambda
  };

  // Parses a LightGBM text model. Objectives: binary, multiclass,
  // multiclassova, cross_entropy, cross_entropy_lambda, regression,
  // regression_l1, huber, fair, quantile, mape, poisson, gamma, tweedie,
  // lambdarank, rank_xendcg; a model without an objective line (custom
  // objective) predicts raw scores. InvalidArgument for anything else.
  static StatusOr<std::unique_ptr<LightGbmModel>> Parse(std::string_view text);

  // Columns a row must have (max_feature_idx + 1).
  size_t num_features() const { return feature_names_.size(); }
  // Values per row: num_tree_per_iteration (the class count for multiclass
  // models, 1 otherwise).
  size_t num_outputs() const { return static_cast<size_t>(num_tree_per_iteration_); }
  int num_class() const { return num_class_; }
  size_t num_trees() const { return trees_.size(); }
  // A bound on the nodes one row's prediction visits (every tree's split
  // count plus its leaf): what a row costs, for deciding where it may run.
  size_t max_path_nodes() const {
    size_t n = 0;
    for (const Tree& t : trees_) n += t.nodes.size() + 1;
    return n;
  }
  size_t num_iterations() const { return trees_.size() / static_cast<size_t>(num_tree_per_iteration_); }
  // The objective line as written (e.g. "binary sigmoid:1"); empty when absent.
  const std::string& objective() const { return objective_; }
  Transform transform() const { return transform_; }
  const std::vector<std::string>& feature_names() const { return feature_names_; }

  // One row of `num_features` values (NaN = missing) to num_outputs() values
  // in `out`: what lightgbm's Booster.predict returns (probabilities for
  // classification). InvalidArgument when num_features != num_features().
  Status Predict(const double* row, size_t num_features, double* out) const;
  // The same before the objective's transform (predict(raw_score=True)).
  Status PredictRaw(const double* row, size_t num_features, double* out) const;

 private:
  struct Node {
    double threshold = 0;  // numerical splits only
    int32_t left = 0;      // >= 0: internal node; < 0: ~leaf
    int32_t right = 0;
    int32_t feature = 0;
    // Categorical splits: the category bitset is cat_bits[cat_begin, cat_begin + cat_words).
    int32_t cat_begin = 0;
    int32_t cat_words = 0;
    uint8_t missing_type = 0;  // 0 None, 1 Zero, 2 NaN
    bool default_left = false;
    bool categorical = false;
  };
  struct Tree {
    std::vector<Node> nodes;  // empty for a single-leaf tree
    std::vector<double> leaf_values;
    std::vector<uint32_t> cat_bits;
  };

  LightGbmModel() = default;
  static StatusOr<Tree> ParseTree(std::string_view block_name, const std::vector<std::string_view>& lines,
                                  int max_feature_idx);
  Status SetObjective(std::string_view objective);
  static double TreeOutput(const Tree& tree, const double* row);
  void Raw(const double* row, double* out) const;
  void ApplyTransform(double* out) const;

  int num_class_ = 1;
  int num_tree_per_iteration_ = 1;
  bool average_output_ = false;
  std::string objective_;
  Transform transform_ = Transform::kIdentity;
  double sigmoid_ = 1.0;
  std::vector<std::string> feature_names_;
  std::vector<Tree> trees_;
};

}  // namespace kiln::serving
