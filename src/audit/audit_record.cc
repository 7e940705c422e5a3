#include "audit/audit_record.h"

#include <algorithm>

#include "audit/audit_crypto.h"

namespace kiln::audit {
namespace {

using json = nlohmann::json;

bool IsSecret(const std::string& key, const std::vector<std::string>& secrets) {
  return std::find(secrets.begin(), secrets.end(), key) != secrets.end();
}

void Redact(json& value, const std::vector<std::string>& secrets,
            const std::function<std::string(std::string_view)>& hmac) {
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (IsSecret(it.key(), secrets)) {
        if (it->is_null()) continue;
        std::string text = it->is_string() ? it->get<std::string>() : Canonical(*it);
        *it = "hmac-sha256:" + hmac(text);
      } else {
        Redact(*it, secrets, hmac);
      }
    }
  } else if (value.is_array()) {
    for (auto& v : value) Redact(v, secrets, hmac);
  }
}

json Digest(std::string_view text) { return {{"sha256", Sha256Hex(text)}, {"bytes", text.size()}}; }

// A request/before/after field: parsed JSON (secrets replaced), or its
// digest when too big -- or when it is not JSON but secrets were named, since
// they could not be found in it to be replaced.
json Field(const std::string& text, size_t max_bytes, const std::vector<std::string>& secrets,
           const std::function<std::string(std::string_view)>& hmac) {
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    if (!secrets.empty() || text.size() > max_bytes) return Digest(text);
    return text;
  }
  if (!secrets.empty()) Redact(parsed, secrets, hmac);
  std::string canonical = Canonical(parsed);
  if (canonical.size() > max_bytes) return Digest(canonical);
  return parsed;
}

}  // namespace

std::string Canonical(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

json RecordBody(const AuditEvent& e, size_t max_field_bytes,
                const std::function<std::string(std::string_view)>& hmac) {
  json j = json::object();
  auto put = [&j](const char* key, const std::string& value) {
    if (!value.empty()) j[key] = value;
  };
  j["v"] = 1;
  put("audit_id", e.audit_id);
  put("stage", e.stage);
  put("actor", e.actor);
  put("actor_kind", e.actor_kind);
  put("auth_method", e.auth_method);
  put("credential_id", e.credential_id);
  put("impersonated_by", e.impersonated_by);
  put("source", e.source);
  put("protocol", e.protocol);
  put("service", e.service);
  put("action", e.action);
  put("method", e.method);
  put("path", e.path);
  put("object", e.object);
  if (!e.objects.empty()) j["objects"] = e.objects;
  put("decision", e.decision);
  put("reason", e.reason);
  if (e.status != 0) j["status"] = e.status;
  put("error", e.error);
  if (!e.request_json.empty()) j["request"] = Field(e.request_json, max_field_bytes, e.secret_fields, hmac);
  if (!e.before_json.empty()) j["before"] = Field(e.before_json, max_field_bytes, e.secret_fields, hmac);
  if (!e.after_json.empty()) j["after"] = Field(e.after_json, max_field_bytes, e.secret_fields, hmac);
  return j;
}

std::string CheckpointSignedText(const storage::StoredCheckpoint& c) {
  return Canonical(json{{"seq", c.seq},
                        {"hash", c.hash},
                        {"time", c.time_ms},
                        {"prev_signature", c.prev_signature},
                        {"key_id", c.key_id}});
}

std::string ExportLine(const storage::StoredAuditRecord& r) {
  std::string line = r.json;
  if (!line.empty() && line.back() == '}') {
    line.pop_back();
    if (line.size() > 1) line += ',';
    line += "\"hash\":\"" + r.hash + "\"}";
  }
  return line;
}

}  // namespace kiln::audit
