// Verifies an audit store against the checkpoint signing key's public half:
// every record's hash recomputed in seq order, seq continuity, prev links,
// the indexed columns against the record, each checkpoint's Ed25519
// signature, its link to the previous checkpoint, its (seq, hash) against
// the record it covers, and that the log does not end before the last
// checkpoint. The result names the first bad record.
//
// What it cannot see: records appended after the last checkpoint can be cut
// off without trace (the server checkpoints every checkpoint_every records,
// every checkpoint_interval_ms and on shutdown, which bounds that window).
//
// Free function; reads the store in pages, so it runs beside a writing server.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "storage/audit_store.h"

namespace kiln::audit {

enum class AuditProblem {
  kNone,
  kEdited,             // the record's hash does not match its content, or its columns differ from it
  kMissing,            // a seq value is absent
  kOutOfOrder,         // the record stored at seq N claims another seq
  kBrokenLink,         // "prev" is not the previous record's hash (that one was replaced)
  kTruncated,          // the log ends before the last checkpoint
  kBadCheckpoint,      // signature, key, chain or (seq, hash) of a checkpoint is wrong
};

std::string_view AuditProblemName(AuditProblem problem);

struct AuditVerifyResult {
  bool ok = true;
  int64_t records = 0;          // records read
  int64_t first_seq = 0;
  int64_t last_seq = 0;
  int64_t checkpoints = 0;
  int64_t last_checkpoint_seq = 0;
  int64_t last_checkpoint_time_ms = 0;
  int64_t uncovered = 0;        // records after the last checkpoint
  std::string key_id;
  // When !ok: the first bad record (or the checkpoint's seq) and what is wrong.
  int64_t bad_seq = 0;
  AuditProblem problem = AuditProblem::kNone;
  std::string message;
};

// An error Status only when the store cannot be read or the key is unusable;
// tampering is reported in the result.
StatusOr<AuditVerifyResult> VerifyAuditStore(storage::AuditStore& store, std::string_view public_key_pem);

// One line for people: "intact: ..." or "record 17 edited: ...".
std::string DescribeResult(const AuditVerifyResult& result);

}  // namespace kiln::audit
