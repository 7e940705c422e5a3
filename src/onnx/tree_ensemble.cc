#include "onnx/tree_ensemble.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "onnx/kernel_registry.h"
#include "onnx/kernel_util.h"

namespace kiln::onnx {
namespace {

StatusOr<TreeEnsemble::Mode> ParseMode(const std::string& s) {
  using M = TreeEnsemble::Mode;
  if (s == "BRANCH_LEQ") return M::kLeq;
  if (s == "BRANCH_LT") return M::kLt;
  if (s == "BRANCH_GTE") return M::kGte;
  if (s == "BRANCH_GT") return M::kGt;
  if (s == "BRANCH_EQ") return M::kEq;
  if (s == "BRANCH_NEQ") return M::kNeq;
  if (s == "LEAF") return M::kLeaf;
  return InvalidArgument("node mode '" + s + "' is not one of BRANCH_LEQ, BRANCH_LT, BRANCH_GTE, BRANCH_GT, "
                         "BRANCH_EQ, BRANCH_NEQ, LEAF");
}

template <typename T>
bool GoesTrue(TreeEnsemble::Mode mode, T x, T t, bool missing_true) {
  using M = TreeEnsemble::Mode;
  if (missing_true && std::isnan(x)) return true;
  switch (mode) {
    case M::kLeq: return x <= t;
    case M::kLt: return x < t;
    case M::kGte: return x >= t;
    case M::kGt: return x > t;
    case M::kEq: return x == t;
    case M::kNeq: return x != t;
    case M::kLeaf: break;
  }
  return false;
}

}  // namespace

StatusOr<std::unique_ptr<TreeEnsemble>> TreeEnsemble::Build(const Attributes& a, bool classifier) {
  std::unique_ptr<TreeEnsemble> e(new TreeEnsemble);
  e->classifier_ = classifier;
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> tree_ids, a.Ints("nodes_treeids"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> node_ids, a.Ints("nodes_nodeids"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> features, a.Ints("nodes_featureids"));
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> modes, a.Strings("nodes_modes"));
  KILN_ASSIGN_OR_RETURN(std::vector<double> values, a.FloatsOrTensor("nodes_values"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> true_ids, a.Ints("nodes_truenodeids"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> false_ids, a.Ints("nodes_falsenodeids"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> missing, a.Ints("nodes_missing_value_tracks_true"));
  const size_t n = tree_ids.size();
  if (n == 0) return InvalidArgument("the ensemble has no nodes");
  if (node_ids.size() != n || features.size() != n || modes.size() != n || values.size() != n ||
      true_ids.size() != n || false_ids.size() != n || (!missing.empty() && missing.size() != n)) {
    return InvalidArgument("the nodes_* attributes have different lengths");
  }
  if (n > size_t{1} << 30) return InvalidArgument("too many nodes");

  const std::string prefix = classifier ? "class_" : "target_";
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> w_trees, a.Ints(prefix + "treeids"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> w_nodes, a.Ints(prefix + "nodeids"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> w_ids, a.Ints(prefix + "ids"));
  KILN_ASSIGN_OR_RETURN(std::vector<double> w_values, a.FloatsOrTensor(prefix + "weights"));
  if (w_nodes.size() != w_trees.size() || w_ids.size() != w_trees.size() || w_values.size() != w_trees.size()) {
    return InvalidArgument("the " + prefix + "* attributes have different lengths");
  }
  KILN_ASSIGN_OR_RETURN(e->base_values_, a.FloatsOrTensor("base_values"));
  KILN_ASSIGN_OR_RETURN(std::string pt, a.String("post_transform", "NONE"));
  KILN_ASSIGN_OR_RETURN(e->post_transform_, ParsePostTransform(pt));

  if (classifier) {
    KILN_ASSIGN_OR_RETURN(e->labels_int_, a.Ints("classlabels_int64s"));
    KILN_ASSIGN_OR_RETURN(e->labels_str_, a.Strings("classlabels_strings"));
    if (e->labels_int_.empty() == e->labels_str_.empty()) {
      return InvalidArgument("exactly one of classlabels_int64s and classlabels_strings is required");
    }
    e->n_targets_ = static_cast<int64_t>(e->labels_int_.size() + e->labels_str_.size());
  } else {
    KILN_ASSIGN_OR_RETURN(e->n_targets_, a.Int("n_targets", 1));
    KILN_ASSIGN_OR_RETURN(std::string agg, a.String("aggregate_function", "SUM"));
    if (agg == "SUM") e->aggregate_ = Aggregate::kSum;
    else if (agg == "AVERAGE") e->aggregate_ = Aggregate::kAverage;
    else if (agg == "MIN") e->aggregate_ = Aggregate::kMin;
    else if (agg == "MAX") e->aggregate_ = Aggregate::kMax;
    else return InvalidArgument("aggregate_function '" + agg + "' is not one of SUM, AVERAGE, MIN, MAX");
  }
  if (e->n_targets_ < 1 || e->n_targets_ > (int64_t{1} << 24)) return InvalidArgument("bad number of targets/classes");
  if (!e->base_values_.empty() && static_cast<int64_t>(e->base_values_.size()) != e->n_targets_ &&
      !(classifier && e->n_targets_ == 2 && e->base_values_.size() == 1)) {
    return InvalidArgument(std::to_string(e->base_values_.size()) + " base_values for " +
                           std::to_string(e->n_targets_) + (classifier ? " classes" : " targets"));
  }

  // Nodes by (tree, node id), trees in order of first appearance.
  std::map<std::pair<int64_t, int64_t>, int32_t> index;
  std::vector<int64_t> tree_order;
  std::set<int64_t> seen_trees;
  e->nodes_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (!index.emplace(std::make_pair(tree_ids[i], node_ids[i]), static_cast<int32_t>(i)).second) {
      return InvalidArgument("node " + std::to_string(node_ids[i]) + " of tree " + std::to_string(tree_ids[i]) +
                             " is defined twice");
    }
    if (seen_trees.insert(tree_ids[i]).second) tree_order.push_back(tree_ids[i]);
    Node& node = e->nodes_[i];
    KILN_ASSIGN_OR_RETURN(node.mode, ParseMode(modes[i]));
    node.threshold = values[i];
    node.threshold_f = static_cast<float>(values[i]);
    node.missing_true = !missing.empty() && missing[i] != 0;
    if (node.mode != Mode::kLeaf) {
      if (features[i] < 0) return InvalidArgument("negative feature id " + std::to_string(features[i]));
      node.feature = features[i];
      e->max_feature_ = std::max(e->max_feature_, features[i]);
    }
  }
  std::vector<uint8_t> is_child(n, 0);
  for (size_t i = 0; i < n; ++i) {
    Node& node = e->nodes_[i];
    if (node.mode == Mode::kLeaf) continue;
    for (auto [id, child] : {std::pair{true_ids[i], &node.true_child}, std::pair{false_ids[i], &node.false_child}}) {
      auto it = index.find({tree_ids[i], id});
      if (it == index.end()) {
        return InvalidArgument("node " + std::to_string(node_ids[i]) + " of tree " + std::to_string(tree_ids[i]) +
                               " branches to missing node " + std::to_string(id));
      }
      *child = it->second;
      is_child[static_cast<size_t>(it->second)] = 1;
    }
  }
  for (int64_t tree : tree_order) {
    int32_t root = -1;
    for (auto it = index.lower_bound({tree, INT64_MIN}); it != index.end() && it->first.first == tree; ++it) {
      if (is_child[static_cast<size_t>(it->second)]) continue;
      if (root >= 0) return InvalidArgument("tree " + std::to_string(tree) + " has more than one root");
      root = it->second;
    }
    if (root < 0) return InvalidArgument("tree " + std::to_string(tree) + " has no root (it is a cycle)");
    e->roots_.push_back(root);
  }
  // Every node is reached exactly once from its root: no cycles, no sharing.
  std::vector<uint8_t> visited(n, 0);
  for (int32_t root : e->roots_) {
    std::vector<int32_t> stack{root};
    while (!stack.empty()) {
      const int32_t i = stack.back();
      stack.pop_back();
      if (visited[static_cast<size_t>(i)]++) return InvalidArgument("a tree reaches one of its nodes twice (a cycle)");
      const Node& node = e->nodes_[static_cast<size_t>(i)];
      if (node.mode != Mode::kLeaf) {
        stack.push_back(node.true_child);
        stack.push_back(node.false_child);
      }
    }
  }

  // Leaf weights, grouped per leaf in their file order.
  std::vector<std::vector<Weight>> per_node(n);
  std::set<int64_t> weight_classes;
  for (size_t w = 0; w < w_trees.size(); ++w) {
    auto it = index.find({w_trees[w], w_nodes[w]});
    if (it == index.end()) {
      return InvalidArgument("a weight refers to missing node " + std::to_string(w_nodes[w]) + " of tree " +
                             std::to_string(w_trees[w]));
    }
    if (e->nodes_[static_cast<size_t>(it->second)].mode != Mode::kLeaf) {
      return InvalidArgument("a weight refers to node " + std::to_string(w_nodes[w]) + " of tree " +
                             std::to_string(w_trees[w]) + ", which is not a leaf");
    }
    if (w_ids[w] < 0 || w_ids[w] >= e->n_targets_) {
      return InvalidArgument(prefix + "ids value " + std::to_string(w_ids[w]) + " is out of range");
    }
    per_node[static_cast<size_t>(it->second)].push_back({w_ids[w], w_values[w], static_cast<float>(w_values[w])});
    weight_classes.insert(w_ids[w]);
    if (w_values[w] < 0) e->weights_all_positive_ = false;
  }
  for (size_t i = 0; i < n; ++i) {
    e->nodes_[i].weights_begin = static_cast<uint32_t>(e->weights_.size());
    e->weights_.insert(e->weights_.end(), per_node[i].begin(), per_node[i].end());
    e->nodes_[i].weights_end = static_cast<uint32_t>(e->weights_.size());
  }
  e->binary_case_ = classifier && e->n_targets_ == 2 && weight_classes.size() == 1;
  return e;
}

// Scores of one row of a classifier to the output row (width n_targets_);
// returns the label index. Mirrors ONNX Runtime's conventions for two
// classes, which converters rely on.
template <typename T>
int64_t TreeEnsemble::FinishClassifier(std::vector<T>& s, std::vector<uint8_t>& has, float* out) const {
  const size_t k = static_cast<size_t>(n_targets_);
  if (k > 2 || base_values_.size() == 2) {
    for (size_t j = 0; j < base_values_.size(); ++j) {
      s[j] += static_cast<T>(base_values_[j]);
      has[j] = 1;
    }
    int64_t best = -1;
    for (size_t j = 0; j < k; ++j) {
      if (has[j] && (best < 0 || s[j] > s[static_cast<size_t>(best)])) best = static_cast<int64_t>(j);
    }
    if (k == 2 && has[0] && has[1]) best = s[1] > s[0] ? 1 : 0;
    ApplyPostTransform(post_transform_, s.data(), k);
    for (size_t j = 0; j < k; ++j) out[j] = static_cast<float>(s[j]);
    return best < 0 ? 0 : best;
  }
  if (base_values_.size() == 1) {
    s[0] += static_cast<T>(base_values_[0]);
    has[0] = 1;
  }
  if (has[1]) {  // a score for each class
    const int64_t label = s[1] > s[0] ? 1 : 0;
    ApplyPostTransform(post_transform_, s.data(), 2);
    out[0] = static_cast<float>(s[0]);
    out[1] = static_cast<float>(s[1]);
    return label;
  }
  // One score, the positive class's: probabilities (weights all >= 0, e.g. a
  // random forest) are complemented, margins are negated or run through the
  // logistic function on both sides.
  const T score = has[0] ? s[0] : T(0);
  int64_t label;
  if (weights_all_positive_ && binary_case_) {
    label = score > T(0.5) ? 1 : 0;
    if (post_transform_ == PostTransform::kProbit) {
      const auto p = static_cast<T>(Probit(static_cast<double>(score)));
      out[0] = static_cast<float>(T(1) - p);
      out[1] = static_cast<float>(p);
    } else {
      out[0] = static_cast<float>(T(1) - score);
      out[1] = static_cast<float>(score);
    }
  } else {
    label = score > T(0) ? 1 : 0;
    if (post_transform_ == PostTransform::kLogistic) {
      out[0] = static_cast<float>(Logistic(-score));
      out[1] = static_cast<float>(Logistic(score));
    } else if (post_transform_ == PostTransform::kProbit) {
      const auto p = static_cast<T>(Probit(static_cast<double>(score)));
      out[0] = static_cast<float>(T(1) - p);
      out[1] = static_cast<float>(p);
    } else {
      out[0] = static_cast<float>(-score);
      out[1] = static_cast<float>(score);
    }
  }
  return label;
}

template <typename T, typename In>
Status TreeEnsemble::EvaluateTyped(const std::vector<In>& x, int64_t rows, int64_t cols,
                                   std::vector<Tensor>& outputs) const {
  if (max_feature_ >= cols) {
    return InvalidArgument("the trees read feature " + std::to_string(max_feature_) + ", the input has " +
                           std::to_string(cols) + " columns");
  }
  const auto k = static_cast<size_t>(n_targets_);
  std::vector<float> scores(static_cast<size_t>(rows) * k);
  std::vector<int64_t> label_index(static_cast<size_t>(rows));
  std::vector<T> s(k);
  std::vector<uint8_t> has(k);
  for (int64_t r = 0; r < rows; ++r) {
    const In* row = x.data() + r * cols;
    std::fill(s.begin(), s.end(), T(0));
    std::fill(has.begin(), has.end(), 0);
    for (int32_t root : roots_) {
      const Node* node = &nodes_[static_cast<size_t>(root)];
      while (node->mode != Mode::kLeaf) {
        const T v = static_cast<T>(row[node->feature]);
        const T t = std::is_same_v<T, float> ? static_cast<T>(node->threshold_f) : static_cast<T>(node->threshold);
        node = &nodes_[static_cast<size_t>(GoesTrue(node->mode, v, t, node->missing_true) ? node->true_child
                                                                                            : node->false_child)];
      }
      for (uint32_t w = node->weights_begin; w < node->weights_end; ++w) {
        const Weight& wt = weights_[w];
        const auto j = static_cast<size_t>(wt.target);
        const T value = std::is_same_v<T, float> ? static_cast<T>(wt.value_f) : static_cast<T>(wt.value);
        switch (aggregate_) {
          case Aggregate::kSum:
          case Aggregate::kAverage: s[j] += value; break;
          case Aggregate::kMin: s[j] = has[j] ? std::min(s[j], value) : value; break;
          case Aggregate::kMax: s[j] = has[j] ? std::max(s[j], value) : value; break;
        }
        has[j] = 1;
      }
    }
    float* out = &scores[static_cast<size_t>(r) * k];
    if (classifier_) {
      label_index[static_cast<size_t>(r)] = FinishClassifier(s, has, out);
    } else {
      for (size_t j = 0; j < k; ++j) {
        if (aggregate_ == Aggregate::kAverage) s[j] /= static_cast<T>(roots_.size());
        if (!base_values_.empty()) s[j] += static_cast<T>(base_values_[j]);
      }
      ApplyPostTransform(post_transform_, s.data(), k);
      for (size_t j = 0; j < k; ++j) out[j] = static_cast<float>(s[j]);
    }
  }
  if (classifier_) {
    const std::vector<int64_t> shape{rows};
    if (!labels_str_.empty()) {
      std::vector<std::string> labels;
      for (int64_t i : label_index) labels.push_back(labels_str_[static_cast<size_t>(i)]);
      outputs[0] = Tensor(shape, std::move(labels));
    } else {
      std::vector<int64_t> labels;
      for (int64_t i : label_index) labels.push_back(labels_int_[static_cast<size_t>(i)]);
      outputs[0] = Tensor(shape, std::move(labels));
    }
    if (outputs.size() > 1) outputs[1] = Tensor({rows, n_targets_}, std::move(scores));
  } else {
    outputs[0] = Tensor({rows, n_targets_}, std::move(scores));
  }
  return Status::Ok();
}

Status TreeEnsemble::Evaluate(const Tensor& x, std::vector<Tensor>& outputs) const {
  int64_t rows = 0, cols = 0;
  if (x.rank() == 1) {
    rows = 1;
    cols = x.shape()[0];
  } else if (x.rank() == 2) {
    rows = x.shape()[0];
    cols = x.shape()[1];
  } else {
    return InvalidArgument("expects a [N, C] or [C] tensor, got shape " + ShapeText(x.shape()));
  }
  switch (x.dtype()) {
    case DType::kFloat: return EvaluateTyped<float>(x.data<float>(), rows, cols, outputs);
    case DType::kDouble: return EvaluateTyped<double>(x.data<double>(), rows, cols, outputs);
    case DType::kInt64: return EvaluateTyped<float>(x.data<int64_t>(), rows, cols, outputs);
    case DType::kInt32: return EvaluateTyped<float>(x.data<int32_t>(), rows, cols, outputs);
    default: return TypeError("tree ensembles", x.dtype());
  }
}

namespace {

KernelFactory TreeFactory(bool classifier) {
  return [classifier](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    KILN_RETURN_IF_ERROR(CheckArity(init, 1, 1, classifier ? 2 : 1, classifier ? 2 : 1));
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<TreeEnsemble> ensemble, TreeEnsemble::Build(*init.attrs, classifier));
    std::shared_ptr<const TreeEnsemble> shared(std::move(ensemble));
    return MakeKernel([shared](const std::vector<const Tensor*>& in, std::vector<Tensor>& out) -> Status {
      KILN_RETURN_IF_ERROR(RequireInputs(in, 1));
      return shared->Evaluate(*in[0], out);
    });
  };
}

}  // namespace

void RegisterTreeEnsembleKernels(KernelRegistry& r) {
  r.Register(kDomainMl, "TreeEnsembleClassifier", TreeFactory(true));
  r.Register(kDomainMl, "TreeEnsembleRegressor", TreeFactory(false));
}

}  // namespace kiln::onnx
