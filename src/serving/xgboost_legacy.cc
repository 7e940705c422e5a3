// XgboostModel::ParseLegacyBinary: the binary model format of xgboost < 3
// (Learner::SaveModel(dmlc::Stream*), what save_raw("deprecated") and
// save_model("x.bst") in 1.x write; 3.x no longer writes or reads it).
// Layout, little-endian, after an optional "binf" tag:
//   LearnerModelParamLegacy (136 bytes: float base_score in probability
//     space, u32 num_feature, i32 num_class, i32 contain_extra_attrs,
//     i32 contain_eval_metrics, u32 major, u32 minor, u32 num_target, ...)
//   string objective, string booster   (u64 length + bytes)
//   GBTreeModelParam (160 bytes: i32 num_trees, ...)
//   per tree: TreeParam (148 bytes: i32 num_roots, i32 num_nodes, ...,
//     i32 size_leaf_vector at 20), num_nodes Node (20 bytes: i32 parent,
//     i32 left, i32 right, u32 split index with default-left in bit 31,
//     float split condition / leaf value), num_nodes RTreeNodeStat (16)
//   i32 tree_info[num_trees]
//   dart: u64 count + float weight_drop[count]
//   attributes when contain_extra_attrs: u64 count + (string, string) pairs
//   eval metrics when contain_eval_metrics: u64 count + strings
// Every count is checked against the bytes left before anything is sized
// from it, and the file must end where the layout does.
#include <cstring>
#include <new>
#include <string>

#include "serving/xgboost_model.h"

namespace kiln::serving {
namespace {

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  size_t left() const { return bytes_.size() - pos_; }
  size_t pos() const { return pos_; }

  template <typename T>
  bool Read(T* out) {
    if (left() < sizeof(T)) return false;
    std::memcpy(out, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool Skip(size_t n) {
    if (left() < n) return false;
    pos_ += n;
    return true;
  }
  bool At(size_t offset, void* out, size_t n) const {
    if (offset > bytes_.size() || bytes_.size() - offset < n) return false;
    std::memcpy(out, bytes_.data() + offset, n);
    return true;
  }
  bool String(std::string* out, size_t max = size_t{1} << 20) {
    uint64_t n = 0;
    if (!Read(&n) || n > left() || n > max) return false;
    out->assign(bytes_.data() + pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return true;
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

Status Truncated(const Reader& r, const std::string& what) {
  return InvalidArgument("legacy binary XGBoost model is truncated or malformed at byte " + std::to_string(r.pos()) +
                         " (" + what + ")");
}

constexpr size_t kLearnerParamBytes = 136;
constexpr size_t kGbTreeParamBytes = 160;
constexpr size_t kTreeParamBytes = 148;
constexpr size_t kNodeBytes = 20;
constexpr size_t kStatBytes = 16;

}  // namespace

StatusOr<std::unique_ptr<XgboostModel>> XgboostModel::ParseLegacyBinary(std::string_view bytes) {
  try {
    if (bytes.substr(0, 4) == "bs64") {
      return InvalidArgument("base64-encoded XGBoost models (xgboost < 1.0) are not supported; re-save the model "
                             "with a current xgboost as JSON or UBJSON");
    }
    Reader r(bytes);
    if (bytes.substr(0, 4) == "binf") r.Skip(4);

    Header h;
    h.booster.clear();
    unsigned char param[kLearnerParamBytes];
    const size_t param_at = r.pos();
    if (!r.At(param_at, param, sizeof param) || !r.Skip(sizeof param)) {
      return InvalidArgument("not an XGBoost model: too short for the legacy binary header (and not JSON or "
                             "UBJSON)");
    }
    float base_score;
    uint32_t num_feature, major, minor, num_target;
    int32_t num_class, extra_attrs, eval_metrics;
    std::memcpy(&base_score, param + 0, 4);
    std::memcpy(&num_feature, param + 4, 4);
    std::memcpy(&num_class, param + 8, 4);
    std::memcpy(&extra_attrs, param + 12, 4);
    std::memcpy(&eval_metrics, param + 16, 4);
    std::memcpy(&major, param + 20, 4);
    std::memcpy(&minor, param + 24, 4);
    std::memcpy(&num_target, param + 28, 4);
    if (major < 1 || major > 2) {
      return InvalidArgument("not an XGBoost model: the legacy binary header names xgboost " +
                             std::to_string(major) + "." + std::to_string(minor) +
                             "; kiln reads the binary format of xgboost 1.x and 2.x (and JSON/UBJSON of any)");
    }
    h.version = {static_cast<int>(major), static_cast<int>(minor), 0};
    h.base_score = {base_score};
    h.num_feature = num_feature;
    h.num_class = num_class;
    h.num_target = num_target == 0 ? 1 : num_target;
    if (!r.String(&h.objective, 256)) return Truncated(r, "objective name");
    if (!r.String(&h.booster, 256)) return Truncated(r, "booster name");
    if (h.booster == "gblinear") {
      return InvalidArgument("booster 'gblinear' (a linear model) is not supported: kiln's XGBoost evaluator "
                             "runs tree boosters (gbtree, dart) only");
    }
    if (h.booster != "gbtree" && h.booster != "dart") {
      std::string shown;
      for (char c : h.booster.substr(0, 40)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
      return InvalidArgument("unknown booster '" + shown + "'; kiln evaluates gbtree and dart");
    }

    unsigned char gparam[kGbTreeParamBytes];
    if (!r.At(r.pos(), gparam, sizeof gparam) || !r.Skip(sizeof gparam)) return Truncated(r, "GBTreeModelParam");
    int32_t num_trees;
    std::memcpy(&num_trees, gparam, 4);
    // Each tree needs at least its parameters and one node.
    const size_t min_tree = kTreeParamBytes + kNodeBytes + kStatBytes;
    if (num_trees < 0 || static_cast<size_t>(num_trees) > r.left() / min_tree) {
      return Truncated(r, "num_trees " + std::to_string(num_trees) + " does not fit in the file");
    }
    const int64_t groups = h.num_class > 0 ? h.num_class : h.num_target;
    std::unique_ptr<XgboostModel> model(new XgboostModel());
    model->trees_.resize(static_cast<size_t>(num_trees));
    for (int32_t t = 0; t < num_trees; ++t) {
      unsigned char tparam[kTreeParamBytes];
      if (!r.At(r.pos(), tparam, sizeof tparam) || !r.Skip(sizeof tparam)) {
        return Truncated(r, "tree " + std::to_string(t) + " parameters");
      }
      int32_t num_nodes, leaf_vector;
      std::memcpy(&num_nodes, tparam + 4, 4);
      std::memcpy(&leaf_vector, tparam + 20, 4);
      if (leaf_vector > 1) {
        return InvalidArgument("tree " + std::to_string(t) + " has vector leaves, which xgboost never writes in "
                               "the legacy binary format");
      }
      if (num_nodes < 1 || static_cast<size_t>(num_nodes) > r.left() / (kNodeBytes + kStatBytes)) {
        return Truncated(r, "tree " + std::to_string(t) + " num_nodes " + std::to_string(num_nodes));
      }
      Tree& tree = model->trees_[static_cast<size_t>(t)];
      tree.nodes.resize(static_cast<size_t>(num_nodes));
      for (int32_t i = 0; i < num_nodes; ++i) {
        int32_t parent, left, right;
        uint32_t sindex;
        float value;
        if (!r.Read(&parent) || !r.Read(&left) || !r.Read(&right) || !r.Read(&sindex) || !r.Read(&value)) {
          return Truncated(r, "tree " + std::to_string(t) + " node " + std::to_string(i));
        }
        Node& node = tree.nodes[static_cast<size_t>(i)];
        const bool leaf = left == -1;
        if (!leaf && (left < 0 || left >= num_nodes || right < 0 || right >= num_nodes)) {
          return InvalidArgument("tree " + std::to_string(t) + ": node " + std::to_string(i) +
                                 " has children outside the tree");
        }
        node.left = leaf ? -1 : left;
        node.right = leaf ? -1 : right;
        node.feature = sindex & 0x7fffffffu;
        node.default_left = (sindex >> 31) != 0;
        node.value = value;
      }
      if (!r.Skip(static_cast<size_t>(num_nodes) * kStatBytes)) {
        return Truncated(r, "tree " + std::to_string(t) + " statistics");
      }
    }
    for (int32_t t = 0; t < num_trees; ++t) {
      int32_t group;
      if (!r.Read(&group)) return Truncated(r, "tree_info");
      model->trees_[static_cast<size_t>(t)].group = group;
    }
    if (h.booster == "dart") {
      uint64_t count;
      if (!r.Read(&count) || count != static_cast<uint64_t>(num_trees)) {
        return Truncated(r, "weight_drop count does not match the " + std::to_string(num_trees) + " trees");
      }
      for (auto& tree : model->trees_) {
        if (!r.Read(&tree.weight)) return Truncated(r, "weight_drop");
      }
    }
    if (extra_attrs != 0) {
      uint64_t count;
      if (!r.Read(&count) || count > r.left() / 16) return Truncated(r, "attribute count");
      std::string key, value;
      for (uint64_t i = 0; i < count; ++i) {
        if (!r.String(&key) || !r.String(&value, r.left())) return Truncated(r, "attribute " + std::to_string(i));
      }
    }
    if (eval_metrics != 0) {
      uint64_t count;
      if (!r.Read(&count) || count > r.left() / 8) return Truncated(r, "eval metric count");
      std::string metric;
      for (uint64_t i = 0; i < count; ++i) {
        if (!r.String(&metric)) return Truncated(r, "eval metric " + std::to_string(i));
      }
    }
    if (r.left() != 0) {
      return InvalidArgument("legacy binary XGBoost model has " + std::to_string(r.left()) +
                             " unexpected bytes after its last section (at byte " + std::to_string(r.pos()) + ")");
    }
    for (auto& tree : model->trees_) {
      if (tree.group < 0 || tree.group >= groups) {
        return InvalidArgument("tree_info names output " + std::to_string(tree.group) + " of " +
                               std::to_string(groups));
      }
    }
    KILN_RETURN_IF_ERROR(model->Finish(h, Format::kLegacyBinary));
    return model;
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("out of memory parsing a legacy binary XGBoost model");
  }
}

}  // namespace kiln::serving
