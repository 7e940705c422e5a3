// How an AuditEvent becomes the JSON object of its record (before seq, time
// and prev are added by the writer): empty fields omitted, secrets replaced
// by their HMAC, oversize bodies by their digest. Separate from the writer so
// it runs on the caller's thread, outside the log's lock.
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

// `hmac` maps a secret's text to its hex HMAC.
nlohmann::json RecordBody(const AuditEvent& event, size_t max_field_bytes,
                          const std::function<std::string(std::string_view)>& hmac);

// The text a checkpoint's signature covers: canonical JSON of
// {seq, hash, time, prev_signature, key_id}.
std::string CheckpointSignedText(const storage::StoredCheckpoint& checkpoint);

// One line of an export (and one element of GET /api/v1/audit): the stored
// record's exact text with its hash added as the last member, so the hashed
// bytes are recovered by cutting that member off again.
std::string ExportLine(const storage::StoredAuditRecord& record);

}  // namespace kiln::audit
