#include "cli/features_cmd.h"

#include "cli/backends.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/clock.h"
#include "core/log.h"
#include "features/feature_registry.h"
#include "features/historical.h"
#include "features/materializer.h"
#include "features/value_json.h"
#include "storage/duckdb/duckdb_offline_engine.h"
#include "storage/embedded/embedded_online_store.h"
#include "storage/sql/sql_feature_registry_store.h"

namespace kiln::cli {
namespace {

// Splits "a,b" and repeated flags into one list.
std::vector<std::string> SplitList(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& item : in) {
    size_t start = 0;
    while (start <= item.size()) {
      size_t comma = item.find(',', start);
      if (comma == std::string::npos) comma = item.size();
      std::string part = item.substr(start, comma - start);
      if (!part.empty()) out.push_back(part);
      start = comma + 1;
    }
  }
  return out;
}

std::string Absolute(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

int Fail(const Status& s) {
  std::fprintf(stderr, "kiln: %s\n", s.message().c_str());
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAlreadyExists:
      return 2;
    default:
      return 1;
  }
}

// What `kiln serve` opens, minus the servers.
struct Platform {
  SystemClock clock;
  std::unique_ptr<storage::sql::Database> database;
  std::unique_ptr<storage::SqlFeatureRegistryStore> registry_store;
  std::unique_ptr<features::FeatureRegistry> registry;
  std::unique_ptr<storage::OfflineEngine> engine;
  std::unique_ptr<storage::OnlineStore> online;
};

Status OpenPlatform(const FeaturesOptions& o, bool with_online, Platform* p) {
  std::error_code ec;
  std::filesystem::create_directories(o.data_dir, ec);
  if (ec) return InvalidArgument("invalid --data-dir '" + o.data_dir + "': " + ec.message());
  Config settings;  // the metadata database `kiln serve` would open with the same flags
  settings.data_dir = o.data_dir;
  settings.database_uri = o.database_uri;
  settings.database_password_file = o.database_password_file;
  settings.database_pool = 4;
  const std::string db = DescribeDatabase(settings);
  auto database = OpenMetadataDatabase(settings);
  if (!database.ok()) return Status(database.status().code(), "cannot open metadata store " + db + ": " + database.status().message());
  p->database = std::move(*database);
  p->registry_store = std::make_unique<storage::SqlFeatureRegistryStore>(*p->database);
  p->registry = std::make_unique<features::FeatureRegistry>(*p->registry_store, p->clock);
  storage::DuckDbOptions dopts;
  dopts.memory_limit = o.duckdb_memory_limit;
  dopts.threads = o.duckdb_threads > 0 ? o.duckdb_threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  dopts.temp_dir = (std::filesystem::path(o.data_dir) / "duckdb_tmp").string();
  auto engine = storage::DuckDbOfflineEngine::Create(dopts);
  if (!engine.ok()) return Status(engine.status().code(), "cannot start the offline engine: " + engine.status().message());
  p->engine = std::move(*engine);
  if (with_online) {
    const std::string dir = (std::filesystem::path(o.data_dir) / "online").string();
    auto online = storage::EmbeddedOnlineStore::Open(dir);
    if (!online.ok()) {
      return Status(online.status().code(),
                    "cannot open the online store " + dir + ": " + online.status().message() +
                        (online.status().code() == StatusCode::kFailedPrecondition
                             ? " (is `kiln serve` running on this data dir? use its /materialize route instead)"
                             : ""));
    }
    p->online = std::move(*online);
  }
  return Status::Ok();
}

std::string Seconds(double s) {
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s / 3600), static_cast<int>(s / 60) % 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  }
  return buf;
}

// A bar redrawn in place on a terminal; on a pipe, one line per second and
// the last one, so logs stay readable.
class ProgressBar {
 public:
  explicit ProgressBar(bool quiet) : quiet_(quiet), tty_(::isatty(STDERR_FILENO) == 1) {}

  void Update(const features::MaterializeProgress& p, bool final_line) {
    if (quiet_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!final_line && !tty_ && now - last_ < std::chrono::seconds(1)) return;
    if (!final_line && tty_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double frac = p.rows_total > 0 ? static_cast<double>(p.rows_done) / static_cast<double>(p.rows_total)
                                         : (final_line ? 1.0 : 0.0);
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(frac * kWidth);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.append(static_cast<size_t>(kWidth - filled), '.');
    char line[256];
    std::snprintf(line, sizeof line, "[%s] %3.0f%% %llu/%llu rows  %.0f rows/s  ETA %s  %s", bar.c_str(),
                  frac * 100, static_cast<unsigned long long>(p.rows_done),
                  static_cast<unsigned long long>(p.rows_total), p.rows_per_second,
                  Seconds(p.eta_seconds).c_str(), p.view.c_str());
    if (tty_) {
      std::fprintf(stderr, "\r%-110s%s", line, final_line ? "\n" : "");
    } else {
      std::fprintf(stderr, "%s\n", line);
    }
    std::fflush(stderr);
  }

 private:
  bool quiet_;
  bool tty_;
  std::chrono::steady_clock::time_point last_{};
};

int Materialize(const FeaturesOptions& o) {
  features::MaterializeRequest req;
  req.project = o.project;
  req.views = SplitList(o.views);
  req.incremental = o.incremental;
  req.max_rows_per_second = o.max_rows_per_second;
  req.actor = "kiln features materialize";
  if (o.end.empty()) return Fail(InvalidArgument("--end is required"));
  auto end = features::ParseTimestampUs(o.end);
  if (!end.ok()) return Fail(InvalidArgument("--end: " + end.status().message()));
  req.end_us = *end;
  if (o.incremental) {
    if (!o.start.empty()) return Fail(InvalidArgument("--start and --incremental exclude each other"));
  } else {
    if (o.start.empty()) return Fail(InvalidArgument("--start is required (or --incremental)"));
    auto start = features::ParseTimestampUs(o.start);
    if (!start.ok()) return Fail(InvalidArgument("--start: " + start.status().message()));
    req.start_us = *start;
  }
  Platform p;
  if (Status s = OpenPlatform(o, /*with_online=*/true, &p); !s.ok()) return Fail(s);
  WorkerPool unused_pool(1, 1);
  auto materializer = features::CreateMaterializer(*p.registry, *p.engine, *p.online, p.clock, unused_pool);
  ProgressBar bar(o.quiet);
  auto result = materializer->Run(req, [&bar](const features::MaterializeProgress& progress) {
    bar.Update(progress, progress.state != "running");
  });
  if (!result.ok()) return Fail(result.status());
  for (const auto& s : result->skipped) std::fprintf(stderr, "kiln: skipped %s\n", s.c_str());
  nlohmann::json out = {{"project", result->project},
                        {"views", result->views},
                        {"skipped", result->skipped},
                        {"rows", result->rows_done},
                        {"rows_per_second", result->rows_per_second},
                        {"seconds", static_cast<double>(result->finished_us - result->started_us) / 1e6}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

StatusOr<storage::FileFormat> FormatOf(const std::string& name, const std::string& path, bool allow_json) {
  std::string f = name;
  if (f.empty()) {
    const std::string ext = std::filesystem::path(path).extension().string();
    f = ext == ".csv" ? "csv" : ext == ".json" ? "json" : "parquet";
  }
  if (f == "parquet") return storage::FileFormat::kParquet;
  if (f == "csv") return storage::FileFormat::kCsv;
  if (f == "json" && allow_json) return storage::FileFormat::kJson;
  return InvalidArgument("unknown format '" + f + "'");
}

int Historical(const FeaturesOptions& o) {
  features::HistoricalRequest req;
  req.project = o.project;
  if (o.entities.empty()) return Fail(InvalidArgument("--entities FILE is required"));
  if (o.output.empty()) return Fail(InvalidArgument("--output FILE is required"));
  req.entities.path = Absolute(o.entities);
  auto in_format = FormatOf(o.entities_format, o.entities, true);
  if (!in_format.ok()) return Fail(in_format.status());
  req.entities.format = *in_format;
  req.entities.timestamp_column = o.event_timestamp_column;
  req.features = SplitList(o.features);
  req.feature_service = o.feature_service;
  req.full_feature_names = o.full_feature_names;
  req.output_path = Absolute(o.output);
  auto out_format = FormatOf(o.format, o.output, false);
  if (!out_format.ok()) return Fail(out_format.status());
  req.output_format = *out_format;
  Platform p;
  if (Status s = OpenPlatform(o, /*with_online=*/false, &p); !s.ok()) return Fail(s);
  features::HistoricalService service(*p.registry, *p.engine);
  const auto t0 = std::chrono::steady_clock::now();
  auto result = service.Retrieve(req);
  if (!result.ok()) return Fail(result.status());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!o.quiet) std::fprintf(stderr, "%llu rows written to %s in %.2fs\n", static_cast<unsigned long long>(result->rows),
                             result->output_path.c_str(), secs);
  nlohmann::json out = {{"project", result->project}, {"rows", result->rows}, {"columns", result->columns},
                        {"path", result->output_path}, {"seconds", secs}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

void CommonOptions(CLI::App& cmd, FeaturesOptions& o) {
  cmd.add_option("--data-dir", o.data_dir, "The data dir `kiln serve` uses")->envname("KILN_DATA_DIR")->capture_default_str();
  cmd.add_option("--database-uri", o.database_uri, "The metadata database `kiln serve` uses (--database-uri)")
      ->envname("KILN_DATABASE_URI");
  cmd.add_option("--database-password-file", o.database_password_file, "File holding the PostgreSQL password")
      ->envname("KILN_DATABASE_PASSWORD_FILE");
  cmd.add_option("--project", o.project, "Feast project (default: the only one, or the one holding the objects)");
  cmd.add_option("--duckdb-memory-limit", o.duckdb_memory_limit, "DuckDB's memory_limit")
      ->envname("KILN_DUCKDB_MEMORY_LIMIT")
      ->capture_default_str();
  cmd.add_option("--duckdb-threads", o.duckdb_threads, "DuckDB threads (0: one per core)")->envname("KILN_DUCKDB_THREADS");
  cmd.add_flag("--quiet,-q", o.quiet, "No progress on stderr");
}

}  // namespace

void RegisterFeaturesCommands(CLI::App& app, FeaturesOptions& o) {
  auto* features = app.add_subcommand("features", "Feature store batch jobs: materialize, historical");
  features->require_subcommand(1);
  auto* mat = features->add_subcommand("materialize", "Copy the latest feature rows of a window into the online store");
  CommonOptions(*mat, o);
  mat->add_option("--start", o.start, "Window start (ISO 8601; no zone: UTC)");
  mat->add_option("--end", o.end, "Window end, inclusive (ISO 8601; no zone: UTC)");
  mat->add_flag("--incremental", o.incremental, "Start each view at its last materialized end (or now - ttl)");
  mat->add_option("--max-rows-per-second", o.max_rows_per_second,
                  "Throttle the copy (0: as fast as possible), e.g. to spare online traffic during a backfill");
  mat->add_option("--views", o.views, "Feature views (comma-separated or repeated; default: every online view)");
  auto* hist = features->add_subcommand("historical", "Point-in-time join of an entity file with features (training sets)");
  CommonOptions(*hist, o);
  hist->add_option("--entities,--entity-df", o.entities, "Entity rows: Parquet, CSV or JSON file");
  hist->add_option("--entities-format", o.entities_format, "parquet, csv or json (default: by extension)");
  hist->add_option("--event-timestamp-column", o.event_timestamp_column, "The entity rows' timestamp column")
      ->capture_default_str();
  hist->add_option("--features", o.features, "view:feature references (comma-separated or repeated)");
  hist->add_option("--feature-service", o.feature_service, "A feature service instead of --features");
  hist->add_flag("--full-feature-names", o.full_feature_names, "Name columns view__feature");
  hist->add_option("--output,--out", o.output, "Result file");
  hist->add_option("--format", o.format, "parquet or csv (default: by extension)");
}

bool FeaturesCommandChosen(const CLI::App& app) { return app.got_subcommand("features"); }

int RunFeatures(const CLI::App& app, const FeaturesOptions& options) {
  const CLI::App* features = app.get_subcommand("features");
  if (features->got_subcommand("materialize")) return Materialize(options);
  return Historical(options);
}

}  // namespace kiln::cli
