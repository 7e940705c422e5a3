#include "api/v2/v2_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

namespace kiln::api::v2 {
namespace {

template <typename T>
T At(const serving::Tensor& t, size_t i) {
  T v;
  std::memcpy(&v, t.data.data() + i * sizeof(T), sizeof(T));
  return v;
}

TEST(V2Codec, NestedAndFlatDataWithNullAsNaN) {
  auto req = DecodeInferRequest(
      R"({"id":"a","inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,null],[3.5,-4]]}],
          "outputs":[{"name":"y"}]})");
  ASSERT_TRUE(req.ok()) << req.status().message();
  EXPECT_EQ(req->id, "a");
  ASSERT_EQ(req->inputs.size(), 1u);
  const auto& t = req->inputs[0];
  EXPECT_EQ(t.shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(At<float>(t, 0), 1.0f);
  EXPECT_TRUE(std::isnan(At<float>(t, 1)));
  EXPECT_EQ(At<float>(t, 3), -4.0f);
  EXPECT_EQ(req->outputs, (std::vector<std::string>{"y"}));
}

TEST(V2Codec, IntegerBoolAndBytes) {
  auto req = DecodeInferRequest(
      R"({"inputs":[{"name":"i","shape":[3],"datatype":"INT8","data":[-128,0,127]},
                    {"name":"b","shape":[2],"datatype":"BOOL","data":[true,false]},
                    {"name":"s","shape":[1],"datatype":"BYTES","data":["hey"]}]})");
  ASSERT_TRUE(req.ok()) << req.status().message();
  EXPECT_EQ(At<int8_t>(req->inputs[0], 0), -128);
  EXPECT_EQ(req->inputs[1].data, (std::vector<char>{1, 0}));
  EXPECT_EQ(req->inputs[2].data.size(), 4u + 3u);
}

TEST(V2Codec, RefusesMalformedRequests) {
  for (const char* bad : {
           "", "[]", "{", R"({"inputs":[]})", R"({"inputs":{}})",
           R"({"inputs":[{"shape":[1],"datatype":"FP32","data":[1]}]})",
           R"({"inputs":[{"name":"x","shape":[1],"datatype":"FLOAT","data":[1]}]})",
           R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1]}]})",
           R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1,2]}]})",
           R"({"inputs":[{"name":"x","shape":[-1],"datatype":"FP32","data":[]}]})",
           R"({"inputs":[{"name":"x","shape":[1],"datatype":"INT8","data":[300]}]})",
           R"({"inputs":[{"name":"x","shape":[1],"datatype":"UINT8","data":[-1]}]})",
           R"({"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[1.5]}]})",
           R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":["1"]}]})",
           R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32"}]})",
           R"({"inputs":[{"name":"x","shape":[1000000,1000000],"datatype":"FP32","data":[]}]})",
           R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}],"outputs":[{}]})",
           R"({"id":5,"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]})",
       }) {
    auto req = DecodeInferRequest(bad);
    ASSERT_FALSE(req.ok()) << bad;
    EXPECT_EQ(req.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(V2Codec, ResponseEncodesNonFiniteAsNull) {
  serving::Tensor t;
  t.name = "output-0";
  t.dtype = serving::DataType::kFp32;
  t.shape = {2};
  float v[2] = {0.25f, NAN};
  t.data.resize(sizeof(v));
  std::memcpy(t.data.data(), v, sizeof(v));
  auto j = EncodeInferResponse("m", "3", "", {t});
  EXPECT_EQ(j["model_version"], "3");
  EXPECT_FALSE(j.contains("id"));
  EXPECT_EQ(j["outputs"][0]["data"][0], 0.25);
  EXPECT_TRUE(j["outputs"][0]["data"][1].is_null());
}

TEST(V2Codec, ErrorStatuses) {
  EXPECT_EQ(ErrorResponse(InvalidArgument("x")).status, 400u);
  EXPECT_EQ(ErrorResponse(NotFound("x")).status, 404u);
  EXPECT_EQ(ErrorResponse(Unavailable("x")).status, 503u);
  EXPECT_EQ(ErrorResponse(NotFound("x")).body, R"({"error":"x"})");
}

}  // namespace
}  // namespace kiln::api::v2
