// `kiln features materialize` and `kiln features historical`: the feature
// store's batch jobs run directly on a data dir (the one `kiln serve
// --data-dir` uses), with a progress line on stderr and a JSON summary on
// stdout.
//
//   kiln features materialize --start T --end T [--views a,b] [--project p] [--data-dir D]
//   kiln features materialize --incremental --end T [--views ...]
//   kiln features historical --entities FILE (--features v:f,... | --feature-service S)
//                            --output FILE [--format parquet|csv] [--full-feature-names]
//
// materialize opens the embedded online store, which takes the data dir's
// online/LOCK: it refuses while `kiln serve` holds it (use the server's
// /materialize then). historical needs only the registry and DuckDB, so it
// runs beside a server.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace kiln::cli {

struct FeaturesOptions {
  std::string data_dir = "./kiln-data";
  std::string database_uri;            // as `kiln serve --database-uri`
  std::string database_password_file;
  std::string project;
  std::string duckdb_memory_limit = "4GB";
  int duckdb_threads = 0;
  bool quiet = false;  // no progress line
  // materialize
  std::string start;
  std::string end;
  bool incremental = false;
  uint64_t max_rows_per_second = 0;
  std::vector<std::string> views;
  // historical
  std::string entities;
  std::string entities_format;
  std::string event_timestamp_column = "event_timestamp";
  std::vector<std::string> features;
  std::string feature_service;
  bool full_feature_names = false;
  std::string output;
  std::string format;
};

void RegisterFeaturesCommands(CLI::App& app, FeaturesOptions& options);
// True when the parsed command line chose `features ...`.
bool FeaturesCommandChosen(const CLI::App& app);
// Runs the chosen `features` subcommand; returns the exit code.
int RunFeatures(const CLI::App& app, const FeaturesOptions& options);

}  // namespace kiln::cli
