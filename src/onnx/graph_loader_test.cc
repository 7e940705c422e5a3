#include "onnx/graph_loader.h"

#include <gtest/gtest.h>

#include "onnx/executor.h"
#include "onnx/test_model_builder.h"

namespace kiln::onnx {
namespace {

using testing::ModelBuilder;

StatusOr<std::unique_ptr<Executor>> Load(const ModelBuilder& b) {
  const std::string bytes = b.Bytes();
  return Executor::Load(bytes.data(), bytes.size());
}

ModelBuilder Relu() {
  ModelBuilder b;
  b.Input("x", 1, {-1, 2}).Output("y", 1, {-1, 2});
  b.Node("Relu", {"x"}, {"y"});
  return b;
}

TEST(OnnxGraphLoader, RefusesUnsupportedOperatorNamingIt) {
  ModelBuilder b = Relu();
  b.Output("h", 1, {-1, 4});
  b.Node("LSTM", {"x"}, {"h"});
  auto ex = Load(b);
  ASSERT_FALSE(ex.ok());
  EXPECT_EQ(ex.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ex.status().message().find("unsupported ONNX operator 'LSTM' (domain ai.onnx)"), std::string::npos)
      << ex.status().message();

  ModelBuilder ml = Relu();
  ml.Output("z", 1, {-1});
  ml.Node("SVMClassifier", {"x"}, {"z"}, "ai.onnx.ml");
  auto ex2 = Load(ml);
  ASSERT_FALSE(ex2.ok());
  EXPECT_NE(ex2.status().message().find("'SVMClassifier' (domain ai.onnx.ml)"), std::string::npos)
      << ex2.status().message();
}

TEST(OnnxGraphLoader, RefusesUnknownDomains) {
  ModelBuilder b = Relu();
  b.Output("z", 1, {-1});
  b.Node("FusedGemm", {"x"}, {"z"}, "com.microsoft");
  auto op = b.model().add_opset_import();
  op->set_domain("com.microsoft");
  op->set_version(1);
  auto ex = Load(b);
  ASSERT_FALSE(ex.ok());
  EXPECT_EQ(ex.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ex.status().message().find("'FusedGemm' (domain com.microsoft)"), std::string::npos) << ex.status().message();

  // An ai.onnx.ml node in a model that imports no ai.onnx.ml opset.
  ModelBuilder noml = Relu();
  noml.model().mutable_opset_import()->RemoveLast();
  noml.Output("s", 1, {-1, 2});
  auto* n = noml.Node("Scaler", {"x"}, {"s"}, "ai.onnx.ml");
  testing::SetFloats(n, "scale", {2});
  auto ex2 = Load(noml);
  ASSERT_FALSE(ex2.ok());
  EXPECT_NE(ex2.status().message().find("imports no opset"), std::string::npos) << ex2.status().message();
}

TEST(OnnxGraphLoader, RefusesMalformedAndTruncatedBytes) {
  for (const std::string& junk : {std::string(), std::string("not a model"), std::string("\x08\x07\x12", 3),
                                  std::string(64, '\xff')}) {
    auto ex = Executor::Load(junk.data(), junk.size());
    ASSERT_FALSE(ex.ok());
    EXPECT_EQ(ex.status().code(), StatusCode::kInvalidArgument) << ex.status().message();
  }
  // Uses both imported opsets, so that no prefix is a smaller valid model.
  ModelBuilder b = Relu();
  b.FloatInit("w", {2}, {1, 2});
  b.Output("s", 1, {-1, 2});
  b.Node("Add", {"y", "w"}, {"a"});
  testing::SetFloats(b.Node("Scaler", {"a"}, {"s"}, "ai.onnx.ml"), "scale", {2});
  const std::string bytes = b.Bytes();
  ASSERT_TRUE(Executor::Load(bytes.data(), bytes.size()).ok());
  // Every proper prefix is refused (protobuf or graph checks), none crashes.
  for (size_t len = 0; len < bytes.size(); ++len) {
    auto ex = Executor::Load(bytes.data(), len);
    EXPECT_FALSE(ex.ok()) << "prefix of " << len << " bytes loaded";
  }
  // Flipped bytes never crash (most are refused; the rest must still run).
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string m = bytes;
    m[i] = static_cast<char>(m[i] ^ 0x5a);
    auto ex = Executor::Load(m.data(), m.size());
    if (ex.ok() && (*ex)->inputs().size() == 1 && (*ex)->inputs()[0].dtype == DType::kFloat) {
      (void)(*ex)->Run({Tensor({1, 2}, std::vector<float>{1, -1})});
    }
  }
}

TEST(OnnxGraphLoader, RefusesBrokenGraphs) {
  {  // a value nobody produces
    ModelBuilder b;
    b.Input("x", 1, {-1, 2}).Output("y", 1, {-1, 2});
    b.Node("Add", {"x", "ghost"}, {"y"});
    auto ex = Load(b);
    ASSERT_FALSE(ex.ok());
    EXPECT_NE(ex.status().message().find("'ghost'"), std::string::npos) << ex.status().message();
  }
  {  // a cycle
    ModelBuilder b;
    b.Input("x", 1, {-1, 2}).Output("y", 1, {-1, 2});
    b.Node("Add", {"x", "z"}, {"y"});
    b.Node("Relu", {"y"}, {"z"});
    auto ex = Load(b);
    ASSERT_FALSE(ex.ok());
    EXPECT_NE(ex.status().message().find("cycle"), std::string::npos) << ex.status().message();
  }
  {  // an output that is never computed
    ModelBuilder b = Relu();
    b.Output("missing", 1, {-1});
    EXPECT_FALSE(Load(b).ok());
  }
  {  // an initializer whose data does not fill its shape
    ModelBuilder b = Relu();
    b.FloatInit("w", {3, 2}, {1, 2});
    EXPECT_FALSE(Load(b).ok());
  }
  {  // an unsupported element type (float16)
    ModelBuilder b;
    b.Input("x", 10, {-1, 2}).Output("y", 10, {-1, 2});
    b.Node("Relu", {"x"}, {"y"});
    auto ex = Load(b);
    ASSERT_FALSE(ex.ok());
    EXPECT_NE(ex.status().message().find("element type 10"), std::string::npos) << ex.status().message();
  }
  {  // an attribute the kernel refuses
    ModelBuilder b;
    b.Input("x", 1, {-1, 2}).Output("y", 1, {-1, 1});
    auto* n = b.Node("LinearRegressor", {"x"}, {"y"}, "ai.onnx.ml");
    testing::SetFloats(n, "coefficients", {1, 2});
    testing::SetString(n, "post_transform", "CUBE");
    auto ex = Load(b);
    ASSERT_FALSE(ex.ok());
    EXPECT_NE(ex.status().message().find("CUBE"), std::string::npos) << ex.status().message();
  }
  {  // a tree whose branch points at a node that does not exist
    ModelBuilder b;
    b.Input("x", 1, {-1, 2}).Output("y", 1, {-1, 1});
    auto* n = b.Node("TreeEnsembleRegressor", {"x"}, {"y"}, "ai.onnx.ml");
    testing::SetInts(n, "nodes_treeids", {0, 0});
    testing::SetInts(n, "nodes_nodeids", {0, 1});
    testing::SetInts(n, "nodes_featureids", {0, 0});
    testing::SetStrings(n, "nodes_modes", {"BRANCH_LEQ", "LEAF"});
    testing::SetFloats(n, "nodes_values", {0.5, 0});
    testing::SetInts(n, "nodes_truenodeids", {1, 0});
    testing::SetInts(n, "nodes_falsenodeids", {7, 0});
    testing::SetInts(n, "target_treeids", {0});
    testing::SetInts(n, "target_nodeids", {1});
    testing::SetInts(n, "target_ids", {0});
    testing::SetFloats(n, "target_weights", {1});
    auto ex = Load(b);
    ASSERT_FALSE(ex.ok());
    EXPECT_NE(ex.status().message().find("missing node 7"), std::string::npos) << ex.status().message();
  }
}

TEST(OnnxGraphLoader, OrdersNodesTopologically) {
  ModelBuilder b;
  b.Input("x", 1, {-1, 2}).Output("z", 1, {-1, 2});
  b.Node("Relu", {"y"}, {"z"});  // listed before its producer
  b.Node("Neg", {"x"}, {"y"});
  auto g = GraphFromModelProto(b.model());
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ(g->nodes.size(), 2u);
  EXPECT_EQ(g->nodes[0].op_type, "Neg");
  EXPECT_EQ(g->nodes[1].op_type, "Relu");
  auto ex = Executor::Create(std::move(g).value());
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  auto out = (*ex)->Run({Tensor({1, 2}, std::vector<float>{1, -2})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].data<float>(), (std::vector<float>{0, 2}));
}

TEST(OnnxGraphLoader, InitializersListedAsInputsAreConstants) {
  ModelBuilder b;
  b.Input("x", 1, {-1, 2}).Input("w", 1, {2}).Output("y", 1, {-1, 2});
  b.FloatInit("w", {2}, {10, 20});
  b.Node("Add", {"x", "w"}, {"y"});
  auto ex = Load(b);
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  ASSERT_EQ((*ex)->inputs().size(), 1u);
  EXPECT_EQ((*ex)->inputs()[0].name, "x");
}

}  // namespace
}  // namespace kiln::onnx
