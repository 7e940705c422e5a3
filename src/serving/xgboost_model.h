// XgboostModel: a native evaluator for XGBoost tree models in the three
// formats XGBoost writes: JSON, UBJSON (both read through one document
// walker) and the legacy binary format of xgboost < 3 (`save_raw
// ("deprecated")`, `.bst`). kiln used to serve these through Debian's
// libxgboost 1.7, which misreads xgboost >= 3 models (their intercept is a
// vector, "[a,b]") and so answered with wrong numbers; evaluating the trees
// ourselves lets every model be predicted the way the xgboost that wrote it
// predicts (see docs/serving.md for the parity measurements).
//
// The arithmetic follows xgboost's CPU predictor: everything in float; the
// margin starts at the objective's link of base_score (one intercept per
// output), each tree adds its leaf (DART: leaf * weight_drop) in tree order,
// and the objective's transform runs last. Splits: a missing (NaN) value
// takes the default child; a numerical split goes left iff value <
// condition (+-inf are ordinary values); a categorical split goes right iff
// the value, truncated to an integer, is a category of the node, and a
// value that is negative or >= 2^24 - 1 goes left. What differs between
// versions (the intercept's encoding, where vector leaves of
// multi_output_tree models live) is told apart by what the file holds.
//
// Supported: gbtree and dart boosters; objectives listed at Parse();
// categorical splits; one-output-per-tree multi-target and vector-leaf
// (multi_output_tree) models. Refused with InvalidArgument, naming what and
// why: gblinear, unknown boosters and objectives, and any structurally
// malformed, truncated or inconsistent file (the parsers check every count,
// index and size against what was read before using it).
//
// Ownership: owns its trees; keeps no reference to the parsed bytes.
// Thread-safety: immutable after Parse(); Predict*() are const and may run
// concurrently from any number of threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kiln::serving {

class XgboostModel {
 public:
  enum class Format { kJson, kUbjson, kLegacyBinary };
  // How margins become predictions.
  enum class Transform {
    kIdentity,  // reg:squarederror and the other regressions, ranking, binary:logitraw
    kSigmoid,   // binary:logistic, reg:logistic
    kExp,       // count:poisson, reg:gamma, reg:tweedie, survival:cox, survival:aft
    kSoftmax,   // multi:softprob
    kArgMax,    // multi:softmax (the class index as a float)
    kHinge,     // binary:hinge (1 if margin > 0, else 0)
  };

  // Larger inputs are refused before parsing.
  static constexpr size_t kMaxModelBytes = size_t{512} << 20;

  // Parses a model in any of the three formats. As xgboost's loader does,
  // a file name ending in .json or .ubj decides the format; otherwise (e.g.
  // MLflow's model.xgb, UBJSON from 2.x but binary from 1.x) the content
  // does: '{' and then '"', '}' or whitespace is JSON, '{' and anything
  // else UBJSON, otherwise the legacy binary format (with or without its
  // "binf" header).
  // Objectives: binary:logistic, binary:logitraw, binary:hinge,
  // reg:squarederror, reg:squaredlogerror, reg:pseudohubererror,
  // reg:absoluteerror, reg:quantileerror, reg:logistic, count:poisson,
  // reg:gamma, reg:tweedie, survival:cox, survival:aft, multi:softprob, multi:softmax,
  // rank:pairwise, rank:ndcg, rank:map.
  static StatusOr<std::unique_ptr<XgboostModel>> Parse(std::string_view bytes, std::string_view file_name = {});

  // Columns a row must have (learner_model_param.num_feature).
  size_t num_features() const { return num_features_; }
  // Values per row: num_class for multi:softprob, the target count for
  // multi-target and multi-quantile models, 1 otherwise (multi:softmax too).
  size_t num_outputs() const { return transform_ == Transform::kArgMax ? 1 : num_groups_; }
  // Margins per row: num_class, or the target count.
  size_t num_groups() const { return num_groups_; }
  size_t num_trees() const { return trees_.size(); }
  // The most nodes one row's prediction visits: the sum of the trees' depths
  // (leaves included). What a row costs, for deciding where it may run.
  size_t max_path_nodes() const { return max_path_nodes_; }
  const std::string& objective() const { return objective_; }
  const std::string& booster() const { return booster_; }
  Transform transform() const { return transform_; }
  Format format() const { return format_; }
  // [major, minor, patch] of the xgboost that wrote the file (the legacy
  // binary format records no patch: 0).
  const std::array<int, 3>& version() const { return version_; }
  // One intercept per group, already through the objective's link.
  const std::vector<float>& base_margin() const { return base_margin_; }

  // One row of `num_features` floats (NaN = missing) to num_outputs()
  // values in `out`: what xgboost's Booster.predict returns.
  // InvalidArgument when num_features != num_features().
  Status Predict(const float* row, size_t num_features, float* out) const;
  // `num_rows` rows (row-major) to num_rows * num_outputs() values; the
  // same numbers as Predict() per row, walking each tree for a block of
  // rows at a time so the tree stays in cache.
  Status PredictBatch(const float* rows, size_t num_rows, size_t num_features, float* out) const;
  // The same before the objective's transform (predict(output_margin=True));
  // `out` has num_groups() values.
  Status PredictMargin(const float* row, size_t num_features, float* out) const;

 private:
  struct Node {
    float value = 0;       // split condition; the leaf value of a scalar leaf
    int32_t left = -1;     // -1: leaf
    int32_t right = -1;
    uint32_t feature = 0;
    uint32_t cat_begin = 0;  // categorical splits: words cat_bits[cat_begin, cat_begin + cat_words)
    uint32_t cat_words = 0;
    uint32_t leaf_begin = 0;  // vector leaves: leaf_values[leaf_begin, leaf_begin + num_groups)
    bool default_left = false;
    bool categorical = false;
  };
  // The 16 bytes a prediction walk reads per node (Finish() builds them
  // from `nodes`): feature index with two flags in the top bits.
  struct HotNode {
    float value;
    int32_t left;
    int32_t right;
    uint32_t feature_flags;
  };
  static constexpr uint32_t kDefaultLeft = 1u << 31;
  static constexpr uint32_t kCategorical = 1u << 30;
  static constexpr uint32_t kFeatureMask = kCategorical - 1;
  struct Tree {
    std::vector<Node> nodes;
    std::vector<HotNode> hot;
    std::vector<uint32_t> cat_bits;     // bit c of the node's words: category c goes right
    std::vector<float> leaf_values;     // vector-leaf trees only
    int32_t group = 0;                  // the output this scalar tree adds to
    float weight = 1;                   // DART's weight_drop
    bool vector_leaf = false;
  };
  // What every parser fills in before Finish() checks and completes it.
  struct Header {
    std::string objective;
    std::string booster;
    std::vector<float> base_score;  // as stored: probability space, 1 or num_groups values
    int64_t num_feature = 0;
    int64_t num_class = 0;
    int64_t num_target = 1;
    std::array<int, 3> version{0, 0, 0};
  };
  class DocumentReader;
  friend class DocumentReader;

  XgboostModel() = default;
  // The intercept as xgboost writes it: "5E-1" (1.x, 2.x) or "[a,b,...]"
  // (3.x, one value per output).
  static bool ParseBaseScore(std::string_view s, std::vector<float>* out);
  static StatusOr<std::unique_ptr<XgboostModel>> ParseDocument(std::string_view bytes, Format format);
  static StatusOr<std::unique_ptr<XgboostModel>> ParseLegacyBinary(std::string_view bytes);
  // Checks the header against the trees and sets the transform and margins.
  Status Finish(const Header& header, Format format);
  // Validates one tree's structure: children after their parent and in
  // range (so every walk ends), features in range, leaves sized.
  // Sets *depth to the most nodes a walk from the root visits.
  Status CheckTree(const Tree& tree, size_t index, size_t* depth) const;
  // Margins of rows [0, n) (n <= kBlockRows) into out[n * num_groups].
  void BlockMargins(const float* rows, size_t n, float* out) const;
  static constexpr size_t kBlockRows = 64;
  void ApplyTransform(float* out) const;
  bool GoesLeftCategorical(const Tree& tree, const Node& node, float value) const;

  Format format_ = Format::kJson;
  std::array<int, 3> version_{0, 0, 0};
  std::string objective_;
  std::string booster_;
  Transform transform_ = Transform::kIdentity;
  size_t num_features_ = 0;
  size_t num_groups_ = 1;
  std::vector<float> base_margin_;
  std::vector<Tree> trees_;
  size_t max_path_nodes_ = 0;
};

}  // namespace kiln::serving
