// SqlAuditStore: the audit log's records and checkpoints over any
// sql::Database. Tables records (seq primary key, copies of the queried
// fields, hash), record_json (seq, the record's text) and checkpoints; on
// SQLite they live in a file of their own (sqlite/sqlite_audit_db.h, apart
// from the metadata database so the trail can live on another volume and a
// metadata restore cannot rewrite it), on PostgreSQL in the main database
// (its migrations create the same tables and columns).
//
// Append inserts at last + 1 only; a concurrent appender (another process)
// that got there first makes it FailedPrecondition, either through the check
// of the chain's end or through the primary key on seq. SQLite checks the
// end and inserts inside one transaction. PostgreSQL does it all in one
// statement (Database::WriteOneStatement, the columns as array parameters):
// with audit logging on every flush appends, and BEGIN SERIALIZABLE, the
// end's SELECT, two INSERTs per record and COMMIT were as many network round
// trips; one statement is one, and atomic without a transaction block. When
// the connection is lost with that statement sent, whether it committed is
// unknown and it runs again; finding then our last record, with our hash,
// already stored means the first run wrote the batch (Ok), not a rival.
//
// Ownership: borrows the Database, which must outlive the store.
// Thread-safety: thread-safe (the Database's transactions).
#pragma once

#include <string>
#include <vector>

#include "storage/audit_store.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage {

class SqlAuditStore final : public AuditStore {
 public:
  explicit SqlAuditStore(sql::Database& db) : db_(db) {}

  Status Append(const std::vector<StoredAuditRecord>& records) override;
  StatusOr<StoredAuditRecord> Last() override;
  StatusOr<std::vector<StoredAuditRecord>> Query(const AuditQuery& query) override;
  StatusOr<std::vector<StoredAuditRecord>> Range(int64_t from_seq, int64_t to_seq) override;
  Status AppendCheckpoint(const StoredCheckpoint& checkpoint) override;
  StatusOr<std::vector<StoredCheckpoint>> Checkpoints() override;
  Status Ping() override;

 private:
  // The single statement, with the outcome-unknown retry resolved.
  Status AppendPostgres(const std::vector<StoredAuditRecord>& records);

  sql::Database& db_;
};

}  // namespace kiln::storage
