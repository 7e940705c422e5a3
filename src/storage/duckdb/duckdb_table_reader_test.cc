#include "storage/duckdb/duckdb_table_reader.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "storage/duckdb/duckdb_test_util.h"

namespace kiln::storage {
namespace {

using testing::TempDir;
using testing::TestDb;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

TEST(DuckDbTableReader, CsvNumericColumnsWithNullsAsNaN) {
  TempDir dir;
  const std::string path = dir / "train.csv";
  WriteFile(path,
            "age,income,name,score\n"
            "31,52000.5,ann,1\n"
            "45,,bob,2\n"
            "27,61000,cid,\n");
  auto all = ReadNumericColumns(path, {});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 3u) << "the string column is not numeric";
  EXPECT_EQ(all->at("age"), (std::vector<double>{31, 45, 27}));
  const auto& income = all->at("income");
  ASSERT_EQ(income.size(), 3u);
  EXPECT_EQ(income[0], 52000.5);
  EXPECT_TRUE(std::isnan(income[1])) << "an empty CSV field is NULL, read as NaN";
  EXPECT_EQ(income[2], 61000);
  EXPECT_TRUE(std::isnan(all->at("score")[2]));

  auto some = ReadNumericColumns("file://" + path, {"income", "age", "age"});
  ASSERT_TRUE(some.ok()) << some.status().ToString();
  ASSERT_EQ(some->size(), 2u);
  EXPECT_EQ(some->at("age").size(), 3u);
}

TEST(DuckDbTableReader, ParquetWrittenByDuckDbKeepsEveryNumericType) {
  TempDir dir;
  const std::string path = dir / "base.PARQUET";
  TestDb db;
  db.Exec("COPY (SELECT i::TINYINT AS t, (i * 1000)::BIGINT AS b, (i / 4)::FLOAT AS f, (i / 3)::DOUBLE AS d, "
          "(i * 1.25)::DECIMAL(10, 2) AS m, 18446744073709551615::UBIGINT AS u, i % 2 = 0 AS flag, "
          "CASE WHEN i = 2 THEN NULL ELSE i::DOUBLE END AS holes, 'x' || i AS label "
          "FROM range(5) r(i)) TO '" + path + "' (FORMAT parquet)");
  auto all = ReadNumericColumns(path, {});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  std::vector<std::string> names;
  for (const auto& [k, v] : *all) names.push_back(k);
  EXPECT_EQ(names, (std::vector<std::string>{"b", "d", "f", "holes", "m", "t", "u"}))
      << "BOOLEAN and VARCHAR are not numeric";
  EXPECT_EQ(all->at("t"), (std::vector<double>{0, 1, 2, 3, 4}));
  EXPECT_EQ(all->at("b")[4], 4000);
  EXPECT_EQ(all->at("f")[1], 0.25);
  EXPECT_EQ(all->at("d")[1], 1.0 / 3.0);
  EXPECT_EQ(all->at("m")[3], 3.75);
  EXPECT_EQ(all->at("u")[0], 18446744073709551615.0);
  EXPECT_TRUE(std::isnan(all->at("holes")[2]));
  EXPECT_EQ(all->at("holes")[3], 3);
}

TEST(DuckDbTableReader, ErrorsNameTheFileAndColumn) {
  TempDir dir;
  const std::string csv = dir / "t.csv";
  WriteFile(csv, "a,label\n1,x\n2,y\n");

  auto missing_col = ReadNumericColumns(csv, {"a", "b"});
  EXPECT_EQ(missing_col.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(missing_col.status().message(), "'" + csv + "' has no column 'b' (it has: a, label)");

  auto text_col = ReadNumericColumns(csv, {"label"});
  EXPECT_EQ(text_col.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(text_col.status().message(), "column 'label' of '" + csv + "' is VARCHAR, not numeric");

  auto no_file = ReadNumericColumns(dir / "absent.parquet", {});
  EXPECT_EQ(no_file.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(no_file.status().message(), "'" + (dir / "absent.parquet") + "' does not exist");

  auto bad_ext = ReadNumericColumns(dir / "t.json", {});
  EXPECT_EQ(bad_ext.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_ext.status().message(), "'" + (dir / "t.json") + "' is neither a .csv nor a .parquet file");

  const std::string words = dir / "words.csv";
  WriteFile(words, "w\nhello\nworld\n");
  auto none = ReadNumericColumns(words, {});
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(none.status().message(), "'" + words + "' has no numeric column");

  const std::string garbage = dir / "garbage.parquet";
  WriteFile(garbage, "this is not parquet");
  auto bad = ReadNumericColumns(garbage, {});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message().rfind("cannot read '" + garbage + "': DuckDB: ", 0), 0u)
      << bad.status().message();
}

TEST(DuckDbTableReader, RefusesMoreRowsThanTheBoundInsteadOfTruncating) {
  TempDir dir;
  const std::string path = dir / "big.parquet";
  TestDb db;
  db.Exec("COPY (SELECT i::DOUBLE AS x FROM range(5000) r(i)) TO '" + path + "' (FORMAT parquet)");
  auto ok = ReadNumericColumns(path, {"x"}, 5000);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_EQ(ok->at("x").size(), 5000u);
  EXPECT_EQ(ok->at("x")[4999], 4999);
  auto over = ReadNumericColumns(path, {"x"}, 4999);
  EXPECT_EQ(over.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(over.status().message(),
            "'" + path + "' has more than 4999 rows, the most kiln reads as a reference table");
}

}  // namespace
}  // namespace kiln::storage
