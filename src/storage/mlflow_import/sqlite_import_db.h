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

struct sqlite3;

namespace kiln::storage::mlflow_import {

// An existing SQLite file opened read-only (NotFound when it does not exist).
StatusOr<std::unique_ptr<sql::Database>> OpenSqliteReadOnly(const std::string& path);
// kiln's metadata database at `path` (created and migrated to kiln's latest
// schema when needed), opened for a bulk import: one connection, WAL,
// synchronous=OFF and no foreign-key checks while importing (kiln's ids come
// from the rows the import itself just wrote), a 256 MiB page cache. A
// process crash loses at most the chunk in flight (--resume continues); an
// OS crash or power loss during the import can leave the file unusable, so
// such an import is started again into a new data dir (the source is never
// written). Closing it checkpoints the WAL with fsyncs, so a finished import
// is durable.
StatusOr<std::unique_ptr<sql::Database>> OpenKilnSqlite(const std::string& path);

// The SQLite handle behind a connection these databases hand out, or null
// (another engine, or kiln's own SQLite connections).
::sqlite3* ImportSqliteHandle(sql::Conn& c);

}  // namespace kiln::storage::mlflow_import
