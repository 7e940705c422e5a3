// ImportMlflow: copies an MLflow store (MlflowSource) into kiln's metadata
// tables through sql::Database, writing rows exactly as kiln's stores do
// (latest_metrics derived, NaN as value 0 + is_nan, +-inf as real infinities,
// registry versions as external references to MLflow's storage location).
//
// Ids are preserved (experiment ids, run uuids, logged-model ids, model
// names and version numbers). Artifact URIs are rewritten through
// `artifact_root_map` (longest matching prefix wins).
//
// Resumable: experiments (with their datasets), runs in id-ordered chunks,
// logged models in chunks, the registry, then users; every chunk is one
// transaction that also advances a progress marker (table
// mlflow_import_progress) and the source-side digests, so an interrupted
// import continues after the last committed chunk without duplicating rows.
// A fresh import needs an empty target (kiln's untouched Default experiment
// aside); an unfinished one continues only with `resume`.
//
// Thread-safety: none; one import at a time per target (the progress marker
// is checked inside each chunk's transaction).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "storage/mlflow_import/mlflow_source.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage::mlflow_import {

struct ImportOptions {
  std::vector<std::pair<std::string, std::string>> artifact_root_map;  // OLD prefix -> NEW prefix
  bool dry_run = false;
  bool resume = false;
  bool verify = true;            // read the target back and compare digests
  int64_t chunk_runs = 200;      // runs per transaction (fewer when they hold many metric points)
  int64_t chunk_points = 1000000; // metric points per transaction, at most (a run is never split)
  int64_t max_chunks = 0;        // stop after this many chunk transactions (0: no limit)
  std::string source_name;       // recorded with the progress marker; a resume must name the same source
  std::function<void(const std::string&)> progress;  // one line per committed chunk
};

struct TableReport {
  std::string table;
  int64_t source_rows = 0;
  std::string source_digest;
  int64_t target_rows = -1;      // -1: not verified
  std::string target_digest;
};

struct ImportReport {
  std::string source;
  bool complete = false;         // false: stopped at max_chunks; run again with resume
  bool dry_run = false;
  int64_t chunks = 0;
  double import_seconds = 0;
  double verify_seconds = 0;
  std::vector<TableReport> tables;
  std::vector<std::string> notes;  // things imported differently, or not at all
  bool Verified() const;            // every table's target matched its source
};

// `target` may be null only for a dry run into a database that does not exist
// yet (nothing to check it against, and a dry run creates nothing).
StatusOr<ImportReport> ImportMlflow(MlflowSource& source, const std::vector<UserRec>* users,
                                    sql::Database* target, const ImportOptions& options);

// Applies the mapping (longest OLD prefix first); unmatched URIs are unchanged.
std::string MapArtifactUri(const std::vector<std::pair<std::string, std::string>>& map, const std::string& uri);

}  // namespace kiln::storage::mlflow_import
