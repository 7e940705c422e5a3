// TreeEnsemble: the validated form of an ai.onnx.ml TreeEnsembleClassifier
// or TreeEnsembleRegressor node — nodes flattened into index-linked arrays,
// leaf weights grouped per leaf, every reference checked at load time (each
// tree is a proper tree, so evaluation always terminates).
//
// Numerics follow ONNX Runtime, which the converters are tested against:
// float input is compared and accumulated in float, double input in double.
//
// Ownership: owns its arrays.
// Thread-safety: immutable after Build(); Evaluate() is const and keeps its
// per-row state on the stack.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "onnx/attributes.h"
#include "onnx/post_transform.h"
#include "onnx/tensor.h"

namespace kiln::onnx {

class TreeEnsemble {
 public:
  enum class Mode : uint8_t { kLeq, kLt, kGte, kGt, kEq, kNeq, kLeaf };
  enum class Aggregate : uint8_t { kSum, kAverage, kMin, kMax };

  // `classifier` selects the class_* or target_* leaf attributes.
  static StatusOr<std::unique_ptr<TreeEnsemble>> Build(const Attributes& attrs, bool classifier);

  // Classifier: label [N] (int64 or string) and scores [N, classes] FLOAT.
  // Regressor: scores [N, n_targets] FLOAT (outputs[0] only).
  Status Evaluate(const Tensor& x, std::vector<Tensor>& outputs) const;

  size_t num_trees() const { return roots_.size(); }

 private:
  struct Node {
    int64_t feature = 0;
    double threshold = 0;
    float threshold_f = 0;
    Mode mode = Mode::kLeaf;
    bool missing_true = false;
    int32_t true_child = -1, false_child = -1;
    uint32_t weights_begin = 0, weights_end = 0;
  };
  struct Weight {
    int64_t target = 0;
    double value = 0;
    float value_f = 0;
  };

  template <typename T, typename In>
  Status EvaluateTyped(const std::vector<In>& x, int64_t rows, int64_t cols, std::vector<Tensor>& outputs) const;
  template <typename T>
  int64_t FinishClassifier(std::vector<T>& scores, std::vector<uint8_t>& has, float* out) const;

  bool classifier_ = false;
  std::vector<Node> nodes_;
  std::vector<int32_t> roots_;
  std::vector<Weight> weights_;
  int64_t n_targets_ = 0;  // classes for a classifier
  int64_t max_feature_ = -1;
  Aggregate aggregate_ = Aggregate::kSum;
  PostTransform post_transform_ = PostTransform::kNone;
  std::vector<double> base_values_;
  std::vector<int64_t> labels_int_;
  std::vector<std::string> labels_str_;
  // ONNX Runtime's binary convention (skl2onnx, onnxmltools): two classes but
  // weights for one only; the score is the positive class's.
  bool binary_case_ = false;
  bool weights_all_positive_ = true;
};

}  // namespace kiln::onnx
