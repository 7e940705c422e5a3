#include "core/base64.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

TEST(Base64, RoundTripsEveryPaddingLength) {
  for (std::string s : std::initializer_list<std::string>{"", "a", "ab", "abc", "abcd", "{\"offset\": 1000}", std::string("\0\xff\x10", 3)}) {
    auto decoded = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, s);
  }
  EXPECT_EQ(Base64Encode("abc"), "YWJj");
  EXPECT_EQ(Base64Encode("ab"), "YWI=");
}

TEST(Base64, RejectsForeignCharacters) {
  EXPECT_FALSE(Base64Decode("YW*j").has_value());
  EXPECT_FALSE(Base64Decode("Y").has_value());
}

}  // namespace
}  // namespace kiln
