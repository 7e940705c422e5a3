// The security stack of `kiln serve`: the server secret, identities and
// credentials, grants, the audit log and the request gate in front of every
// route, built from the configuration in one place.
//
// Ownership: owns every piece; borrows the metadata database and the clock,
// which must outlive it. Destroy it after the servers have stopped (the
// audit log writes its final checkpoint then).
#pragma once

#include <memory>
#include <string>

#include "api/gate/request_gate.h"
#include "audit/audit_log.h"
#include "auth/authenticator.h"
#include "auth/authorizer.h"
#include "auth/identity_service.h"
#include "auth/oidc_verifier.h"
#include "auth/server_secret.h"
#include "cli/config.h"
#include "core/clock.h"
#include "registry/event_recorder.h"
#include "storage/sql/sql_audit_store.h"
#include "storage/sql/sql_conn.h"
#include "storage/sql/sql_identity_store.h"

namespace kiln::cli {

struct SecurityStack {
  std::unique_ptr<auth::ServerSecret> secret;
  std::unique_ptr<storage::SqlIdentityStore> identity_store;
  std::unique_ptr<auth::OidcVerifier> oidc;  // null without --oidc-issuer
  std::unique_ptr<auth::Authenticator> authenticator;
  std::unique_ptr<auth::Authorizer> authorizer;
  std::unique_ptr<auth::IdentityService> identities;
  std::unique_ptr<storage::sql::Database> audit_database;  // audit.db; null with --audit=false or on PostgreSQL
  std::unique_ptr<storage::SqlAuditStore> audit_store;     // null with --audit=false
  std::unique_ptr<audit::AuditLog> audit;                  // null with --audit=false
  std::unique_ptr<api::gate::RequestGate> gate;

  // Errors name the setting at fault; with --auth and no admin yet, a missing
  // admin password is an error (there is no default password).
  // `metrics` (may be null) gets the audit log's counters.
  static StatusOr<std::unique_ptr<SecurityStack>> Build(const Config& config, storage::sql::Database& database,
                                                       Clock& clock, MetricsRegistry* metrics = nullptr);
  ~SecurityStack();

  // The registry's own events (stage changes, alias moves, deletions, with
  // their before/after) become audit records too.
  void AuditRegistryEvents(registry::EventRecorder& events);
  // The configuration the server started with (the "configuration" service
  // of the audit log): paths and switches, never a secret.
  Status AuditStartup(const Config& config);
};

}  // namespace kiln::cli
