// SQLite databases for the importer: the MLflow source opened read-only (a
// plain connection: no WAL switch, no pragma or write ever reaches the user's
// file) and kiln's target as kiln opens it (sqlite::OpenDatabase, migrated).
//
// Ownership: the source database owns its connection and cached statements.
// Thread-safety: the source is used by one thread at a time.
#pragma once

#include <memory>
#include <string>

#include "storage/sql/sql_conn.h"

namespace kiln::storage::mlflow_import {

// An existing SQLite file opened read-only (NotFound when it does not exist).
StatusOr<std::unique_ptr<sql::Database>> OpenSqliteReadOnly(const std::string& path);
// kiln's metadata database at `path` (created and migrated to kiln's latest
// schema when needed).
StatusOr<std::unique_ptr<sql::Database>> OpenKilnSqlite(const std::string& path);

}  // namespace kiln::storage::mlflow_import
