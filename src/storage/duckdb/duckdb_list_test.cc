// LIST columns in ScanLatest: NULL lists, empty lists and NULL elements stay
// distinct, elements are normalized like scalars (timestamps to µs, small
// integers to int32), offsets survive chunk boundaries, and the element
// types Feast mishandles are refused by name.
#include <gtest/gtest.h>

#include <map>

#include "storage/duckdb/duckdb_offline_engine.h"
#include "storage/duckdb/duckdb_test_util.h"

namespace kiln::storage {
namespace {

using testing::TempDir;
using testing::TestDb;

std::unique_ptr<OfflineEngine> MakeEngine(const TempDir& tmp, size_t chunk_rows) {
  DuckDbOptions o;
  o.memory_limit = "1GB";
  o.threads = 2;
  o.temp_dir = tmp / "spill";
  o.scan_chunk_rows = chunk_rows;
  auto e = DuckDbOfflineEngine::Create(o);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return std::move(e).value();
}

LatestScanRequest Request(const std::string& path, std::vector<std::string> features) {
  LatestScanRequest req;
  req.source.path = path;
  req.source.timestamp_field = "ts";
  req.join_keys = {"id"};
  req.features = std::move(features);
  req.start_us = 0;
  req.end_us = 4102444800000000;  // 2100
  return req;
}

// One row per id, so the latest-row rule keeps them all.
void WriteLists(TestDb& db, const std::string& path) {
  db.Exec(
      "COPY (SELECT * FROM (VALUES "
      "(1, TIMESTAMP '2024-01-01 00:00:01', ['a', 'b'], [1, -2]::BIGINT[], [1.5, NULL]::FLOAT[], [0.25]::DOUBLE[], "
      "  [true, NULL]::BOOLEAN[], ['\\x00\\xFF'::BLOB], [TIMESTAMP '1969-12-31 23:59:59.5', NULL], [7, 8]::TINYINT[]), "
      "(2, TIMESTAMP '2024-01-01 00:00:02', []::VARCHAR[], []::BIGINT[], []::FLOAT[], []::DOUBLE[], []::BOOLEAN[], []::BLOB[], "
      "  []::TIMESTAMP[], []::TINYINT[]), "
      "(3, TIMESTAMP '2024-01-01 00:00:03', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), "
      "(4, TIMESTAMP '2024-01-01 00:00:04', ['x', NULL, ''], [NULL, 5]::BIGINT[], [2.5]::FLOAT[], [NULL]::DOUBLE[], "
      "  [false]::BOOLEAN[], [NULL::BLOB], [TIMESTAMP '2024-01-01 00:00:00.25'], [NULL]::TINYINT[])"
      ") t(id, ts, tags, ints, f32, f64, flags, blobs, times, tiny) ORDER BY id) TO '" + path + "' (FORMAT parquet)");
}

struct Row {
  bool valid;
  std::vector<bool> element_valid;
  std::vector<int64_t> i64;
  std::vector<double> f64;
  std::vector<std::string> str;
};

// The rows of column `c` across all chunks, by id (column 0).
std::map<int64_t, Row> Collect(OfflineEngine& e, const LatestScanRequest& req, size_t c, size_t* chunks) {
  std::map<int64_t, Row> out;
  *chunks = 0;
  Status st = e.ScanLatest(req, [&](const Chunk& ch) {
    ++*chunks;
    const Column& col = ch.columns[c];
    EXPECT_EQ(col.type, ColumnType::kList);
    EXPECT_EQ(col.offsets.size(), ch.rows + 1);
    EXPECT_EQ(col.offsets.back(), col.element_valid.size());
    for (size_t r = 0; r < ch.rows; ++r) {
      Row row;
      row.valid = col.valid[r];
      for (uint64_t j = col.offsets[r]; j < col.offsets[r + 1]; ++j) {
        row.element_valid.push_back(col.element_valid[j]);
        if (!col.i64.empty()) row.i64.push_back(col.i64[j]);
        if (!col.f64.empty()) row.f64.push_back(col.f64[j]);
        if (!col.str.empty()) row.str.push_back(col.str[j]);
      }
      out[ch.columns[0].i64[r]] = row;
    }
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

TEST(DuckDbListScan, NullEmptyAndNullElementsStayDistinct) {
  TempDir tmp;
  TestDb db;
  const std::string path = tmp / "lists.parquet";
  WriteLists(db, path);
  auto engine = MakeEngine(tmp, 3);  // 4 rows: offsets restart in the second chunk
  LatestScanRequest req = Request(path, {"tags", "ints", "f32", "f64", "flags", "blobs", "times", "tiny"});
  size_t chunks = 0;

  auto tags = Collect(*engine, req, 1, &chunks);
  EXPECT_EQ(chunks, 2u);
  ASSERT_EQ(tags.size(), 4u);
  EXPECT_TRUE(tags[1].valid);
  EXPECT_EQ(tags[1].str, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(tags[2].valid);
  EXPECT_TRUE(tags[2].str.empty());
  EXPECT_FALSE(tags[3].valid);
  EXPECT_TRUE(tags[3].element_valid.empty());
  EXPECT_EQ(tags[4].str, (std::vector<std::string>{"x", "", ""}));
  EXPECT_EQ(tags[4].element_valid, (std::vector<bool>{true, false, true}));

  auto ints = Collect(*engine, req, 2, &chunks);
  EXPECT_EQ(ints[1].i64, (std::vector<int64_t>{1, -2}));
  EXPECT_EQ(ints[4].element_valid, (std::vector<bool>{false, true}));
  EXPECT_EQ(ints[4].i64, (std::vector<int64_t>{0, 5}));

  auto f32 = Collect(*engine, req, 3, &chunks);
  EXPECT_EQ(f32[1].f64, (std::vector<double>{1.5, 0}));
  EXPECT_EQ(f32[1].element_valid, (std::vector<bool>{true, false}));

  auto f64 = Collect(*engine, req, 4, &chunks);
  EXPECT_EQ(f64[1].f64, (std::vector<double>{0.25}));
  EXPECT_EQ(f64[4].element_valid, (std::vector<bool>{false}));

  auto flags = Collect(*engine, req, 5, &chunks);
  EXPECT_EQ(flags[1].i64, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(flags[1].element_valid, (std::vector<bool>{true, false}));

  auto blobs = Collect(*engine, req, 6, &chunks);
  EXPECT_EQ(blobs[1].str, (std::vector<std::string>{std::string("\x00\xff", 2)}));
  EXPECT_EQ(blobs[4].element_valid, (std::vector<bool>{false}));

  auto times = Collect(*engine, req, 7, &chunks);
  EXPECT_EQ(times[1].i64, (std::vector<int64_t>{-500000, 0}));
  EXPECT_EQ(times[1].element_valid, (std::vector<bool>{true, false}));
  EXPECT_EQ(times[4].i64, (std::vector<int64_t>{1704067200250000}));

  auto tiny = Collect(*engine, req, 8, &chunks);
  EXPECT_EQ(tiny[1].i64, (std::vector<int64_t>{7, 8}));
  EXPECT_EQ(tiny[4].element_valid, (std::vector<bool>{false}));
}

TEST(DuckDbListScan, ElementTypesFeastMishandlesAreRefused) {
  TempDir tmp;
  TestDb db;
  const std::string path = tmp / "bad.parquet";
  db.Exec("COPY (SELECT 1 AS id, TIMESTAMP '2024-01-01' AS ts, [TIMESTAMP_NS '2024-01-01'] AS ns, "
          "[DATE '2024-01-01'] AS d, [[1]] AS nested, [1] AS k) TO '" + path + "' (FORMAT parquet)");
  auto engine = MakeEngine(tmp, 10);
  auto fail = [&](const LatestScanRequest& req) {
    Status st = engine->ScanLatest(req, [](const Chunk&) { return Status::Ok(); });
    EXPECT_FALSE(st.ok());
    return st.ToString();
  };
  EXPECT_NE(fail(Request(path, {"ns"})).find("nanoseconds"), std::string::npos);
  EXPECT_NE(fail(Request(path, {"d"})).find("date"), std::string::npos);
  EXPECT_NE(fail(Request(path, {"nested"})).find("not scalars"), std::string::npos);
  LatestScanRequest by_list_key = Request(path, {});
  by_list_key.join_keys = {"k"};
  EXPECT_NE(fail(by_list_key).find("join key 'k'"), std::string::npos);
}

// Zoned timestamps are read as UTC instants, as pyarrow hands them to Feast.
TEST(DuckDbListScan, ZonedTimestampElementsAreUtcMicroseconds) {
  TempDir tmp;
  TestDb db;
  const std::string path = tmp / "tz.parquet";
  db.Exec("COPY (SELECT 1 AS id, TIMESTAMP '2024-01-01' AS ts, [TIMESTAMPTZ '2024-01-01 00:00:00.5+01', NULL] AS z) "
          "TO '" + path + "' (FORMAT parquet)");
  auto engine = MakeEngine(tmp, 10);
  size_t chunks = 0;
  auto z = Collect(*engine, Request(path, {"z"}), 1, &chunks);
  EXPECT_EQ(z[1].i64, (std::vector<int64_t>{1704063600500000, 0}));
  EXPECT_EQ(z[1].element_valid, (std::vector<bool>{true, false}));
}

}  // namespace
}  // namespace kiln::storage
