#include "api/grpc/tensor_codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <limits>

namespace kiln::api::grpcv2 {
namespace {

using serving::DataType;
using serving::Tensor;

template <typename T>
std::string Bytes(std::initializer_list<T> values) {
  std::string out;
  for (T v : values) out.append(reinterpret_cast<const char*>(&v), sizeof(T));
  return out;
}

std::string AsString(const std::vector<char>& v) { return std::string(v.begin(), v.end()); }

inference::ModelInferRequest::InferInputTensor* AddInput(inference::ModelInferRequest& r, const std::string& dtype,
                                                         std::initializer_list<int64_t> shape) {
  auto* in = r.add_inputs();
  in->set_name("input-0");
  in->set_datatype(dtype);
  for (int64_t d : shape) in->add_shape(d);
  return in;
}

TEST(TensorCodec, RawFp32) {
  inference::ModelInferRequest r;
  r.set_id("r1");
  AddInput(r, "FP32", {2, 2});
  r.add_raw_input_contents(Bytes<float>({1.5f, -2.f, std::numeric_limits<float>::quiet_NaN(), 4.f}));
  r.add_outputs()->set_name("output-0");
  auto d = DecodeInferRequest(r);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_TRUE(d->raw);
  EXPECT_EQ(d->id, "r1");
  ASSERT_EQ(d->inputs.size(), 1u);
  EXPECT_EQ(d->inputs[0].dtype, DataType::kFp32);
  EXPECT_EQ(d->inputs[0].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(AsString(d->inputs[0].data), r.raw_input_contents(0));
  EXPECT_EQ(d->outputs, std::vector<std::string>{"output-0"});
}

TEST(TensorCodec, RawSizeMustMatchShape) {
  inference::ModelInferRequest r;
  AddInput(r, "FP32", {2, 3});
  r.add_raw_input_contents(Bytes<float>({1, 2, 3, 4, 5}));  // 20 bytes, 24 needed
  auto d = DecodeInferRequest(r);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("need 24"), std::string::npos) << d.status().message();
}

TEST(TensorCodec, RawEntriesOnePerInput) {
  inference::ModelInferRequest r;
  AddInput(r, "FP32", {1});
  AddInput(r, "FP32", {1})->set_name("input-1");
  r.add_raw_input_contents(Bytes<float>({1}));
  EXPECT_EQ(DecodeInferRequest(r).status().code(), StatusCode::kInvalidArgument);
}

TEST(TensorCodec, RawAndTypedContentsDoNotMix) {
  inference::ModelInferRequest r;
  AddInput(r, "FP32", {1})->mutable_contents()->add_fp32_contents(1);
  r.add_raw_input_contents(Bytes<float>({1}));
  EXPECT_EQ(DecodeInferRequest(r).status().code(), StatusCode::kInvalidArgument);
}

TEST(TensorCodec, RawBytesLengthsChecked) {
  std::string ok = Bytes<uint32_t>({2}) + "ab" + Bytes<uint32_t>({0});
  inference::ModelInferRequest r;
  AddInput(r, "BYTES", {2});
  r.add_raw_input_contents(ok);
  auto d = DecodeInferRequest(r);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(AsString(d->inputs[0].data), ok);

  for (const std::string& bad : {Bytes<uint32_t>({9}) + "ab" + Bytes<uint32_t>({0}),  // length lies
                                 Bytes<uint32_t>({2}) + "ab",                          // element missing
                                 ok + "x"}) {                                          // bytes left over
    inference::ModelInferRequest b;
    AddInput(b, "BYTES", {2});
    b.add_raw_input_contents(bad);
    EXPECT_EQ(DecodeInferRequest(b).status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(TensorCodec, RawFp16Accepted) {
  inference::ModelInferRequest r;
  AddInput(r, "FP16", {3});
  r.add_raw_input_contents(std::string(6, '\0'));
  auto d = DecodeInferRequest(r);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->inputs[0].dtype, DataType::kFp16);
}

// Every datatype's typed field decodes to the tensor's little-endian bytes.
TEST(TensorCodec, TypedContentsOfEachDatatype) {
  struct Case {
    const char* dtype;
    std::function<void(inference::InferTensorContents*)> fill;
    std::string bytes;
  };
  const std::vector<Case> cases = {
      {"BOOL", [](auto* c) { c->add_bool_contents(true); c->add_bool_contents(false); }, Bytes<uint8_t>({1, 0})},
      {"INT8", [](auto* c) { c->add_int_contents(-128); c->add_int_contents(127); }, Bytes<int8_t>({-128, 127})},
      {"INT16", [](auto* c) { c->add_int_contents(-300); c->add_int_contents(300); }, Bytes<int16_t>({-300, 300})},
      {"INT32", [](auto* c) { c->add_int_contents(-70000); c->add_int_contents(7); }, Bytes<int32_t>({-70000, 7})},
      {"INT64", [](auto* c) { c->add_int64_contents(-(int64_t{1} << 40)); c->add_int64_contents(1); },
       Bytes<int64_t>({-(int64_t{1} << 40), 1})},
      {"UINT8", [](auto* c) { c->add_uint_contents(255); c->add_uint_contents(0); }, Bytes<uint8_t>({255, 0})},
      {"UINT16", [](auto* c) { c->add_uint_contents(65535); c->add_uint_contents(1); }, Bytes<uint16_t>({65535, 1})},
      {"UINT32", [](auto* c) { c->add_uint_contents(4000000000u); c->add_uint_contents(1); },
       Bytes<uint32_t>({4000000000u, 1})},
      {"UINT64", [](auto* c) { c->add_uint64_contents(uint64_t{1} << 63); c->add_uint64_contents(2); },
       Bytes<uint64_t>({uint64_t{1} << 63, 2})},
      {"FP32", [](auto* c) { c->add_fp32_contents(0.25f); c->add_fp32_contents(-1.f); }, Bytes<float>({0.25f, -1.f})},
      {"FP64", [](auto* c) { c->add_fp64_contents(1e300); c->add_fp64_contents(-0.5); }, Bytes<double>({1e300, -0.5})},
      {"BYTES", [](auto* c) { c->add_bytes_contents("hey"); c->add_bytes_contents(""); },
       Bytes<uint32_t>({3}) + "hey" + Bytes<uint32_t>({0})},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.dtype);
    inference::ModelInferRequest r;
    c.fill(AddInput(r, c.dtype, {2})->mutable_contents());
    auto d = DecodeInferRequest(r);
    ASSERT_TRUE(d.ok()) << d.status().message();
    EXPECT_FALSE(d->raw);
    EXPECT_EQ(AsString(d->inputs[0].data), c.bytes);

    // And back: the typed response holds the same values in the same field.
    inference::ModelInferResponse res;
    EncodeInferResponse("m", "1", "", d->inputs, /*raw=*/false, &res);
    ASSERT_EQ(res.outputs_size(), 1);
    EXPECT_EQ(res.raw_output_contents_size(), 0);
    EXPECT_EQ(res.outputs(0).datatype(), c.dtype);
    EXPECT_EQ(res.outputs(0).contents().SerializeAsString(), r.inputs(0).contents().SerializeAsString());
  }
}

TEST(TensorCodec, TypedCountMustMatchShape) {
  inference::ModelInferRequest r;
  auto* in = AddInput(r, "FP32", {2, 2});
  for (float f : {1.f, 2.f, 3.f}) in->mutable_contents()->add_fp32_contents(f);
  auto d = DecodeInferRequest(r);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("has 3 elements, its shape needs 4"), std::string::npos) << d.status().message();
}

TEST(TensorCodec, TypedContentsInTheWrongField) {
  inference::ModelInferRequest r;
  AddInput(r, "FP32", {1})->mutable_contents()->add_fp64_contents(1.0);
  auto d = DecodeInferRequest(r);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("fp32_contents"), std::string::npos) << d.status().message();
}

TEST(TensorCodec, TypedValuesOutOfRange) {
  for (auto [dtype, value] : std::vector<std::pair<std::string, int64_t>>{{"INT8", 128}, {"INT16", -40000}}) {
    inference::ModelInferRequest r;
    AddInput(r, dtype, {1})->mutable_contents()->add_int_contents(static_cast<int32_t>(value));
    EXPECT_EQ(DecodeInferRequest(r).status().code(), StatusCode::kInvalidArgument) << dtype;
  }
  inference::ModelInferRequest r;
  AddInput(r, "UINT8", {1})->mutable_contents()->add_uint_contents(256);
  EXPECT_EQ(DecodeInferRequest(r).status().code(), StatusCode::kInvalidArgument);
}

TEST(TensorCodec, TypedFp16Refused) {
  inference::ModelInferRequest r;
  AddInput(r, "FP16", {1})->mutable_contents()->add_fp32_contents(1);
  EXPECT_EQ(DecodeInferRequest(r).status().code(), StatusCode::kInvalidArgument);
}

TEST(TensorCodec, MalformedRequests) {
  {
    inference::ModelInferRequest r;  // no inputs
    EXPECT_EQ(DecodeInferRequest(r).status().code(), StatusCode::kInvalidArgument);
  }
  {
    inference::ModelInferRequest r;
    AddInput(r, "FP42", {1})->mutable_contents()->add_fp32_contents(1);
    auto d = DecodeInferRequest(r);
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.status().message().find("'FP42' is not a V2 datatype"), std::string::npos);
  }
  {
    inference::ModelInferRequest r;
    AddInput(r, "FP32", {-1, 2});
    EXPECT_EQ(DecodeInferRequest(r).status().code(), StatusCode::kInvalidArgument);
  }
  {
    inference::ModelInferRequest r;  // would overflow int64 if multiplied blindly
    AddInput(r, "FP32", {2, int64_t{1} << 62});
    r.add_raw_input_contents("");
    EXPECT_EQ(DecodeInferRequest(r).status().code(), StatusCode::kInvalidArgument);
  }
  {
    inference::ModelInferRequest r;
    AddInput(r, "FP32", {1})->set_name("");
    EXPECT_EQ(DecodeInferRequest(r).status().code(), StatusCode::kInvalidArgument);
  }
  {
    inference::ModelInferRequest r;  // zero elements need no contents
    AddInput(r, "FP32", {0, 4});
    auto d = DecodeInferRequest(r);
    ASSERT_TRUE(d.ok()) << d.status().message();
    EXPECT_TRUE(d->inputs[0].data.empty());
  }
}

TEST(TensorCodec, EncodeRaw) {
  Tensor t{"output-0", DataType::kFp32, {2}, {}};
  std::string bytes = Bytes<float>({0.5f, 0.75f});
  t.data.assign(bytes.begin(), bytes.end());
  inference::ModelInferResponse res;
  EncodeInferResponse("xgb", "3", "id-7", {t}, /*raw=*/true, &res);
  EXPECT_EQ(res.model_name(), "xgb");
  EXPECT_EQ(res.model_version(), "3");
  EXPECT_EQ(res.id(), "id-7");
  ASSERT_EQ(res.outputs_size(), 1);
  EXPECT_EQ(res.outputs(0).name(), "output-0");
  EXPECT_EQ(res.outputs(0).datatype(), "FP32");
  EXPECT_EQ(res.outputs(0).shape_size(), 1);
  EXPECT_FALSE(res.outputs(0).has_contents());
  ASSERT_EQ(res.raw_output_contents_size(), 1);
  EXPECT_EQ(res.raw_output_contents(0), bytes);
}

TEST(TensorCodec, Fp16OutputsAlwaysRaw) {
  Tensor a{"a", DataType::kFp32, {1}, {}};
  std::string fa = Bytes<float>({1.f});
  a.data.assign(fa.begin(), fa.end());
  Tensor h{"h", DataType::kFp16, {1}, {'\x00', '\x3c'}};
  inference::ModelInferResponse res;
  EncodeInferResponse("m", "1", "", {a, h}, /*raw=*/false, &res);
  ASSERT_EQ(res.raw_output_contents_size(), 2);  // raw for every output, in order
  EXPECT_EQ(res.raw_output_contents(0), fa);
  EXPECT_EQ(res.raw_output_contents(1), std::string("\x00\x3c", 2));
}

}  // namespace
}  // namespace kiln::api::grpcv2
