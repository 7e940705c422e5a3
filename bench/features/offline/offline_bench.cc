// Offline engine measurements (issue 10, item 6): not a test, CI never runs it.
// See README.md in this folder for how to build and run it.
//
//   offline_bench DATA_DIR [threads=2] [memory=4GB] [rows=10000000] [entities=1000000]
//
// Writes (once, with DuckDB itself) into DATA_DIR:
//   mat.parquet      rows x 20 features, one row per key (bench/features' mat shape)
//   hist.parquet     rows x 20 features over `entities` keys (10 rows each at the
//                    default scale, event times uniform over 30 days at 1 s
//                    resolution, so ~5 % of rows tie on their key's event time)
//   entity_df.parquet  `entities` rows, keys uniform over 1.1 x entities, times
//                    over the 30 days +- 2 days
// then times: ScanLatest over both files through the engine (every chunk
// consumed), the QUALIFY row_number() and arg_max forms of the latest-row query
// side by side in raw SQL, and the point-in-time join (ttl 7 days) to Parquet.
#include <duckdb.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "storage/duckdb/duckdb_offline_engine.h"

using kiln::Status;
using namespace kiln::storage;

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool Sql(duckdb_connection con, const std::string& sql) {
  duckdb_result r;
  bool ok = duckdb_query(con, sql.c_str(), &r) == DuckDBSuccess;
  if (!ok) std::fprintf(stderr, "SQL failed: %s\n%s\n", duckdb_result_error(&r), sql.c_str());
  duckdb_destroy_result(&r);
  return ok;
}

// Streams a query's chunks to the end (the engine's own access path) and
// returns the rows.
long long Drain(duckdb_connection con, const std::string& sql) {
  duckdb_prepared_statement st;
  if (duckdb_prepare(con, sql.c_str(), &st) != DuckDBSuccess) {
    std::fprintf(stderr, "prepare: %s\n", duckdb_prepare_error(st));
    std::exit(1);
  }
  duckdb_result r;
  if (duckdb_execute_prepared_streaming(st, &r) != DuckDBSuccess) {
    std::fprintf(stderr, "execute: %s\n", duckdb_result_error(&r));
    std::exit(1);
  }
  long long rows = 0;
  while (duckdb_data_chunk c = duckdb_fetch_chunk(r)) {
    rows += static_cast<long long>(duckdb_data_chunk_get_size(c));
    duckdb_destroy_data_chunk(&c);
  }
  // NULL from duckdb_fetch_chunk also means "failed midway".
  if (const char* err = duckdb_result_error(&r); err && *err) {
    std::printf("  (query failed after %lld rows: %s)\n", rows, err);
    rows = -rows;
  }
  duckdb_destroy_result(&r);
  duckdb_destroy_prepare(&st);
  return rows;
}

std::string Features(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += ", " + std::string(i % 2 ? "random()" : "(random() * 1000000)::BIGINT") + " AS f" + std::to_string(i);
  }
  return s;
}

void Generate(duckdb_connection con, const std::string& dir, long long rows, long long entities) {
  const std::string base = "1704067200000000";  // 2024-01-01T00:00:00Z µs
  const std::string span = "2592000";           // 30 days in seconds
  auto exists = [&](const char* f) { return std::filesystem::exists(dir + "/" + f); };
  Sql(con, "SELECT setseed(0.42)");
  if (!exists("mat.parquet")) {
    double t = Now();
    Sql(con, "COPY (SELECT i AS eid, make_timestamp(" + base + " + (random() * " + span + ")::BIGINT * 1000000) AS event_timestamp, "
             "make_timestamp(" + base + " + i) AS created" + Features(20) + " FROM range(" + std::to_string(rows) +
             ") t(i)) TO '" + dir + "/mat.parquet' (FORMAT parquet)");
    std::printf("generated mat.parquet in %.1f s\n", Now() - t);
  }
  if (!exists("hist.parquet")) {
    double t = Now();
    Sql(con, "COPY (SELECT i % " + std::to_string(entities) + " AS eid, make_timestamp(" + base + " + (random() * " + span +
             ")::BIGINT * 1000000) AS event_timestamp, make_timestamp(" + base + " + (random() * " + span +
             ")::BIGINT * 1000000) AS created" + Features(20) + " FROM range(" + std::to_string(rows) +
             ") t(i) ORDER BY random()) TO '" + dir + "/hist.parquet' (FORMAT parquet)");
    std::printf("generated hist.parquet in %.1f s\n", Now() - t);
  }
  if (!exists("entity_df.parquet")) {
    Sql(con, "COPY (SELECT (random() * " + std::to_string(entities * 11 / 10) + ")::BIGINT AS eid, make_timestamptz(" + base +
             " + ((random() * 34 - 2) * 86400 * 1000000)::BIGINT) AS event_timestamp FROM range(" +
             std::to_string(entities) + ")) TO '" + dir + "/entity_df.parquet' (FORMAT parquet)");
  }
}

LatestScanRequest ScanReq(const std::string& path) {
  LatestScanRequest req;
  req.source = {path, FileFormat::kParquet, "event_timestamp", "created", {}};
  req.join_keys = {"eid"};
  for (int i = 0; i < 20; ++i) req.features.push_back("f" + std::to_string(i));
  req.start_us = 0;
  req.end_us = 1704067200000000LL + 40LL * 86400 * 1000000;
  return req;
}

void TimeScan(OfflineEngine& engine, const std::string& name, const std::string& path) {
  double t = Now();
  long long rows = 0, cells = 0;
  Status st = engine.ScanLatest(ScanReq(path), [&](const Chunk& c) {
    rows += static_cast<long long>(c.rows);
    for (const auto& col : c.columns) cells += static_cast<long long>(col.valid.size());
    return Status::Ok();
  });
  double dt = Now() - t;
  if (!st.ok()) {
    std::fprintf(stderr, "scan failed: %s\n", st.ToString().c_str());
    std::exit(1);
  }
  std::printf("ScanLatest %-12s %10lld latest rows (%lld cells) in %6.2f s  (%.2f M source rows/s)\n", name.c_str(),
              rows, cells, dt, 10.0 / dt);
  t = Now();
  auto n = engine.CountLatest(ScanReq(path));
  std::printf("CountLatest %-11s %10llu in %6.2f s\n", name.c_str(), n.ok() ? static_cast<unsigned long long>(*n) : 0ULL,
              Now() - t);
}

void CompareStrategies(duckdb_connection con, const std::string& name, const std::string& path) {
  std::string feats, packed;
  for (int i = 0; i < 20; ++i) {
    feats += ", f" + std::to_string(i);
    packed += std::string(i ? ", " : "") + "f" + std::to_string(i);
  }
  std::string src = "(SELECT eid" + feats + ", epoch_us(event_timestamp) AS ev, epoch_us(created) AS cr FROM read_parquet('" +
                    path + "'))";
  std::string qualify = "SELECT eid" + feats + ", ev, cr FROM " + src +
                        " QUALIFY row_number() OVER (PARTITION BY eid ORDER BY ev DESC, cr DESC NULLS LAST) = 1";
  std::string argmax = "SELECT eid, unnest(arg_max(struct_pack(" + packed + ", ev, cr), (ev, cr))) FROM " + src +
                       " GROUP BY eid";
  for (int round = 0; round < 2; ++round) {
    double t = Now();
    long long a = Drain(con, qualify);
    double tq = Now() - t;
    t = Now();
    long long b = Drain(con, argmax);
    double ta = Now() - t;
    std::printf("latest-row SQL %-9s QUALIFY row_number(): %6.2f s (%lld rows)   arg_max(struct): %6.2f s (%lld rows)\n",
                name.c_str(), tq, a, ta, b);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATA_DIR [threads] [memory] [rows] [entities]\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string dir = argv[1];
  int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  std::string memory = argc > 3 ? argv[3] : "4GB";
  long long rows = argc > 4 ? std::atoll(argv[4]) : 10000000;
  long long entities = argc > 5 ? std::atoll(argv[5]) : 1000000;
  std::filesystem::create_directories(dir);

  duckdb_database db;
  duckdb_connection con;
  duckdb_config cfg;
  duckdb_create_config(&cfg);
  duckdb_set_config(cfg, "threads", std::to_string(threads).c_str());
  duckdb_set_config(cfg, "memory_limit", memory.c_str());
  duckdb_set_config(cfg, "temp_directory", (dir + "/tmp").c_str());
  duckdb_set_config(cfg, "autoinstall_known_extensions", "false");
  duckdb_set_config(cfg, "autoload_known_extensions", "false");
  duckdb_open_ext(nullptr, &db, cfg, nullptr);
  duckdb_destroy_config(&cfg);
  duckdb_connect(db, &con);
  Sql(con, "SET TimeZone = 'UTC'");
  Generate(con, dir, rows, entities);

  DuckDbOptions o;
  o.threads = threads;
  o.memory_limit = memory;
  o.temp_dir = dir + "/tmp";
  auto engine = DuckDbOfflineEngine::Create(o);
  if (!engine.ok()) {
    std::fprintf(stderr, "%s\n", engine.status().ToString().c_str());
    return 1;
  }
  std::printf("%s, threads=%d, memory_limit=%s, %lld rows x 20 features, %lld entities\n", (*engine)->Version().c_str(),
              threads, memory.c_str(), rows, entities);
  if (!std::getenv("SKIP_SCAN")) {
    TimeScan(**engine, "mat", dir + "/mat.parquet");
    TimeScan(**engine, "hist", dir + "/hist.parquet");
  }
  if (!std::getenv("SKIP_SQL")) {
    CompareStrategies(con, "mat", dir + "/mat.parquet");
    CompareStrategies(con, "hist", dir + "/hist.parquet");
  }
  if (!std::getenv("SKIP_PIT")) {
    PitRequest req;
    req.entities.path = dir + "/entity_df.parquet";
    PitView v;
    v.name = "hist";
    v.source = {dir + "/hist.parquet", FileFormat::kParquet, "event_timestamp", "created", {}};
    v.join_keys = v.source_join_keys = {"eid"};
    for (int i = 0; i < 20; ++i) v.features.emplace_back("f" + std::to_string(i), "hist__f" + std::to_string(i));
    v.ttl_us = 7LL * 86400 * 1000000;
    req.views = {v};
    req.output_path = dir + "/pit_out.parquet";
    for (int round = 0; round < 2; ++round) {
      double t = Now();
      auto res = (*engine)->PointInTimeJoin(req);
      if (!res.ok()) {
        std::fprintf(stderr, "pit failed: %s\n", res.status().ToString().c_str());
        return 1;
      }
      std::printf("PointInTimeJoin %llu entity rows x %lld feature rows -> Parquet in %.2f s\n",
                  static_cast<unsigned long long>(res->rows), rows, Now() - t);
    }
  }
  duckdb_disconnect(&con);
  duckdb_close(&db);
  return 0;
}
