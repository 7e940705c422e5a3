#include "features/column_values.h"

#include <gtest/gtest.h>

#include <cmath>
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
