#include "storage/postgres/pg_placeholders.h"

#include <gtest/gtest.h>

namespace kiln::storage::postgres {
namespace {

std::string Rewrite(const std::string& sql, int* params = nullptr) {
  auto r = RewritePlaceholders(sql);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return "";
  if (params) *params = r->params;
  return r->text;
}

TEST(PgPlaceholders, NumbersPlainLeftToRight) {
  int n = 0;
  EXPECT_EQ(Rewrite("SELECT a FROM t WHERE b = ? AND c IN (?, ?)", &n), "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)");
  EXPECT_EQ(n, 3);
}

TEST(PgPlaceholders, NumberedKeepTheirNumbersAndRepeat) {
  int n = 0;
  EXPECT_EQ(Rewrite("SELECT ?2, ?1, ?2 FROM t LIMIT ?3", &n), "SELECT $2, $1, $2 FROM t LIMIT $3");
  EXPECT_EQ(n, 3);
  EXPECT_EQ(Rewrite("SELECT ?12", &n), "SELECT $12");
  EXPECT_EQ(n, 12);
}

TEST(PgPlaceholders, LeavesLiteralsIdentifiersAndCommentsAlone) {
  int n = 0;
  EXPECT_EQ(Rewrite("SELECT '?', 'it''s ?', \"col?\", \"a\"\"?\" FROM t WHERE x = ?", &n),
            "SELECT '?', 'it''s ?', \"col?\", \"a\"\"?\" FROM t WHERE x = $1");
  EXPECT_EQ(n, 1);
  EXPECT_EQ(Rewrite("SELECT E'\\'?', ? -- what?\n, ? /* a ? /* nested ? */ ? */ FROM t", &n),
            "SELECT E'\\'?', $1 -- what?\n, $2 /* a ? /* nested ? */ ? */ FROM t");
  EXPECT_EQ(n, 2);
  // A plain string takes no backslash escapes (standard_conforming_strings).
  EXPECT_EQ(Rewrite("SELECT 'a\\', ?", &n), "SELECT 'a\\', $1");
  EXPECT_EQ(Rewrite("SELECT $$ ? $$, $tag$ ?' $tag$, ?", &n), "SELECT $$ ? $$, $tag$ ?' $tag$, $1");
  EXPECT_EQ(n, 1);
  // LIKE patterns with escapes stay as they are.
  EXPECT_EQ(Rewrite("SELECT 1 WHERE name LIKE ? ESCAPE '\\'", &n), "SELECT 1 WHERE name LIKE $1 ESCAPE '\\'");
}

TEST(PgPlaceholders, NoPlaceholders) {
  int n = 7;
  EXPECT_EQ(Rewrite("SELECT 1", &n), "SELECT 1");
  EXPECT_EQ(n, 0);
}

TEST(PgPlaceholders, RefusesMixedZeroAndUnterminated) {
  EXPECT_EQ(RewritePlaceholders("SELECT ?, ?1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RewritePlaceholders("SELECT ?1, ?").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RewritePlaceholders("SELECT ?0").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RewritePlaceholders("SELECT 'abc").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RewritePlaceholders("SELECT \"abc").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RewritePlaceholders("SELECT /* abc").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::storage::postgres
