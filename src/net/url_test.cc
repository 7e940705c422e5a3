#include "net/url.h"

#include <gtest/gtest.h>

namespace kiln::net {
namespace {

TEST(Url, DecodesEscapesAndPlus) {
  EXPECT_EQ(*PercentDecode("a%2Fb%20c", false), "a/b c");
  EXPECT_EQ(*PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(*PercentDecode("a+b", true), "a b");
  EXPECT_FALSE(PercentDecode("bad%2", false).has_value());
  EXPECT_FALSE(PercentDecode("bad%zz", false).has_value());
}

TEST(Url, ParsesRepeatedQueryKeysInOrder) {
  auto q = ParseQuery("run_ids=a&run_ids=b&x=&flag");
  ASSERT_TRUE(q.has_value());
  ASSERT_EQ(q->size(), 4u);
  EXPECT_EQ((*q)[0], (std::pair<std::string, std::string>{"run_ids", "a"}));
  EXPECT_EQ((*q)[1].second, "b");
  EXPECT_EQ((*q)[2], (std::pair<std::string, std::string>{"x", ""}));
  EXPECT_EQ((*q)[3].first, "flag");
}

}  // namespace
}  // namespace kiln::net
