// `kiln backup` and `kiln restore`: a consistent online snapshot of a
// deployment's metadata and artifacts, restorable into an empty deployment on
// any backend (embedded → PostgreSQL/S3 is the same pair of commands).
//
// A backup directory holds
//   metadata.db   SQLite, kiln's schema: every metadata table
//   audit.db      SQLite, the audit log's schema (when the source has one)
//   artifacts/    every artifact file, same relative paths
//   manifest.json schema version, per-table row count + digest, per-file
//                 size + sha256, and when it was taken
// Metadata tables are read in one read transaction of each source database
// (one snapshot, while writes continue); artifacts are listed after it, so
// every artifact the snapshot's rows name and that still exists is included.
// Both commands re-read what they wrote and compare it with the digests of
// what they read: a backup or restore that does not match fails.
//
// Thread-safety: blocking, single-threaded calls for the CLI.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/artifact_store.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage::backup {

// A deployment's stores as one side of a copy. Tables are matched by name
// across the databases of each side (PostgreSQL keeps the audit tables in the
// metadata database, SQLite in a file of its own).
struct Deployment {
  std::vector<sql::Database*> databases;
  ArtifactStore* artifacts = nullptr;
};

struct Progress {
  // phase: "tables" or "artifacts"; done/total in rows or bytes (total 0: unknown).
  std::function<void(const std::string& phase, const std::string& item, int64_t done, int64_t total)> update;
};

struct CopyReport {
  int64_t tables = 0;
  int64_t rows = 0;
  int64_t files = 0;
  int64_t bytes = 0;
};

// Writes the backup of `from` to the (empty or missing) directory `dest`.
// `open_sqlite(path, audit)` opens a fresh SQLite database at `path` migrated
// to this build's metadata schema (audit=false) or audit schema (audit=true).
using OpenSqlite = std::function<StatusOr<std::unique_ptr<sql::Database>>(const std::string& path, bool audit)>;
StatusOr<CopyReport> Backup(const Deployment& from, const std::string& dest, const OpenSqlite& open_sqlite,
                            const Progress& progress);

// Restores the backup in `src` into `to`, whose databases must be migrated
// and hold no rows in any backed-up table and whose artifact store must be
// empty (FailedPrecondition otherwise, naming the first non-empty table).
StatusOr<CopyReport> Restore(const std::string& src, const Deployment& to, const OpenSqlite& open_sqlite,
                             const Progress& progress);

}  // namespace kiln::storage::backup
