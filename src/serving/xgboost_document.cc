// XgboostModel::ParseDocument: the JSON and UBJSON model formats, which
// share one document layout (xgboost's Learner::SaveModel(Json*)). Both are
// parsed by nlohmann::json into a DOM whose floats are float (so JSON
// numbers are read with strtof, as xgboost reads them), under a SAX guard
// that bounds nesting depth and the number of values: UBJSON's typed
// containers can declare billions of zero-byte elements, and its reader
// recurses per level.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <new>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "serving/xgboost_model.h"

namespace kiln::serving {
namespace {

using Json = nlohmann::basic_json<std::map, std::vector, std::string, bool, std::int64_t, std::uint64_t, float>;

// Wraps nlohmann's DOM builder: refuses documents nested deeper than
// kMaxDepth or holding more values than the input has bytes (every value
// of a real model costs at least one byte).
class GuardedSax {
 public:
  static constexpr int kMaxDepth = 32;
  GuardedSax(Json& root, size_t max_values) : dom_(root, /*allow_exceptions=*/false), budget_(max_values) {}

  bool null() { return Take() && dom_.null(); }
  bool boolean(bool v) { return Take() && dom_.boolean(v); }
  bool number_integer(Json::number_integer_t v) { return Take() && dom_.number_integer(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return Take() && dom_.number_unsigned(v); }
  bool number_float(Json::number_float_t v, const Json::string_t& s) { return Take() && dom_.number_float(v, s); }
  bool string(Json::string_t& v) { return Take() && dom_.string(v); }
  bool binary(Json::binary_t& v) { return Take() && dom_.binary(v); }
  bool start_object(std::size_t n) { return Enter() && dom_.start_object(n); }
  bool key(Json::string_t& k) { return dom_.key(k); }
  bool end_object() {
    --depth_;
    return dom_.end_object();
  }
  bool start_array(std::size_t n) { return Enter() && dom_.start_array(n); }
  bool end_array() {
    --depth_;
    return dom_.end_array();
  }
  template <class Exception>
  bool parse_error(std::size_t pos, const std::string& token, const Exception& ex) {
    if (error_.empty()) error_ = ex.what();
    return dom_.parse_error(pos, token, ex);
  }

  const std::string& error() const { return error_; }

 private:
  bool Take() {
    if (budget_ == 0) {
      if (error_.empty()) error_ = "more values than the file has bytes";
      return false;
    }
    --budget_;
    return true;
  }
  bool Enter() {
    if (!Take()) return false;
    if (++depth_ > kMaxDepth) {
      if (error_.empty()) error_ = "nested deeper than " + std::to_string(kMaxDepth) + " levels";
      return false;
    }
    return true;
  }

  nlohmann::detail::json_sax_dom_parser<Json> dom_;
  size_t budget_;
  int depth_ = 0;
  std::string error_;
};

// xgboost's JSON writer spells non-finite floats NaN, Infinity and
// -Infinity, which JSON (and nlohmann) do not accept; outside strings they
// become the strings "NaN", "Infinity" and "-Infinity", which the float
// readers below accept.
std::string QuoteNonFinite(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 64);
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      continue;
    }
    std::string_view rest = text.substr(i);
    bool replaced = false;
    for (std::string_view word : {std::string_view("NaN"), std::string_view("-Infinity"), std::string_view("Infinity")}) {
      if (rest.substr(0, word.size()) == word) {
        out += '"';
        out += word;
        out += '"';
        i += word.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += c;
  }
  return out;
}

std::string Excerpt(std::string_view s) {
  constexpr size_t kMax = 60;
  std::string out;
  for (char c : s.substr(0, kMax)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > kMax) out += "...";
  return out;
}

// Typed access to one object of the document; every error names the path.
class Obj {
 public:
  Obj(const Json& j, std::string path) : j_(j), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  const Json& json() const { return j_; }
  Status Error(std::string_view key, const std::string& what) const {
    return InvalidArgument(path_ + "." + std::string(key) + " " + what);
  }
  const Json* Find(std::string_view key) const {
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  StatusOr<Obj> Object(std::string_view key) const {
    const Json* v = Find(key);
    if (v == nullptr) return Error(key, "is missing");
    if (!v->is_object()) return Error(key, "is not an object");
    return Obj(*v, path_ + "." + std::string(key));
  }
  StatusOr<std::string> String(std::string_view key) const {
    const Json* v = Find(key);
    if (v == nullptr) return Error(key, "is missing");
    if (!v->is_string()) return Error(key, "is not a string");
    return v->get<std::string>();
  }
  // xgboost writes its parameters as strings of decimal integers.
  StatusOr<int64_t> IntParam(std::string_view key, std::optional<int64_t> fallback = std::nullopt) const {
    const Json* v = Find(key);
    if (v == nullptr) {
      if (fallback) return *fallback;
      return Error(key, "is missing");
    }
    if (v->is_number_integer()) return v->get<int64_t>();
    if (!v->is_string()) return Error(key, "is not an integer string");
    const auto& s = v->get_ref<const std::string&>();
    int64_t out = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
      return Error(key, "is not an integer: '" + Excerpt(s) + "'");
    }
    return out;
  }
  // An array of integers (JSON numbers, UBJSON typed ints, or booleans).
  Status Ints(std::string_view key, std::vector<int64_t>* out, bool optional = false) const {
    out->clear();
    const Json* v = Find(key);
    if (v == nullptr) return optional ? Status::Ok() : Error(key, "is missing");
    if (!v->is_array()) return Error(key, "is not an array");
    out->reserve(v->size());
    for (const Json& e : *v) {
      if (e.is_number_integer()) {
        if (e.is_number_unsigned() && e.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return Error(key, "has an integer out of range");
        }
        out->push_back(e.get<int64_t>());
      } else if (e.is_boolean()) {
        out->push_back(e.get<bool>() ? 1 : 0);
      } else {
        return Error(key, "has a non-integer element");
      }
    }
    return Status::Ok();
  }
  Status Floats(std::string_view key, std::vector<float>* out, bool optional = false) const {
    out->clear();
    const Json* v = Find(key);
    if (v == nullptr) return optional ? Status::Ok() : Error(key, "is missing");
    if (!v->is_array()) return Error(key, "is not an array");
    out->reserve(v->size());
    for (const Json& e : *v) {
      if (e.is_number_float()) {
        out->push_back(e.get<float>());
      } else if (e.is_number_integer()) {
        out->push_back(e.is_number_unsigned() ? static_cast<float>(e.get<uint64_t>())
                                              : static_cast<float>(e.get<int64_t>()));
      } else if (e.is_null()) {  // how other JSON writers spell NaN
        out->push_back(std::numeric_limits<float>::quiet_NaN());
      } else if (e.is_string()) {
        const auto& s = e.get_ref<const std::string&>();
        if (s == "NaN") {
          out->push_back(std::numeric_limits<float>::quiet_NaN());
        } else if (s == "Infinity") {
          out->push_back(std::numeric_limits<float>::infinity());
        } else if (s == "-Infinity") {
          out->push_back(-std::numeric_limits<float>::infinity());
        } else {
          return Error(key, "has a non-numeric element '" + Excerpt(s) + "'");
        }
      } else {
        return Error(key, "has a non-numeric element");
      }
    }
    return Status::Ok();
  }

 private:
  const Json& j_;
  std::string path_;
};

}  // namespace

class XgboostModel::DocumentReader {
 public:
  // One tree of gradient_booster.model.trees.
  static Status ReadTree(const Obj& t, int64_t num_groups, Tree* tree) {
    KILN_ASSIGN_OR_RETURN(Obj param, t.Object("tree_param"));
    KILN_ASSIGN_OR_RETURN(int64_t num_nodes, param.IntParam("num_nodes"));
    KILN_ASSIGN_OR_RETURN(int64_t leaf_size, param.IntParam("size_leaf_vector", 1));
    if (num_nodes < 1) return param.Error("num_nodes", "must be at least 1");
    tree->vector_leaf = leaf_size > 1;
    if (tree->vector_leaf && leaf_size != num_groups) {
      return param.Error("size_leaf_vector", "is " + std::to_string(leaf_size) + " for a model with " +
                                                 std::to_string(num_groups) + " targets");
    }
    std::vector<int64_t> left, right, index, dleft, split_type;
    std::vector<float> cond;
    KILN_RETURN_IF_ERROR(t.Ints("left_children", &left));
    KILN_RETURN_IF_ERROR(t.Ints("right_children", &right));
    KILN_RETURN_IF_ERROR(t.Ints("split_indices", &index));
    KILN_RETURN_IF_ERROR(t.Ints("default_left", &dleft));
    KILN_RETURN_IF_ERROR(t.Floats("split_conditions", &cond));
    KILN_RETURN_IF_ERROR(t.Ints("split_type", &split_type, /*optional=*/true));
    const auto n = static_cast<size_t>(num_nodes);
    for (auto [name, size] : {std::pair{"left_children", left.size()}, {"right_children", right.size()},
                              {"split_indices", index.size()}, {"default_left", dleft.size()},
                              {"split_conditions", cond.size()}}) {
      if (size != n) {
        return t.Error(name, "has " + std::to_string(size) + " values for " + std::to_string(n) + " nodes");
      }
    }
    if (!split_type.empty() && split_type.size() != n) {
      return t.Error("split_type", "has " + std::to_string(split_type.size()) + " values for " +
                                       std::to_string(n) + " nodes");
    }
    tree->nodes.resize(n);
    for (size_t i = 0; i < n; ++i) {
      Node& node = tree->nodes[i];
      const bool leaf = left[i] == -1;
      if (!leaf && (left[i] < 0 || left[i] >= num_nodes || right[i] < 0 || right[i] >= num_nodes)) {
        return t.Error("left_children", "node " + std::to_string(i) + " has children outside the tree");
      }
      if (index[i] < 0 || index[i] > std::numeric_limits<uint32_t>::max()) {
        return t.Error("split_indices", "node " + std::to_string(i) + " has feature " + std::to_string(index[i]));
      }
      node.left = leaf ? -1 : static_cast<int32_t>(left[i]);
      node.right = leaf ? -1 : static_cast<int32_t>(right[i]);
      node.feature = static_cast<uint32_t>(index[i]);
      node.default_left = dleft[i] != 0;
      node.value = cond[i];
      if (!split_type.empty() && split_type[i] != 0) {
        if (split_type[i] != 1) return t.Error("split_type", "has unknown type " + std::to_string(split_type[i]));
        if (!leaf) node.categorical = true;
      }
    }
    if (tree->vector_leaf) KILN_RETURN_IF_ERROR(ReadLeafVectors(t, left, right, num_groups, tree));
    return ReadCategories(t, tree);
  }

  // xgboost 2.x keeps a leaf's vector in base_weights[node * targets];
  // 3.x adds leaf_weights, indexed by the number the leaf keeps in its
  // right_children slot.
  static Status ReadLeafVectors(const Obj& t, const std::vector<int64_t>& left, const std::vector<int64_t>& right,
                                int64_t targets, Tree* tree) {
    const auto k = static_cast<size_t>(targets);
    const size_t n = tree->nodes.size();
    if (t.Find("leaf_weights") != nullptr) {
      KILN_RETURN_IF_ERROR(t.Floats("leaf_weights", &tree->leaf_values));
      const size_t leaves = tree->leaf_values.size() / k;
      for (size_t i = 0; i < n; ++i) {
        if (left[i] != -1) continue;
        if (right[i] < 0 || static_cast<size_t>(right[i]) >= leaves) {
          return t.Error("right_children", "leaf " + std::to_string(i) + " maps to leaf vector " +
                                               std::to_string(right[i]) + " of " + std::to_string(leaves));
        }
        tree->nodes[i].leaf_begin = static_cast<uint32_t>(static_cast<size_t>(right[i]) * k);
      }
    } else {
      KILN_RETURN_IF_ERROR(t.Floats("base_weights", &tree->leaf_values));
      if (tree->leaf_values.size() != n * k) {
        return t.Error("base_weights", "has " + std::to_string(tree->leaf_values.size()) + " values for " +
                                           std::to_string(n) + " nodes of " + std::to_string(k) + " targets");
      }
      for (size_t i = 0; i < n; ++i) tree->nodes[i].leaf_begin = static_cast<uint32_t>(i * k);
    }
    for (const Node& node : tree->nodes) {
      if (node.categorical) {
        return t.Error("split_type", "has a categorical split in a vector-leaf tree, which kiln has not "
                                     "verified against xgboost and so does not evaluate");
      }
    }
    return Status::Ok();
  }

  // categories_nodes[k]'s categories are categories[segments[k], +sizes[k]];
  // they become one bit field per node, as wide as its largest category.
  static Status ReadCategories(const Obj& t, Tree* tree) {
    std::vector<int64_t> nodes, segments, sizes, cats;
    KILN_RETURN_IF_ERROR(t.Ints("categories_nodes", &nodes, true));
    KILN_RETURN_IF_ERROR(t.Ints("categories_segments", &segments, true));
    KILN_RETURN_IF_ERROR(t.Ints("categories_sizes", &sizes, true));
    KILN_RETURN_IF_ERROR(t.Ints("categories", &cats, true));
    if (segments.size() != nodes.size() || sizes.size() != nodes.size()) {
      return t.Error("categories_nodes", "does not match categories_segments/categories_sizes");
    }
    std::vector<char> has_set(tree->nodes.size(), 0);
    for (size_t k = 0; k < nodes.size(); ++k) {
      if (nodes[k] < 0 || static_cast<size_t>(nodes[k]) >= tree->nodes.size()) {
        return t.Error("categories_nodes", "names node " + std::to_string(nodes[k]) + " outside the tree");
      }
      Node& node = tree->nodes[static_cast<size_t>(nodes[k])];
      if (!node.categorical || has_set[static_cast<size_t>(nodes[k])]) {
        return t.Error("categories_nodes", "node " + std::to_string(nodes[k]) +
                                               " is not a categorical split or has two category sets");
      }
      has_set[static_cast<size_t>(nodes[k])] = 1;
      if (segments[k] < 0 || sizes[k] < 0 || static_cast<uint64_t>(segments[k]) > cats.size() ||
          static_cast<uint64_t>(sizes[k]) > cats.size() - static_cast<size_t>(segments[k])) {
        return t.Error("categories_segments", "entry " + std::to_string(k) + " lies outside categories");
      }
      int64_t max_cat = -1;
      for (int64_t i = segments[k]; i < segments[k] + sizes[k]; ++i) {
        const int64_t c = cats[static_cast<size_t>(i)];
        if (c < 0 || c >= static_cast<int64_t>(16777215)) {
          return t.Error("categories", "has category " + std::to_string(c) + " outside [0, 2^24 - 1)");
        }
        max_cat = std::max(max_cat, c);
      }
      const auto words = static_cast<uint32_t>((max_cat + 1 + 31) / 32);
      node.cat_begin = static_cast<uint32_t>(tree->cat_bits.size());
      node.cat_words = words;
      tree->cat_bits.resize(tree->cat_bits.size() + words, 0);
      for (int64_t i = segments[k]; i < segments[k] + sizes[k]; ++i) {
        const auto c = static_cast<uint32_t>(cats[static_cast<size_t>(i)]);
        tree->cat_bits[node.cat_begin + c / 32] |= 1u << (c % 32);
      }
    }
    // A categorical split without a stored set has the empty set.
    return Status::Ok();
  }

  static Status Read(const Json& root, XgboostModel* model, Header* h) {
    if (!root.is_object()) return InvalidArgument("the document is not an object");
    Obj doc(root, "model");
    if (const Json* v = doc.Find("version"); v != nullptr) {
      if (!v->is_array() || v->size() != 3) return doc.Error("version", "is not [major, minor, patch]");
      for (size_t i = 0; i < 3; ++i) {
        if (!(*v)[i].is_number_integer()) return doc.Error("version", "is not [major, minor, patch]");
        h->version[i] = static_cast<int>(std::clamp<int64_t>((*v)[i].get<int64_t>(), 0, 1 << 20));
      }
    } else {
      return doc.Error("version", "is missing; not a model saved by xgboost >= 1.0");
    }
    KILN_ASSIGN_OR_RETURN(Obj learner, doc.Object("learner"));
    KILN_ASSIGN_OR_RETURN(Obj mparam, learner.Object("learner_model_param"));
    KILN_ASSIGN_OR_RETURN(h->num_feature, mparam.IntParam("num_feature"));
    KILN_ASSIGN_OR_RETURN(h->num_class, mparam.IntParam("num_class", 0));
    KILN_ASSIGN_OR_RETURN(h->num_target, mparam.IntParam("num_target", 1));
    KILN_ASSIGN_OR_RETURN(std::string base_score, mparam.String("base_score"));
    if (!ParseBaseScore(base_score, &h->base_score)) {
      return mparam.Error("base_score", "is not a number or a list of numbers: '" + Excerpt(base_score) + "'");
    }
    KILN_ASSIGN_OR_RETURN(Obj objective, learner.Object("objective"));
    KILN_ASSIGN_OR_RETURN(h->objective, objective.String("name"));

    KILN_ASSIGN_OR_RETURN(Obj gb, learner.Object("gradient_booster"));
    KILN_ASSIGN_OR_RETURN(h->booster, gb.String("name"));
    std::vector<float> weight_drop;
    const Json* gbtree_json = nullptr;
    std::string gbtree_path;
    if (h->booster == "gbtree") {
      gbtree_json = &gb.json();
      gbtree_path = gb.path();
    } else if (h->booster == "dart") {
      KILN_ASSIGN_OR_RETURN(Obj inner, gb.Object("gbtree"));
      gbtree_json = &inner.json();
      gbtree_path = inner.path();
      KILN_RETURN_IF_ERROR(gb.Floats("weight_drop", &weight_drop));
    } else if (h->booster == "gblinear") {
      return InvalidArgument("booster 'gblinear' (a linear model) is not supported: kiln's XGBoost evaluator "
                             "runs tree boosters (gbtree, dart) only");
    } else {
      return InvalidArgument("unknown booster '" + Excerpt(h->booster) + "'; kiln evaluates gbtree and dart");
    }
    Obj gbtree(*gbtree_json, gbtree_path);
    KILN_ASSIGN_OR_RETURN(Obj m, gbtree.Object("model"));
    KILN_ASSIGN_OR_RETURN(Obj mp, m.Object("gbtree_model_param"));
    KILN_ASSIGN_OR_RETURN(int64_t num_trees, mp.IntParam("num_trees"));
    std::vector<int64_t> tree_info;
    KILN_RETURN_IF_ERROR(m.Ints("tree_info", &tree_info));
    const Json* trees = m.Find("trees");
    if (trees == nullptr || !trees->is_array()) return m.Error("trees", "is missing or not an array");
    if (num_trees < 0 || static_cast<size_t>(num_trees) != trees->size() || tree_info.size() != trees->size()) {
      return m.Error("trees", "has " + std::to_string(trees->size()) + " trees; num_trees says " +
                                  std::to_string(num_trees) + ", tree_info " + std::to_string(tree_info.size()));
    }
    if (h->booster == "dart" && weight_drop.size() != trees->size()) {
      return gb.Error("weight_drop", "has " + std::to_string(weight_drop.size()) + " weights for " +
                                         std::to_string(trees->size()) + " trees");
    }
    const int64_t groups = h->num_class > 0 ? h->num_class : h->num_target;
    model->trees_.resize(trees->size());
    for (size_t i = 0; i < trees->size(); ++i) {
      const Json& tj = (*trees)[i];
      const std::string path = m.path() + ".trees[" + std::to_string(i) + "]";
      if (!tj.is_object()) return InvalidArgument(path + " is not an object");
      Tree& tree = model->trees_[i];
      KILN_RETURN_IF_ERROR(ReadTree(Obj(tj, path), groups, &tree));
      if (tree_info[i] < 0 || tree_info[i] > std::numeric_limits<int32_t>::max()) {
        return m.Error("tree_info", "has group " + std::to_string(tree_info[i]));
      }
      tree.group = static_cast<int32_t>(tree_info[i]);
      if (!weight_drop.empty()) tree.weight = weight_drop[i];
    }
    return Status::Ok();
  }
};

StatusOr<std::unique_ptr<XgboostModel>> XgboostModel::ParseDocument(std::string_view bytes, Format format) {
  const char* kind = format == Format::kJson ? "JSON" : "UBJSON";
  try {
    Json root;
    std::string error;
    bool ok;
    if (format == Format::kJson) {
      const std::string text = QuoteNonFinite(bytes);
      GuardedSax sax(root, text.size() + 1);
      ok = Json::sax_parse(text, &sax, nlohmann::detail::input_format_t::json, /*strict=*/true);
      error = sax.error();
    } else {
      GuardedSax sax(root, bytes.size() + 1);
      ok = Json::sax_parse(bytes, &sax, nlohmann::detail::input_format_t::ubjson, /*strict=*/true);
      error = sax.error();
    }
    if (!ok) return InvalidArgument("not a valid " + std::string(kind) + " document: " + error);
    std::unique_ptr<XgboostModel> model(new XgboostModel());
    Header h;
    KILN_RETURN_IF_ERROR(DocumentReader::Read(root, model.get(), &h));
    KILN_RETURN_IF_ERROR(model->Finish(h, format));
    return model;
  } catch (const std::bad_alloc&) {
    return ResourceExhausted(std::string("out of memory parsing an XGBoost ") + kind + " model");
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("malformed XGBoost ") + kind + " model: " + e.what());
  }
}

}  // namespace kiln::serving
