#include "audit/json_check.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace kiln::audit {
namespace {

TEST(JsonCheck, AgreesWithAFullParser) {
  const std::vector<std::string> cases = {
      "{}", "[]", "0", "-0", "1.5e+10", "\"x\"", "true", "null", " {\"a\" : [1, 2, {\"b\": null}]}\n",
      R"({"k":"\u00e9\ud83d\ude00\n\t\"\\\/"})", "{\"caf\xc3\xa9\":\"\xe2\x82\xac\xf0\x9f\x98\x80\"}",
      // invalid
      "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{a:1}", "01", "1.", ".5", "1e", "-", "+1", "tru", "nul",
      "\"unterminated", "\"ctrl\x01\"", "\"bad \\x escape\"", R"("\ud83d")", R"("\ude00")", R"("\u12")",
      "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"", "[1] [2]",
      "{\"a\" 1}", "[1 2]", "NaN", "Infinity", "{\"a\":1}x"};
  for (const auto& c : cases) {
    EXPECT_EQ(IsValidJson(c), nlohmann::json::accept(c)) << c;
  }
}

TEST(JsonCheck, RefusesDeepNesting) {
  EXPECT_TRUE(IsValidJson(std::string(200, '[') + std::string(200, ']')));
  EXPECT_FALSE(IsValidJson(std::string(100000, '[') + std::string(100000, ']')));
}

}  // namespace
}  // namespace kiln::audit
