#include "serving/xgboost_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "serving/xgboost_runtime.h"

namespace kiln::serving {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();
using nlohmann::json;
using V = std::vector<float>;

// ---------------------------------------------------------------------------
// Hand-written models, laid out as xgboost's Learner::SaveModel writes them
// (field names and string-typed parameters as in real files).

// A tree of nodes {left, right, feature, cond/leaf, default_left, split_type}.
struct N {
  int left, right, feature;
  float value;
  int default_left = 0;
  int split_type = 0;
};

json Tree(const std::vector<N>& nodes, json extra = json::object(), int leaf_size = 1) {
  json t = {{"id", 0},
            {"tree_param",
             {{"num_nodes", std::to_string(nodes.size())}, {"size_leaf_vector", std::to_string(leaf_size)},
              {"num_feature", "2"}, {"num_deleted", "0"}}},
            {"categories", json::array()},
            {"categories_nodes", json::array()},
            {"categories_segments", json::array()},
            {"categories_sizes", json::array()}};
  for (const char* k : {"left_children", "right_children", "parents", "split_indices", "split_conditions",
                        "default_left", "split_type", "base_weights", "loss_changes", "sum_hessian"}) {
    t[k] = json::array();
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    t["left_children"].push_back(nodes[i].left);
    t["right_children"].push_back(nodes[i].right);
    t["parents"].push_back(i == 0 ? 2147483647 : 0);
    t["split_indices"].push_back(nodes[i].feature);
    t["split_conditions"].push_back(nodes[i].value);
    t["default_left"].push_back(nodes[i].default_left);
    t["split_type"].push_back(nodes[i].split_type);
    t["base_weights"].push_back(0.0);
    t["loss_changes"].push_back(0.0);
    t["sum_hessian"].push_back(1.0);
  }
  for (auto& [k, v] : extra.items()) t[k] = v;
  return t;
}

// Left leaf `l`, right leaf `r` on feature `f` < `cond`.
json Stump(int f, float cond, float l, float r, int default_left = 0) {
  return Tree({{1, 2, f, cond, default_left}, {-1, -1, 0, l}, {-1, -1, 0, r}});
}

json Model(const std::string& objective, std::vector<json> trees, const std::string& base_score = "5E-1",
           std::vector<int> version = {2, 1, 4}, int num_class = 0, int num_target = 1,
           std::vector<int> tree_info = {}) {
  if (tree_info.empty()) tree_info.assign(trees.size(), 0);
  json gbtree = {{"name", "gbtree"},
                 {"model",
                  {{"gbtree_model_param", {{"num_trees", std::to_string(trees.size())}, {"num_parallel_tree", "1"}}},
                   {"tree_info", tree_info},
                   {"trees", trees}}}};
  return {{"learner",
           {{"attributes", json::object()},
            {"feature_names", json::array()},
            {"feature_types", json::array()},
            {"gradient_booster", gbtree},
            {"learner_model_param",
             {{"base_score", base_score}, {"boost_from_average", "1"}, {"num_class", std::to_string(num_class)},
              {"num_feature", "2"}, {"num_target", std::to_string(num_target)}}},
            {"objective", {{"name", objective}}}}},
          {"version", version}};
}

std::unique_ptr<XgboostModel> MustParse(const std::string& bytes) {
  auto m = XgboostModel::Parse(bytes);
  EXPECT_TRUE(m.ok()) << m.status().message();
  return m.ok() ? std::move(m).value() : nullptr;
}

std::string Refused(const std::string& bytes) {
  auto m = XgboostModel::Parse(bytes);
  EXPECT_FALSE(m.ok());
  return m.ok() ? std::string("(accepted)") : m.status().message();
}

V Predict(const XgboostModel& m, V row, bool margin = false) {
  V out(m.num_groups(), -12345);
  Status s = margin ? m.PredictMargin(row.data(), row.size(), out.data()) : m.Predict(row.data(), row.size(), out.data());
  EXPECT_TRUE(s.ok()) << s.message();
  out.resize(margin ? m.num_groups() : m.num_outputs());
  return out;
}

// Feature 0 = v, feature 1 = 0, through a model with base margin 0.
V Sweep(const XgboostModel& m, const V& values) {
  V out;
  for (float v : values) out.push_back(Predict(m, {v, 0})[0]);
  return out;
}

TEST(XgboostModel, NumericalSplitsMissingAndInfinities) {
  auto m = MustParse(Model("reg:squarederror", {Stump(0, 0.5f, 10, 20)}, "0").dump());
  ASSERT_TRUE(m);
  // value < cond goes left; NaN takes the default (right here); inf is a value.
  EXPECT_EQ(Sweep(*m, {0.25f, 0.5f, 0.75f, kNaN, kInf, -kInf}), (V{10, 20, 20, 20, 20, 10}));
  auto d = MustParse(Model("reg:squarederror", {Stump(0, 0.5f, 10, 20, /*default_left=*/1)}, "0").dump());
  ASSERT_TRUE(d);
  EXPECT_EQ(Sweep(*d, {kNaN, 1.0f}), (V{10, 20}));
}

TEST(XgboostModel, TreesAddInOrderToTheirGroup) {
  auto m = MustParse(
      Model("multi:softprob", {Stump(0, 0, 1, 2), Stump(0, 0, 3, 4), Stump(1, 0, 5, 6)}, "5E-1", {1, 7, 6}, 2, 1,
            {0, 1, 0})
          .dump());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->num_outputs(), 2u);
  EXPECT_EQ(Predict(*m, {-1, 1}, true), (V{0.5f + 1 + 6, 0.5f + 3}));
  const V p = Predict(*m, {-1, 1});
  EXPECT_FLOAT_EQ(p[0] + p[1], 1.0f);
  EXPECT_NEAR(p[0], 1 / (1 + std::exp(3.0 - 7.0)), 1e-7);
}

TEST(XgboostModel, SoftmaxPicksTheFirstLargestClass) {
  auto m = MustParse(Model("multi:softmax", {Stump(0, 0, 1, 2), Stump(0, 0, 1, 3), Stump(0, 0, 0, 9)}, "5E-1",
                           {2, 1, 4}, 3, 1, {0, 1, 2})
                         .dump());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->num_outputs(), 1u);
  EXPECT_EQ(Predict(*m, {-1, 0}), (V{0}));  // 1, 1, 0: a tie goes to the first
  EXPECT_EQ(Predict(*m, {1, 0}), (V{2}));
}

TEST(XgboostModel, InterceptsThroughTheObjectiveLink) {
  auto logistic = MustParse(Model("binary:logistic", {Stump(0, 0, 0, 0)}, "2.5E-1").dump());
  ASSERT_TRUE(logistic);
  EXPECT_FLOAT_EQ(logistic->base_margin()[0], -std::log(1.0f / 0.25f - 1.0f));
  EXPECT_FLOAT_EQ(Predict(*logistic, {0, 0})[0], 0.25f);
  // binary:logitraw's intercept is a margin already (2.x estimates negative ones).
  auto raw = MustParse(Model("binary:logitraw", {Stump(0, 0, 0, 0)}, "-1.2E-1").dump());
  ASSERT_TRUE(raw);
  EXPECT_FLOAT_EQ(Predict(*raw, {0, 0})[0], -0.12f);
  auto poisson = MustParse(Model("count:poisson", {Stump(0, 0, 1, 1)}, "2E0").dump());
  ASSERT_TRUE(poisson);
  EXPECT_FLOAT_EQ(Predict(*poisson, {0, 0})[0], std::exp(std::log(2.0f) + 1.0f));
  // xgboost >= 3: one intercept per output, as a list.
  auto vec = MustParse(Model("reg:squarederror", {Stump(0, 0, 1, 2), Stump(0, 0, 3, 4)}, "[1E0,-2.5E-1]",
                             {3, 2, 0}, 0, 2, {0, 1})
                           .dump());
  ASSERT_TRUE(vec);
  EXPECT_EQ(Predict(*vec, {-1, 0}), (V{2, 2.75f}));
  EXPECT_NE(Refused(Model("reg:squarederror", {Stump(0, 0, 1, 2)}, "[1,2,3]", {3, 2, 0}).dump())
                .find("base_score has 3 values for 1 outputs"),
            std::string::npos);
  EXPECT_NE(Refused(Model("binary:logistic", {Stump(0, 0, 1, 2)}, "1.5").dump()).find("outside (0, 1)"),
            std::string::npos);
  EXPECT_NE(Refused(Model("reg:gamma", {Stump(0, 0, 1, 2)}, "0").dump()).find("not positive"), std::string::npos);
  EXPECT_NE(Refused(Model("reg:squarederror", {Stump(0, 0, 1, 2)}, "half").dump()).find("base_score"),
            std::string::npos);
}

TEST(XgboostModel, TransformsPerObjective) {
  for (auto [objective, margin, expected] :
       std::vector<std::tuple<std::string, float, float>>{{"reg:logistic", 0.0f, 0.5f},
                                                           {"binary:hinge", 0.25f, 1.0f},
                                                           {"binary:hinge", -0.25f, 0.0f},
                                                           {"reg:tweedie", 1.0f, std::exp(1.0f)},
                                                           {"survival:cox", 2.0f, std::exp(2.0f)},
                                                           {"rank:ndcg", 3.0f, 3.0f},
                                                           {"reg:quantileerror", -3.0f, -3.0f}}) {
    const bool log_link = objective == "reg:tweedie" || objective == "survival:cox";
    const std::string base = objective == "reg:logistic" ? "5E-1" : (log_link ? "1" : "0");
    auto m = MustParse(Model(objective, {Stump(0, 0, margin, margin)}, base).dump());
    ASSERT_TRUE(m) << objective;
    EXPECT_FLOAT_EQ(Predict(*m, {0, 0})[0], expected) << objective;
  }
}

json CategoricalModel(std::vector<int> version) {
  // Node 0 splits feature 0 on the set {1, 3, 40}: in the set goes right.
  json extra = {{"categories", {1, 3, 40}},
                {"categories_nodes", {0}},
                {"categories_segments", {0}},
                {"categories_sizes", {3}}};
  json tree = Tree({{1, 2, 0, kNaN, /*default_left=*/0, /*split_type=*/1}, {-1, -1, 0, 10}, {-1, -1, 0, 20}}, extra);
  return Model("reg:squarederror", {tree}, "0", version);
}

TEST(XgboostModel, CategoricalSplits) {
  const V values = {1, 3, 40, 2, 0, 1.9f, 3.5f, -0.5f, -1, 63, 64, 1e9f, 16777215.0f, kInf, -kInf, kNaN};
  // In the set -> right (fractions truncate); anything else, including
  // negative, too large or beyond the bit field -> left; NaN is missing
  // (default right here). 1.7, 2.1 and 3.2 agree (the compat matrix).
  for (std::vector<int> version : {std::vector<int>{1, 7, 6}, {2, 1, 4}, {3, 2, 0}}) {
    auto m = MustParse(CategoricalModel(version).dump());
    ASSERT_TRUE(m);
    EXPECT_EQ(Sweep(*m, values), (V{20, 20, 20, 10, 10, 20, 20, 10, 10, 10, 10, 10, 10, 10, 10, 20}));
  }
}

TEST(XgboostModel, RefusesBadCategorySets) {
  json m = CategoricalModel({2, 1, 4});
  auto& tree = m["learner"]["gradient_booster"]["model"]["trees"][0];
  tree["categories_sizes"] = {4};
  EXPECT_NE(Refused(m.dump()).find("lies outside categories"), std::string::npos);
  tree["categories_sizes"] = {3};
  tree["categories"] = {1, -3, 4};
  EXPECT_NE(Refused(m.dump()).find("outside [0, 2^24 - 1)"), std::string::npos);
  tree["categories"] = {1, 3, 4};
  tree["categories_nodes"] = {1};
  EXPECT_NE(Refused(m.dump()).find("not a categorical split"), std::string::npos);
}

TEST(XgboostModel, VectorLeavesInBothLayouts) {
  // 2.x: the leaf vector of node i is base_weights[i * targets].
  json t2 = Tree({{1, 2, 0, 0.5f}, {-1, -1, 0, kNaN}, {-1, -1, 0, kNaN}},
                 {{"base_weights", {0, 0, 1, 2, 3, 4}}}, /*leaf_size=*/2);
  auto m2 = MustParse(Model("reg:squarederror", {t2}, "1E0", {2, 1, 4}, 0, 2).dump());
  ASSERT_TRUE(m2);
  EXPECT_EQ(Predict(*m2, {0, 0}), (V{2, 3}));
  EXPECT_EQ(Predict(*m2, {1, 0}), (V{4, 5}));
  // 3.x: leaf_weights, indexed by the leaf's right_children entry.
  json t3 = Tree({{1, 2, 0, 0.5f}, {-1, 1, 0, kNaN}, {-1, 0, 0, kNaN}},
                 {{"base_weights", {0, 0, 9, 9, 9, 9}}, {"leaf_weights", {5, 6, 7, 8}}}, 2);
  auto m3 = MustParse(Model("reg:squarederror", {t3}, "[0,1E0]", {3, 2, 0}, 0, 2).dump());
  ASSERT_TRUE(m3);
  EXPECT_EQ(Predict(*m3, {0, 0}), (V{7, 9}));
  EXPECT_EQ(Predict(*m3, {1, 0}), (V{5, 7}));
  t3["right_children"] = {2, 1, 2};
  EXPECT_NE(Refused(Model("reg:squarederror", {t3}, "0", {3, 2, 0}, 0, 2).dump()).find("maps to leaf vector 2"),
            std::string::npos);
  EXPECT_NE(Refused(Model("reg:squarederror", {t2}, "0", {2, 1, 4}, 0, 3).dump()).find("size_leaf_vector"),
            std::string::npos);
}

TEST(XgboostModel, DartWeightsEachTree) {
  json m = Model("reg:squarederror", {Stump(0, 0, 1, 2), Stump(0, 0, 10, 20)}, "0");
  json gbtree = m["learner"]["gradient_booster"];
  m["learner"]["gradient_booster"] = {{"name", "dart"}, {"gbtree", gbtree}, {"weight_drop", {0.5, 0.25}}};
  auto d = MustParse(m.dump());
  ASSERT_TRUE(d);
  EXPECT_EQ(Predict(*d, {-1, 0}), (V{0.5f + 2.5f}));
  m["learner"]["gradient_booster"]["weight_drop"] = {0.5};
  EXPECT_NE(Refused(m.dump()).find("weight_drop"), std::string::npos);
}

TEST(XgboostModel, ReadsNonFiniteJsonTokensAndUbjson) {
  // xgboost writes NaN split conditions of categorical nodes as a bare NaN.
  std::string text = CategoricalModel({1, 7, 6}).dump();
  const auto at = text.find("null");  // nlohmann dumps NaN as null
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 4, "NaN");
  auto m = MustParse(text);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->format(), XgboostModel::Format::kJson);
  EXPECT_EQ(m->version(), (std::array<int, 3>{1, 7, 6}));
  // "NaN" inside a string stays a string.
  json odd = Model("reg:squarederror", {Stump(0, 0, 1, 2)}, "0");
  odd["learner"]["attributes"]["note"] = "NaN Infinity \"NaN\"";
  ASSERT_TRUE(MustParse(odd.dump()));
  // UBJSON with typed, counted arrays (xgboost's optimized containers).
  const json model = Model("binary:logistic", {Stump(0, 0.5f, -1, 1), Stump(1, -2, 0.25f, 0.5f)});
  const std::vector<uint8_t> ubj = json::to_ubjson(model, /*use_size=*/true, /*use_type=*/true);
  auto u = MustParse(std::string(ubj.begin(), ubj.end()));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->format(), XgboostModel::Format::kUbjson);
  auto j = MustParse(model.dump());
  ASSERT_TRUE(j);
  for (V row : {V{0, 0}, V{1, -3}, V{kNaN, kNaN}}) EXPECT_EQ(Predict(*u, row), Predict(*j, row));
}

TEST(XgboostModel, FileNameDecidesJsonOrUbjsonElseContent) {
  const json model = Model("reg:squarederror", {Stump(0, 0, 1, 2)}, "0");
  const std::vector<uint8_t> ubj = json::to_ubjson(model, true, true);
  const std::string ubj_bytes(ubj.begin(), ubj.end());
  auto by_content = XgboostModel::Parse(ubj_bytes, "model.xgb");
  ASSERT_TRUE(by_content.ok());
  EXPECT_EQ((*by_content)->format(), XgboostModel::Format::kUbjson);
  auto as_json = XgboostModel::Parse(ubj_bytes, "model.json");
  ASSERT_FALSE(as_json.ok());
  EXPECT_NE(as_json.status().message().find("not a valid JSON document"), std::string::npos);
  auto as_ubj = XgboostModel::Parse(model.dump(), "model.ubj");
  ASSERT_FALSE(as_ubj.ok());
  EXPECT_NE(as_ubj.status().message().find("not a valid UBJSON document"), std::string::npos);
  auto text = XgboostModel::Parse("  " + model.dump(), "model.bst");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ((*text)->format(), XgboostModel::Format::kJson);
}

TEST(XgboostModel, RefusesWhatItCannotEvaluateNamingIt) {
  EXPECT_NE(Refused(Model("reg:madeup", {Stump(0, 0, 1, 2)}).dump()).find("objective 'reg:madeup'"),
            std::string::npos);
  json linear = Model("reg:squarederror", {});
  linear["learner"]["gradient_booster"] = {{"name", "gblinear"}, {"model", {{"weights", {1, 2, 3}}}}};
  EXPECT_NE(Refused(linear.dump()).find("gblinear"), std::string::npos);
  linear["learner"]["gradient_booster"]["name"] = "forest";
  EXPECT_NE(Refused(linear.dump()).find("unknown booster 'forest'"), std::string::npos);
  json nover = Model("reg:squarederror", {Stump(0, 0, 1, 2)});
  nover.erase("version");
  EXPECT_NE(Refused(nover.dump()).find("version"), std::string::npos);
}

TEST(XgboostModel, RefusesMalformedTrees) {
  auto refuse = [](json tree, const std::string& needle) {
    const std::string msg = Refused(Model("reg:squarederror", {tree}, "0").dump());
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  };
  json t = Stump(0, 0, 1, 2);
  t["right_children"] = {0, -1, -1};  // back to the root: a cycle
  refuse(t, "reached twice");
  t = Stump(0, 0, 1, 2);
  t["left_children"] = {7, -1, -1};
  refuse(t, "children outside the tree");
  t = Stump(5, 0, 1, 2);
  refuse(t, "splits on feature 5 of 2");
  t = Stump(0, 0, 1, 2);
  t["split_conditions"] = {0, 1};
  refuse(t, "split_conditions has 2 values for 3 nodes");
  t = Stump(0, 0, 1, 2);
  t["tree_param"]["num_nodes"] = "3x";
  refuse(t, "num_nodes is not an integer");
  t = Stump(0, 0, 1, 2);
  t["split_conditions"] = {0, "one", 2};
  refuse(t, "non-numeric");
  t = Stump(0, 0, 1, 2);
  t.erase("default_left");
  refuse(t, "default_left is missing");
  json m = Model("reg:squarederror", {Stump(0, 0, 1, 2)}, "0");
  m["learner"]["gradient_booster"]["model"]["tree_info"] = {3};
  EXPECT_NE(Refused(m.dump()).find("adds to output 3 of 1"), std::string::npos);
  m["learner"]["gradient_booster"]["model"]["tree_info"] = {0, 0};
  EXPECT_NE(Refused(m.dump()).find("tree_info 2"), std::string::npos);
}

TEST(XgboostModel, RefusesHostileDocumentsWithoutBlowingUp) {
  EXPECT_NE(Refused("").find("empty"), std::string::npos);
  EXPECT_NE(Refused("{\"learner\": ").find("not a valid JSON"), std::string::npos);
  EXPECT_NE(Refused("[1]").find("too short"), std::string::npos);  // not '{': the binary format
  EXPECT_NE(Refused(std::string(100000, '[')).find("legacy binary header"), std::string::npos);
  std::string deep_ubj = std::string("{i\x01" "a", 4) + std::string(100000, '[');
  EXPECT_NE(Refused(deep_ubj).find("nested deeper"), std::string::npos);
  // A typed array of 2^40 nulls (zero bytes each) must not be materialised.
  std::string nulls = std::string("{i\x01" "a[$Z#L", 9) + std::string("\x00\x00\x01\x00\x00\x00\x00\x00", 8) + "}";
  EXPECT_NE(Refused(nulls).find("more values than the file has bytes"), std::string::npos);
  std::string deep_json(100000, '[');
  deep_json = "{\"a\":" + deep_json;
  EXPECT_NE(Refused(deep_json).find("nested deeper"), std::string::npos);
}

TEST(XgboostModel, MutatedJsonAndUbjsonAreRefusedOrStillPredict) {
  json extra = {{"categories", {1, 3, 40}}, {"categories_nodes", {0}}, {"categories_segments", {0}},
                {"categories_sizes", {3}}};
  const json model = Model("multi:softprob",
                           {Tree({{1, 2, 0, 0, 0, 1}, {-1, -1, 0, 1}, {-1, -1, 0, 2}}, extra), Stump(1, 0.5f, 3, 4)},
                           "[1E-1,2E-1]", {3, 2, 0}, 2, 1, {0, 1});
  const std::vector<uint8_t> ubj = json::to_ubjson(model, true, true);
  for (const std::string& good : {model.dump(), std::string(ubj.begin(), ubj.end())}) {
    ASSERT_TRUE(MustParse(good));
    std::mt19937 rng(7);
    for (int i = 0; i < 2000; ++i) {
      std::string bad = good;
      for (int k = 0; k < 2; ++k) bad[rng() % bad.size()] = static_cast<char>(rng() % 256);
      if (i % 10 == 0) bad.resize(rng() % bad.size());
      auto m = XgboostModel::Parse(bad);
      if (m.ok() && (*m)->num_features() < 1000) {
        V out((*m)->num_groups());
        V row((*m)->num_features(), 3.0f);
        EXPECT_TRUE((*m)->Predict(row.data(), row.size(), out.data()).ok());
      }
    }
  }
}

// ---------------------------------------------------------------------------
// The legacy binary format (xgboost < 3), byte by byte.

template <typename T>
void Put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void PutString(std::string& out, const std::string& s) {
  Put<uint64_t>(out, s.size());
  out += s;
}

std::string LegacyModel(const std::string& objective, const std::string& booster = "gbtree", int num_class = 0,
                        bool with_attrs = true) {
  std::string b = "binf";
  std::string param(136, '\0');
  const float base = 0.5f;
  const uint32_t features = 2, major = 1, minor = 7, targets = 1;
  const int32_t attrs = with_attrs ? 1 : 0;
  std::memcpy(&param[0], &base, 4);
  std::memcpy(&param[4], &features, 4);
  std::memcpy(&param[8], &num_class, 4);
  std::memcpy(&param[12], &attrs, 4);
  std::memcpy(&param[20], &major, 4);
  std::memcpy(&param[24], &minor, 4);
  std::memcpy(&param[28], &targets, 4);
  b += param;
  PutString(b, objective);
  PutString(b, booster);
  const int trees = num_class > 0 ? num_class : 2;
  std::string gparam(160, '\0');
  std::memcpy(&gparam[0], &trees, 4);
  b += gparam;
  for (int t = 0; t < trees; ++t) {
    std::string tparam(148, '\0');
    const int32_t nodes = 3;
    std::memcpy(&tparam[4], &nodes, 4);
    b += tparam;
    // Root: feature 1 (default left), cond 0.5; leaves t+1 and t+2.
    for (auto [parent, left, right, sindex, value] :
         std::vector<std::tuple<int32_t, int32_t, int32_t, uint32_t, float>>{
             {-1, 1, 2, 0x80000001u, 0.5f}, {int32_t(0x80000000), -1, -1, 0, float(t + 1)}, {0, -1, -1, 0, float(t + 2)}}) {
      Put(b, parent);
      Put(b, left);
      Put(b, right);
      Put(b, sindex);
      Put(b, value);
    }
    b += std::string(3 * 16, '\0');
  }
  for (int t = 0; t < trees; ++t) Put<int32_t>(b, num_class > 0 ? t : 0);
  if (booster == "dart") {
    Put<uint64_t>(b, trees);
    for (int t = 0; t < trees; ++t) Put<float>(b, 0.5f);
  }
  if (with_attrs) {
    Put<uint64_t>(b, 1);
    PutString(b, "best_iteration");
    PutString(b, "1");
  }
  return b;
}

TEST(XgboostLegacyBinary, ReadsTreesDefaultsAndDart) {
  auto m = MustParse(LegacyModel("reg:squarederror"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->format(), XgboostModel::Format::kLegacyBinary);
  EXPECT_EQ(m->version(), (std::array<int, 3>{1, 7, 0}));
  EXPECT_EQ(Predict(*m, {0, 0}), (V{0.5f + 1 + 2}));
  EXPECT_EQ(Predict(*m, {0, 1}), (V{0.5f + 2 + 3}));
  EXPECT_EQ(Predict(*m, {0, kNaN}), (V{0.5f + 1 + 2}));  // default left
  // Without the "binf" tag, and without attributes.
  auto plain = MustParse(LegacyModel("reg:squarederror", "gbtree", 0, false).substr(4));
  ASSERT_TRUE(plain);
  EXPECT_EQ(Predict(*plain, {0, 1}), (V{5.5f}));
  auto dart = MustParse(LegacyModel("binary:logitraw", "dart"));
  ASSERT_TRUE(dart);
  EXPECT_FLOAT_EQ(Predict(*dart, {0, 1})[0], 0.5f + 0.5f * 2 + 0.5f * 3);  // logitraw: the intercept as is
  auto multi = MustParse(LegacyModel("multi:softprob", "gbtree", 3));
  ASSERT_TRUE(multi);
  EXPECT_EQ(Predict(*multi, {0, 0}, true), (V{1.5f, 2.5f, 3.5f}));
}

TEST(XgboostLegacyBinary, RefusesEveryTruncationAndFlipsWithoutCrashing) {
  const std::string good = LegacyModel("multi:softprob", "gbtree", 3);
  ASSERT_TRUE(MustParse(good));
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(XgboostModel::Parse(good.substr(0, n)).ok()) << "prefix of " << n << " bytes";
  }
  EXPECT_NE(Refused(good + "x").find("1 unexpected bytes"), std::string::npos);
  // Random byte flips: refused or parsed, never a crash or a hang (a
  // parsed one must still predict).
  std::mt19937 rng(42);
  for (int i = 0; i < 3000; ++i) {
    std::string bad = good;
    for (int k = 0; k < 3; ++k) bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
    auto m = XgboostModel::Parse(bad);
    if (m.ok() && (*m)->num_features() < 1000) {
      V out((*m)->num_groups());
      V row((*m)->num_features(), 0.5f);
      EXPECT_TRUE((*m)->Predict(row.data(), row.size(), out.data()).ok());
    }
  }
}

TEST(XgboostLegacyBinary, RefusesOtherBoostersAndVersions) {
  EXPECT_NE(Refused(LegacyModel("reg:squarederror", "gblinear")).find("gblinear"), std::string::npos);
  EXPECT_NE(Refused(LegacyModel("reg:unknown")).find("objective 'reg:unknown'"), std::string::npos);
  std::string b = LegacyModel("reg:squarederror");
  const uint32_t major = 0;
  std::memcpy(&b[4 + 20], &major, 4);
  EXPECT_NE(Refused(b).find("names xgboost 0.7"), std::string::npos);
  EXPECT_NE(Refused("bs64AAAA").find("base64"), std::string::npos);
}

// ---------------------------------------------------------------------------
// The runtime over the model.

TEST(XgboostRuntime, ExecutesBatchesConcurrentlyAndChecksInputs) {
  auto rt = XgboostRuntime::FromBytes(
      Model("multi:softprob", {Stump(0, 0, 1, 2), Stump(1, 0, 3, 4)}, "5E-1", {3, 2, 0}, 2, 1, {0, 1}).dump());
  ASSERT_TRUE(rt.ok()) << rt.status().message();
  XgboostRuntime& r = **rt;
  EXPECT_EQ(r.backend(), "xgboost");
  EXPECT_EQ(r.outputs()[0].shape, (std::vector<int64_t>{-1, 2}));
  Tensor in{"input-0", DataType::kFp64, {2, 2}, {}};
  for (double v : {-1.0, 1.0, 1.0, std::nan("")}) AppendValue(in.data, v);
  auto out = r.Execute({in});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ((*out)[0].shape, (std::vector<int64_t>{2, 2}));
  std::vector<float> got(4);
  std::memcpy(got.data(), (*out)[0].data.data(), 16);
  V first = Predict(r.model(), {-1, 1});
  V second = Predict(r.model(), {1, kNaN});
  EXPECT_EQ(got, (V{first[0], first[1], second[0], second[1]}));

  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        auto o = r.Execute({in});
        if (!o.ok() || (*o)[0].data != (*out)[0].data) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);

  Tensor wrong{"input-0", DataType::kFp32, {1, 3}, std::vector<char>(12)};
  EXPECT_FALSE(r.Execute({wrong}).ok());
  Tensor ints{"input-0", DataType::kInt32, {1, 2}, std::vector<char>(8)};
  EXPECT_FALSE(r.Execute({ints}).ok());
}

TEST(XgboostRuntime, LoadFileNamesThePathAndTheReason) {
  auto missing = XgboostRuntime::LoadFile("/nonexistent/model.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  const std::string path = testing::TempDir() + "/xgb-bad-model.json";
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const std::string text = Model("reg:madeup", {Stump(0, 0, 1, 2)}).dump();
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  auto bad = XgboostRuntime::LoadFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("cannot load XGBoost model " + path + ": objective 'reg:madeup'"),
            std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace kiln::serving
