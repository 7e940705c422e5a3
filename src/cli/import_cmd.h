// `kiln import mlflow`: copies an existing MLflow tracking store into kiln's
// metadata database, offline (stop `kiln serve` on the target first; its
// caches would not see the new rows).
//
//   kiln import mlflow --from sqlite:///mlflow.db | postgresql://... | ./mlruns
//       [--data-dir DIR | --database-uri sqlite:///kiln.db | postgresql://... [--database-password-file F]]
//       [--artifact-root-map OLD=NEW ...] [--auth-db sqlite:///basic_auth.db]
//       [--dry-run] [--resume] [--chunk-runs N] [--max-chunks N] [--no-verify] [--json]
//
// Prints a report with counts and digests per table for source and target;
// exit 0 when the import finished and every digest matched (or a dry run
// read everything), 3 when it stopped at --max-chunks (run again with
// --resume), 1 on an error or a mismatch, 2 for bad arguments.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace kiln::cli {

struct ImportOptions {
  std::string from;
  std::string data_dir = "./kiln-data";
  std::string database_uri;
  std::string database_password_file;
  std::vector<std::string> artifact_root_map;  // OLD=NEW
  std::string auth_db;
  bool dry_run = false;
  bool resume = false;
  bool no_verify = false;
  bool json = false;
  int64_t chunk_runs = 200;
  int64_t max_chunks = 0;
};

void RegisterImportCommand(CLI::App& app, ImportOptions& options);
bool ImportCommandChosen(const CLI::App& app);
int RunImport(const ImportOptions& options);

}  // namespace kiln::cli
