#include "onnx/executor.h"

#include <cmath>
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "onnx/test_model_builder.h"

namespace kiln::onnx {
namespace {

using testing::ModelBuilder;
using testing::SetFloat;
using testing::SetFloats;
using testing::SetInt;
using testing::SetInts;
using testing::SetString;
using testing::SetStrings;
using Shape = std::vector<int64_t>;

std::unique_ptr<Executor> MustLoad(const ModelBuilder& b) {
  const std::string bytes = b.Bytes();
  auto ex = Executor::Load(bytes.data(), bytes.size());
  EXPECT_TRUE(ex.ok()) << ex.status().message();
  return ex.ok() ? std::move(ex).value() : nullptr;
}

void ExpectNear(const std::vector<float>& got, const std::vector<double>& want, double tol = 1e-6) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

// A two-layer perceptron built by hand: relu(x W1 + b1) then Gemm and softmax.
ModelBuilder Mlp() {
  ModelBuilder b(13);
  b.Input("x", 1, {-1, 2}).Output("p", 1, {-1, 2}).Output("cls", 7, {-1});
  b.FloatInit("w1", {2, 3}, {1, -1, 0.5, 2, 1, -0.5});
  b.FloatInit("b1", {1, 3}, {0, 0.5, -1});
  b.FloatInit("w2", {2, 3}, {1, 0, 1, -1, 1, 0});  // used transposed
  b.FloatInit("b2", {2}, {0.25, -0.25});
  b.Int64Init("shape", {1}, {-1});
  b.Node("MatMul", {"x", "w1"}, {"h0"});
  b.Node("Add", {"h0", "b1"}, {"h1"});
  b.Node("Relu", {"h1"}, {"h"});
  auto* g = b.Node("Gemm", {"h", "w2", "b2"}, {"logits"});
  SetInt(g, "transB", 1);
  SetFloat(g, "alpha", 0.5f);
  b.Node("Softmax", {"logits"}, {"p"});
  auto* am = b.Node("ArgMax", {"p"}, {"am"});
  SetInt(am, "axis", 1);
  b.Node("Reshape", {"am", "shape"}, {"cls"});
  return b;
}

TEST(OnnxExecutor, HandBuiltMlp) {
  auto ex = MustLoad(Mlp());
  ASSERT_TRUE(ex);
  ASSERT_EQ(ex->inputs().size(), 1u);
  EXPECT_EQ(ex->inputs()[0].shape, (Shape{-1, 2}));
  auto out = ex->Run({Tensor({2, 2}, std::vector<float>{1, 2, -1, 0.5})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  // Row 0: h = relu([5, 1.5, -0.5]) = [5, 1.5, 0]; logits = 0.5*[5, -3.5] + [0.25, -0.25].
  // Row 1: h = relu([0, 2, -1.75]) = [0, 2, 0];    logits = 0.5*[0, 2] + [0.25, -0.25].
  auto softmax = [](double a, double b) { return std::vector<double>{1 / (1 + std::exp(b - a)), 1 / (1 + std::exp(a - b))}; };
  auto r0 = softmax(2.75, -2.0), r1 = softmax(0.25, 0.75);
  ExpectNear((*out)[0].data<float>(), {r0[0], r0[1], r1[0], r1[1]});
  EXPECT_EQ((*out)[0].shape(), (Shape{2, 2}));
  EXPECT_EQ((*out)[1].data<int64_t>(), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ((*out)[1].shape(), (Shape{2}));
}

TEST(OnnxExecutor, RefusesWrongInputs) {
  auto ex = MustLoad(Mlp());
  ASSERT_TRUE(ex);
  EXPECT_FALSE(ex->Run({}).ok());
  EXPECT_FALSE(ex->Run({Tensor({2, 2}, std::vector<double>{1, 2, 3, 4})}).ok());  // double for float
  EXPECT_FALSE(ex->Run({Tensor({2, 3}, std::vector<float>(6))}).ok());             // wrong width
  EXPECT_FALSE(ex->Run({Tensor({2, 2}, std::vector<float>(3))}).ok());             // data vs shape
  auto empty = ex->Run({Tensor({0, 2}, std::vector<float>{})});
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ((*empty)[0].shape(), (Shape{0, 2}));
}

TEST(OnnxExecutor, ConcurrentRunsAgree) {
  auto ex = MustLoad(Mlp());
  ASSERT_TRUE(ex);
  std::vector<float> x(200);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i));
  const Tensor input({100, 2}, x);
  auto want = ex->Run({input});
  ASSERT_TRUE(want.ok());
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto got = ex->Run({input});
        if (!got.ok() || (*got)[0].data<float>() != (*want)[0].data<float>()) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// Tree 0: x0 <= 0.5 (NaN goes true) ? leaf A : (x1 == 2 ? leaf B : leaf C)
// Tree 1: x1 > 1 ? leaf D : leaf E
void AddTrees(::onnx::NodeProto* n, const std::string& prefix, std::vector<int64_t> ids, std::vector<float> weights) {
  SetInts(n, "nodes_treeids", {0, 0, 0, 0, 0, 1, 1, 1});
  SetInts(n, "nodes_nodeids", {0, 1, 2, 3, 4, 0, 1, 2});
  SetInts(n, "nodes_featureids", {0, 0, 1, 0, 0, 1, 0, 0});
  SetStrings(n, "nodes_modes", {"BRANCH_LEQ", "LEAF", "BRANCH_EQ", "LEAF", "LEAF", "BRANCH_GT", "LEAF", "LEAF"});
  SetFloats(n, "nodes_values", {0.5, 0, 2, 0, 0, 1, 0, 0});
  SetInts(n, "nodes_truenodeids", {1, 0, 3, 0, 0, 1, 0, 0});
  SetInts(n, "nodes_falsenodeids", {2, 0, 4, 0, 0, 2, 0, 0});
  SetInts(n, "nodes_missing_value_tracks_true", {1, 0, 0, 0, 0, 0, 0, 0});
  std::vector<int64_t> trees, nodes;
  const std::vector<std::pair<int64_t, int64_t>> leaves = {{0, 1}, {0, 3}, {0, 4}, {1, 1}, {1, 2}};
  for (size_t i = 0; i < ids.size(); ++i) {
    trees.push_back(leaves[i % leaves.size()].first);
    nodes.push_back(leaves[i % leaves.size()].second);
  }
  SetInts(n, prefix + "treeids", trees);
  SetInts(n, prefix + "nodeids", nodes);
  SetInts(n, prefix + "ids", ids);
  SetFloats(n, prefix + "weights", weights);
}

TEST(OnnxExecutor, TreeEnsembleRegressorAggregates) {
  const float nan = std::nanf("");
  // Rows reach leaves: r0 (0, 0): A, E; r1 (1, 2): B, D; r2 (1, 0): C, E; r3 (NaN, 5): A, D.
  const std::vector<float> x = {0, 0, 1, 2, 1, 0, nan, 5};
  const double A = 1, B = 2, C = 3, D = 10, E = 20;
  struct Case {
    const char* agg;
    std::vector<double> want;
  } cases[] = {{"SUM", {A + E, B + D, C + E, A + D}},
               {"AVERAGE", {(A + E) / 2, (B + D) / 2, (C + E) / 2, (A + D) / 2}},
               {"MIN", {A, B, C, A}},
               {"MAX", {E, D, E, D}}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.agg);
    ModelBuilder b;
    b.Input("x", 1, {-1, 2}).Output("y", 1, {-1, 1});
    auto* n = b.Node("TreeEnsembleRegressor", {"x"}, {"y"}, "ai.onnx.ml");
    AddTrees(n, "target_", {0, 0, 0, 0, 0}, {1, 2, 3, 10, 20});
    SetString(n, "aggregate_function", c.agg);
    SetFloats(n, "base_values", {0.5});
    auto ex = MustLoad(b);
    ASSERT_TRUE(ex);
    auto out = ex->Run({Tensor({4, 2}, x)});
    ASSERT_TRUE(out.ok()) << out.status().message();
    std::vector<double> want = c.want;
    for (double& w : want) w += 0.5;
    ExpectNear((*out)[0].data<float>(), want);
    EXPECT_EQ((*out)[0].shape(), (Shape{4, 1}));
  }
}

TEST(OnnxExecutor, TreeEnsembleClassifierMulticlassSoftmaxAndBinary) {
  const std::vector<float> x = {0, 0, 1, 2, 1, 0};
  {
    ModelBuilder b;
    b.Input("x", 1, {-1, 2}).Output("label", 8, {-1}).Output("p", 1, {-1, 3});
    auto* n = b.Node("TreeEnsembleClassifier", {"x"}, {"label", "p"}, "ai.onnx.ml");
    // Leaves A..E vote for classes 0, 1, 2, 1, 0 with weight 1.
    AddTrees(n, "class_", {0, 1, 2, 1, 0}, {1, 1, 1, 1, 1});
    SetStrings(n, "classlabels_strings", {"a", "b", "c"});
    SetString(n, "post_transform", "SOFTMAX");
    auto ex = MustLoad(b);
    ASSERT_TRUE(ex);
    auto out = ex->Run({Tensor({3, 2}, x)});
    ASSERT_TRUE(out.ok()) << out.status().message();
    // r0: A(0) + E(0) -> [2, 0, 0]; r1: B(1) + D(1) -> [0, 2, 0]; r2: C(2) + E(0) -> [1, 0, 1].
    EXPECT_EQ((*out)[0].data<std::string>(), (std::vector<std::string>{"a", "b", "a"}));
    const double e2 = std::exp(2.0), s2 = e2 + 2, s1 = 2 * std::exp(1.0) + 1;
    ExpectNear((*out)[1].data<float>(), {e2 / s2, 1 / s2, 1 / s2, 1 / s2, e2 / s2, 1 / s2, std::exp(1.0) / s1,
                                         1 / s1, std::exp(1.0) / s1});
  }
  {  // the converters' binary form: weights for class 0 only, a base value, LOGISTIC
    ModelBuilder b;
    b.Input("x", 1, {-1, 2}).Output("label", 7, {-1}).Output("p", 1, {-1, 2});
    auto* n = b.Node("TreeEnsembleClassifier", {"x"}, {"label", "p"}, "ai.onnx.ml");
    AddTrees(n, "class_", {0, 0, 0, 0, 0}, {-1, 0.5, 2, 1, -3});
    SetInts(n, "classlabels_int64s", {4, 9});
    SetFloats(n, "base_values", {0.25});
    SetString(n, "post_transform", "LOGISTIC");
    auto ex = MustLoad(b);
    ASSERT_TRUE(ex);
    auto out = ex->Run({Tensor({3, 2}, x)});
    ASSERT_TRUE(out.ok()) << out.status().message();
    const double s[] = {-1 - 3 + 0.25, 0.5 + 1 + 0.25, 2 - 3 + 0.25};
    EXPECT_EQ((*out)[0].data<int64_t>(), (std::vector<int64_t>{4, 9, 4}));
    std::vector<double> want;
    for (double v : s) {
      want.push_back(1 / (1 + std::exp(v)));
      want.push_back(1 / (1 + std::exp(-v)));
    }
    ExpectNear((*out)[1].data<float>(), want);
  }
}

TEST(OnnxExecutor, LinearClassifierWithZipMapServesTheMatrix) {
  ModelBuilder b;
  b.Input("x", 1, {-1, 2}).Output("label", 7, {-1});
  auto* out = b.model().mutable_graph()->add_output();
  out->set_name("probs");
  auto* map = out->mutable_type()->mutable_sequence_type()->mutable_elem_type()->mutable_map_type();
  map->set_key_type(7);
  map->mutable_value_type()->mutable_tensor_type()->set_elem_type(1);
  auto* n = b.Node("LinearClassifier", {"x"}, {"label", "raw"}, "ai.onnx.ml");
  SetInts(n, "classlabels_ints", {10, 20, 30});
  SetFloats(n, "coefficients", {1, 0, 0, 1, -1, -1});
  SetFloats(n, "intercepts", {0, 0, 0.5});
  SetString(n, "post_transform", "SOFTMAX");
  auto* z = b.Node("ZipMap", {"raw"}, {"probs"}, "ai.onnx.ml");
  SetInts(z, "classlabels_int64s", {10, 20, 30});
  auto ex = MustLoad(b);
  ASSERT_TRUE(ex);
  ASSERT_EQ(ex->outputs().size(), 2u);
  EXPECT_TRUE(ex->outputs()[1].from_zipmap);
  EXPECT_EQ(ex->outputs()[1].dtype, DType::kFloat);
  EXPECT_EQ(ex->outputs()[1].shape, (Shape{-1, 3}));
  auto r = ex->Run({Tensor({2, 2}, std::vector<float>{2, 1, -1, -1})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[0].data<int64_t>(), (std::vector<int64_t>{10, 30}));
  // Row 0 scores [2, 1, -2.5]; row 1 [-1, -1, 2.5].
  auto sm = [](std::vector<double> v) {
    double s = 0;
    for (double& x : v) s += (x = std::exp(x));
    for (double& x : v) x /= s;
    return v;
  };
  auto a = sm({2, 1, -2.5}), c = sm({-1, -1, 2.5});
  ExpectNear((*r)[1].data<float>(), {a[0], a[1], a[2], c[0], c[1], c[2]});
  EXPECT_EQ((*r)[1].shape(), (Shape{2, 3}));
}

TEST(OnnxExecutor, PreprocessingOperators) {
  ModelBuilder b;
  b.Input("x", 1, {-1, 2}).Input("cat", 8, {-1, 1}).Output("y", 1, {-1, 5}).Output("code", 7, {-1, 1});
  auto* imp = b.Node("Imputer", {"x"}, {"xi"}, "ai.onnx.ml");
  SetFloats(imp, "imputed_value_floats", {7, 8});
  SetFloat(imp, "replaced_value_float", std::nanf(""));
  auto* sc = b.Node("Scaler", {"xi"}, {"xs"}, "ai.onnx.ml");
  SetFloats(sc, "offset", {1, 2});
  SetFloats(sc, "scale", {2});
  auto* oh = b.Node("OneHotEncoder", {"cat"}, {"oh3"}, "ai.onnx.ml");
  SetStrings(oh, "cats_strings", {"r", "g", "b"});
  b.Int64Init("shape", {2}, {-1, 3});
  b.Node("Reshape", {"oh3", "shape"}, {"oh"});
  auto* cc = b.Node("Concat", {"xs", "oh"}, {"y"});
  SetInt(cc, "axis", 1);
  auto* le = b.Node("LabelEncoder", {"cat"}, {"code"}, "ai.onnx.ml");
  SetStrings(le, "keys_strings", {"r", "g"});
  SetInts(le, "values_int64s", {100, 200});
  auto ex = MustLoad(b);
  ASSERT_TRUE(ex);
  auto r = ex->Run({Tensor({2, 2}, std::vector<float>{std::nanf(""), 3, 1, std::nanf("")}),
                    Tensor({2, 1}, std::vector<std::string>{"b", "zzz"})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  ExpectNear((*r)[0].data<float>(), {12, 2, 0, 0, 1, 0, 12, 0, 0, 0});
  EXPECT_EQ((*r)[1].data<int64_t>(), (std::vector<int64_t>{-1, -1}));
}

TEST(OnnxExecutor, ShapeOperators) {
  ModelBuilder b(13);
  b.Input("x", 1, {-1, 2, 3}).Output("t", 1, {-1, -1, -1}).Output("f", 1, {-1, -1}).Output("g", 1, {-1, -1})
      .Output("c", 7, {-1, 2, 3});
  auto* t = b.Node("Transpose", {"x"}, {"t"});
  SetInts(t, "perm", {0, 2, 1});
  b.Node("Flatten", {"x"}, {"f"});
  b.Int64Init("idx", {2}, {2, 0});
  auto* g = b.Node("Gather", {"f", "idx"}, {"g"});
  SetInt(g, "axis", 1);
  auto* c = b.Node("Cast", {"x"}, {"c"});
  SetInt(c, "to", 7);
  auto ex = MustLoad(b);
  ASSERT_TRUE(ex);
  auto r = ex->Run({Tensor({1, 2, 3}, std::vector<float>{0, 1, 2, 3, 4, 5.7f})});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[0].data<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5.7f}));
  EXPECT_EQ((*r)[0].shape(), (Shape{1, 3, 2}));
  EXPECT_EQ((*r)[1].shape(), (Shape{1, 6}));
  EXPECT_EQ((*r)[2].data<float>(), (std::vector<float>{2, 0}));
  EXPECT_EQ((*r)[3].data<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
}

}  // namespace
}  // namespace kiln::onnx
