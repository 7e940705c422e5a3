// Expected bytes come from Feast 0.67's own
// feast.infra.key_encoding_utils.serialize_entity_key(...,
// entity_key_serialization_version=3), generated once with .venv/bin/python.
#include "features/entity_key.h"

#include <gtest/gtest.h>

namespace kiln::features {
namespace {

EntityKeyValue Int(std::string key, ValueType t, int64_t v) {
  EntityKeyValue e;
  e.join_key = std::move(key);
  e.type = t;
  e.int_value = v;
  return e;
}

EntityKeyValue Str(std::string key, ValueType t, std::string v) {
  EntityKeyValue e;
  e.join_key = std::move(key);
  e.type = t;
  e.bytes_value = std::move(v);
  return e;
}

std::string Serialize(std::vector<EntityKeyValue> v) {
  auto s = SerializeEntityKey(std::move(v));
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : std::string();
}

#define BYTES(lit) std::string(lit, sizeof(lit) - 1)

TEST(EntityKey, Int64MatchesFeast) {
  EXPECT_EQ(Serialize({Int("driver_id", ValueType::kInt64, 1001)}),
            BYTES("\x01\x00\x00\x00\x02\x00\x00\x00\x09\x00\x00\x00\x64\x72\x69\x76\x65\x72\x5f\x69\x64\x04\x00\x00"
                  "\x00\x08\x00\x00\x00\xe9\x03\x00\x00\x00\x00\x00\x00"));
  EXPECT_EQ(Serialize({Int("id", ValueType::kInt64, -5)}),
            BYTES("\x01\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x69\x64\x04\x00\x00\x00\x08\x00\x00\x00\xfb\xff"
                  "\xff\xff\xff\xff\xff\xff"));
}

TEST(EntityKey, Int32MatchesFeast) {
  EXPECT_EQ(Serialize({Int("k", ValueType::kInt32, -7)}),
            BYTES("\x01\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x6b\x03\x00\x00\x00\x04\x00\x00\x00\xf9\xff\xff"
                  "\xff"));
}

TEST(EntityKey, StringBytesAndTimestampMatchFeast) {
  EXPECT_EQ(Serialize({Str("user", ValueType::kString, "h\xc3\xa9llo")}),
            BYTES("\x01\x00\x00\x00\x02\x00\x00\x00\x04\x00\x00\x00\x75\x73\x65\x72\x02\x00\x00\x00\x06\x00\x00\x00"
                  "\x68\xc3\xa9\x6c\x6c\x6f"));
  EXPECT_EQ(Serialize({Str("b", ValueType::kBytes, BYTES("\x00\xff\x10"))}),
            BYTES("\x01\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x62\x01\x00\x00\x00\x03\x00\x00\x00\x00\xff\x10"));
  EXPECT_EQ(Serialize({Int("ts", ValueType::kUnixTimestamp, 1700000000)}),
            BYTES("\x01\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x74\x73\x08\x00\x00\x00\x08\x00\x00\x00\x00\xf1"
                  "\x53\x65\x00\x00\x00\x00"));
}

TEST(EntityKey, SeveralKeysAreSortedByJoinKeyAsFeastDoes) {
  const std::string expected =
      BYTES("\x02\x00\x00\x00\x02\x00\x00\x00\x05\x00\x00\x00\x61\x6c\x70\x68\x61\x02\x00\x00\x00\x04\x00\x00\x00\x7a"
            "\x65\x74\x61\x04\x00\x00\x00\x08\x00\x00\x00\x2a\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00"
            "\x00\x7a");
  EXPECT_EQ(Serialize({Str("zeta", ValueType::kString, "z"), Int("alpha", ValueType::kInt64, 42)}), expected);
  EXPECT_EQ(Serialize({Int("alpha", ValueType::kInt64, 42), Str("zeta", ValueType::kString, "z")}), expected);
}

TEST(EntityKey, EntitylessViewsDummyKeyMatchesFeast) {
  EXPECT_EQ(Serialize({Str("__dummy_id", ValueType::kString, "")}),
            BYTES("\x01\x00\x00\x00\x02\x00\x00\x00\x0a\x00\x00\x00\x5f\x5f\x64\x75\x6d\x6d\x79\x5f\x69\x64\x02\x00"
                  "\x00\x00\x00\x00\x00\x00"));
}

TEST(EntityKey, RefusesWhatFeastCannotSerialize) {
  EXPECT_EQ(SerializeEntityKey({Int("x", ValueType::kDouble, 1)}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SerializeEntityKey({Int("x", ValueType::kInt32, int64_t{1} << 40)}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SerializeEntityKey({Int("x", ValueType::kInt64, 1), Int("x", ValueType::kInt64, 2)}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::features
