#include "cli/audit_cmd.h"

#include "cli/backends.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "audit/audit_crypto.h"
#include "audit/audit_record.h"
#include "audit/audit_verify.h"
#include "storage/sql/sql_audit_store.h"
#include "storage/sqlite/sqlite_audit_db.h"

namespace kiln::cli {
namespace {

void AddStoreOptions(CLI::App& cmd, AuditCmdOptions& o) {
  cmd.add_option("--data-dir", o.data_dir, "The data dir `kiln serve` uses")->envname("KILN_DATA_DIR")->capture_default_str();
  cmd.add_option("--audit-db", o.audit_db, "The audit database file (default <data-dir>/audit.db)")->envname("KILN_AUDIT_DB");
  cmd.add_option("--database-uri", o.database_uri,
                 "PostgreSQL: the metadata database holding the audit tables (as `kiln serve --database-uri`)")
      ->envname("KILN_DATABASE_URI");
  cmd.add_option("--database-password-file", o.database_password_file, "File holding the PostgreSQL password")
      ->envname("KILN_DATABASE_PASSWORD_FILE");
}

std::string DbPath(const AuditCmdOptions& o) { return o.audit_db.empty() ? o.data_dir + "/audit.db" : o.audit_db; }

// The audit log's database: its own SQLite file, or (PostgreSQL) the
// metadata database, opened without migrating anything.
StatusOr<std::unique_ptr<storage::sql::Database>> OpenAuditLog(const AuditCmdOptions& o) {
  Config c;
  c.data_dir = o.data_dir;
  c.database_uri = o.database_uri;
  c.database_password_file = o.database_password_file;
  c.database_pool = 2;
  if (UsesPostgres(c)) return OpenMetadataDatabase(c, /*migrate=*/false);
  return storage::sqlite::OpenAuditDatabaseReadOnly(DbPath(o));
}

StatusOr<std::string> PublicKeyPem(const AuditCmdOptions& o) {
  if (!o.public_key.empty()) {
    std::ifstream in(o.public_key, std::ios::binary);
    if (!in) return NotFound("cannot read public key " + o.public_key);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string path = o.key_file.empty() ? o.data_dir + "/audit_signing_key.pem" : o.key_file;
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<audit::Ed25519Key> key, audit::Ed25519Key::LoadPrivate(path));
  return key->PublicPem();
}

// Milliseconds since the epoch, or ISO 8601 "YYYY-MM-DD[THH:MM[:SS[.fff]]][Z]" in UTC.
StatusOr<int64_t> ParseTime(const std::string& text) {
  if (text.empty()) return int64_t{0};
  if (text.find_first_not_of("0123456789") == std::string::npos) return static_cast<int64_t>(std::stoll(text));
  std::tm tm{};
  int ms = 0;
  int n = 0;
  int fields = std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n);
  if (fields != 3) return InvalidArgument("invalid time '" + text + "': ms since the epoch or ISO 8601 expected");
  std::string rest = text.substr(static_cast<size_t>(n));
  if (!rest.empty() && (rest[0] == 'T' || rest[0] == ' ')) {
    int m = 0;
    if (std::sscanf(rest.c_str() + 1, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &m) != 2) {
      return InvalidArgument("invalid time '" + text + "'");
    }
    rest = rest.substr(1 + static_cast<size_t>(m));
    if (!rest.empty() && rest[0] == ':') {
      int k = 0;
      if (std::sscanf(rest.c_str() + 1, "%2d%n", &tm.tm_sec, &k) != 1) return InvalidArgument("invalid time '" + text + "'");
      rest = rest.substr(1 + static_cast<size_t>(k));
      if (!rest.empty() && rest[0] == '.') {
        size_t digits = rest.find_first_not_of("0123456789", 1);
        std::string frac = rest.substr(1, digits == std::string::npos ? std::string::npos : digits - 1);
        frac = (frac + "000").substr(0, 3);
        ms = std::stoi(frac);
        rest = digits == std::string::npos ? "" : rest.substr(digits);
      }
    }
  }
  if (!rest.empty() && rest != "Z" && rest != "+00:00") {
    return InvalidArgument("invalid time '" + text + "': only UTC (Z or no zone) is accepted");
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

int Verify(const AuditCmdOptions& o) {
  auto pem = PublicKeyPem(o);
  if (!pem.ok()) {
    std::fprintf(stderr, "kiln audit verify: %s\n", pem.status().message().c_str());
    return 2;
  }
  auto audit_db = OpenAuditLog(o);
  if (!audit_db.ok()) {
    std::fprintf(stderr, "kiln audit verify: %s\n", audit_db.status().message().c_str());
    return 2;
  }
  storage::SqlAuditStore store(**audit_db);
  auto result = audit::VerifyAuditStore(store, *pem);
  if (!result.ok()) {
    std::fprintf(stderr, "kiln audit verify: %s\n", result.status().message().c_str());
    return 2;
  }
  const audit::AuditVerifyResult& r = *result;
  if (o.json) {
    nlohmann::json j = {{"ok", r.ok},
                        {"records", r.records},
                        {"first_seq", r.first_seq},
                        {"last_seq", r.last_seq},
                        {"checkpoints", r.checkpoints},
                        {"last_checkpoint_seq", r.last_checkpoint_seq},
                        {"uncovered", r.uncovered},
                        {"key_id", r.key_id}};
    if (!r.ok) {
      j["bad_seq"] = r.bad_seq;
      j["problem"] = std::string(audit::AuditProblemName(r.problem));
      j["message"] = r.message;
    }
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%s\n", audit::DescribeResult(r).c_str());
  }
  return r.ok ? 0 : 1;
}

int Export(const AuditCmdOptions& o) {
  auto since = ParseTime(o.since);
  auto until = ParseTime(o.until);
  if (!since.ok() || !until.ok()) {
    std::fprintf(stderr, "kiln audit export: %s\n", (since.ok() ? until.status() : since.status()).message().c_str());
    return 2;
  }
  auto audit_db = OpenAuditLog(o);
  if (!audit_db.ok()) {
    std::fprintf(stderr, "kiln audit export: %s\n", audit_db.status().message().c_str());
    return 2;
  }
  storage::SqlAuditStore store(**audit_db);
  storage::AuditQuery q;
  q.since_ms = *since;
  q.until_ms = *until;
  q.after_seq = o.after_seq;
  q.actor = o.actor;
  q.action_prefix = o.action;
  q.max_results = 1000;
  int64_t lines = 0;
  while (true) {
    auto page = store.Query(q);
    if (!page.ok()) {
      std::fprintf(stderr, "kiln audit export: %s\n", page.status().message().c_str());
      return 2;
    }
    for (const auto& r : *page) {
      std::string line = audit::ExportLine(r);
      line += '\n';
      if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size()) {
        std::fprintf(stderr, "kiln audit export: write failed\n");
        return 2;
      }
      ++lines;
    }
    if (static_cast<int64_t>(page->size()) < q.max_results) break;
    q.after_seq = page->back().seq;
  }
  if (std::fflush(stdout) != 0) return 2;
  std::fprintf(stderr, "kiln audit export: %lld records\n", static_cast<long long>(lines));
  return 0;
}

}  // namespace

void RegisterAuditCommands(CLI::App& app, AuditCmdOptions& o) {
  auto* audit = app.add_subcommand("audit", "The audit log: verify its hash chain and signatures, export it");
  audit->require_subcommand(1);
  auto* verify = audit->add_subcommand("verify", "Check every record and signed checkpoint; name the first bad record");
  AddStoreOptions(*verify, o);
  verify->add_option("--public-key", o.public_key, "PEM public key the checkpoints must verify against");
  verify->add_option("--key-file", o.key_file,
                     "Or the signing key itself (default <data-dir>/audit_signing_key.pem)")
      ->envname("KILN_AUDIT_KEY_FILE");
  verify->add_flag("--json", o.json, "Print the result as JSON");
  auto* exp = audit->add_subcommand("export", "Write records as JSON lines to stdout");
  AddStoreOptions(*exp, o);
  exp->add_option("--since", o.since, "Records at or after this time (ms since the epoch or ISO 8601 UTC)");
  exp->add_option("--until", o.until, "Records at or before this time");
  exp->add_option("--after-seq", o.after_seq, "Records after this seq (resume an export)");
  exp->add_option("--actor", o.actor, "Only this principal's records");
  exp->add_option("--action", o.action, "Only actions starting with this prefix (e.g. mlflow.)");
}

bool AuditCommandChosen(const CLI::App& app) { return app.got_subcommand("audit"); }

int RunAudit(const CLI::App& app, const AuditCmdOptions& options) {
  const CLI::App* audit = app.get_subcommand("audit");
  if (audit->got_subcommand("verify")) return Verify(options);
  return Export(options);
}

}  // namespace kiln::cli
