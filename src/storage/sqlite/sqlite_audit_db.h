// The audit log's own SQLite file (audit.db): opening it with its schema
// (tables of storage/sql/sql_audit_store.h, migrations in
// audit_schema_migrations) as a sql::Database for SqlAuditStore.
//
// The busy timeout is short (kAuditBusyTimeoutMs): when another process
// holds the write lock, Append fails with Unavailable within that time and
// the request gate refuses the mutation, instead of requests piling up behind
// the lock.
//
// Free functions; the returned Database is thread-safe (sqlite_database.h).
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage::sqlite {

inline constexpr int kAuditBusyTimeoutMs = 1500;

// Opens (creating and migrating when needed) the audit database at `path`.
// Unavailable when it cannot be opened for writing.
StatusOr<std::unique_ptr<sql::Database>> OpenAuditDatabase(const std::string& path);
// Opens an existing audit database for reading only (verify, export; works
// while a server writes it); its Write fails. NotFound when the file holds
// no audit tables.
StatusOr<std::unique_ptr<sql::Database>> OpenAuditDatabaseReadOnly(const std::string& path);

}  // namespace kiln::storage::sqlite
