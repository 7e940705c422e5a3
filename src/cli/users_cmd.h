// `kiln users` and `kiln tokens`: identities managed over a running kiln's
// /api/v1/users and /api/v1/tokens (the server decides who may):
//
//   kiln users create NAME [--admin] [--service-account] [--groups a,b]   password on stdin
//   kiln users list
//   kiln users get NAME
//   kiln users delete NAME
//   kiln users set-password NAME      the new password on stdin; changing one's own also
//                                     sends KILN_PASSWORD as the current password
//   kiln users set-admin NAME true|false
//   kiln tokens create [--name N] [--user U] [--expires-in SECONDS]     prints the secret once
//   kiln tokens list [--user U | --all]
//   kiln tokens revoke ID
//
// Passwords are read from stdin (one line; without echo on a terminal),
// never from the command line, which other users of the machine can read.
// Credentials come from the environment: KILN_TOKEN (Bearer), else
// KILN_USERNAME and KILN_PASSWORD (Basic). --url defaults to KILN_URL, else
// http://127.0.0.1:5000. Prints the server's JSON answer; exit 0 on success,
// 1 on a refused or failed call (the server's message on stderr), 2 for bad
// arguments.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace kiln::cli {

struct UsersOptions {
  std::string url = "http://127.0.0.1:5000";
  std::string ca_file;  // https with a private CA (--ca-file / KILN_CA_FILE)
  std::string name;  // user name (users ...) or token name (tokens create)
  bool admin = false;
  bool service_account = false;
  std::vector<std::string> groups;
  std::string admin_value;  // set-admin: true|false
  std::string user;         // tokens create/list: another user
  bool all = false;         // tokens list
  long long expires_in_s = 0;
  std::string id;  // tokens revoke
};

// Adds both `users` and `tokens`.
void RegisterUserCommands(CLI::App& app, UsersOptions& options);
bool UserCommandChosen(const CLI::App& app);
int RunUsers(const CLI::App& app, const UsersOptions& options);

}  // namespace kiln::cli
