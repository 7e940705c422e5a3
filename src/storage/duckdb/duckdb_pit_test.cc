// PointInTimeJoin against a brute-force reference: random feature rows with
// event-timestamp ties broken by created timestamps, several views with
// different ttls (one unbounded, one without a created column, one with two
// join keys), entity rows exactly at the ttl edges, missing entities,
// duplicate entity rows and a NULL timestamp; entities from Parquet, CSV and
// JSON rows (both shapes); output Parquet and CSV.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <tuple>

#include "storage/duckdb/duckdb_offline_engine.h"
#include "storage/duckdb/duckdb_test_util.h"

namespace kiln::storage {
namespace {

using testing::TempDir;
using testing::TestDb;

constexpr int64_t kBase = 1704067200000000;  // 2024-01-01T00:00:00Z
constexpr int64_t kSec = 1000000;
const std::string B = std::to_string(kBase);
const std::string S = std::to_string(kSec);

std::unique_ptr<OfflineEngine> MakeEngine(const TempDir& tmp) {
  DuckDbOptions o;
  o.memory_limit = "1GB";
  o.threads = 2;
  o.temp_dir = tmp / "spill";
  auto e = DuckDbOfflineEngine::Create(o);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return std::move(e).value();
}

struct FeatRow {
  std::vector<int64_t> keys;
  int64_t ev;
  std::optional<int64_t> cr;
  int64_t id;  // the value the join must carry over
};

struct RefView {
  std::vector<FeatRow> rows;
  int64_t ttl;
};

// The expected id per entity row, by the definition in offline_engine.h.
std::optional<int64_t> Expected(const RefView& v, const std::vector<int64_t>& keys, std::optional<int64_t> t) {
  if (!t) return std::nullopt;
  const FeatRow* best = nullptr;
  for (const auto& r : v.rows) {
    if (r.keys != keys || r.ev > *t) continue;
    if (v.ttl > 0 && r.ev < *t - v.ttl) continue;
    int64_t cr = r.cr.value_or(INT64_MIN), bcr = best ? best->cr.value_or(INT64_MIN) : 0;
    if (!best || std::tie(r.ev, cr) > std::tie(best->ev, bcr)) best = &r;
  }
  if (!best) return std::nullopt;
  return best->id;
}

class PitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = MakeEngine(tmp_);
    db_.Exec("SELECT setseed(0.17)");
    // stats: ties on whole seconds, unique created timestamps, ttl 10 s.
    db_.Exec("CREATE TABLE stats AS SELECT (random() * 50)::BIGINT AS driver_id, make_timestamp(" + B +
             " + (random() * 100)::BIGINT * " + S + ") AS event_timestamp, make_timestamp(" + B +
             " + ((i * 7919) % 4000) * 11) AS created, i AS trips, i / 2.0 AS conv_rate FROM range(4000) t(i)");
    db_.Exec("COPY stats TO '" + (tmp_ / "stats.parquet") + "' (FORMAT parquet)");
    // profile: no created column (unique event times per row), unbounded
    // ttl, join key renamed by field_mapping (driver_ref -> driver).
    db_.Exec("CREATE TABLE profile AS SELECT (random() * 50)::BIGINT AS driver_ref, make_timestamp(" + B +
             " + ((i * 37) % 1000) * 100000) AS ts, i AS age FROM range(1000) t(i)");
    db_.Exec("COPY profile TO '" + (tmp_ / "profile.csv") + "' (FORMAT csv, HEADER true)");
    // pair: two join keys, tz-aware timestamps, NULL created on some rows
    // (a NULL created loses a tie), ttl 30 s.
    db_.Exec("CREATE TABLE pair AS SELECT (random() * 10)::BIGINT AS driver_id, (random() * 5)::INTEGER AS rider_id, "
             "make_timestamptz(" + B + " + (random() * 100)::BIGINT * " + S + ") AS ev, "
             "CASE WHEN i % 7 = 0 THEN NULL ELSE make_timestamptz(" + B + " + i) END AS cr, "
             "i AS val FROM range(3000) t(i)");
    db_.Exec("COPY pair TO '" + (tmp_ / "pair.parquet") + "' (FORMAT parquet)");

    ref_stats_ = Load("SELECT driver_id, epoch_us(event_timestamp), epoch_us(created), trips FROM stats", 1, 10 * kSec);
    ref_profile_ = Load("SELECT driver_ref, epoch_us(ts), NULL, age FROM profile", 1, 0);
    ref_pair_ = Load("SELECT driver_id, rider_id, epoch_us(ev), epoch_us(cr), val FROM pair", 2, 30 * kSec);

    // Entity rows: random (ids up to 59: 50..59 never match), whole seconds
    // (exact event-time hits) and µs offsets; the ttl edges of stats rows
    // (T - ttl exactly: included; one µs later: excluded); duplicates; a NULL.
    db_.Exec("CREATE TABLE ent_raw AS "
             "SELECT (random() * 60)::BIGINT AS driver_id, (random() * 5)::INTEGER AS rider_id, "
             "make_timestamptz(" + B + " + (random() * 130)::BIGINT * " + S +
             " + CASE WHEN random() < 0.3 THEN (random() * 999999)::BIGINT ELSE 0 END) AS event_timestamp, "
             "'r' || i AS label FROM range(1500) t(i) "
             "UNION ALL SELECT driver_id, 1, make_timestamptz(epoch_us(event_timestamp) + 10 * " + S +
             "), 'edge_in' FROM (SELECT * FROM stats LIMIT 200) "
             "UNION ALL SELECT driver_id, 1, make_timestamptz(epoch_us(event_timestamp) + 10 * " + S +
             " + 1), 'edge_out' FROM (SELECT * FROM stats LIMIT 200) "
             "UNION ALL SELECT 3, 2, NULL, 'null_ts'");
    db_.Exec("CREATE TABLE ent AS SELECT row_number() OVER () - 1 AS row_no, * FROM "
             "(SELECT * FROM ent_raw UNION ALL (SELECT * FROM ent_raw LIMIT 50)) ORDER BY random()");
    db_.Exec("CREATE TABLE ent_ordered AS SELECT * FROM ent");
    entities_ = db_.Ints("SELECT row_no, driver_id, rider_id, epoch_us(event_timestamp) FROM ent_ordered ORDER BY rowid");
  }

  RefView Load(const std::string& sql, int nkeys, int64_t ttl) {
    RefView v;
    v.ttl = ttl;
    for (const auto& r : db_.Ints(sql)) {
      FeatRow f;
      for (int k = 0; k < nkeys; ++k) f.keys.push_back(*r[k]);
      f.ev = *r[nkeys];
      f.cr = r[nkeys + 1];
      f.id = *r[nkeys + 2];
      v.rows.push_back(f);
    }
    return v;
  }

  PitRequest Request() {
    PitRequest req;
    PitView stats;
    stats.name = "stats";
    stats.source = {tmp_ / "stats.parquet", FileFormat::kParquet, "event_timestamp", "created", {}};
    stats.join_keys = {"driver_id"};
    stats.source_join_keys = {"driver_id"};
    stats.features = {{"trips", "stats__trips"}, {"conv_rate", "stats__conv_rate"}};
    stats.ttl_us = 10 * kSec;
    PitView profile;
    profile.name = "profile";
    profile.source = {tmp_ / "profile.csv", FileFormat::kCsv, "ts", "", {{"driver_ref", "driver"}}};
    profile.join_keys = {"driver_id"};
    profile.source_join_keys = {"driver"};
    profile.features = {{"age", "profile__age"}};
    profile.ttl_us = 0;
    PitView pair;
    pair.name = "pair";
    pair.source = {tmp_ / "pair.parquet", FileFormat::kParquet, "ev", "cr", {}};
    pair.join_keys = {"driver_id", "rider_id"};
    pair.source_join_keys = {"driver_id", "rider_id"};
    pair.features = {{"val", "pair__val"}};
    pair.ttl_us = 30 * kSec;
    req.views = {stats, profile, pair};
    return req;
  }

  // Reads the output back and compares every row with the reference.
  void Check(const std::string& out_reader, const PitResult& res) {
    EXPECT_EQ(res.rows, entities_.size());
    std::vector<std::string> want_cols = {"row_no", "driver_id", "rider_id", "event_timestamp", "label",
                                          "stats__trips", "stats__conv_rate", "profile__age", "pair__val"};
    EXPECT_EQ(res.columns, want_cols);
    auto got = db_.Ints("SELECT row_no, driver_id, rider_id, epoch_us(CAST(event_timestamp AS TIMESTAMPTZ)), "
                        "stats__trips, CAST(stats__conv_rate * 2 AS BIGINT), profile__age, pair__val FROM " +
                        out_reader);
    ASSERT_EQ(got.size(), entities_.size());
    size_t matched[3] = {0, 0, 0};
    for (size_t i = 0; i < got.size(); ++i) {
      const auto& e = entities_[i];
      const auto& g = got[i];
      ASSERT_EQ(g[0], e[0]) << "row order at " << i;
      EXPECT_EQ(g[3], e[3]) << "entity timestamp, row " << i;
      auto s = Expected(ref_stats_, {*e[1]}, e[3]);
      auto p = Expected(ref_profile_, {*e[1]}, e[3]);
      auto q = Expected(ref_pair_, {*e[1], *e[2]}, e[3]);
      EXPECT_EQ(g[4], s) << "stats, row " << i;
      EXPECT_EQ(g[5], s) << "stats conv_rate, row " << i;
      EXPECT_EQ(g[6], p) << "profile, row " << i << " driver " << *e[1] << " ts " << (e[3] ? *e[3] : -1);
      EXPECT_EQ(g[7], q) << "pair, row " << i;
      matched[0] += s.has_value();
      matched[1] += p.has_value();
      matched[2] += q.has_value();
    }
    // The data exercise both outcomes for every view.
    for (size_t m : matched) {
      EXPECT_GT(m, 50u);
      EXPECT_LT(m, got.size());
    }
  }

  TempDir tmp_;
  TestDb db_;
  std::unique_ptr<OfflineEngine> engine_;
  RefView ref_stats_, ref_profile_, ref_pair_;
  std::vector<std::vector<std::optional<int64_t>>> entities_;
};

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST_F(PitTest, ParquetEntitiesToParquet) {
  db_.Exec("COPY ent_ordered TO '" + (tmp_ / "ent.parquet") + "' (FORMAT parquet)");
  PitRequest req = Request();
  req.entities.path = tmp_ / "ent.parquet";
  req.output_path = tmp_ / "out.parquet";
  auto res = engine_->PointInTimeJoin(req);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  Check("read_parquet('" + req.output_path + "')", *res);
  // The entity timestamp comes back tz-aware (UTC), as Feast returns it.
  auto t = db_.Strings("SELECT typeof(event_timestamp) FROM read_parquet('" + req.output_path + "') LIMIT 1");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(*t[0][0], "TIMESTAMP WITH TIME ZONE");
}

TEST_F(PitTest, CsvEntitiesToCsv) {
  db_.Exec("COPY ent_ordered TO '" + (tmp_ / "ent.csv") + "' (FORMAT csv, HEADER true)");
  PitRequest req = Request();
  req.entities.path = tmp_ / "ent.csv";
  req.entities.format = FileFormat::kCsv;
  req.output_path = tmp_ / "out.csv";
  req.output_format = FileFormat::kCsv;
  auto res = engine_->PointInTimeJoin(req);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  Check("read_csv('" + req.output_path + "', header = true)", *res);
}

TEST_F(PitTest, JsonRowsBothShapes) {
  db_.Exec("COPY ent_ordered TO '" + (tmp_ / "rows.json") + "' (FORMAT json, ARRAY true)");
  PitRequest req = Request();
  req.entities.json_rows = Slurp(tmp_ / "rows.json");
  ASSERT_EQ(req.entities.json_rows.find_first_not_of(" \n"), req.entities.json_rows.find('['));
  req.output_path = tmp_ / "out1.parquet";
  auto res = engine_->PointInTimeJoin(req);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  Check("read_parquet('" + req.output_path + "')", *res);

  db_.Exec("COPY (SELECT list(row_no ORDER BY rn) AS row_no, list(driver_id ORDER BY rn) AS driver_id, "
           "list(rider_id ORDER BY rn) AS rider_id, list(event_timestamp ORDER BY rn) AS event_timestamp, "
           "list(label ORDER BY rn) AS label FROM (SELECT rowid AS rn, * FROM ent_ordered)) TO '" +
           (tmp_ / "cols.json") + "' (FORMAT json)");
  req.entities.json_rows = Slurp(tmp_ / "cols.json");
  ASSERT_EQ(req.entities.json_rows[0], '{');
  req.output_path = tmp_ / "out2.parquet";
  res = engine_->PointInTimeJoin(req);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  Check("read_parquet('" + req.output_path + "')", *res);

  req.entities.json_rows = R"({"driver_id": [1, 2], "event_timestamp": ["2024-01-01T00:00:00Z"]})";
  res = engine_->PointInTimeJoin(req);
  EXPECT_EQ(res.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(PitTest, ExactEdgesOnASmallCase) {
  // driver 1: two rows at the same event time (created decides), one older.
  db_.Exec("COPY (SELECT * FROM (VALUES "
           "(1, TIMESTAMP '2024-01-01 00:00:10', TIMESTAMP '2024-01-01 00:00:01', 100), "
           "(1, TIMESTAMP '2024-01-01 00:00:10', TIMESTAMP '2024-01-01 00:00:05', 200), "
           "(1, TIMESTAMP '2024-01-01 00:00:10', TIMESTAMP '2024-01-01 00:00:03', 300), "
           "(1, TIMESTAMP '2024-01-01 00:00:05', TIMESTAMP '2024-01-01 00:00:09', 400)"
           ") t(driver_id, ts, created, v)) TO '" + (tmp_ / "small.parquet") + "' (FORMAT parquet)");
  PitRequest req;
  req.entities.json_rows = R"([
    {"driver_id": 1, "event_timestamp": "2024-01-01T00:00:04.999999Z"},
    {"driver_id": 1, "event_timestamp": "2024-01-01T00:00:05Z"},
    {"driver_id": 1, "event_timestamp": "2024-01-01T00:00:09.999999Z"},
    {"driver_id": 1, "event_timestamp": "2024-01-01T00:00:10Z"},
    {"driver_id": 1, "event_timestamp": "2024-01-01T00:00:12Z"},
    {"driver_id": 1, "event_timestamp": "2024-01-01T00:00:12.000001Z"},
    {"driver_id": 2, "event_timestamp": "2024-01-01T00:00:10Z"},
    {"driver_id": 1, "event_timestamp": "2024-01-01T00:00:10Z"}
  ])";
  PitView v;
  v.name = "small";
  v.source = {tmp_ / "small.parquet", FileFormat::kParquet, "ts", "created", {}};
  v.join_keys = v.source_join_keys = {"driver_id"};
  v.features = {{"v", "v"}};
  v.ttl_us = 2 * kSec;
  req.views = {v};
  req.output_path = tmp_ / "small_out.parquet";
  auto res = engine_->PointInTimeJoin(req);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  auto got = db_.Ints("SELECT v FROM read_parquet('" + req.output_path + "')");
  std::vector<std::optional<int64_t>> want = {std::nullopt, 400, std::nullopt, 200, 200, std::nullopt, std::nullopt, 200};
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i][0], want[i]) << "row " << i;
}

// The join fetches the features of the matched rows in a second phase, by
// (keys, event time): rows tied there must still yield all features of one
// row, a row whose features are all NULL is still a match, and a source
// without a created column picks one of its tied rows.
TEST_F(PitTest, TiedRowsGiveAllFeaturesOfOneRow) {
  db_.Exec("COPY (SELECT * FROM (VALUES "
           "(1::BIGINT, TIMESTAMP '2024-01-01 00:00:10', TIMESTAMP '2024-01-01 00:00:05', 1, 10), "
           "(1::BIGINT, TIMESTAMP '2024-01-01 00:00:10', TIMESTAMP '2024-01-01 00:00:05', 2, 20), "
           "(1::BIGINT, TIMESTAMP '2024-01-01 00:00:10', NULL, 3, 30), "
           "(1::BIGINT, TIMESTAMP '2024-01-01 00:00:20', TIMESTAMP '2024-01-01 00:00:01', NULL, NULL), "
           "(2::BIGINT, TIMESTAMP '2024-01-01 00:00:10', TIMESTAMP '2024-01-01 00:00:07', 4, 40), "
           "(2::BIGINT, TIMESTAMP '2024-01-01 00:00:10', TIMESTAMP '2024-01-01 00:00:08', 5, 50)"
           ") t(driver_id, ts, created, a, b)) TO '" + (tmp_ / "tied.parquet") + "' (FORMAT parquet)");
  db_.Exec("COPY (SELECT * FROM (VALUES "
           "(1::BIGINT, TIMESTAMP '2024-01-01 00:00:10', 6, 60), "
           "(1::BIGINT, TIMESTAMP '2024-01-01 00:00:10', 7, 70), "
           "(2::BIGINT, TIMESTAMP '2024-01-01 00:00:09', 8, 80)"
           ") t(driver_id, ts, c, d)) TO '" + (tmp_ / "nocreated.csv") + "' (FORMAT csv, HEADER true)");
  // INTEGER entity keys against BIGINT source keys.
  db_.Exec("COPY (SELECT * FROM (VALUES "
           "(1::INTEGER, TIMESTAMPTZ '2024-01-01 00:00:15+00'), "
           "(1::INTEGER, TIMESTAMPTZ '2024-01-01 00:00:20+00'), "
           "(2::INTEGER, TIMESTAMPTZ '2024-01-01 00:00:10+00'), "
           "(3::INTEGER, TIMESTAMPTZ '2024-01-01 00:00:10+00'), "
           "(2::INTEGER, TIMESTAMPTZ '2024-01-01 00:00:09.999999+00'), "
           "(1::INTEGER, TIMESTAMPTZ '2024-01-01 00:00:10+00')"
           ") t(driver_id, event_timestamp)) TO '" + (tmp_ / "tied_ent.parquet") + "' (FORMAT parquet)");
  PitRequest req;
  req.entities.path = tmp_ / "tied_ent.parquet";
  PitView a;
  a.name = "tied";
  a.source = {tmp_ / "tied.parquet", FileFormat::kParquet, "ts", "created", {}};
  a.join_keys = a.source_join_keys = {"driver_id"};
  a.features = {{"a", "a"}, {"b", "b"}};
  PitView n;
  n.name = "nocreated";
  n.source = {tmp_ / "nocreated.csv", FileFormat::kCsv, "ts", "", {}};
  n.join_keys = n.source_join_keys = {"driver_id"};
  n.features = {{"c", "c"}, {"d", "d"}};
  n.ttl_us = 5 * kSec;
  PitView none = a;  // a view asking for no features adds no columns
  none.name = "none";
  none.features = {};
  req.views = {a, none, n};
  req.output_path = tmp_ / "tied_out.parquet";
  auto res = engine_->PointInTimeJoin(req);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->rows, 6u);
  EXPECT_EQ(res->columns, (std::vector<std::string>{"driver_id", "event_timestamp", "a", "b", "c", "d"}));
  auto got = db_.Ints("SELECT a, b, c, d FROM read_parquet('" + req.output_path + "')");
  ASSERT_EQ(got.size(), 6u);
  auto one_row = [](const std::vector<std::optional<int64_t>>& r, size_t i, std::vector<int64_t> firsts) {
    ASSERT_TRUE(r[i].has_value()) << "column " << i;
    bool known = false;
    for (int64_t f : firsts) known = known || *r[i] == f;
    EXPECT_TRUE(known) << "column " << i << " = " << *r[i];
    EXPECT_EQ(r[i + 1], *r[i] * 10) << "columns " << i << ", " << i + 1 << " from different rows";
  };
  // driver 1 at 15 s: the created tie between a=1 and a=2 (a=3's NULL
  // created loses); nocreated's rows at 10 s are tied.
  one_row(got[0], 0, {1, 2});
  one_row(got[0], 2, {6, 7});
  // driver 1 at 20 s: the all-NULL row matches; nocreated is past its ttl.
  EXPECT_EQ(got[1], (std::vector<std::optional<int64_t>>{std::nullopt, std::nullopt, std::nullopt, std::nullopt}));
  // driver 2 at 10 s: the later created wins.
  EXPECT_EQ(got[2], (std::vector<std::optional<int64_t>>{5, 50, 8, 80}));
  EXPECT_EQ(got[3], (std::vector<std::optional<int64_t>>{std::nullopt, std::nullopt, std::nullopt, std::nullopt}));
  EXPECT_EQ(got[4], (std::vector<std::optional<int64_t>>{std::nullopt, std::nullopt, 8, 80}));
  one_row(got[5], 0, {1, 2});
  one_row(got[5], 2, {6, 7});
}

TEST_F(PitTest, BadRequestsAreStatuses) {
  db_.Exec("COPY ent_ordered TO '" + (tmp_ / "ent.parquet") + "' (FORMAT parquet)");
  PitRequest req = Request();
  req.entities.path = tmp_ / "ent.parquet";
  req.output_path = tmp_ / "o.parquet";
  req.views[1].features = {{"age", "stats__trips"}};  // name clash
  EXPECT_EQ(engine_->PointInTimeJoin(req).status().code(), StatusCode::kInvalidArgument);
  req = Request();
  req.entities.path = tmp_ / "ent.parquet";
  req.output_path = tmp_ / "o.parquet";
  req.entities.timestamp_column = "when";
  auto r = engine_->PointInTimeJoin(req);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("when"), std::string::npos);
  req.entities.timestamp_column = "event_timestamp";
  req.views[0].join_keys = {"nope"};
  EXPECT_EQ(engine_->PointInTimeJoin(req).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::storage
