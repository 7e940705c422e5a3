// Versioned schema migrations for the SQLite tracking store. The applied
// versions are rows of table schema_migrations(version, compatible_since);
// the current version is the greatest row (0 for an empty database), and its
// compatible_since the oldest schema version whose kiln may still use the
// database (expand/contract, docs/operations.md). Each step runs in its own
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

// compatible_since of `version` as this build's migrations record it.
int CompatibleSince(int version);

// OK when a build of schema `target` may use the database: it is not newer,
// or its newest version is compatible with `target`. FailedPrecondition
// (naming the version needed) otherwise.
Status CheckUsable(SqliteConn& conn, int target);

// Applies every step above the current version up to `target` (inclusive).
// A newer database is left as it is when CheckUsable accepts it, and fails
// with FailedPrecondition otherwise.
Status MigrateTo(SqliteConn& conn, int target);

}  // namespace kiln::storage::sqlite
