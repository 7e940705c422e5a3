// Versioned schema migrations for the SQLite tracking store. The applied
// versions are rows of table schema_migrations(version); the current version
// is the greatest row (0 for an empty database). Each step runs in its own
// IMMEDIATE transaction, so a failure leaves the database at the last
// completed version.
//
// Free functions; the caller owns the connection and must not use it from
// another thread during the call.
#pragma once

#include "core/status.h"
#include "storage/sqlite/sqlite_db.h"

namespace kiln::storage::sqlite {

// Highest version this build knows how to create.
int LatestSchemaVersion();

// Current version of the database behind `conn` (0 when never migrated).
StatusOr<int> ReadSchemaVersion(SqliteConn& conn);

// Applies every step above the current version up to `target` (inclusive).
// Fails with FailedPrecondition when the database is newer than `target`.
Status MigrateTo(SqliteConn& conn, int target);

}  // namespace kiln::storage::sqlite
