#include "onnx/broadcast.h"

#include <gtest/gtest.h>

#include "onnx/executor.h"
#include "onnx/graph_loader.h"
#include "onnx/test_model_builder.h"

namespace kiln::onnx {
namespace {

using testing::ModelBuilder;
using Shape = std::vector<int64_t>;

TEST(OnnxBroadcast, Shapes) {
  EXPECT_EQ(*BroadcastShape({2, 3}, {3}), (Shape{2, 3}));
  EXPECT_EQ(*BroadcastShape({2, 1}, {1, 4}), (Shape{2, 4}));
  EXPECT_EQ(*BroadcastShape({}, {5, 2}), (Shape{5, 2}));
  EXPECT_EQ(*BroadcastShape({3, 1, 2}, {4, 1}), (Shape{3, 4, 2}));
  EXPECT_EQ(*BroadcastShape({0, 3}, {1, 3}), (Shape{0, 3}));
  auto bad = BroadcastShape({2, 3}, {2});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("[2, 3]"), std::string::npos);
}

TEST(OnnxBroadcast, Strides) {
  EXPECT_EQ(BroadcastStrides({3}, {2, 3}), (Shape{0, 1}));
  EXPECT_EQ(BroadcastStrides({2, 1}, {2, 4}), (Shape{1, 0}));
  EXPECT_EQ(BroadcastStrides({}, {2, 2}), (Shape{0, 0}));
}

// A [N, 3] - [3] and [N, 1] * [1, 3] through real graphs, against numpy's answer.
TEST(OnnxBroadcast, ArithmeticThroughTheExecutor) {
  ModelBuilder b;
  b.Input("x", 1, {-1, 3}).Input("col", 1, {-1, 1}).Output("diff", 1, {-1, 3}).Output("prod", 1, {-1, 3})
      .Output("quot", 1, {-1, 3});
  b.FloatInit("row", {3}, {1, 2, 4});
  b.Node("Sub", {"x", "row"}, {"diff"});
  b.Node("Mul", {"col", "row"}, {"prod"});
  b.Node("Div", {"row", "col"}, {"quot"});
  auto ex = Executor::Load(b.Bytes().data(), b.Bytes().size());
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  auto out = (*ex)->Run({Tensor({2, 3}, std::vector<float>{1, 1, 1, 10, 20, 30}), Tensor({2, 1}, std::vector<float>{2, -1})});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].data<float>(), (std::vector<float>{0, -1, -3, 9, 18, 26}));
  EXPECT_EQ((*out)[1].data<float>(), (std::vector<float>{2, 4, 8, -1, -2, -4}));
  EXPECT_EQ((*out)[2].data<float>(), (std::vector<float>{0.5, 1, 2, -1, -2, -4}));
  EXPECT_EQ((*out)[1].shape(), (Shape{2, 3}));

  // Shapes that do not broadcast are refused at run time, not a crash.
  auto bad = (*ex)->Run({Tensor({2, 3}, std::vector<float>(6)), Tensor({2, 2}, std::vector<float>(4))});
  EXPECT_FALSE(bad.ok());
}

TEST(OnnxBroadcast, IntegerDivisionByZeroIsAnError) {
  ModelBuilder b;
  b.Input("a", 7, {-1}).Input("b", 7, {-1}).Output("q", 7, {-1});
  b.Node("Div", {"a", "b"}, {"q"});
  auto ex = Executor::Load(b.Bytes().data(), b.Bytes().size());
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  auto ok = (*ex)->Run({Tensor({2}, std::vector<int64_t>{7, -9}), Tensor({1}, std::vector<int64_t>{2})});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0].data<int64_t>(), (std::vector<int64_t>{3, -4}));
  auto bad = (*ex)->Run({Tensor({1}, std::vector<int64_t>{7}), Tensor({1}, std::vector<int64_t>{0})});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::onnx
