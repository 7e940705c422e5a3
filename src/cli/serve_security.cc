#include "cli/serve_security.h"

#include "cli/backends.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "audit/registry_events.h"
#include "core/log.h"

namespace kiln::cli {
namespace {

std::string InDataDir(const Config& c, const std::string& configured, const char* file) {
  if (!configured.empty()) return configured;
  return (std::filesystem::path(c.data_dir) / file).string();
}

// KILN_ADMIN_PASSWORD or the first line of --admin-password-file.
StatusOr<std::string> AdminPassword(const Config& c) {
  if (!c.admin_password_file.empty()) {
    std::ifstream in(c.admin_password_file);
    if (!in) return InvalidArgument("invalid --admin-password-file '" + c.admin_password_file + "': cannot read it");
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' ')) line.pop_back();
    if (line.empty()) return InvalidArgument("invalid --admin-password-file '" + c.admin_password_file + "': empty");
    return line;
  }
  if (const char* env = std::getenv("KILN_ADMIN_PASSWORD"); env != nullptr && *env != '\0') return std::string(env);
  return std::string();
}

}  // namespace

SecurityStack::~SecurityStack() = default;

StatusOr<std::unique_ptr<SecurityStack>> SecurityStack::Build(const Config& config, storage::sql::Database& database,
                                                             Clock& clock, MetricsRegistry* metrics) {
  auto s = std::make_unique<SecurityStack>();
  auto secret = auth::ServerSecret::LoadOrCreate(InDataDir(config, config.secret_key_file, "secret.key"),
                                                 config.secret_key_file.empty());
  if (!secret.ok()) return Status(secret.status().code(), "invalid --secret-key-file: " + secret.status().message());
  s->secret = std::move(*secret);
  s->identity_store = std::make_unique<storage::SqlIdentityStore>(database);

  if (!config.oidc_issuer.empty()) {
    auth::OidcOptions o;
    o.issuer = config.oidc_issuer;
    o.audience = config.oidc_audience;
    o.jwks_uri = config.oidc_jwks_uri;
    o.username_claim = config.oidc_username_claim;
    o.groups_claim = config.oidc_groups_claim;
    o.roles_claim = config.oidc_roles_claim;
    auto oidc = auth::OidcVerifier::Create(o, clock);
    if (!oidc.ok()) return Status(oidc.status().code(), "invalid --oidc-issuer: " + oidc.status().message());
    s->oidc = std::move(*oidc);
  }
  s->authenticator =
      auth::Authenticator::Create(*s->identity_store, *s->secret, s->oidc.get(), clock, auth::AuthenticatorOptions{});
  auth::AuthorizerOptions authz;
  authz.default_role = config.default_role == "none" ? Role::kNone : Role::kViewer;
  auto authorizer = auth::Authorizer::Create(*s->identity_store, authz);
  if (!authorizer.ok()) return authorizer.status();
  s->authorizer = std::move(*authorizer);
  s->identities = auth::IdentityService::Create(*s->identity_store, *s->secret, clock);

  if (config.auth) {
    KILN_ASSIGN_OR_RETURN(std::string password, AdminPassword(config));
    KILN_ASSIGN_OR_RETURN(int64_t users, s->identity_store->CountUsers());
    if (users == 0 && password.empty()) {
      return FailedPrecondition(
          "--auth is on and no user exists yet: set the admin's password with KILN_ADMIN_PASSWORD or "
          "--admin-password-file (kiln has no default password)");
    }
    if (users == 0) {
      KILN_RETURN_IF_ERROR(s->identities->EnsureAdmin(password));
      log::Info("created the admin user 'admin'");
    }
  }

  if (config.audit) {
    // SQLite: the audit log has a file of its own; PostgreSQL: its tables
    // are in the metadata database (OpenAuditDatabase returns null).
    const std::string path =
        UsesPostgres(config) ? DescribeDatabase(config) : InDataDir(config, config.audit_db, "audit.db");
    auto audit_db = OpenAuditDatabase(config);
    if (!audit_db.ok()) return Status(audit_db.status().code(), "cannot open the audit log " + path + ": " +
                                                                    audit_db.status().message());
    s->audit_database = std::move(*audit_db);
    s->audit_store = std::make_unique<storage::SqlAuditStore>(s->audit_database ? *s->audit_database : database);
    audit::AuditOptions a;
    a.key_file = InDataDir(config, config.audit_key_file, "audit_signing_key.pem");
    a.hmac_key = s->secret->bytes();
    a.metrics = metrics;
    auto log = audit::AuditLog::Create(*s->audit_store, a, clock);
    if (!log.ok()) return Status(log.status().code(), "cannot start the audit log " + path + ": " +
                                                          log.status().message());
    s->audit = std::move(*log);
  }

  api::gate::GateOptions g;
  g.auth = config.auth;
  g.audit_fail_open = config.audit_fail_open;
  s->gate = std::make_unique<api::gate::RequestGate>(g, config.auth ? s->authenticator.get() : nullptr,
                                                      config.auth ? s->authorizer.get() : nullptr, s->audit.get());
  return s;
}

}  // namespace kiln::cli

namespace kiln::cli {

void SecurityStack::AuditRegistryEvents(registry::EventRecorder& events) {
  if (audit != nullptr) events.Subscribe(audit::RegistryEventSubscriber(*audit));
}

Status SecurityStack::AuditStartup(const Config& c) {
  if (audit == nullptr) return Status::Ok();
  nlohmann::json settings = {
      {"host", c.host},
      {"port", c.port},
      {"grpc_port", c.grpc_port},
      {"data_dir", c.data_dir},
      {"auth", c.auth},
      {"default_role", c.default_role},
      {"oidc_issuer", c.oidc_issuer},
      {"oidc_audience", c.oidc_audience},
      {"audit_fail_open", c.audit_fail_open},
      {"tls", !c.tls_cert_file.empty()},
      {"mtls", !c.tls_client_ca_file.empty()},
      {"model_repository", c.model_repository},
      {"max_body_bytes", c.max_body_bytes},
      {"worker_queue", c.worker_queue},
  };
  audit::AuditEvent e;
  e.stage = "event";
  e.actor = "system";
  e.actor_kind = "system";
  e.service = "config";
  e.action = "config.start";
  e.decision = "allow";
  e.after_json = settings.dump();
  return audit->Record(std::move(e)).status();
}

}  // namespace kiln::cli
