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
  ASSERT_EQ(req->outputs.size(), 1u);
  EXPECT_EQ(req->outputs[0].name, "y");
  EXPECT_FALSE(req->outputs[0].binary);
}

TEST(V2Codec, NonFiniteLiteralsAsPythonWritesThem) {
  auto req = DecodeInferRequest(
      R"({"inputs":[{"name":"x","shape":[4],"datatype":"FP64","data":[NaN,Infinity,-Infinity,"NaN"]}]})");
  ASSERT_TRUE(req.ok()) << req.status().message();
  EXPECT_TRUE(std::isnan(At<double>(req->inputs[0], 0)));
  EXPECT_EQ(At<double>(req->inputs[0], 1), INFINITY);
  EXPECT_EQ(At<double>(req->inputs[0], 2), -INFINITY);
  // Inside strings the words stay text; a BYTES tensor keeps them.
  auto s = DecodeInferRequest(R"({"inputs":[{"name":"s","shape":[1],"datatype":"BYTES","data":["NaN \" Infinity"]}]})");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_FALSE(DecodeInferRequest(R"({"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[NaN]}]})").ok());
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
  std::optional<size_t> json_length;
  auto j = nlohmann::json::parse(EncodeInferResponse("m", "3", "", {t}, {}, false, &json_length));
  EXPECT_FALSE(json_length.has_value());
  EXPECT_EQ(j["model_version"], "3");
  EXPECT_FALSE(j.contains("id"));
  EXPECT_EQ(j["outputs"][0]["data"][0], 0.25);
  EXPECT_TRUE(j["outputs"][0]["data"][1].is_null());
}

std::string BinaryBody(const std::string& header, const std::string& raw) { return header + raw; }

TEST(V2Codec, BinaryInputsAndOutputs) {
  float v[3] = {1.5f, NAN, -2.0f};
  std::string raw(reinterpret_cast<const char*>(v), sizeof(v));
  std::string header =
      R"({"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","parameters":{"binary_data_size":12}}],)"
      R"("outputs":[{"name":"y","parameters":{"binary_data":true}}]})";
  auto req = DecodeInferRequest(BinaryBody(header, raw), header.size());
  ASSERT_TRUE(req.ok()) << req.status().message();
  EXPECT_EQ(req->inputs[0].data.size(), 12u);
  EXPECT_TRUE(std::isnan(At<float>(req->inputs[0], 1)));
  ASSERT_EQ(req->outputs.size(), 1u);
  EXPECT_TRUE(req->outputs[0].binary);

  serving::Tensor y = req->inputs[0];
  y.name = "y";
  std::optional<size_t> json_length;
  std::string body = EncodeInferResponse("m", "1", "id", {y}, {"y"}, false, &json_length);
  ASSERT_TRUE(json_length.has_value());
  auto j = nlohmann::json::parse(body.substr(0, *json_length));
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 12);
  EXPECT_FALSE(j["outputs"][0].contains("data"));
  EXPECT_EQ(body.substr(*json_length), raw);
}

TEST(V2Codec, BinaryFramingThatLies) {
  const std::string h12 =
      R"({"inputs":[{"name":"x","shape":[3],"datatype":"FP32","parameters":{"binary_data_size":12}}]})";
  const std::string raw(12, '\0');
  EXPECT_FALSE(DecodeInferRequest(h12 + raw, h12.size() + 13).ok());         // header length past the body
  EXPECT_FALSE(DecodeInferRequest(h12 + raw.substr(0, 8), h12.size()).ok());  // truncated payload
  EXPECT_FALSE(DecodeInferRequest(h12 + raw + "x", h12.size()).ok());         // bytes nobody claims
  EXPECT_FALSE(DecodeInferRequest(h12 + raw, h12.size() - 1).ok());           // header cut short
  const std::string h8 =
      R"({"inputs":[{"name":"x","shape":[3],"datatype":"FP32","parameters":{"binary_data_size":8}}]})";
  EXPECT_FALSE(DecodeInferRequest(h8 + raw.substr(0, 8), h8.size()).ok());  // size disagrees with the shape
  // BYTES: two elements whose lengths must add up exactly.
  const std::string hb =
      R"({"inputs":[{"name":"s","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":11}}]})";
  std::string good("\x02\0\0\0hi\x01\0\0\0!", 11);
  EXPECT_TRUE(DecodeInferRequest(hb + good, hb.size()).ok());
  std::string lying("\x09\0\0\0hi\x01\0\0\0!", 11);
  EXPECT_FALSE(DecodeInferRequest(hb + lying, hb.size()).ok());
  const std::string both =
      R"({"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[1,2,3],"parameters":{"binary_data_size":12}}]})";
  EXPECT_FALSE(DecodeInferRequest(both + raw, both.size()).ok());
}

TEST(V2Codec, ErrorStatuses) {
  EXPECT_EQ(ErrorResponse(InvalidArgument("x")).status, 400u);
  EXPECT_EQ(ErrorResponse(NotFound("x")).status, 404u);
  EXPECT_EQ(ErrorResponse(Unavailable("x")).status, 503u);
  EXPECT_EQ(ErrorResponse(NotFound("x")).body, R"({"error":"x"})");
}

}  // namespace
}  // namespace kiln::api::v2
