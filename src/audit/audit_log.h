// AuditLog: the one path every mutation of every service, and every denied
// request, is recorded through. Records are hash-chained (each commits to the
// previous record's hash) and periodically covered by an Ed25519-signed
// checkpoint that also commits to the previous checkpoint, so `kiln audit
// verify` detects an edited, removed, reordered or truncated record.
//
// Fail-closed: Record() returns an error when the record could not be
// written, and the request gate then refuses the mutation (503).
// Secrets named by the caller are replaced by HMAC-SHA256 under the server
// key ("hmac-sha256:<hex>"), so a known value can be looked up without being
// stored.
//
// Ownership: borrows the AuditStore; owns its writer state and signing key.
// Thread-safety: all methods are thread-safe; Record() blocks until the record
// is stored (appends from concurrent callers are committed together) --
// except for stage "response": a mutation's outcome is recorded after the
// change is done, when refusing is no longer possible, so its record is
// queued and committed with the next batch (within a few milliseconds, and
// before the log closes); a failure to write it is logged.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "core/status.h"
#include "storage/audit_store.h"

namespace kiln::audit {

struct AuditEvent {
  std::string audit_id;        // set by Record() when empty; the response's X-Kiln-Audit-Id
  std::string stage;           // "request" (before a mutation), "response" (its outcome), "denied", "event"
  std::string actor;           // principal name; "anonymous" when none
  std::string actor_kind;      // "user", "service_account", "external", "anonymous", "system"
  std::string auth_method;     // "basic", "token", "oidc", ""
  std::string credential_id;   // token id, never a secret
  std::string impersonated_by;
  std::string source;          // peer address
  std::string protocol;        // "http", "https", "grpc"
  std::string service;         // "mlflow", "registry", "feast", "serving", "platform", "auth", "audit", "config"
  std::string action;          // e.g. "mlflow.runs.log-batch", "feast.ApplyFeatureView", "registry.transition_stage"
  std::string method;          // HTTP method or gRPC full method
  std::string path;
  std::string object;          // ObjectRef::ToString() of the first object, or empty
  std::vector<std::string> objects;  // all located objects
  std::string decision;        // "allow" or "deny"
  std::string reason;          // why denied, or which grant matched ("grant 12: editor on experiment:3", "admin", "default role")
  int status = 0;              // outcome (response stage): HTTP status or gRPC code
  std::string error;           // outcome message when it failed
  std::string request_json;    // the request body (JSON) or a digest of it; secrets replaced
  std::string before_json;     // object state before a mutation, when known
  std::string after_json;      // and after
  std::vector<std::string> secret_fields;  // JSON keys in request/before/after to replace by their HMAC
  int64_t time_ms = 0;         // set by Record() when 0
};

struct AuditOptions {
  std::string key_file;          // Ed25519 signing key (PEM); created 0600 when missing
  std::string hmac_key;          // the server secret for HMAC of secrets (raw bytes)
  int64_t checkpoint_every = 1000;        // records between checkpoints
  int64_t checkpoint_interval_ms = 10000; // and at most this long
  size_t max_field_bytes = 64 * 1024;     // request/before/after beyond this are replaced by their SHA-256 and size
  // When set (borrowed; must outlive the log): kiln_audit_records_total,
  // kiln_audit_write_failures_total and kiln_audit_checkpoint_failures_total,
  // all exported at 0 from the start so alerts have a series before the
  // first failure (docs/monitoring.md).
  MetricsRegistry* metrics = nullptr;
};

class AuditLog {
 public:
  // Opens the log: loads (or creates) the signing key, reads the chain's last
  // hash, and writes a "startup" event as the test write (fails when the store
  // cannot be written, so a server with a broken audit store does not start).
  static StatusOr<std::unique_ptr<AuditLog>> Create(storage::AuditStore& store, const AuditOptions& options,
                                                    Clock& clock);
  ~AuditLog();  // writes a final checkpoint

  // Stores the event (hash-chained). Returns its audit id.
  StatusOr<std::string> Record(AuditEvent event);
  // Writes a checkpoint now when records were added since the last one
  // (queued outcome records first).
  Status Checkpoint();
  // Writes queued outcome records now, so a query sees every record made
  // before it.
  void Flush();
  // A fresh id ("aud_" + random hex), for callers that need it before Record().
  static std::string NewId();
  // The public key (PEM) checkpoints verify against.
  std::string PublicKeyPem() const;
  // First 16 hex digits of SHA-256 of the raw public key (checkpoints name it).
  std::string KeyId() const;
  // HMAC of a secret value as it appears in records.
  std::string HmacOf(std::string_view secret) const;

 private:
  class Impl;
  explicit AuditLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::audit
