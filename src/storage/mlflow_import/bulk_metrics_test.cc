// The import's bulk metric writers (SQLite multi-row statements, PostgreSQL
// COPY) and the sequential metric scan of an MLflow source: exact values
// (NaN, +-inf, -0, denormals, DBL_MAX), awkward keys, rows per statement that
// do not divide the row count, duplicates refused, and scan windows smaller
// than the table.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>

#include "storage/mlflow_import/bulk_metrics.h"
#include "storage/mlflow_import/metric_scan.h"
#include "storage/mlflow_import/sqlite_import_db.h"
#include "storage/postgres/pg_test_util.h"

namespace kiln::storage::mlflow_import {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

std::string TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kiln_bulk_XXXXXX").string();
  return mkdtemp(tmpl.data());
}

// Points in kiln's primary-key order, with the values and keys that break
// naive encodings.
std::vector<MetricRec> Points(int n) {
  const std::vector<double> odd = {kNan, kInf, -kInf, -0.0, 4.9e-324, DBL_MAX, -DBL_MAX, 0.1, 1.0 / 3, -2.5e300};
  const std::vector<std::string> keys = {"a\tb", "back\\slash", "line\nend", "plain", "\xc3\xa9t\xc3\xa9"};
  std::vector<MetricRec> out;
  for (int i = 0; i < n; ++i) {
    const std::string& key = keys[static_cast<size_t>(i) * keys.size() / static_cast<size_t>(n)];
    out.push_back({key, odd[static_cast<size_t>(i) % odd.size()], 1000 + i, i});
  }
  return out;
}

// The experiment the test runs belong to (foreign keys are on in PostgreSQL).
void AddExperiment(sql::Database& db) {
  Status s = db.Write([](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare("INSERT INTO experiments(experiment_id, name, artifact_location, "
                                                  "lifecycle_stage, creation_time, last_update_time) "
                                                  "VALUES (0, 'e', '', 'active', 0, 0) ON CONFLICT DO NOTHING"));
    return st.Run();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
}

bool Same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

// Writes `points` for one run through the bulk writer and reads them back.
void RoundTrip(sql::Database& db, int rows_per_statement, const std::vector<MetricRec>& points) {
  int64_t pk = 0;
  Status s = db.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(pk, c.QueryInt("INSERT INTO runs(run_id, experiment_id, status, start_time, artifact_uri) "
                                         "VALUES (?, 0, 'FINISHED', 0, '') RETURNING id",
                                         {"run-" + std::to_string(rows_per_statement)}));
    KILN_ASSIGN_OR_RETURN(auto w, MetricBulkWriter::For(c, MetricTable::kMetrics, rows_per_statement));
    KILN_RETURN_IF_ERROR(w->Add(pk, points));
    KILN_RETURN_IF_ERROR(w->Finish());
    if (w->rows() != static_cast<int64_t>(points.size())) return Internal("row count");
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<MetricRec> back;
  s = db.Read([&](sql::Conn& c) -> Status {
    back.clear();
    KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare("SELECT key, step, timestamp, value, is_nan FROM metrics "
                                                  "WHERE run_pk = ? ORDER BY key, step, timestamp"));
    st.Args(pk);
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return Status::Ok();
      back.push_back({st.Text(0), st.Int(4) ? kNan : st.Double(3), st.Int(2), st.Int(1)});
    }
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(back.size(), points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ(back[i].key, points[i].key) << i;
    EXPECT_EQ(back[i].step, points[i].step) << i;
    EXPECT_EQ(back[i].timestamp, points[i].timestamp) << i;
    EXPECT_TRUE(Same(back[i].value, points[i].value)) << i << ": " << back[i].value << " vs " << points[i].value;
  }
}

void DuplicateRefused(sql::Database& db) {
  std::vector<MetricRec> twice = {{"k", 1.0, 5, 1}, {"k", 1.0, 5, 1}};
  Status s = db.Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(int64_t pk, c.QueryInt("INSERT INTO runs(run_id, experiment_id, status, start_time, "
                                                 "artifact_uri) VALUES ('dup', 0, 'FINISHED', 0, '') RETURNING id"));
    KILN_ASSIGN_OR_RETURN(auto w, MetricBulkWriter::For(c, MetricTable::kMetrics));
    KILN_RETURN_IF_ERROR(w->Add(pk, twice));
    return w->Finish();
  });
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
}

TEST(BulkMetricsTest, SqliteStatementShapes) {
  const std::string dir = TempDir();
  auto db = OpenKilnSqlite(dir + "/kiln.db");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  AddExperiment(**db);
  const auto points = Points(1003);
  for (int rows : {1, 7, 100, 5461}) RoundTrip(**db, rows, points);
  DuplicateRefused(**db);
  db->reset();
  std::filesystem::remove_all(dir);
}

// metric_blocks as kiln's insert trigger keeps it, row by row, every REAL
// compared bit for bit (NULL distinct from any value).
std::vector<std::string> BlockRows(sql::Database& db) {
  std::vector<std::string> out;
  Status s = db.Read([&](sql::Conn& c) -> Status {
    out.clear();
    KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare("SELECT run_pk, key, block, count, nan_count, min_value, max_value, "
                                                  "sum_value, min_step, max_step FROM metric_blocks "
                                                  "ORDER BY run_pk, key, block"));
    while (true) {
      KILN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return Status::Ok();
      std::string r = std::to_string(st.Int(0)) + "|" + st.Text(1);
      for (int col : {2, 3, 4}) r += "|" + std::to_string(st.Int(col));
      for (int col : {5, 6, 7}) {
        if (st.IsNull(col)) {
          r += "|NULL";
          continue;
        }
        const double d = st.Double(col);
        uint64_t bits = 0;
        std::memcpy(&bits, &d, sizeof bits);
        r += "|" + std::to_string(bits);
      }
      r += "|" + std::to_string(st.Int(8)) + "|" + std::to_string(st.Int(9));
      out.push_back(r);
    }
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::string TriggerSql(sql::Database& db) {
  std::string sql;
  Status s = db.Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND "
                                                  "name = 'metric_blocks_insert'"));
    KILN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) sql = st.Text(0);
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return sql;
}

// Per run, in kiln's primary-key order: steps across block boundaries and
// below zero, blocks that start with NaN, inf meeting -inf, sums that
// overflow, -0 and denormals.
std::vector<std::vector<MetricRec>> BlockPoints() {
  const std::vector<double> odd = {kNan, 1.5, kInf, -kInf, DBL_MAX, DBL_MAX, -0.0, 4.9e-324, 0.1, kNan, kNan, 1.0 / 3,
                                   -2.5e300, 7.0};
  std::vector<std::vector<MetricRec>> runs;
  std::mt19937 rng(11);
  for (int r = 0; r < 4; ++r) {
    std::vector<MetricRec> pts;
    for (const char* key : {"a", "loss", "z\xc3\xa9"}) {
      for (int64_t step = -140 + r * 7; step < 200; step += 1 + static_cast<int64_t>(rng() % 9)) {
        const int n = 1 + static_cast<int>(rng() % 3);  // several points at one step: timestamps differ
        for (int t = 0; t < n; ++t) pts.push_back({key, odd[rng() % odd.size()], 1000 + t, step});
      }
    }
    runs.push_back(std::move(pts));
  }
  return runs;
}

int64_t NewRun(sql::Conn& c, const std::string& id) {
  auto pk = c.QueryInt("INSERT INTO runs(run_id, experiment_id, status, start_time, artifact_uri) "
                       "VALUES (?, 0, 'FINISHED', 0, '') RETURNING id",
                       {id});
  EXPECT_TRUE(pk.ok()) << pk.status().ToString();
  return pk.ok() ? *pk : -1;
}

Status PlainInsert(sql::Conn& c, int64_t pk, const MetricRec& m) {
  KILN_ASSIGN_OR_RETURN(sql::Stmt st, c.Prepare("INSERT INTO metrics(run_pk, key, step, timestamp, value, is_nan) "
                                                "VALUES (?, ?, ?, ?, ?, ?)"));
  st.Args(pk, m.key, m.step, m.timestamp, StoredMetricValue(m.value), int64_t{std::isnan(m.value)});
  return st.Run();
}

// The bulk writer suspends the per-point trigger and writes the blocks
// itself: the result must be the trigger's, exactly, and the trigger must be
// back (and working) afterwards, or still there when the transaction fails.
TEST(BulkMetricsTest, SqliteBlocksAreTheTriggers) {
  const std::string dir = TempDir();
  auto bulk = OpenKilnSqlite(dir + "/bulk.db");
  auto plain = OpenKilnSqlite(dir + "/plain.db");
  ASSERT_TRUE(bulk.ok() && plain.ok());
  AddExperiment(**bulk);
  AddExperiment(**plain);
  const std::string trigger = TriggerSql(**plain);
  ASSERT_NE(trigger, "");
  const auto runs = BlockPoints();
  for (int rows : {1, 100}) {
    Status s = (*bulk)->Write([&](sql::Conn& c) -> Status {
      KILN_ASSIGN_OR_RETURN(auto w, MetricBulkWriter::For(c, MetricTable::kMetrics, rows));
      for (size_t r = 0; r < runs.size(); ++r) {
        KILN_RETURN_IF_ERROR(w->Add(NewRun(c, std::to_string(rows) + "-" + std::to_string(r)), runs[r]));
      }
      return w->Finish();
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
    s = (*plain)->Write([&](sql::Conn& c) -> Status {
      for (size_t r = 0; r < runs.size(); ++r) {
        const int64_t pk = NewRun(c, std::to_string(rows) + "-" + std::to_string(r));
        for (const auto& m : runs[r]) KILN_RETURN_IF_ERROR(PlainInsert(c, pk, m));
      }
      return Status::Ok();
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  const auto want = BlockRows(**plain);
  ASSERT_GT(want.size(), 40u);
  EXPECT_EQ(BlockRows(**bulk), want);
  EXPECT_EQ(TriggerSql(**bulk), trigger);

  // The trigger is live again: a later plain write keeps the blocks in both.
  for (auto* db : {&*bulk, &*plain}) {
    Status s = (*db)->Write([](sql::Conn& c) { return PlainInsert(c, 1, {"a", kInf, 5000, 3}); });
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  EXPECT_EQ(BlockRows(**bulk), BlockRows(**plain));

  // A failed transaction takes the suspension back with everything else.
  const auto before = BlockRows(**bulk);
  Status s = (*bulk)->Write([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(auto w, MetricBulkWriter::For(c, MetricTable::kMetrics));
    KILN_RETURN_IF_ERROR(w->Add(NewRun(c, "failed"), runs[0]));
    return Internal("the chunk failed");
  });
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(TriggerSql(**bulk), trigger);
  EXPECT_EQ(BlockRows(**bulk), before);
  int64_t failed_runs = -1, failed_points = -1;
  s = (*bulk)->Read([&](sql::Conn& c) -> Status {
    KILN_ASSIGN_OR_RETURN(failed_runs, c.QueryInt("SELECT count(*) FROM runs WHERE run_id = 'failed'"));
    KILN_ASSIGN_OR_RETURN(failed_points, c.QueryInt("SELECT count(*) FROM metrics m JOIN runs r ON r.id = m.run_pk "
                                                    "WHERE r.run_id = 'failed'"));
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(failed_runs, 0);
  EXPECT_EQ(failed_points, 0);
  bulk->reset();
  plain->reset();
  std::filesystem::remove_all(dir);
}

class BulkMetricsPgTest : public postgres::testing::PgTest {};

TEST_F(BulkMetricsPgTest, CopyIsExact) {
  auto db = postgres::OpenDatabase(uri_, postgres::PgOptions{});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  AddExperiment(**db);
  RoundTrip(**db, 0, Points(2500));
  DuplicateRefused(**db);
  // The connection is usable after a failed COPY.
  Status s = (*db)->Write([](sql::Conn& c) { return c.QueryInt("SELECT count(*) FROM metrics").status(); });
  EXPECT_TRUE(s.ok()) << s.ToString();
}

// An MLflow-shaped metrics table (rows of all runs interleaved), scanned with
// a window smaller than the table.
TEST(MetricScanTest, BucketsByRunAcrossWindows) {
  const std::string dir = TempDir();
  const std::string path = dir + "/mlflow.db";
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "CREATE TABLE metrics (key VARCHAR(250), value FLOAT, timestamp BIGINT, run_uuid VARCHAR(32), "
                         "step BIGINT, is_nan BOOLEAN, PRIMARY KEY (key, timestamp, step, run_uuid, value, is_nan))",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  std::vector<std::string> runs;
  for (int r = 0; r < 9; ++r) runs.push_back("run" + std::to_string(r));
  sqlite3_stmt* ins = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)", -1, &ins, nullptr), SQLITE_OK);
  std::mt19937 rng(7);
  int64_t total = 0;
  for (int step = 9; step >= 0; --step) {  // reverse order: the scan must sort
    for (const char* key : {"loss", "acc", "b"}) {
      for (const auto& run : runs) {
        const int v = static_cast<int>(rng() % 5);
        const double value = v == 0 ? DBL_MAX : v == 1 ? -DBL_MAX : v;
        sqlite3_bind_text(ins, 1, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(ins, 2, v == 4 ? 0.0 : value);
        sqlite3_bind_int64(ins, 3, 100 + step);
        sqlite3_bind_text(ins, 4, run.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(ins, 5, step);
        sqlite3_bind_int(ins, 6, v == 4);
        ASSERT_EQ(sqlite3_step(ins), SQLITE_DONE);
        sqlite3_reset(ins);
        ++total;
      }
    }
  }
  // A point of a run the runs table does not have is not anyone's.
  ASSERT_EQ(sqlite3_exec(raw, "INSERT INTO metrics VALUES ('x', 1, 1, 'orphan', 0, 0)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_finalize(ins);
  sqlite3_close(raw);

  auto src = OpenSqliteReadOnly(path);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  MetricScan scan(runs, /*budget_points=*/70);  // 30 points per run: two or three runs per window
  int64_t seen = 0;
  Status s = (*src)->Read([&](sql::Conn& c) -> Status {
    for (const auto& run : runs) {
      KILN_ASSIGN_OR_RETURN(auto pts, scan.Take(c, run));
      if (pts.size() != 30) return Internal(run + ": " + std::to_string(pts.size()) + " points");
      for (size_t i = 1; i < pts.size(); ++i) {
        const bool ordered = pts[i - 1].key < pts[i].key || (pts[i - 1].key == pts[i].key && pts[i - 1].step < pts[i].step);
        if (!ordered) return Internal(run + ": not in key, step order at " + std::to_string(i));
      }
      for (const auto& p : pts) {
        if (!(std::isnan(p.value) || std::isinf(p.value) || (p.value >= 1 && p.value <= 3))) {
          return Internal(run + ": undecoded value " + std::to_string(p.value));
        }
      }
      seen += static_cast<int64_t>(pts.size());
    }
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(seen, total);
  EXPECT_GT(scan.scans(), 2);  // the window was smaller than the table
  EXPECT_LT(scan.scans(), 9);  // but not one scan per run
  src->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kiln::storage::mlflow_import
