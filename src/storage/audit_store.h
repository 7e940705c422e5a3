// AuditStore: where the audit log's records and signed checkpoints persist.
// Append-only by contract: records are only ever inserted at seq = last + 1;
// nothing here updates or deletes one (tampering is what `kiln audit verify`
// detects). The hash chain is computed by audit/, not here: the store keeps
// each record's canonical JSON exactly as given.
//
// Implementation: sql/sql_audit_store.h, over its own SQLite file (audit.db,
// so the audit trail can live on another volume) or PostgreSQL.
//
// Thread-safety: implementations are thread-safe. Calls block on I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace kiln::storage {

// One stored record. The indexed columns duplicate fields of `json` so
// queries need not parse it; verify trusts only `json` and `hash`.
struct StoredAuditRecord {
  int64_t seq = 0;
  int64_t time_ms = 0;
  std::string audit_id;
  std::string actor;
  std::string action;
  std::string object;    // ObjectRef::ToString() or empty
  std::string decision;  // "allow" or "deny"
  std::string stage;     // "request", "response", "denied", "event"
  std::string json;      // the canonical record, including "prev" (previous hash)
  std::string hash;      // hex SHA-256 over prev hash and json
};

struct StoredCheckpoint {
  int64_t seq = 0;          // last record covered
  std::string hash;         // that record's hash
  int64_t time_ms = 0;
  std::string prev_signature;  // the previous checkpoint's signature (a chain of checkpoints)
  std::string signature;    // base64 Ed25519 over the canonical checkpoint
  std::string key_id;       // which signing key
};

struct AuditQuery {
  std::string actor;
  std::string action_prefix;
  std::string object;
  std::string decision;
  std::string audit_id;
  int64_t since_ms = 0;   // 0: unbounded
  int64_t until_ms = 0;
  int64_t after_seq = 0;  // paging: records with seq > after_seq, ascending
  int64_t max_results = 100;
  // Newest first (the UI's audit page): records with seq < before_seq
  // (0: unbounded), in descending seq order; after_seq still bounds below.
  bool newest_first = false;
  int64_t before_seq = 0;
};

class AuditStore {
 public:
  virtual ~AuditStore() = default;
  // Appends records whose seq values continue the stored ones, in one
  // transaction (all or none). FailedPrecondition if the first seq is not
  // last + 1; Unavailable/Internal when the store cannot write (the caller
  // fails closed).
  virtual Status Append(const std::vector<StoredAuditRecord>& records) = 0;
  // The last record (seq 0 when empty).
  virtual StatusOr<StoredAuditRecord> Last() = 0;
  virtual StatusOr<std::vector<StoredAuditRecord>> Query(const AuditQuery& query) = 0;
  // Records with seq in [from, to], ascending, for verification and export.
  virtual StatusOr<std::vector<StoredAuditRecord>> Range(int64_t from_seq, int64_t to_seq) = 0;
  // FailedPrecondition unless it follows the last checkpoint (a higher seq,
  // prev_signature = its signature): replicas never fork the chain.
  virtual Status AppendCheckpoint(const StoredCheckpoint& checkpoint) = 0;
  virtual StatusOr<std::vector<StoredCheckpoint>> Checkpoints() = 0;
  virtual Status Ping() = 0;
};

}  // namespace kiln::storage
