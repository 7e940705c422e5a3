#include "features/column_values.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <type_traits>
#include <limits>

#include "feast/types/Value.pb.h"

namespace kiln::features {
namespace {

using storage::Column;
using storage::ColumnType;

Column Ints(ColumnType t, std::vector<int64_t> v, std::vector<uint8_t> valid = {}) {
  Column c;
  c.name = "c";
  c.type = t;
  c.valid = valid.empty() ? std::vector<uint8_t>(v.size(), 1) : valid;
  c.i64 = std::move(v);
  return c;
}
Column Floats(ColumnType t, std::vector<double> v) {
  Column c;
  c.name = "c";
  c.type = t;
  c.valid.assign(v.size(), 1);
  c.f64 = std::move(v);
  return c;
}
Column Strings(ColumnType t, std::vector<std::string> v) {
  Column c;
  c.name = "c";
  c.type = t;
  c.valid.assign(v.size(), 1);
  c.str = std::move(v);
  return c;
}

feast::types::Value Decode(const Column& c, ValueType to, size_t row) {
  auto enc = ValueEncoder::Create(c.type, to, "c");
  EXPECT_TRUE(enc.ok()) << enc.status().message();
  std::string bytes;
  Status s = enc->Encode(c, row, &bytes);
  EXPECT_TRUE(s.ok()) << s.message();
  feast::types::Value v;
  EXPECT_TRUE(v.ParseFromString(bytes));
  // Our bytes are exactly what protobuf itself writes for the message.
  EXPECT_EQ(v.SerializeAsString(), bytes);
  return v;
}

// The pairs below are the ones Feast 0.67 stores when materializing each
// column type into each declared type (observed with its sqlite store).
TEST(ValueEncoder, IntegersAsFeastStoresThem) {
  Column c = Ints(ColumnType::kInt64, {1, -2, 1LL << 40});
  EXPECT_EQ(Decode(c, ValueType::kInt64, 1).int64_val(), -2);
  EXPECT_EQ(Decode(c, ValueType::kInt64, 2).int64_val(), 1LL << 40);
  EXPECT_EQ(Decode(c, ValueType::kInt32, 1).int32_val(), -2);
  EXPECT_EQ(Decode(c, ValueType::kFloat, 2).float_val(), static_cast<float>(1LL << 40));
  EXPECT_EQ(Decode(c, ValueType::kDouble, 1).double_val(), -2.0);
  EXPECT_TRUE(Decode(c, ValueType::kBool, 1).bool_val());
  EXPECT_EQ(Decode(c, ValueType::kString, 1).string_val(), "-2");
  EXPECT_EQ(Decode(c, ValueType::kUnixTimestamp, 0).unix_timestamp_val(), 1);
  // Value zero is still a set oneof field.
  Column z = Ints(ColumnType::kInt64, {0});
  EXPECT_EQ(Decode(z, ValueType::kInt64, 0).val_case(), feast::types::Value::kInt64Val);
}

TEST(ValueEncoder, RefusesWhatFeastRefuses) {
  EXPECT_FALSE(ValueEncoder::Create(ColumnType::kInt64, ValueType::kBytes, "c").ok());
  EXPECT_FALSE(ValueEncoder::Create(ColumnType::kInt32, ValueType::kDouble, "c").ok());
  EXPECT_FALSE(ValueEncoder::Create(ColumnType::kFloat, ValueType::kDouble, "c").ok());
  EXPECT_FALSE(ValueEncoder::Create(ColumnType::kBool, ValueType::kDouble, "c").ok());
  EXPECT_FALSE(ValueEncoder::Create(ColumnType::kDouble, ValueType::kBool, "c").ok());
  EXPECT_FALSE(ValueEncoder::Create(ColumnType::kInt32, ValueType::kBool, "c").ok());
  EXPECT_FALSE(ValueEncoder::Create(ColumnType::kString, ValueType::kInt64, "c").ok());
  EXPECT_FALSE(ValueEncoder::Create(ColumnType::kTimestamp, ValueType::kInt64, "c").ok());
  EXPECT_FALSE(ValueEncoder::Create(ColumnType::kString, ValueType::kBytes, "c").ok());
  // Feast garbles these silently; kiln refuses them.
  EXPECT_FALSE(ValueEncoder::Create(ColumnType::kDouble, ValueType::kUnixTimestamp, "c").ok());
  EXPECT_FALSE(ValueEncoder::Create(ColumnType::kBytes, ValueType::kString, "c").ok());
  auto s = ValueEncoder::Create(ColumnType::kFloat, ValueType::kDouble, "price");
  EXPECT_NE(s.status().message().find("price"), std::string::npos);
}

TEST(ValueEncoder, OutOfRangeAndFractionsAreRefusedPerCell) {
  Column big = Ints(ColumnType::kInt64, {1, 1LL << 40});
  auto enc = ValueEncoder::Create(ColumnType::kInt64, ValueType::kInt32, "c");
  ASSERT_TRUE(enc.ok());
  std::string out;
  EXPECT_TRUE(enc->Encode(big, 0, &out).ok());
  EXPECT_FALSE(enc->Encode(big, 1, &out).ok());

  Column f = Floats(ColumnType::kDouble, {3.0, 3.7, NAN, 1e300});
  EXPECT_EQ(Decode(f, ValueType::kInt64, 0).int64_val(), 3);
  auto ienc = ValueEncoder::Create(ColumnType::kDouble, ValueType::kInt64, "c");
  EXPECT_FALSE(ienc->Encode(f, 1, &out).ok());
  EXPECT_TRUE(ienc->Encode(f, 2, &out).ok());
  EXPECT_TRUE(out.empty());  // NaN is null
  EXPECT_FALSE(ienc->Encode(f, 3, &out).ok());
}

TEST(ValueEncoder, FloatsAndTheirStrings) {
  Column f = Floats(ColumnType::kDouble, {1.5, -2.0, 1e300, 3.25});
  EXPECT_EQ(Decode(f, ValueType::kFloat, 0).float_val(), 1.5f);
  EXPECT_TRUE(std::isinf(Decode(f, ValueType::kFloat, 2).float_val()));
  EXPECT_EQ(Decode(f, ValueType::kDouble, 2).double_val(), 1e300);
  EXPECT_EQ(Decode(f, ValueType::kString, 0).string_val(), "1.5");
  EXPECT_EQ(Decode(f, ValueType::kString, 1).string_val(), "-2.0");
  EXPECT_EQ(Decode(f, ValueType::kString, 2).string_val(), "1e+300");

  EXPECT_EQ(PythonFloatRepr(1e15), "1000000000000000.0");
  EXPECT_EQ(PythonFloatRepr(1e16), "1e+16");
  EXPECT_EQ(PythonFloatRepr(0.0001), "0.0001");
  EXPECT_EQ(PythonFloatRepr(1e-5), "1e-05");
  EXPECT_EQ(PythonFloatRepr(123456789.0), "123456789.0");
  EXPECT_EQ(PythonFloatRepr(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(PythonFloatRepr(-0.0), "-0.0");
  EXPECT_EQ(NumpyFloat32Str(1.1f), "1.1");
  EXPECT_EQ(NumpyFloat32Str(1e7f), "1e+07");
  EXPECT_EQ(NumpyFloat32Str(123456789.0f), "1.2345679e+08");
  EXPECT_EQ(NumpyFloat32Str(16777216.0f), "1.6777216e+07");
  EXPECT_EQ(NumpyFloat32Str(0.0001f), "1e-04");
  EXPECT_EQ(NumpyFloat32Str(3.0f), "3.0");
}

TEST(ValueEncoder, BoolsStringsBytes) {
  Column b = Ints(ColumnType::kBool, {1, 0});
  EXPECT_TRUE(Decode(b, ValueType::kBool, 0).bool_val());
  EXPECT_EQ(Decode(b, ValueType::kBool, 1).val_case(), feast::types::Value::kBoolVal);
  EXPECT_EQ(Decode(b, ValueType::kString, 1).string_val(), "False");
  EXPECT_EQ(Decode(b, ValueType::kInt64, 0).int64_val(), 1);
  EXPECT_EQ(Decode(b, ValueType::kFloat, 0).float_val(), 1.0f);

  Column s = Strings(ColumnType::kString, {"héllo", std::string(300, 'x')});
  EXPECT_EQ(Decode(s, ValueType::kString, 0).string_val(), "héllo");
  EXPECT_EQ(Decode(s, ValueType::kString, 1).string_val(), std::string(300, 'x'));
  Column by = Strings(ColumnType::kBytes, {std::string("\0\xff", 2)});
  EXPECT_EQ(Decode(by, ValueType::kBytes, 0).bytes_val(), std::string("\0\xff", 2));
}

TEST(ValueEncoder, TimestampsAreWholeSecondsFloored) {
  Column t = Ints(ColumnType::kTimestamp, {1704067201700000, -1500000, 0}, {1, 1, 0});
  EXPECT_EQ(Decode(t, ValueType::kUnixTimestamp, 0).unix_timestamp_val(), 1704067201);
  EXPECT_EQ(Decode(t, ValueType::kUnixTimestamp, 1).unix_timestamp_val(), -2);
  // Feast's null timestamp sentinel (NULL_TIMESTAMP_INT_VALUE).
  EXPECT_EQ(Decode(t, ValueType::kUnixTimestamp, 2).unix_timestamp_val(), std::numeric_limits<int64_t>::min());
}

TEST(ValueEncoder, NullCellsAreEmpty) {
  Column c = Ints(ColumnType::kInt64, {5, 0}, {1, 0});
  auto enc = ValueEncoder::Create(ColumnType::kInt64, ValueType::kInt64, "c");
  std::string out = "junk";
  ASSERT_TRUE(enc->Encode(c, 1, &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(EntityValues, ConvertToTheEntityType) {
  EntityColumn e{"driver", "driver_id", ValueType::kInt32};
  Column c = Ints(ColumnType::kInt64, {7, 1LL << 40, 0}, {1, 1, 0});
  EXPECT_TRUE(CheckEntityColumn(ColumnType::kInt64, e).ok());
  EntityKeyValue v;
  ASSERT_TRUE(EntityValueFromColumn(c, 0, e, &v).ok());
  EXPECT_EQ(v.int_value, 7);
  EXPECT_EQ(v.type, ValueType::kInt32);
  EXPECT_FALSE(EntityValueFromColumn(c, 1, e, &v).ok());
  EXPECT_FALSE(EntityValueFromColumn(c, 2, e, &v).ok());  // null key
  EXPECT_FALSE(CheckEntityColumn(ColumnType::kDouble, e).ok());
  EntityColumn s{"user", "user_id", ValueType::kString};
  EXPECT_FALSE(CheckEntityColumn(ColumnType::kTimestamp, s).ok());
}

}  // namespace
}  // namespace kiln::features

namespace kiln::features {
namespace {

// A list column: rows of elements, nullopt for a NULL element; a NULL list is
// given by `null_rows`.
template <typename T>
Column List(ColumnType element, std::vector<std::vector<std::optional<T>>> rows, std::vector<size_t> null_rows = {}) {
  Column c;
  c.name = "l";
  c.type = ColumnType::kList;
  c.element = element;
  c.offsets.push_back(0);
  for (size_t r = 0; r < rows.size(); ++r) {
    const bool is_null = std::find(null_rows.begin(), null_rows.end(), r) != null_rows.end();
    c.valid.push_back(!is_null);
    for (const auto& e : rows[r]) {
      c.element_valid.push_back(e.has_value());
      if constexpr (std::is_same_v<T, std::string>) {
        c.str.push_back(e.value_or(""));
      } else if constexpr (std::is_floating_point_v<T>) {
        c.f64.push_back(e.value_or(0));
      } else {
        c.i64.push_back(e.value_or(0));
      }
    }
    c.offsets.push_back(c.element_valid.size());
  }
  return c;
}

std::string Hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char ch : s) {
    out += d[ch >> 4];
    out += d[ch & 15];
  }
  return out;
}

// The serialized Value, checked against protobuf's own serialization.
std::string EncodeList(const Column& c, ValueType to, size_t row) {
  auto enc = ValueEncoder::Create(c, to, "l");
  EXPECT_TRUE(enc.ok()) << enc.status().message();
  if (!enc.ok()) return "";
  std::string bytes;
  Status s = enc->Encode(c, row, &bytes);
  EXPECT_TRUE(s.ok()) << s.message();
  feast::types::Value v;
  EXPECT_TRUE(v.ParseFromString(bytes));
  EXPECT_EQ(v.SerializeAsString(), bytes);
  return Hex(bytes);
}

// The expected bytes are what Feast 0.67 wrote into its sqlite online store
// materializing the same lists from Parquet (tests/compat's list_stats).
TEST(ValueEncoderList, BytesEqualFeastsMaterialization) {
  using S = std::optional<std::string>;
  auto tags = List<std::string>(ColumnType::kString, {{S("a"), S("b")}, {}, {}, {S("x"), std::nullopt, S("")}}, {2});
  EXPECT_EQ(EncodeList(tags, ValueType::kStringList, 0), "62060a01610a0162");
  EXPECT_EQ(EncodeList(tags, ValueType::kStringList, 1), "6200");  // empty list: a typed empty list
  EXPECT_EQ(EncodeList(tags, ValueType::kStringList, 2), "");      // NULL list: no value
  EXPECT_EQ(EncodeList(tags, ValueType::kStringList, 3), "62070a01780a000a00");  // NULL element: ""

  auto blobs = List<std::string>(ColumnType::kBytes, {{S(std::string("\x00\xff", 2)), std::nullopt, S("")}});
  EXPECT_EQ(EncodeList(blobs, ValueType::kBytesList, 0), "5a080a0200ff0a000a00");

  using I = std::optional<int64_t>;
  auto ints = List<int64_t>(ColumnType::kInt64, {{I(1), I(-2), I(1LL << 40)}, {}, {I(std::numeric_limits<int64_t>::min())}});
  EXPECT_EQ(EncodeList(ints, ValueType::kInt64List, 0), "72130a1101feffffffffffffffff01808080808020");
  EXPECT_EQ(EncodeList(ints, ValueType::kInt64List, 1), "7200");
  EXPECT_EQ(EncodeList(ints, ValueType::kInt64List, 2), "720c0a0a80808080808080808001");
  auto small = List<int64_t>(ColumnType::kInt32, {{I(1), I(-2)}, {I(-2147483648LL)}});
  EXPECT_EQ(EncodeList(small, ValueType::kInt32List, 0), "6a0d0a0b01feffffffffffffffff01");
  EXPECT_EQ(EncodeList(small, ValueType::kInt32List, 1), "6a0c0a0a80808080f8ffffffff01");

  using D = std::optional<double>;
  auto f32 = List<double>(ColumnType::kFloat, {{D(1.5), std::nullopt, D(-0.0)}, {D(0.1f), std::nullopt}});
  EXPECT_EQ(EncodeList(f32, ValueType::kFloatList, 0), "82010e0a0c0000c03f0000c07f00000080");  // NULL: NaN
  EXPECT_EQ(EncodeList(f32, ValueType::kDoubleList, 1), "7a120a10000000a09999b93f000000000000f87f");
  auto f64 = List<double>(ColumnType::kDouble, {{D(0.1), std::nullopt, D(1e300)}});
  EXPECT_EQ(EncodeList(f64, ValueType::kDoubleList, 0), "7a1a0a189a9999999999b93f000000000000f87f9c7500883ce4377e");

  auto flags = List<int64_t>(ColumnType::kBool, {{I(1), std::nullopt, I(0)}, {}});
  EXPECT_EQ(EncodeList(flags, ValueType::kBoolList, 0), "8a01050a03010000");  // NULL element: False
  EXPECT_EQ(EncodeList(flags, ValueType::kBoolList, 1), "8a0100");

  // 2000-01-01, the null timestamp for a NULL element, -0.5 s truncated to 0.
  auto times = List<int64_t>(ColumnType::kTimestamp, {{I(946684800000000)}, {std::nullopt, I(-500000)}});
  EXPECT_EQ(EncodeList(times, ValueType::kUnixTimestampList, 0), "9201070a058087b5c303");
  EXPECT_EQ(EncodeList(times, ValueType::kUnixTimestampList, 1), "92010d0a0b8080808080808080800100");
}

TEST(ValueEncoderList, WhatFeastFailsOnOrGarblesIsRefused) {
  using I = std::optional<int64_t>;
  // pyarrow turns a batch's integers into floats around a NULL element; Feast fails.
  auto ints = List<int64_t>(ColumnType::kInt64, {{I(1), std::nullopt}});
  for (ValueType t : {ValueType::kInt64List, ValueType::kInt32List, ValueType::kUnixTimestampList}) {
    auto enc = ValueEncoder::Create(ints, t, "l");
    ASSERT_TRUE(enc.ok());
    std::string out;
    Status s = enc->Encode(ints, 0, &out);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("null element"), std::string::npos) << s.message();
  }
  auto big = List<int64_t>(ColumnType::kInt64, {{I(1LL << 31)}});
  std::string out;
  EXPECT_FALSE(ValueEncoder::Create(big, ValueType::kInt32List, "l")->Encode(big, 0, &out).ok());
  // Element types Feast's validation rejects.
  EXPECT_FALSE(ValueEncoder::Create(ints, ValueType::kFloatList, "l").ok());
  EXPECT_FALSE(ValueEncoder::Create(ints, ValueType::kStringList, "l").ok());
  auto flags = List<int64_t>(ColumnType::kBool, {{I(1)}});
  EXPECT_FALSE(ValueEncoder::Create(flags, ValueType::kInt64List, "l").ok());
  // A list for a scalar feature (Feast stores nulls) and a scalar for a list feature.
  auto scalar_for_list = ValueEncoder::Create(ColumnType::kString, ValueType::kStringList, "s");
  EXPECT_FALSE(scalar_for_list.ok());
  auto list_for_scalar = ValueEncoder::Create(ints, ValueType::kInt64, "l");
  ASSERT_FALSE(list_for_scalar.ok());
  EXPECT_NE(list_for_scalar.status().message().find("is a list"), std::string::npos);
}

}  // namespace
}  // namespace kiln::features
