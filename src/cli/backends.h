// The stores a kiln process opens for its configured backends, in one place
// for `kiln serve`, `kiln migrate`, `kiln backup` and `kiln restore`:
//   --database-uri   empty, sqlite:// or sqlite:///path -> SQLite (default <data-dir>/kiln.db)
//                    postgresql://...        -> PostgreSQL (--database-password-file)
//   --audit-db       SQLite only: the audit log's own file (default
//                    <data-dir>/audit.db); on PostgreSQL its tables live in
//                    the metadata database
//   --artifacts-uri  empty, file:///path or s3://bucket/prefix
//
// Thread-safety: free functions, called once at startup.
#pragma once

#include <memory>
#include <string>

#include "cli/config.h"
#include "core/change_feed.h"
#include "core/status.h"
#include "storage/artifact_store.h"
#include "storage/sql/sql_conn.h"

namespace kiln::cli {

bool UsesPostgres(const Config& config);
// The SQLite metadata file the settings name (empty on PostgreSQL).
std::string SqlitePath(const Config& config);
// What a log line may say about the database (never the password).
std::string DescribeDatabase(const Config& config);

// The metadata database, migrated to this build's schema when `migrate`
// (otherwise an older schema is FailedPrecondition).
StatusOr<std::unique_ptr<storage::sql::Database>> OpenMetadataDatabase(const Config& config, bool migrate = true);

// SQLite: the audit log's database file. PostgreSQL: null (the audit tables
// are in the metadata database).
StatusOr<std::unique_ptr<storage::sql::Database>> OpenAuditDatabase(const Config& config);

StatusOr<std::unique_ptr<storage::ArtifactStore>> OpenArtifacts(const Config& config);

// How replicas on one database tell each other what changed: LISTEN/NOTIFY
// on PostgreSQL; nothing on SQLite (one process owns the file). `database`
// is the one OpenMetadataDatabase returned and must outlive the feed.
StatusOr<std::unique_ptr<ChangeFeed>> OpenChangeFeed(const Config& config, storage::sql::Database& database);

}  // namespace kiln::cli
