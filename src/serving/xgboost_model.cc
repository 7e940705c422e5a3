#include "serving/xgboost_model.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <limits>
#include <new>
#include <system_error>
#include <utility>

namespace kiln::serving {
namespace {

// xgboost's common::OutOfRangeCat(): the first float that no longer maps to
// a distinct category (2^24 - 1); it and anything above are invalid.
constexpr float kMaxCategory = 16777215.0f;

// A bounded, printable excerpt of untrusted text for error messages.
std::string Excerpt(std::string_view s) {
  constexpr size_t kMax = 60;
  std::string out;
  for (char c : s.substr(0, kMax)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > kMax) out += "...";
  return out;
}

bool ParseFloat(std::string_view tok, float* out) {
  while (!tok.empty() && tok.front() == ' ') tok.remove_prefix(1);
  while (!tok.empty() && tok.back() == ' ') tok.remove_suffix(1);
  if (tok.empty()) return false;
  const auto r = std::from_chars(tok.data(), tok.data() + tok.size(), *out, std::chars_format::general);
  return r.ec == std::errc() && r.ptr == tok.data() + tok.size();
}

}  // namespace

bool XgboostModel::ParseBaseScore(std::string_view s, std::vector<float>* out) {
  out->clear();
  if (!s.empty() && s.front() == '[') {
    if (s.back() != ']') return false;
    s = s.substr(1, s.size() - 2);
    while (true) {
      const size_t comma = s.find(',');
      float v;
      if (!ParseFloat(s.substr(0, comma), &v)) return false;
      out->push_back(v);
      if (comma == std::string_view::npos) break;
      s.remove_prefix(comma + 1);
    }
    return true;
  }
  float v;
  if (!ParseFloat(s, &v)) return false;
  out->push_back(v);
  return true;
}

namespace {

// The objective's link applied to base_score (xgboost's ProbToMargin),
// in float as xgboost computes it.
Status ProbToMargin(const std::string& objective, XgboostModel::Transform transform, float p, float* margin) {
  using T = XgboostModel::Transform;
  // binary:logitraw keeps its intercept as a margin in every version.
  const bool logistic = objective == "binary:logistic" || objective == "reg:logistic";
  if (logistic) {
    if (!(p > 0.0f && p < 1.0f)) {
      return InvalidArgument("base_score " + std::to_string(p) + " is outside (0, 1), which " + objective +
                             " requires");
    }
    *margin = -std::log(1.0f / p - 1.0f);
    return Status::Ok();
  }
  if (transform == T::kExp) {
    if (!(p > 0.0f)) {
      return InvalidArgument("base_score " + std::to_string(p) + " is not positive, which " + objective +
                             " requires");
    }
    *margin = std::log(p);
    return Status::Ok();
  }
  *margin = p;
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<XgboostModel>> XgboostModel::Parse(std::string_view bytes, std::string_view file_name) {
  if (bytes.size() > kMaxModelBytes) {
    return InvalidArgument("XGBoost model is " + std::to_string(bytes.size()) + " bytes, over the " +
                           std::to_string(kMaxModelBytes) + "-byte limit");
  }
  if (bytes.empty()) return InvalidArgument("empty XGBoost model file");
  if (file_name.ends_with(".json")) return ParseDocument(bytes, Format::kJson);
  if (file_name.ends_with(".ubj")) return ParseDocument(bytes, Format::kUbjson);
  size_t first = 0;
  while (first < bytes.size() && (bytes[first] == ' ' || bytes[first] == '\n' || bytes[first] == '\r' ||
                                  bytes[first] == '\t')) {
    ++first;
  }
  if (first < bytes.size() && bytes[first] == '{') {
    const char next = first + 1 < bytes.size() ? bytes[first + 1] : '\0';
    const bool json = next == '"' || next == '}' || next == ' ' || next == '\n' || next == '\r' || next == '\t';
    // A UBJSON document starts with '{' directly; leading whitespace means text.
    return ParseDocument(bytes, json || first > 0 ? Format::kJson : Format::kUbjson);
  }
  return ParseLegacyBinary(bytes);
}

Status XgboostModel::Finish(const Header& h, Format format) {
  format_ = format;
  version_ = h.version;
  objective_ = h.objective;
  booster_ = h.booster;

  static const struct {
    const char* name;
    Transform transform;
  } kObjectives[] = {
      {"binary:logistic", Transform::kSigmoid},     {"reg:logistic", Transform::kSigmoid},
      {"binary:logitraw", Transform::kIdentity},    {"binary:hinge", Transform::kHinge},
      {"reg:squarederror", Transform::kIdentity},   {"reg:linear", Transform::kIdentity},
      {"reg:squaredlogerror", Transform::kIdentity}, {"reg:pseudohubererror", Transform::kIdentity},
      {"reg:absoluteerror", Transform::kIdentity},  {"reg:quantileerror", Transform::kIdentity},
      {"count:poisson", Transform::kExp},           {"reg:gamma", Transform::kExp},
      {"reg:tweedie", Transform::kExp},             {"survival:cox", Transform::kExp},           {"survival:aft", Transform::kExp},
      {"multi:softprob", Transform::kSoftmax},      {"multi:softmax", Transform::kArgMax},
      {"rank:pairwise", Transform::kIdentity},      {"rank:ndcg", Transform::kIdentity},
      {"rank:map", Transform::kIdentity},
  };
  bool known = false;
  for (const auto& o : kObjectives) {
    if (objective_ == o.name) {
      transform_ = o.transform;
      known = true;
    }
  }
  if (!known) {
    return InvalidArgument("objective '" + Excerpt(objective_) +
                           "' is not one kiln's XGBoost evaluator implements, so its predictions cannot be "
                           "reproduced exactly");
  }
  if (h.num_feature < 1 || h.num_feature > int64_t{kFeatureMask}) {
    return InvalidArgument("num_feature " + std::to_string(h.num_feature) + " is out of range");
  }
  num_features_ = static_cast<size_t>(h.num_feature);
  const bool multiclass = transform_ == Transform::kSoftmax || transform_ == Transform::kArgMax;
  if (h.num_class < 0 || h.num_class > 1 << 20 || h.num_target < 1 || h.num_target > 1 << 20) {
    return InvalidArgument("num_class " + std::to_string(h.num_class) + " / num_target " +
                           std::to_string(h.num_target) + " out of range");
  }
  if (multiclass && h.num_class < 1) return InvalidArgument(objective_ + " model without num_class");
  if (h.num_class > 0 && h.num_target > 1) {
    return InvalidArgument("a model cannot have both num_class and several targets");
  }
  num_groups_ = static_cast<size_t>(h.num_class > 0 ? h.num_class : h.num_target);

  if (h.base_score.size() != 1 && h.base_score.size() != num_groups_) {
    return InvalidArgument("base_score has " + std::to_string(h.base_score.size()) + " values for " +
                           std::to_string(num_groups_) + " outputs");
  }
  base_margin_.resize(num_groups_);
  for (size_t g = 0; g < num_groups_; ++g) {
    const float p = h.base_score[h.base_score.size() == 1 ? 0 : g];
    if (std::isnan(p)) return InvalidArgument("base_score is NaN");
    // xgboost >= 3 stores a multi-class intercept already as a margin (its
    // softmax has no inverse link); earlier versions add 0.5 to every class.
    KILN_RETURN_IF_ERROR(ProbToMargin(objective_, transform_, p, &base_margin_[g]));
  }
  for (size_t i = 0; i < trees_.size(); ++i) {
    Tree& tree = trees_[i];
    size_t depth = 0;
    KILN_RETURN_IF_ERROR(CheckTree(tree, i, &depth));
    max_path_nodes_ += depth;
    tree.hot.resize(tree.nodes.size());
    for (size_t n = 0; n < tree.nodes.size(); ++n) {
      const Node& node = tree.nodes[n];
      tree.hot[n] = {node.value, node.left, node.right,
                     (node.feature & kFeatureMask) | (node.default_left ? kDefaultLeft : 0u) |
                         (node.categorical ? kCategorical : 0u)};
    }
  }
  return Status::Ok();
}

Status XgboostModel::CheckTree(const Tree& tree, size_t index, size_t* depth) const {
  const std::string where = "tree " + std::to_string(index);
  const size_t n = tree.nodes.size();
  if (n == 0) return InvalidArgument(where + " has no nodes");
  if (tree.vector_leaf) {
    if (tree.group != 0) return InvalidArgument(where + ": a vector-leaf tree must be in group 0");
  } else if (tree.group < 0 || static_cast<size_t>(tree.group) >= num_groups_) {
    return InvalidArgument(where + " adds to output " + std::to_string(tree.group) + " of " +
                           std::to_string(num_groups_));
  }
  // Walk every reachable node once: a node reached twice (a cycle or a
  // shared child) is no tree, and prediction walks could then loop forever.
  std::vector<char> seen(n, 0);
  std::vector<std::pair<int32_t, size_t>> stack{{0, 1}};  // node, its depth
  *depth = 0;
  while (!stack.empty()) {
    const auto [id, level] = stack.back();
    stack.pop_back();
    *depth = std::max(*depth, level);
    if (seen[static_cast<size_t>(id)]) return InvalidArgument(where + ": node " + std::to_string(id) + " is reached twice");
    seen[static_cast<size_t>(id)] = 1;
    const Node& node = tree.nodes[static_cast<size_t>(id)];
    if (node.left == -1) {
      if (tree.vector_leaf && (size_t{node.leaf_begin} + num_groups_ > tree.leaf_values.size())) {
        return InvalidArgument(where + ": leaf " + std::to_string(id) + " has no leaf vector");
      }
      continue;
    }
    for (int32_t child : {node.left, node.right}) {
      if (child < 0 || static_cast<size_t>(child) >= n) {
        return InvalidArgument(where + ": node " + std::to_string(id) + " has child " + std::to_string(child) +
                               " outside its " + std::to_string(n) + " nodes");
      }
      stack.emplace_back(child, level + 1);
    }
    if (node.feature >= num_features_) {
      return InvalidArgument(where + ": node " + std::to_string(id) + " splits on feature " +
                             std::to_string(node.feature) + " of " + std::to_string(num_features_));
    }
    if (node.categorical && size_t{node.cat_begin} + node.cat_words > tree.cat_bits.size()) {
      return InvalidArgument(where + ": node " + std::to_string(id) + " has no category set");
    }
  }
  return Status::Ok();
}

bool XgboostModel::GoesLeftCategorical(const Tree& tree, const Node& node, float value) const {
  const bool invalid = value < 0.0f || value >= kMaxCategory;
  const auto cat = invalid ? 0 : static_cast<uint32_t>(static_cast<int32_t>(value));
  // Invalid, or beyond the node's bit field: not in the set, so left
  // (measured the same in 1.7, 2.1 and 3.2).
  if (invalid || cat / 32 >= node.cat_words) return true;
  const uint32_t word = tree.cat_bits[node.cat_begin + cat / 32];
  return ((word >> (cat % 32)) & 1u) == 0;
}

void XgboostModel::BlockMargins(const float* rows, size_t n, float* out) const {
  const size_t groups = num_groups_;
  for (size_t r = 0; r < n; ++r) std::copy(base_margin_.begin(), base_margin_.end(), out + r * groups);
  for (const Tree& tree : trees_) {
    const HotNode* nodes = tree.hot.data();
    for (size_t r = 0; r < n; ++r) {
      const float* row = rows + r * num_features_;
      int32_t id = 0;
      while (nodes[id].left != -1) {
        const HotNode& node = nodes[id];
        const float v = row[node.feature_flags & kFeatureMask];
        bool left;
        if (std::isnan(v)) {
          left = (node.feature_flags & kDefaultLeft) != 0;
        } else if (node.feature_flags & kCategorical) {
          left = GoesLeftCategorical(tree, tree.nodes[static_cast<size_t>(id)], v);
        } else {
          left = v < node.value;
        }
        id = left ? node.left : node.right;
      }
      float* o = out + r * groups;
      if (tree.vector_leaf) {
        const float* leaf = tree.leaf_values.data() + tree.nodes[static_cast<size_t>(id)].leaf_begin;
        for (size_t g = 0; g < groups; ++g) o[g] += leaf[g] * tree.weight;
      } else {
        o[tree.group] += nodes[id].value * tree.weight;
      }
    }
  }
}

void XgboostModel::ApplyTransform(float* out) const {
  switch (transform_) {
    case Transform::kIdentity:
      return;
    case Transform::kSigmoid:
      for (size_t g = 0; g < num_groups_; ++g) out[g] = 1.0f / (1.0f + std::exp(-out[g]));
      return;
    case Transform::kExp:
      for (size_t g = 0; g < num_groups_; ++g) out[g] = std::exp(out[g]);
      return;
    case Transform::kHinge:
      for (size_t g = 0; g < num_groups_; ++g) out[g] = out[g] > 0.0f ? 1.0f : 0.0f;
      return;
    case Transform::kSoftmax: {
      // xgboost's common::Softmax: float max and exponentials, a double sum.
      float max = out[0];
      for (size_t g = 1; g < num_groups_; ++g) max = std::fmax(out[g], max);
      double sum = 0;
      for (size_t g = 0; g < num_groups_; ++g) {
        out[g] = std::exp(out[g] - max);
        sum += out[g];
      }
      for (size_t g = 0; g < num_groups_; ++g) out[g] /= static_cast<float>(sum);
      return;
    }
    case Transform::kArgMax: {
      size_t best = 0;
      for (size_t g = 1; g < num_groups_; ++g) {
        if (out[g] > out[best]) best = g;
      }
      out[0] = static_cast<float>(best);
      return;
    }
  }
}

Status XgboostModel::PredictMargin(const float* row, size_t num_features, float* out) const {
  if (num_features != num_features_) {
    return InvalidArgument("row has " + std::to_string(num_features) + " features; the model takes " +
                           std::to_string(num_features_));
  }
  BlockMargins(row, 1, out);
  return Status::Ok();
}

Status XgboostModel::Predict(const float* row, size_t num_features, float* out) const {
  return PredictBatch(row, 1, num_features, out);
}

Status XgboostModel::PredictBatch(const float* rows, size_t num_rows, size_t num_features, float* out) const {
  if (num_features != num_features_) {
    return InvalidArgument("row has " + std::to_string(num_features) + " features; the model takes " +
                           std::to_string(num_features_));
  }
  const size_t groups = num_groups_;
  const size_t outputs = num_outputs();
  std::vector<float> margins(std::min(num_rows, kBlockRows) * groups);
  for (size_t begin = 0; begin < num_rows; begin += kBlockRows) {
    const size_t n = std::min(kBlockRows, num_rows - begin);
    BlockMargins(rows + begin * num_features_, n, margins.data());
    for (size_t r = 0; r < n; ++r) {
      float* m = margins.data() + r * groups;
      ApplyTransform(m);
      std::copy(m, m + outputs, out + (begin + r) * outputs);
    }
  }
  return Status::Ok();
}

}  // namespace kiln::serving
