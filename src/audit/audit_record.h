// How an AuditEvent becomes the text of its record: one JSON object, keys
// sorted, no whitespace, empty fields omitted, secrets replaced by their
// HMAC, oversize bodies by their digest. Built on the caller's thread, in
// three parts around the two values only the writer knows (prev and seq),
// so the writer -- which runs one batch at a time -- only concatenates.
//
// request/before/after: a body naming no secrets is embedded as received
// once it validates as JSON (re-serialising a 7 KB log-batch body costs more
// than the rest of the record); one with secret fields is parsed, redacted
// and written canonically.
//
// Free functions; thread-safe.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_log.h"
#include "storage/audit_store.h"

namespace kiln::audit {

// The canonical text of a JSON value: keys sorted (nlohmann's object is an
// ordered map), no whitespace, invalid UTF-8 replaced rather than thrown.
std::string Canonical(const nlohmann::json& value);

struct RecordParts {
  std::string head;  // ... "prev":
  std::string mid;   // after prev's value: ,"protocol":... "seq":
  std::string tail;  // after seq's value: ,"service":... }
  std::string Join(std::string_view prev_hash, int64_t seq) const;
};

// `hmac` maps a secret's text to its hex HMAC. The event's time_ms is used
// as is.
RecordParts BuildRecord(const AuditEvent& event, size_t max_field_bytes,
                        const std::function<std::string(std::string_view)>& hmac);

// The text a checkpoint's signature covers: canonical JSON of
// {seq, hash, time, prev_signature, key_id}.
std::string CheckpointSignedText(const storage::StoredCheckpoint& checkpoint);

// One line of an export (and one element of GET /api/v1/audit): the stored
// record's exact text with its hash added as the last member, so the hashed
// bytes are recovered by cutting that member off again.
std::string ExportLine(const storage::StoredAuditRecord& record);

}  // namespace kiln::audit
