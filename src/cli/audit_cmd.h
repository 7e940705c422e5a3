// `kiln audit verify` and `kiln audit export`: the audit log read straight
// from its database file (a server may be writing it meanwhile; WAL readers
// do not block it).
//
//   kiln audit verify [--data-dir D | --audit-db F | --database-uri postgresql://...] [--public-key PEM | --key-file K] [--json]
//       exit 0 and a summary when every record and checkpoint checks out,
//       1 naming the first bad record otherwise, 2 when the log or key
//       cannot be read. Verify against a public key kept away from the
//       server (GET /api/v1/audit/public-key): whoever holds the private key
//       file can re-sign a rewritten log.
//   kiln audit export [--data-dir D | --audit-db F] [--since T] [--until T] [--after-seq N]
//                     [--actor A] [--action PREFIX] > audit.jsonl
//       one record per line (its stored JSON with "hash" added last).
#pragma once

#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace kiln::cli {

struct AuditCmdOptions {
  std::string data_dir = "./kiln-data";
  std::string audit_db;    // default <data-dir>/audit.db
  std::string database_uri;            // PostgreSQL: the audit tables live in the metadata database
  std::string database_password_file;
  std::string public_key;  // PEM file of the checkpoint key's public half
  std::string key_file;    // or the private key (default <data-dir>/audit_signing_key.pem)
  bool json = false;
  // export
  std::string since;  // ms since the epoch or ISO 8601 (UTC when no zone)
  std::string until;
  int64_t after_seq = 0;
  std::string actor;
  std::string action;
};

void RegisterAuditCommands(CLI::App& app, AuditCmdOptions& options);
bool AuditCommandChosen(const CLI::App& app);
int RunAudit(const CLI::App& app, const AuditCmdOptions& options);

}  // namespace kiln::cli
