// Known bytes computed with feast 0.67's own helpers (_mmh3, _redis_key,
// Timestamp.FromDatetime(...).SerializeToString()).
#include "storage/redis/redis_layout.h"

#include <gtest/gtest.h>

namespace kiln::storage::redis {
namespace {

std::string Hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string o;
  for (unsigned char c : s) {
    o.push_back(d[c >> 4]);
    o.push_back(d[c & 15]);
  }
  return o;
}

std::string Unhex(std::string_view h) {
  std::string o;
  for (size_t i = 0; i + 1 < h.size(); i += 2) o.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return o;
}

TEST(RedisLayout, FeatureFieldIsFeastsMurmur3) {
  EXPECT_EQ(Hex(FeatureField("driver_hourly_stats", "conv_rate")), "6160e3da");
  EXPECT_EQ(Hex(FeatureField("v", "f")), "f16cb60a");
  EXPECT_EQ(Hex(FeatureField("feature_view_with_long_name", "feature_1234")), "2fd89139");
  EXPECT_EQ(Murmur3_32(""), 0u);
  EXPECT_EQ(Murmur3_32("abc"), 0xb3dd93fau);
}

TEST(RedisLayout, HashKeyIsEntityKeyThenProject) {
  // EntityKey(join_keys=["driver_id"], entity_values=[int64 1001]) serialized v3.
  const std::string ek = Unhex("0100000002000000090000006472697665725f69640400000008000000e903000000000000");
  EXPECT_EQ(Hex(HashKey(ek, "proj")), Hex(ek) + "70726f6a");
  EXPECT_EQ(TimestampField("driver_hourly_stats"), "_ts:driver_hourly_stats");
}

TEST(RedisLayout, TimestampBytesMatchProtobuf) {
  EXPECT_EQ(Hex(EncodeTimestamp(1704164645678901)), "08a5facdac061088eadcc302");
  EXPECT_EQ(Hex(EncodeTimestamp(0)), "");
  EXPECT_EQ(Hex(EncodeTimestamp(-500000)), "08ffffffffffffffffff011080cab5ee01");
  EXPECT_EQ(Hex(EncodeTimestamp(1704067200000000)), "088081c8ac06");
  for (int64_t us : {int64_t{1704164645678901}, int64_t{0}, int64_t{-500000}, int64_t{1704067200000000}, int64_t{-1}}) {
    auto ts = DecodeTimestamp(EncodeTimestamp(us));
    ASSERT_TRUE(ts.ok());
    EXPECT_EQ(TimestampMicros(*ts), us);
  }
}

TEST(RedisLayout, DecodeSkipsUnknownFieldsAndRefusesGarbage) {
  auto ts = DecodeTimestamp(Unhex("088081c8ac06") + Unhex("1a0161"));  // + field 3 "a"
  ASSERT_TRUE(ts.ok());
  EXPECT_EQ(ts->seconds, 1704067200);
  EXPECT_FALSE(DecodeTimestamp(Unhex("08ff")).ok());
  EXPECT_FALSE(DecodeTimestamp(Unhex("0f")).ok());
}

}  // namespace
}  // namespace kiln::storage::redis
