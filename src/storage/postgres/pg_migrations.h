// Versioned schema migrations for PostgreSQL: the version numbers of
// storage/sqlite/migrations.h, applied rows in schema_migrations(version),
// plus the audit tables' own track in audit_schema_migrations.
//
// Replicas starting together serialize on a session advisory lock held by
// the migrating connection; each step commits in its own transaction, so a
// failure leaves the database at the last completed version. The lock is
// released when the connection closes, also on a crash.
//
// Free functions; the PgDatabase is thread-safe, and concurrent callers (also
// in other processes) wait for each other.
#pragma once

#include "core/status.h"
#include "storage/postgres/pg_database.h"

namespace kiln::storage::postgres {

// Highest metadata schema version this build creates (the SQLite number).
int LatestSchemaVersion();
int LatestAuditSchemaVersion();

// Current version (0 for a database kiln never touched).
StatusOr<int> ReadSchemaVersion(sql::Conn& conn);

// Brings both tracks to this build's versions. A database newer than this
// build is used as it is while its newest version's compatible_since (a
// column of the version tables) is at most this build's version: the newer
// steps were expand-only. Otherwise it is refused (FailedPrecondition).
Status Migrate(PgDatabase& db);
// With migrate false, refuses an older database instead (FailedPrecondition,
// "run `kiln migrate`") and changes nothing.
Status PrepareSchema(PgDatabase& db, bool migrate);

}  // namespace kiln::storage::postgres
