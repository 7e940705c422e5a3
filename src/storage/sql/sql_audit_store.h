// SqliteAuditStore: the audit log in its own SQLite file (audit.db), apart
// from the metadata database so the trail can live on another volume and a
// metadata restore cannot rewrite it. WAL mode; tables records (seq INTEGER
// PRIMARY KEY, copies of the queried fields, hash), record_json (seq, the
// record's text) and checkpoints, with a migration table of its own
// (audit_schema_migrations).
//
// The busy timeout is short (see kAuditBusyTimeoutMs): when another process
// holds the write lock, Append fails with Unavailable within that time and
// the request gate refuses the mutation, instead of requests piling up behind
// the lock.
//
// Ownership: owns one write and one read connection.
// Thread-safety: thread-safe; each connection is guarded by its own mutex, so
// queries (and `kiln audit verify`) are not serialised behind appends.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "storage/audit_store.h"
#include "storage/sqlite/sqlite_db.h"

namespace kiln::storage::sqlite {

inline constexpr int kAuditBusyTimeoutMs = 1500;

class SqliteAuditStore final : public AuditStore {
 public:
  // Opens (creating and migrating when needed) the audit database at `path`.
  // Unavailable when it cannot be opened for writing.
  static StatusOr<std::unique_ptr<SqliteAuditStore>> Create(const std::string& path);
  // Opens an existing audit database for reading only (verify, export; works
  // while a server writes it). Append and AppendCheckpoint then fail.
  static StatusOr<std::unique_ptr<SqliteAuditStore>> OpenReadOnly(const std::string& path);

  Status Append(const std::vector<StoredAuditRecord>& records) override;
  StatusOr<StoredAuditRecord> Last() override;
  StatusOr<std::vector<StoredAuditRecord>> Query(const AuditQuery& query) override;
  StatusOr<std::vector<StoredAuditRecord>> Range(int64_t from_seq, int64_t to_seq) override;
  Status AppendCheckpoint(const StoredCheckpoint& checkpoint) override;
  StatusOr<std::vector<StoredCheckpoint>> Checkpoints() override;
  Status Ping() override;

 private:
  SqliteAuditStore(std::unique_ptr<SqliteConn> writer, std::unique_ptr<SqliteConn> reader)
      : writer_(std::move(writer)), reader_(std::move(reader)) {}

  std::mutex write_mu_;
  std::unique_ptr<SqliteConn> writer_;  // null when read-only; guarded by write_mu_
  std::mutex read_mu_;
  std::unique_ptr<SqliteConn> reader_;  // guarded by read_mu_
};

}  // namespace kiln::storage::sqlite
