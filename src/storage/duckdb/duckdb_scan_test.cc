// ScanLatest / CountLatest / Describe against a brute-force reference over
// randomized data that DuckDB itself wrote.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include "storage/duckdb/duckdb_handles.h"
#include "storage/duckdb/duckdb_offline_engine.h"
#include "storage/duckdb/duckdb_test_util.h"

namespace kiln::storage {
namespace {

using testing::TempDir;
using testing::TestDb;

constexpr int64_t kBase = 1704067200000000;  // 2024-01-01T00:00:00Z in µs
constexpr int64_t kSec = 1000000;

std::unique_ptr<OfflineEngine> MakeEngine(const TempDir& tmp, size_t chunk_rows = 100) {
  DuckDbOptions o;
  o.memory_limit = "1GB";
  o.threads = 2;
  o.temp_dir = tmp / "spill";
  o.scan_chunk_rows = chunk_rows;
  auto e = DuckDbOfflineEngine::Create(o);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return std::move(e).value();
}

// Every chunk's rows flattened, checking the chunk shape on the way.
struct Scanned {
  std::vector<Chunk> chunks;
  size_t rows = 0;
};

Scanned ScanAll(OfflineEngine& e, const LatestScanRequest& req) {
  Scanned s;
  Status st = e.ScanLatest(req, [&](const Chunk& c) {
    for (const auto& col : c.columns) {
      EXPECT_EQ(col.valid.size(), c.rows) << col.name;
    }
    s.rows += c.rows;
    s.chunks.push_back(c);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return s;
}

// Feature rows with many event-timestamp ties (50 distinct seconds) broken
// by unique created timestamps, NULL doubles, and a mapped column name.
void WriteFeatures(TestDb& db, const std::string& path, int rows, const std::string& format) {
  db.Exec("SELECT setseed(0.42)");
  db.Exec("CREATE OR REPLACE TABLE feat AS SELECT (random() * 300)::BIGINT AS driver_id, "
          "make_timestamp(" + std::to_string(kBase) + " + (random() * 50)::BIGINT * " + std::to_string(kSec) +
          ") AS event_timestamp, "
          "make_timestamp(" + std::to_string(kBase) + " + ((i * 7919) % " + std::to_string(rows) + ") * 13) AS created, "
          "CASE WHEN random() < 0.1 THEN NULL ELSE random() END AS conv_rate, "
          "(random() * 1000)::INTEGER AS trips_raw, ('n' || i)::VARCHAR AS name "
          "FROM range(" + std::to_string(rows) + ") t(i)");
  db.Exec("COPY feat TO '" + path + "' (FORMAT " + format + (format == "csv" ? ", HEADER true" : "") + ")");
}

struct Ref {
  int64_t ev, cr;
  std::optional<int64_t> trips;
  std::optional<std::string> name;
};

std::map<int64_t, Ref> Reference(TestDb& db, int64_t start, int64_t end) {
  std::map<int64_t, Ref> best;
  auto rows = db.Ints("SELECT driver_id, epoch_us(event_timestamp), epoch_us(created), trips_raw, "
                      "CAST(substr(name, 2) AS BIGINT) FROM feat");
  for (const auto& r : rows) {
    int64_t ev = *r[1], cr = *r[2];
    if (ev < start || ev >= end) continue;
    auto it = best.find(*r[0]);
    if (it == best.end() || std::tie(ev, cr) > std::tie(it->second.ev, it->second.cr)) {
      best[*r[0]] = Ref{ev, cr, r[3], "n" + std::to_string(*r[4])};
    }
  }
  return best;
}

void CheckAgainst(const Scanned& s, const std::map<int64_t, Ref>& ref) {
  ASSERT_EQ(s.rows, ref.size());
  std::set<int64_t> seen;
  for (const Chunk& c : s.chunks) {
    ASSERT_EQ(c.columns.size(), 5u);
    EXPECT_EQ(c.columns[0].name, "driver_id");
    EXPECT_EQ(c.columns[0].type, ColumnType::kInt64);
    EXPECT_EQ(c.columns[1].name, "trips");
    // Parquet keeps INTEGER; the CSV sniffer reads integers as BIGINT.
    EXPECT_TRUE(c.columns[1].type == ColumnType::kInt32 || c.columns[1].type == ColumnType::kInt64);
    EXPECT_EQ(c.columns[2].type, ColumnType::kString);
    EXPECT_EQ(c.columns[3].name, "event_ts");
    EXPECT_EQ(c.columns[4].name, "created_ts");
    for (size_t i = 0; i < c.rows; ++i) {
      int64_t key = c.columns[0].i64[i];
      EXPECT_TRUE(seen.insert(key).second) << "key twice: " << key;
      auto it = ref.find(key);
      ASSERT_NE(it, ref.end()) << key;
      EXPECT_EQ(c.columns[3].i64[i], it->second.ev) << key;
      EXPECT_EQ(c.columns[4].i64[i], it->second.cr) << key;
      EXPECT_EQ(c.columns[1].i64[i], *it->second.trips) << key;
      EXPECT_EQ(c.columns[2].str[i], *it->second.name) << key;
    }
  }
}

LatestScanRequest Request(const std::string& path, FileFormat format, int64_t start, int64_t end) {
  LatestScanRequest req;
  req.source.path = path;
  req.source.format = format;
  req.source.timestamp_field = "event_timestamp";
  req.source.created_timestamp_column = "created";
  req.source.field_mapping = {{"trips_raw", "trips"}};
  req.join_keys = {"driver_id"};
  req.features = {"trips", "name"};
  req.start_us = start;
  req.end_us = end;
  return req;
}

TEST(DuckDbScan, LatestPerKeyMatchesBruteForceOnParquet) {
  TempDir tmp;
  TestDb db;
  WriteFeatures(db, tmp / "f.parquet", 20000, "parquet");
  auto engine = MakeEngine(tmp);
  int64_t start = kBase + 10 * kSec, end = kBase + 40 * kSec;  // cuts through tie groups at both ends
  auto ref = Reference(db, start, end);
  Scanned s = ScanAll(*engine, Request(tmp / "f.parquet", FileFormat::kParquet, start, end));
  EXPECT_GT(s.chunks.size(), 1u);
  for (const Chunk& c : s.chunks) EXPECT_LE(c.rows, 100u);
  CheckAgainst(s, ref);
  auto n = engine->CountLatest(Request(tmp / "f.parquet", FileFormat::kParquet, start, end));
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, ref.size());
}

TEST(DuckDbScan, UnboundedWindowAtTheInt64Limits) {
  TempDir tmp;
  TestDb db;
  WriteFeatures(db, tmp / "f.parquet", 3000, "parquet");
  auto engine = MakeEngine(tmp);
  auto ref = Reference(db, INT64_MIN, INT64_MAX);
  CheckAgainst(ScanAll(*engine, Request(tmp / "f.parquet", FileFormat::kParquet, INT64_MIN, INT64_MAX)), ref);
}

TEST(DuckDbScan, CsvSourceAndParquetDirectory) {
  TempDir tmp;
  TestDb db;
  WriteFeatures(db, tmp / "f.csv", 5000, "csv");
  auto engine = MakeEngine(tmp, 1000);
  int64_t start = kBase, end = kBase + 25 * kSec;
  auto ref = Reference(db, start, end);
  CheckAgainst(ScanAll(*engine, Request(tmp / "f.csv", FileFormat::kCsv, start, end)), ref);

  std::filesystem::create_directories(tmp / "ds");
  db.Exec("COPY (SELECT * FROM feat WHERE driver_id % 2 = 0) TO '" + (tmp / "ds/a.parquet") + "' (FORMAT parquet)");
  db.Exec("COPY (SELECT * FROM feat WHERE driver_id % 2 = 1) TO '" + (tmp / "ds/b.parquet") + "' (FORMAT parquet)");
  CheckAgainst(ScanAll(*engine, Request(tmp / "ds", FileFormat::kParquet, start, end)), ref);
}

TEST(DuckDbScan, TimezoneAwareCsvTimestampsBecomeUtc) {
  TempDir tmp;
  {
    std::ofstream f(tmp / "tz.csv");
    f << "id,ts,v\n"
      << "1,2024-01-01T10:00:00+02:00,1.5\n"   // 08:00Z
      << "1,2024-01-01T09:00:00Z,2.5\n"        // 09:00Z: the latest
      << "2,2024-01-01T07:00:00-03:00,3.5\n";  // 10:00Z
  }
  auto engine = MakeEngine(tmp);
  LatestScanRequest req;
  req.source = {tmp / "tz.csv", FileFormat::kCsv, "ts", "", {}};
  req.join_keys = {"id"};
  req.features = {"v"};
  req.start_us = 0;
  req.end_us = kBase + 86400 * kSec;
  Scanned s = ScanAll(*engine, req);
  ASSERT_EQ(s.rows, 2u);
  std::map<int64_t, std::pair<double, int64_t>> got;
  for (const Chunk& c : s.chunks) {
    for (size_t i = 0; i < c.rows; ++i) got[c.columns[0].i64[i]] = {c.columns[1].f64[i], c.columns[2].i64[i]};
  }
  EXPECT_EQ(got[1].first, 2.5);
  EXPECT_EQ(got[1].second, kBase + 9 * 3600 * kSec);
  EXPECT_EQ(got[2].second, kBase + 10 * 3600 * kSec);
  EXPECT_EQ(s.chunks[0].columns[3].i64[0], 0);  // no created column: 0
}

TEST(DuckDbScan, TimestampFlavoursNullsAndTypes) {
  TempDir tmp;
  TestDb db;
  // ns and tz-aware event timestamps, a NULL created timestamp that loses
  // the tie, and every column type the engine reads.
  db.Exec("COPY (SELECT * FROM (VALUES "
          "(1, '2024-01-01 00:00:01.000001'::TIMESTAMP_NS, NULL::TIMESTAMPTZ, true, 1.25::FLOAT, 2.5::DOUBLE, 7::SMALLINT, 'a', '\\x01\\x02'::BLOB, 12.5::DECIMAL(5,2)), "
          "(1, '2024-01-01 00:00:01.000001'::TIMESTAMP_NS, '2024-01-01 00:00:00+00'::TIMESTAMPTZ, false, NULL, 3.5, 8, 'b', NULL, 1.0), "
          "(2, '2024-01-01 00:00:02'::TIMESTAMP_NS, NULL, NULL, 0.1::FLOAT, NULL, NULL, NULL, 'x'::BLOB, NULL)"
          ") t(k, ts, cr, b, f, d, s, v, bl, dec)) TO '" + (tmp / "t.parquet") + "' (FORMAT parquet)");
  auto engine = MakeEngine(tmp);
  auto desc = engine->Describe({tmp / "t.parquet", FileFormat::kParquet, "ts", "cr", {{"v", "label"}}});
  ASSERT_TRUE(desc.ok()) << desc.status().ToString();
  std::map<std::string, ColumnType> types(desc->begin(), desc->end());
  EXPECT_EQ(types["ts"], ColumnType::kTimestamp);
  EXPECT_EQ(types["label"], ColumnType::kString);
  EXPECT_EQ(types["s"], ColumnType::kInt32);
  EXPECT_EQ(types["bl"], ColumnType::kBytes);
  EXPECT_EQ(types["dec"], ColumnType::kDouble);

  LatestScanRequest req;
  req.source = {tmp / "t.parquet", FileFormat::kParquet, "ts", "cr", {{"v", "label"}}};
  req.join_keys = {"k"};
  req.features = {"b", "f", "d", "s", "label", "bl", "dec"};
  req.start_us = kBase;
  req.end_us = kBase + 2 * kSec + 1;
  Scanned s = ScanAll(*engine, req);
  ASSERT_EQ(s.rows, 2u);
  const Chunk& c = s.chunks[0];
  ASSERT_EQ(c.columns.size(), 10u);
  size_t r1 = c.columns[0].i64[0] == 1 ? 0 : 1, r2 = 1 - r1;
  EXPECT_EQ(c.columns[1].i64[r1], 0);  // the row with a created timestamp wins the tie
  EXPECT_FALSE(c.columns[2].valid[r1]);
  EXPECT_EQ(c.columns[3].f64[r1], 3.5);
  EXPECT_EQ(c.columns[5].str[r1], "b");
  EXPECT_EQ(c.columns[8].i64[r1], kBase + kSec + 1);
  EXPECT_EQ(c.columns[9].i64[r1], kBase);
  EXPECT_EQ(c.columns[2].type, ColumnType::kFloat);
  EXPECT_EQ(c.columns[2].f64[r2], static_cast<double>(0.1f));  // exact float value
  EXPECT_FALSE(c.columns[1].valid[r2]);
  EXPECT_EQ(c.columns[6].str[r2], "x");
  EXPECT_EQ(c.columns[9].i64[r2], 0);  // NULL created
}

TEST(DuckDbScan, ErrorsAreStatusesAndIdentifiersAreQuoted) {
  TempDir tmp;
  TestDb db;
  std::filesystem::create_directories(tmp / "it's");
  db.Exec("COPY (SELECT 1 AS \"we\"\"ird\", TIMESTAMP '2024-01-01' AS \"t s\", 5 AS \"x'); DROP TABLE y; --\") TO '" +
          (tmp / "it''s/q.parquet") + "' (FORMAT parquet)");
  auto engine = MakeEngine(tmp);
  LatestScanRequest req;
  req.source = {tmp / "it's/q.parquet", FileFormat::kParquet, "t s", "", {}};
  req.join_keys = {"we\"ird"};
  req.features = {"x'); DROP TABLE y; --"};
  req.start_us = 0;
  req.end_us = kBase + 1;
  Scanned s = ScanAll(*engine, req);
  ASSERT_EQ(s.rows, 1u);
  EXPECT_EQ(s.chunks[0].columns[1].i64[0], 5);

  req.features = {"nope"};
  Status st = engine->ScanLatest(req, [](const Chunk&) { return Status::Ok(); });
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("nope"), std::string::npos) << st.message();

  req.features = {};
  req.source.path = tmp / "missing.parquet";
  EXPECT_FALSE(engine->ScanLatest(req, [](const Chunk&) { return Status::Ok(); }).ok());

  req.source.path = tmp / "it's/q.parquet";
  req.source.timestamp_field = "we\"ird";  // an integer: unit unknown, refused
  st = engine->ScanLatest(req, [](const Chunk&) { return Status::Ok(); });
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();

  req.source.timestamp_field = "t s";
  req.join_keys = {std::string("a\0b", 3)};
  EXPECT_EQ(engine->ScanLatest(req, [](const Chunk&) { return Status::Ok(); }).code(), StatusCode::kInvalidArgument);
}

TEST(DuckDbScan, CallbackErrorStopsTheScan) {
  TempDir tmp;
  TestDb db;
  WriteFeatures(db, tmp / "f.parquet", 5000, "parquet");
  auto engine = MakeEngine(tmp, 10);
  int calls = 0;
  Status st = engine->ScanLatest(Request(tmp / "f.parquet", FileFormat::kParquet, kBase, kBase + 60 * kSec),
                                 [&](const Chunk&) {
                                   ++calls;
                                   return Status(StatusCode::kAborted, "stop");
                                 });
  EXPECT_EQ(st.code(), StatusCode::kAborted);
  EXPECT_EQ(calls, 1);
}

TEST(DuckDbEngine, AStreamThatFailsMidwayIsAnErrorNotAShortResult) {
  duckdb_database db;
  ASSERT_EQ(duckdb_open(nullptr, &db), DuckDBSuccess);
  {
    auto conn = duck::Connection::Open(db);
    ASSERT_TRUE(conn.ok());
    auto r = conn->Stream("SELECT CAST(CASE WHEN i = 500000 THEN 'x' ELSE '1' END AS INTEGER) FROM range(1000000) t(i)");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    size_t rows = 0;
    while (true) {
      duck::DataChunk c(duckdb_fetch_chunk(*r->get()));
      if (!c) break;
      rows += duckdb_data_chunk_get_size(c.get());
    }
    EXPECT_LT(rows, 1000000u);
    Status st = duck::Connection::FinishStream(*r);
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find("x"), std::string::npos) << st.message();
  }
  duckdb_close(&db);
}

TEST(DuckDbEngine, CreateSetsTheLimitsAndRejectsBadOptions) {
  TempDir tmp;
  DuckDbOptions o;
  o.threads = 0;
  EXPECT_FALSE(DuckDbOfflineEngine::Create(o).ok());
  o.threads = 1;
  o.memory_limit = "lots";
  EXPECT_FALSE(DuckDbOfflineEngine::Create(o).ok());
  o.memory_limit = "256MB";
  o.temp_dir = tmp / "a/b";
  auto e = DuckDbOfflineEngine::Create(o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_TRUE(std::filesystem::is_directory(tmp / "a/b"));
  EXPECT_EQ((*e)->Version(), "DuckDB v1.5.6");
}

}  // namespace
}  // namespace kiln::storage
