// Expected renderings come from Feast 0.67's own
// feature_server_utils._value_to_native over the same serialized Values,
// dumped the way Starlette's JSONResponse does (ensure_ascii=False,
// separators=(",", ":")); generated once with .venv/bin/python.
#include "features/value_json.h"

#include <gtest/gtest.h>

namespace kiln::features {
namespace {

#define BYTES(lit) std::string(lit, sizeof(lit) - 1)

struct Case {
  std::string bytes;
  const char* json;
};

TEST(ValueJson, RendersStoredValuesAsFeastsServerDoes) {
  const Case cases[] = {
      {BYTES("\x20\xe9\x07"), R"(1001)"},
      {BYTES("\x20\xfb\xff\xff\xff\xff\xff\xff\xff\xff\x01"), R"(-5)"},
      {BYTES("\x20\x00"), R"(0)"},
      {BYTES("\x18\xf9\xff\xff\xff\xff\xff\xff\xff\xff\x01"), R"(-7)"},
      {BYTES("\x29\x9a\x99\x99\x99\x99\x99\xb9\x3f"), R"(0.1)"},
      {BYTES("\x29\x00\x00\x00\x00\x00\x00\x59\x40"), R"(100.0)"},
      {BYTES("\x29\x00\x80\xe0\x37\x79\xc3\x41\x43"), R"(1e+16)"},
      {BYTES("\x29\x00\x00\x00\x00\x00\x00\x00\x80"), R"(-0.0)"},
      {BYTES("\x29\x00\x00\x00\x00\x00\x00\xf8\x7f"), R"("NaN")"},
      {BYTES("\x29\x00\x00\x00\x00\x00\x00\xf0\xff"), R"("-Infinity")"},
      {BYTES("\x35\x9a\x99\x19\x3f"), R"(0.6000000238418579)"},
      {BYTES("\x35\x00\x00\x40\x40"), R"(3.0)"},
      {BYTES("\x38\x01"), R"(true)"},
      {BYTES("\x38\x00"), R"(false)"},
      {BYTES("\x12\x09\x61\x22\x62\x5c\x63\x0a\x01\xc3\xa9"), "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\""},
      {BYTES("\x0a\x02\x00\xff"), R"("AP8=")"},
      {BYTES("\x40\x80\xe2\xcf\xaa\x06"), R"(1700000000)"},
      {BYTES("\x62\x06\x0a\x01\x61\x0a\x01\x62"), R"(["a","b"])"},
      {BYTES("\x62\x00"), R"([])"},
      {BYTES("\x72\x0e\x0a\x0c\x01\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01\x03"), R"([1,-2,3])"},
      {BYTES("\x6a\x0d\x0a\x0b\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x05"), R"([-1,5])"},
      {BYTES("\x7a\x12\x0a\x10\x00\x00\x00\x00\x00\x00\xf8\x3f\x00\x00\x00\x00\x00\x00\x00\x40"), R"([1.5,2.0])"},
      {BYTES("\x82\x01\x06\x0a\x04\xcd\xcc\xcc\x3d"), R"([0.10000000149011612])"},
      {BYTES("\x8a\x01\x04\x0a\x02\x01\x00"), R"([true,false])"},
      {BYTES("\x5a\x04\x0a\x02\x61\x62"), R"(["YWI="])"},
      {BYTES("\x92\x01\x04\x0a\x02\x01\x02"), R"([1,2])"},
      {BYTES("\x98\x01\x00"), R"(null)"},
      {BYTES(""), R"(null)"},
      {BYTES("\x29\x95\x05\x7f\x66\xf1\x91\x80\x3e"), R"(1.2345678901234566e-07)"},
      {BYTES("\x29\x00\x00\x80\x54\x34\x6f\x9d\x41"), R"(123456789.125)"},
  };
  for (const Case& c : cases) {
    std::string out;
    Status s = AppendValueJson(c.bytes, &out);
    ASSERT_TRUE(s.ok()) << s.ToString() << " for " << c.json;
    EXPECT_EQ(out, c.json);
  }
}

TEST(ValueJson, NullValues) {
  EXPECT_TRUE(ValueBytesIsNull(""));
  EXPECT_TRUE(ValueBytesIsNull(BYTES("\x98\x01\x00")));
  EXPECT_FALSE(ValueBytesIsNull(BYTES("\x20\x00")));
  EXPECT_FALSE(ValueBytesIsNull(BYTES("\x62\x00")));
}

TEST(ValueJson, RefusesGarbageAndMaps) {
  std::string out;
  EXPECT_FALSE(AppendValueJson(BYTES("\x20"), &out).ok());
  EXPECT_FALSE(AppendValueJson(BYTES("\x12\x05" "ab"), &out).ok());
  EXPECT_FALSE(AppendValueJson(BYTES("\xa2\x01\x00"), &out).ok());  // map_val
}

std::string Encode(const char* json, ValueType t) {
  std::string out;
  Status s = AppendJsonAsValueBytes(nlohmann::json::parse(json), t, "col", &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// The encodings protobuf itself (Feast's Python SDK) produces for the same values.
TEST(ValueJson, EncodesJsonAsProtobufDoes) {
  EXPECT_EQ(Encode("1001", ValueType::kInt64), BYTES("\x20\xe9\x07"));
  EXPECT_EQ(Encode("-5", ValueType::kInt64), BYTES("\x20\xfb\xff\xff\xff\xff\xff\xff\xff\xff\x01"));
  EXPECT_EQ(Encode("-7", ValueType::kInt32), BYTES("\x18\xf9\xff\xff\xff\xff\xff\xff\xff\xff\x01"));
  EXPECT_EQ(Encode("0.1", ValueType::kDouble), BYTES("\x29\x9a\x99\x99\x99\x99\x99\xb9\x3f"));
  EXPECT_EQ(Encode("100", ValueType::kDouble), BYTES("\x29\x00\x00\x00\x00\x00\x00\x59\x40"));
  EXPECT_EQ(Encode("0.6", ValueType::kFloat), BYTES("\x35\x9a\x99\x19\x3f"));
  EXPECT_EQ(Encode("true", ValueType::kBool), BYTES("\x38\x01"));
  EXPECT_EQ(Encode("\"AP8=\"", ValueType::kBytes), BYTES("\x0a\x02\x00\xff"));
  EXPECT_EQ(Encode("1700000000", ValueType::kUnixTimestamp), BYTES("\x40\x80\xe2\xcf\xaa\x06"));
  EXPECT_EQ(Encode("\"2023-11-14T22:13:20Z\"", ValueType::kUnixTimestamp), BYTES("\x40\x80\xe2\xcf\xaa\x06"));
  EXPECT_EQ(Encode(R"(["a","b"])", ValueType::kStringList), BYTES("\x62\x06\x0a\x01\x61\x0a\x01\x62"));
  EXPECT_EQ(Encode("[]", ValueType::kStringList), BYTES("\x62\x00"));
  EXPECT_EQ(Encode("[1,-2,3]", ValueType::kInt64List),
            BYTES("\x72\x0e\x0a\x0c\x01\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01\x03"));
  EXPECT_EQ(Encode("[1.5,2.0]", ValueType::kDoubleList),
            BYTES("\x7a\x12\x0a\x10\x00\x00\x00\x00\x00\x00\xf8\x3f\x00\x00\x00\x00\x00\x00\x00\x40"));
  EXPECT_EQ(Encode("[true,false]", ValueType::kBoolList), BYTES("\x8a\x01\x04\x0a\x02\x01\x00"));
  EXPECT_EQ(Encode("null", ValueType::kInt64), "");
}

TEST(ValueJson, WrongTypesNameTheColumnAndTheType) {
  std::string out;
  Status s = AppendJsonAsValueBytes(nlohmann::json::parse("\"x\""), ValueType::kInt64, "avg_daily_trips", &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("avg_daily_trips"), std::string::npos);
  EXPECT_NE(s.message().find("INT64"), std::string::npos);
  EXPECT_FALSE(AppendJsonAsValueBytes(nlohmann::json::parse("1.5"), ValueType::kInt64, "c", &out).ok());
  EXPECT_FALSE(AppendJsonAsValueBytes(nlohmann::json::parse("3000000000"), ValueType::kInt32, "c", &out).ok());
  EXPECT_FALSE(AppendJsonAsValueBytes(nlohmann::json::parse("[1,null]"), ValueType::kInt64List, "c", &out).ok());
  EXPECT_FALSE(AppendJsonAsValueBytes(nlohmann::json::parse("1"), ValueType::kStringList, "c", &out).ok());
  EXPECT_FALSE(AppendJsonAsValueBytes(nlohmann::json::parse("1"), ValueType::kString, "c", &out).ok());
}

TEST(ValueJson, EntityKeyValuesByDeclaredType) {
  auto rv = [](const char* j) { return *RequestValueFromJson(nlohmann::json::parse(j), "c"); };
  auto k = ToEntityKeyValue(rv("1001"), "driver_id", ValueType::kInt64);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->int_value, 1001);
  EXPECT_EQ(ToEntityKeyValue(rv("\"1001\""), "driver_id", ValueType::kInt64).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ToEntityKeyValue(rv("5"), "customer_id", ValueType::kString).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ToEntityKeyValue(rv("\"c1\""), "customer_id", ValueType::kString)->bytes_value, "c1");
  EXPECT_FALSE(RequestValueFromJson(nlohmann::json::parse("[1]"), "c").ok());
  EXPECT_FALSE(RequestValueFromJson(nlohmann::json::parse("18446744073709551615"), "c").ok());
  std::string out;
  AppendEntityValueBytes(*k, &out);
  EXPECT_EQ(out, BYTES("\x20\xe9\x07"));
}

TEST(ValueJson, Rfc3339WithFeastsAdaptivePrecision) {
  auto r = [](int64_t us) {
    std::string s;
    AppendRfc3339(us, &s);
    return s;
  };
  EXPECT_EQ(r(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(r(1700000000000000), "2023-11-14T22:13:20Z");
  EXPECT_EQ(r(1700000000123000), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(r(1700000000123456), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(r(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(r(951782400000000), "2000-02-29T00:00:00Z");
}

TEST(ValueJson, ParsesIsoTimestamps) {
  EXPECT_EQ(*ParseTimestampUs("2023-11-14T22:13:20"), 1700000000000000);
  EXPECT_EQ(*ParseTimestampUs("2023-11-14T22:13:20Z"), 1700000000000000);
  EXPECT_EQ(*ParseTimestampUs("2023-11-14 22:13:20.5"), 1700000000500000);
  EXPECT_EQ(*ParseTimestampUs("2023-11-14T22:13:20.123456789+00:00"), 1700000000123456);
  EXPECT_EQ(*ParseTimestampUs("2023-11-15T00:13:20+02:00"), 1700000000000000);
  EXPECT_EQ(*ParseTimestampUs("2023-11-14"), 1699920000000000);
  EXPECT_FALSE(ParseTimestampUs("yesterday").ok());
  EXPECT_FALSE(ParseTimestampUs("2023-11-14T22").ok());
  EXPECT_FALSE(ParseTimestampUs("2023-13-14").ok());
}

}  // namespace
}  // namespace kiln::features
