#include "audit/audit_record.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>

#include "audit/audit_crypto.h"
#include "audit/json_check.h"

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

// A valid JSON text without its surrounding whitespace (a trailing newline
// would otherwise end up inside the record).
std::string TrimWhitespace(const std::string& text) {
  const char* ws = " \t\r\n";
  size_t b = text.find_first_not_of(ws);
  size_t e = text.find_last_not_of(ws);
  return text.substr(b, e - b + 1);
}

// A request/before/after field: the body as received when it is JSON and no
// secrets are named; parsed with secrets replaced otherwise; its digest when
// too big -- or when it is not JSON but secrets were named, since they could
// not be found in it to be replaced. Returns the member's JSON text.
std::string Field(const std::string& text, size_t max_bytes, const std::vector<std::string>& secrets,
                  const std::function<std::string(std::string_view)>& hmac) {
  if (secrets.empty()) {
    if (text.size() > max_bytes) return Canonical(Digest(text));
    if (IsValidJson(text)) return TrimWhitespace(text);
    return Canonical(json(text));
  }
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Canonical(Digest(text));
  Redact(parsed, secrets, hmac);
  std::string canonical = Canonical(parsed);
  if (canonical.size() > max_bytes) return Canonical(Digest(canonical));
  return canonical;
}

// Placeholders for what only the writer or the raw bodies fill in: random
// per process, so no value a client sends can contain one.
const std::string& Nonce() {
  static const std::string nonce = [] {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) std::abort();  // no CSPRNG: nothing here can be trusted
    return Sha256Hex(std::string_view(reinterpret_cast<const char*>(b), sizeof b)).substr(0, 32);
  }();
  return nonce;
}

std::string Placeholder(std::string_view name) { return "\x01" + Nonce() + std::string(name); }
// How a placeholder string reads once serialised (quotes included).
std::string Dumped(std::string_view name) { return Canonical(json(Placeholder(name))); }

void ReplaceOnce(std::string& text, const std::string& what, const std::string& with) {
  size_t pos = text.find(what);
  if (pos != std::string::npos) text.replace(pos, what.size(), with);
}


}  // namespace

std::string Canonical(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string RecordParts::Join(std::string_view prev_hash, int64_t seq) const {
  std::string out;
  out.reserve(head.size() + mid.size() + tail.size() + prev_hash.size() + 24);
  out += head;
  out += '"';
  out += prev_hash;
  out += '"';
  out += mid;
  out += std::to_string(seq);
  out += tail;
  return out;
}

RecordParts BuildRecord(const AuditEvent& e, size_t max_field_bytes,
                        const std::function<std::string(std::string_view)>& hmac) {
  json j = json::object();
  auto put = [&j](const char* key, const std::string& value) {
    if (!value.empty()) j[key] = value;
  };
  j["v"] = 1;
  j["time"] = e.time_ms;
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
  std::vector<std::pair<std::string, std::string>> raw;  // dumped placeholder -> member text
  auto field = [&](const char* key, const std::string& text) {
    if (text.empty()) return;
    j[key] = Placeholder(key);
    raw.emplace_back(Dumped(key), Field(text, max_field_bytes, e.secret_fields, hmac));
  };
  field("request", e.request_json);
  field("before", e.before_json);
  field("after", e.after_json);
  j["prev"] = Placeholder("prev");
  j["seq"] = Placeholder("seq");
  const std::string text = Canonical(j);
  // Split first, so nothing a body contains can be taken for prev or seq.
  RecordParts parts;
  const std::string prev = Dumped("prev"), seq = Dumped("seq");
  const size_t p = text.find(prev);
  const size_t s = text.find(seq, p);
  parts.head = text.substr(0, p);
  parts.mid = text.substr(p + prev.size(), s - p - prev.size());
  parts.tail = text.substr(s + seq.size());
  for (const auto& [placeholder, member] : raw) {
    ReplaceOnce(parts.head, placeholder, member);
    ReplaceOnce(parts.mid, placeholder, member);
  }
  return parts;
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
