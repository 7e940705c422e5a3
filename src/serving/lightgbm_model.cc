#include "serving/lightgbm_model.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <new>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace kiln::serving {
namespace {

// LightGBM's kZeroThreshold (a float literal there, hence the f): values this close to zero count as zero, both in
// the Zero missing mode and when the C API densifies a row (it drops entries
// with |x| <= kZeroThreshold, so they are read back as exactly 0).
constexpr double kZeroThreshold = 1e-35f;

constexpr uint8_t kMissingNone = 0;
constexpr uint8_t kMissingZero = 1;
constexpr uint8_t kMissingNaN = 2;

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// A bounded, printable excerpt of untrusted text for error messages.
std::string Excerpt(std::string_view s) {
  constexpr size_t kMax = 60;
  std::string out;
  for (char c : s.substr(0, kMax)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > kMax) out += "...";
  return out;
}

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    pos = nl + 1;
  }
  return lines;
}

// Space-separated tokens; LightGBM writes single spaces, but nothing is lost
// by tolerating runs of them.
std::vector<std::string_view> SplitSpaces(std::string_view s) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < s.size()) {
    if (s[pos] == ' ') {
      ++pos;
      continue;
    }
    size_t end = s.find(' ', pos);
    if (end == std::string_view::npos) end = s.size();
    out.push_back(s.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

template <typename T>
bool ParseNumber(std::string_view tok, T* out) {
  if (tok.empty()) return false;
  const char* first = tok.data();
  const char* last = tok.data() + tok.size();
  std::from_chars_result r;
  if constexpr (std::is_floating_point_v<T>) {
    r = std::from_chars(first, last, *out, std::chars_format::general);
  } else {
    r = std::from_chars(first, last, *out);
  }
  return r.ec == std::errc() && r.ptr == last;
}

// `key=value` lines of one section; a repeated key is malformed.
class Fields {
 public:
  // `allow_flags`: a line without '=' is a key with an empty value (the
  // header's "tree" and "average_output").
  Status Add(std::string_view where, std::string_view line, bool allow_flags = false) {
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos && !allow_flags) {
      return InvalidArgument(std::string(where) + ": expected key=value, got '" + Excerpt(line) + "'");
    }
    const std::string_view key = line.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : line.substr(eq + 1);
    if (!map_.emplace(key, value).second) {
      return InvalidArgument(std::string(where) + ": duplicate field '" + Excerpt(line.substr(0, eq)) + "'");
    }
    return Status::Ok();
  }
  const std::string_view* Find(std::string_view key) const {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }

 private:
  std::unordered_map<std::string_view, std::string_view> map_;
};

class FieldReader {
 public:
  FieldReader(const Fields& fields, std::string where) : fields_(fields), where_(std::move(where)) {}

  Status Error(std::string_view key, const std::string& what) const {
    return InvalidArgument(where_ + ": field '" + std::string(key) + "' " + what);
  }

  bool Has(std::string_view key) const { return fields_.Find(key) != nullptr; }

  template <typename T>
  Status Scalar(std::string_view key, T* out) const {
    const std::string_view* v = fields_.Find(key);
    if (v == nullptr) return Error(key, "is missing");
    if (!ParseNumber(*v, out)) return Error(key, "is not a valid number: '" + Excerpt(*v) + "'");
    return Status::Ok();
  }

  // Exactly `expected` numbers. The count is compared after tokenising, so a
  // lying count never drives an allocation.
  template <typename T>
  Status Array(std::string_view key, size_t expected, std::vector<T>* out) const {
    const std::string_view* v = fields_.Find(key);
    if (v == nullptr) return Error(key, "is missing");
    const std::vector<std::string_view> toks = SplitSpaces(*v);
    if (toks.size() != expected) {
      return Error(key, "has " + std::to_string(toks.size()) + " values, expected " + std::to_string(expected));
    }
    out->resize(expected);
    for (size_t i = 0; i < expected; ++i) {
      if (!ParseNumber(toks[i], &(*out)[i])) {
        return Error(key, "value " + std::to_string(i) + " is not a valid number: '" + Excerpt(toks[i]) + "'");
      }
    }
    return Status::Ok();
  }

 private:
  const Fields& fields_;
  std::string where_;
};

// Token "name:value" of an objective line, e.g. "sigmoid:1".
bool ObjectiveParam(const std::vector<std::string_view>& toks, std::string_view name, std::string_view* value) {
  for (std::string_view t : toks) {
    if (t.size() > name.size() && StartsWith(t, name) && t[name.size()] == ':') {
      *value = t.substr(name.size() + 1);
      return true;
    }
  }
  return false;
}

bool HasToken(const std::vector<std::string_view>& toks, std::string_view token) {
  for (std::string_view t : toks) {
    if (t == token) return true;
  }
  return false;
}

inline bool IsZero(double v) { return v >= -kZeroThreshold && v <= kZeroThreshold; }

inline double Sigmoid(double scale, double x) { return 1.0 / (1.0 + std::exp(-scale * x)); }

}  // namespace

StatusOr<LightGbmModel::Tree> LightGbmModel::ParseTree(std::string_view block_name,
                                                       const std::vector<std::string_view>& lines,
                                                       int max_feature_idx) {
  const std::string where = std::string(block_name);
  Fields fields;
  for (std::string_view line : lines) KILN_RETURN_IF_ERROR(fields.Add(where, line));
  FieldReader r(fields, where);

  int num_leaves = 0;
  int num_cat = 0;
  KILN_RETURN_IF_ERROR(r.Scalar("num_leaves", &num_leaves));
  if (num_leaves < 1) return r.Error("num_leaves", "must be at least 1");
  KILN_RETURN_IF_ERROR(r.Scalar("num_cat", &num_cat));
  if (num_cat < 0) return r.Error("num_cat", "must not be negative");
  if (r.Has("is_linear")) {
    int is_linear = 0;
    KILN_RETURN_IF_ERROR(r.Scalar("is_linear", &is_linear));
    if (is_linear != 0) {
      return InvalidArgument(where + " is a linear tree (trained with linear_tree=true); kiln's LightGBM runtime "
                                     "evaluates only constant-leaf trees");
    }
  }

  Tree tree;
  KILN_RETURN_IF_ERROR(r.Array("leaf_value", static_cast<size_t>(num_leaves), &tree.leaf_values));
  // LightGBM ignores every split field of a one-leaf tree, and so do we.
  if (num_leaves == 1) return tree;

  const size_t n = static_cast<size_t>(num_leaves) - 1;
  std::vector<int> split_feature, left, right, decision_type;
  std::vector<double> threshold;
  KILN_RETURN_IF_ERROR(r.Array("split_feature", n, &split_feature));
  KILN_RETURN_IF_ERROR(r.Array("threshold", n, &threshold));
  KILN_RETURN_IF_ERROR(r.Array("left_child", n, &left));
  KILN_RETURN_IF_ERROR(r.Array("right_child", n, &right));
  if (r.Has("decision_type")) {
    KILN_RETURN_IF_ERROR(r.Array("decision_type", n, &decision_type));
  } else {
    decision_type.assign(n, 0);  // LightGBM's default: numerical, default right, no missing handling
  }

  std::vector<int> cat_boundaries;
  if (num_cat > 0) {
    KILN_RETURN_IF_ERROR(r.Array("cat_boundaries", static_cast<size_t>(num_cat) + 1, &cat_boundaries));
    if (cat_boundaries[0] != 0) return r.Error("cat_boundaries", "must start at 0");
    for (size_t i = 1; i < cat_boundaries.size(); ++i) {
      if (cat_boundaries[i] < cat_boundaries[i - 1]) return r.Error("cat_boundaries", "must not decrease");
    }
    KILN_RETURN_IF_ERROR(r.Array("cat_threshold", static_cast<size_t>(cat_boundaries.back()), &tree.cat_bits));
  }

  // Every child slot names an internal node other than the root, or a leaf,
  // and nothing is named twice. With one parent per node and none for the
  // root, the walk from the root cannot loop, and each step stays in bounds.
  std::vector<uint8_t> node_seen(n, 0);
  std::vector<uint8_t> leaf_seen(static_cast<size_t>(num_leaves), 0);
  auto check_child = [&](size_t node, int child, const char* side) -> Status {
    auto refuse = [&](const char* why) {
      return InvalidArgument(where + ": node " + std::to_string(node) + " " + side + " child " +
                             std::to_string(child) + why);
    };
    if (child >= 0) {
      if (static_cast<size_t>(child) >= n) return refuse(" is not an internal node");
      if (child == 0) return refuse(" points back at the root");
      if (node_seen[static_cast<size_t>(child)]++ != 0) return refuse(" has two parents");
    } else {
      const int leaf = ~child;
      if (leaf >= num_leaves) return refuse(" is not a leaf");
      if (leaf_seen[static_cast<size_t>(leaf)]++ != 0) return refuse(" is reached twice");
    }
    return Status::Ok();
  };

  tree.nodes.resize(n);
  for (size_t i = 0; i < n; ++i) {
    Node& node = tree.nodes[i];
    auto at = [&] { return where + ": node " + std::to_string(i); };
    if (split_feature[i] < 0 || split_feature[i] > max_feature_idx) {
      return InvalidArgument(at() + " splits on feature " + std::to_string(split_feature[i]) +
                             ", outside [0, max_feature_idx=" + std::to_string(max_feature_idx) + "]");
    }
    // Bit 0 categorical, bit 1 default-left, bits 2-3 missing type; LightGBM
    // sets nothing else and defines missing types 0-2 only.
    const int dt = decision_type[i];
    if (dt < 0 || dt > 15 || ((dt >> 2) & 3) == 3) {
      return InvalidArgument(at() + " has an unknown decision_type " + std::to_string(dt));
    }
    KILN_RETURN_IF_ERROR(check_child(i, left[i], "left"));
    KILN_RETURN_IF_ERROR(check_child(i, right[i], "right"));
    node.feature = split_feature[i];
    node.left = left[i];
    node.right = right[i];
    node.categorical = (dt & 1) != 0;
    node.default_left = (dt & 2) != 0;
    node.missing_type = static_cast<uint8_t>((dt >> 2) & 3);
    if (node.categorical) {
      // The threshold of a categorical split is the index of its bitset.
      const double t = threshold[i];
      if (!(t >= 0 && t < num_cat) || t != std::floor(t)) {
        return InvalidArgument(at() + " is categorical but its threshold is not a category set index in [0, num_cat=" +
                               std::to_string(num_cat) + ")");
      }
      const size_t set = static_cast<size_t>(t);
      node.cat_begin = cat_boundaries[set];
      node.cat_words = cat_boundaries[set + 1] - cat_boundaries[set];
    } else {
      node.threshold = threshold[i];
    }
  }
  return tree;
}

Status LightGbmModel::SetObjective(std::string_view objective) {
  objective_ = std::string(objective);
  const std::vector<std::string_view> toks = SplitSpaces(objective);
  if (toks.empty()) {
    transform_ = Transform::kIdentity;  // no objective: LightGBM predicts raw scores
    return Status::Ok();
  }
  const std::string_view name = toks[0];
  const std::string quoted = "'" + Excerpt(name) + "'";

  auto read_sigmoid = [&]() -> Status {
    std::string_view v;
    if (!ObjectiveParam(toks, "sigmoid", &v) || !ParseNumber(v, &sigmoid_) || !(sigmoid_ > 0) ||
        !std::isfinite(sigmoid_)) {
      return InvalidArgument("LightGBM objective " + quoted + " needs a positive sigmoid:<value>, got '" +
                             Excerpt(objective) + "'");
    }
    return Status::Ok();
  };
  auto one_tree_per_iteration = [&]() -> Status {
    if (num_tree_per_iteration_ != 1) {
      return InvalidArgument("LightGBM objective " + quoted + " expects num_tree_per_iteration=1, the model has " +
                             std::to_string(num_tree_per_iteration_));
    }
    return Status::Ok();
  };

  if (name == "multiclass" || name == "multiclassova") {
    std::string_view v;
    int k = 0;
    if (!ObjectiveParam(toks, "num_class", &v) || !ParseNumber(v, &k) || k != num_class_ ||
        k != num_tree_per_iteration_) {
      return InvalidArgument("LightGBM objective " + quoted + " must name num_class:" + std::to_string(num_class_) +
                             " equal to num_class and num_tree_per_iteration, got '" + Excerpt(objective) + "'");
    }
    if (name == "multiclass") {
      transform_ = Transform::kSoftmax;
      return Status::Ok();
    }
    transform_ = Transform::kSigmoidEach;
    return read_sigmoid();
  }

  KILN_RETURN_IF_ERROR(one_tree_per_iteration());
  if (name == "binary") {
    transform_ = Transform::kSigmoid;
    return read_sigmoid();
  }
  if (name == "cross_entropy") {
    transform_ = Transform::kSigmoid;
    sigmoid_ = 1.0;
    return Status::Ok();
  }
  if (name == "cross_entropy_lambda") {
    transform_ = Transform::kLog1pExp;
    return Status::Ok();
  }
  if (name == "poisson" || name == "gamma" || name == "tweedie") {
    transform_ = Transform::kExp;
    return Status::Ok();
  }
  if (name == "lambdarank" || name == "rank_xendcg") {
    transform_ = Transform::kIdentity;
    return Status::Ok();
  }
  if (name == "regression" || name == "regression_l1" || name == "huber" || name == "fair" || name == "quantile" ||
      name == "mape") {
    // reg_sqrt trains on sign(y)*sqrt(|y|) and squares back; LightGBM's Huber
    // switches the flag off.
    transform_ = (HasToken(toks, "sqrt") && name != "huber") ? Transform::kSignedSquare : Transform::kIdentity;
    return Status::Ok();
  }
  return InvalidArgument("unsupported LightGBM objective " + quoted +
                         " (supported: binary, multiclass, multiclassova, cross_entropy, cross_entropy_lambda, "
                         "regression, regression_l1, huber, fair, quantile, mape, poisson, gamma, tweedie, "
                         "lambdarank, rank_xendcg)");
}

StatusOr<std::unique_ptr<LightGbmModel>> LightGbmModel::Parse(std::string_view text) {
  try {
    const std::vector<std::string_view> lines = SplitLines(text);
    std::unique_ptr<LightGbmModel> model(new LightGbmModel());

    // Header: key=value lines (a bare word such as "tree" or "average_output"
    // is a flag) up to the first tree.
    Fields header;
    size_t i = 0;
    for (; i < lines.size(); ++i) {
      const std::string_view line = lines[i];
      if (StartsWith(line, "Tree=") || line == "end of trees") break;
      if (line.empty()) continue;
      const std::string where = "lightgbm model header, line " + std::to_string(i + 1);
      KILN_RETURN_IF_ERROR(header.Add(where, line, /*allow_flags=*/true));
    }
    FieldReader h(header, "lightgbm model header");
    KILN_RETURN_IF_ERROR(h.Scalar("num_class", &model->num_class_));
    if (model->num_class_ < 1) return h.Error("num_class", "must be at least 1");
    model->num_tree_per_iteration_ = model->num_class_;
    if (h.Has("num_tree_per_iteration")) {
      KILN_RETURN_IF_ERROR(h.Scalar("num_tree_per_iteration", &model->num_tree_per_iteration_));
      if (model->num_tree_per_iteration_ < 1) return h.Error("num_tree_per_iteration", "must be at least 1");
    }
    int max_feature_idx = -1;
    KILN_RETURN_IF_ERROR(h.Scalar("max_feature_idx", &max_feature_idx));
    if (max_feature_idx < 0) return h.Error("max_feature_idx", "must not be negative");
    const std::string_view* names = header.Find("feature_names");
    if (names == nullptr) return h.Error("feature_names", "is missing");
    for (std::string_view name : SplitSpaces(*names)) model->feature_names_.emplace_back(name);
    if (model->feature_names_.size() != static_cast<size_t>(max_feature_idx) + 1) {
      return h.Error("feature_names", "has " + std::to_string(model->feature_names_.size()) +
                                          " names, expected max_feature_idx + 1 = " +
                                          std::to_string(static_cast<int64_t>(max_feature_idx) + 1));
    }
    model->average_output_ = h.Has("average_output");
    const std::string_view* objective = header.Find("objective");
    KILN_RETURN_IF_ERROR(model->SetObjective(objective == nullptr ? std::string_view() : *objective));

    // Trees: "Tree=<index>" then key=value lines up to a blank line, until
    // "end of trees". What follows (importances, parameters) is not needed.
    bool ended = false;
    while (i < lines.size()) {
      const std::string_view line = lines[i];
      if (line.empty()) {
        ++i;
        continue;
      }
      if (line == "end of trees") {
        ended = true;
        break;
      }
      const std::string at = "lightgbm model, line " + std::to_string(i + 1);
      if (!StartsWith(line, "Tree=")) {
        return InvalidArgument(at + ": expected 'Tree=<index>' or 'end of trees', got '" + Excerpt(line) + "'");
      }
      size_t index = 0;
      if (!ParseNumber(line.substr(5), &index) || index != model->trees_.size()) {
        return InvalidArgument(at + ": expected 'Tree=" + std::to_string(model->trees_.size()) + "', got '" +
                               Excerpt(line) + "'");
      }
      ++i;
      std::vector<std::string_view> block;
      while (i < lines.size() && !lines[i].empty() && !StartsWith(lines[i], "Tree=") && lines[i] != "end of trees") {
        block.push_back(lines[i++]);
      }
      KILN_ASSIGN_OR_RETURN(Tree tree, ParseTree("lightgbm model Tree=" + std::to_string(index), block,
                                                 max_feature_idx));
      model->trees_.push_back(std::move(tree));
    }
    if (!ended) return InvalidArgument("lightgbm model is truncated: no 'end of trees' line");
    if (model->trees_.empty()) return InvalidArgument("lightgbm model has no trees");
    if (model->trees_.size() % static_cast<size_t>(model->num_tree_per_iteration_) != 0) {
      return InvalidArgument("lightgbm model has " + std::to_string(model->trees_.size()) +
                             " trees, not a multiple of num_tree_per_iteration=" +
                             std::to_string(model->num_tree_per_iteration_));
    }
    if (const std::string_view* sizes = header.Find("tree_sizes")) {
      const size_t declared = SplitSpaces(*sizes).size();
      if (declared != model->trees_.size()) {
        return InvalidArgument("lightgbm model: tree_sizes lists " + std::to_string(declared) + " trees, the file has " +
                               std::to_string(model->trees_.size()));
      }
    }
    return model;
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("lightgbm model: out of memory while parsing");
  } catch (const std::exception& e) {
    return Internal(std::string("lightgbm model: ") + e.what());
  }
}

double LightGbmModel::TreeOutput(const Tree& tree, const double* row) {
  if (tree.nodes.empty()) return tree.leaf_values[0];
  int32_t at = 0;
  while (at >= 0) {
    const Node& node = tree.nodes[static_cast<size_t>(at)];
    double v = row[node.feature];
    if (IsZero(v)) v = 0.0;  // as LightGBM's C API densifies rows
    if (node.categorical) {
      // LightGBM truncates to int and sends NaN and negatives right; values
      // past INT_MAX also go right (x86's conversion yields INT_MIN there).
      if (!(v > -1.0) || v >= 2147483648.0) {
        at = node.right;
        continue;
      }
      const int32_t cat = static_cast<int32_t>(v);
      const int32_t word = cat / 32;
      const bool in_set = word < node.cat_words &&
                          ((tree.cat_bits[static_cast<size_t>(node.cat_begin + word)] >> (cat % 32)) & 1u) != 0;
      at = in_set ? node.left : node.right;
      continue;
    }
    if (std::isnan(v) && node.missing_type != kMissingNaN) v = 0.0;
    if ((node.missing_type == kMissingZero && IsZero(v)) || (node.missing_type == kMissingNaN && std::isnan(v))) {
      at = node.default_left ? node.left : node.right;
    } else {
      at = v <= node.threshold ? node.left : node.right;
    }
  }
  return tree.leaf_values[static_cast<size_t>(~at)];
}

void LightGbmModel::Raw(const double* row, double* out) const {
  const size_t k = num_outputs();
  for (size_t c = 0; c < k; ++c) out[c] = 0.0;
  // Tree t belongs to class t % k; summing in file order keeps the rounding
  // identical to LightGBM's.
  for (size_t t = 0; t < trees_.size(); ++t) out[t % k] += TreeOutput(trees_[t], row);
}

void LightGbmModel::ApplyTransform(double* out) const {
  const size_t k = num_outputs();
  switch (transform_) {
    case Transform::kIdentity:
      return;
    case Transform::kSignedSquare:
      out[0] = static_cast<double>((out[0] > 0) - (out[0] < 0)) * out[0] * out[0];
      return;
    case Transform::kSigmoid:
      out[0] = Sigmoid(sigmoid_, out[0]);
      return;
    case Transform::kSigmoidEach:
      for (size_t c = 0; c < k; ++c) out[c] = Sigmoid(sigmoid_, out[c]);
      return;
    case Transform::kExp:
      out[0] = std::exp(out[0]);
      return;
    case Transform::kLog1pExp:
      out[0] = std::log1p(std::exp(out[0]));
      return;
    case Transform::kSoftmax: {
      double max = out[0];
      for (size_t c = 1; c < k; ++c) max = std::max(max, out[c]);
      double sum = 0.0;
      for (size_t c = 0; c < k; ++c) {
        out[c] = std::exp(out[c] - max);
        sum += out[c];
      }
      for (size_t c = 0; c < k; ++c) out[c] /= sum;
      return;
    }
  }
}

Status LightGbmModel::PredictRaw(const double* row, size_t num_features, double* out) const {
  if (num_features != this->num_features()) {
    return InvalidArgument("lightgbm model expects " + std::to_string(this->num_features()) + " features per row, got " +
                           std::to_string(num_features));
  }
  Raw(row, out);
  return Status::Ok();
}

Status LightGbmModel::Predict(const double* row, size_t num_features, double* out) const {
  KILN_RETURN_IF_ERROR(PredictRaw(row, num_features, out));
  if (average_output_) {
    // Random forests average their iterations before the transform, as
    // LightGBM's GBDT::Predict does (its raw scores stay sums).
    const double iterations = static_cast<double>(num_iterations());
    for (size_t c = 0; c < num_outputs(); ++c) out[c] /= iterations;
  }
  ApplyTransform(out);
  return Status::Ok();
}

}  // namespace kiln::serving
