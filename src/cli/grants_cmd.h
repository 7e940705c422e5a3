// `kiln grants`: roles on objects, managed over a running kiln's
// /api/v1/grants (what an administrator or an object's manager may do; the
// server decides):
//
//   kiln grants create (--user U | --group G) --object-kind K [--object-id ID] --role R [--url URL]
//   kiln grants list [--user U | --group G] [--object-kind K] [--object-id ID] [--url URL]
//   kiln grants delete ID [--url URL]
//
// Role "none" with create removes the grant of that subject on that object.
// Credentials come from the environment, never the command line (which other
// users of the machine can read): KILN_TOKEN (Bearer), else KILN_USERNAME and
// KILN_PASSWORD (Basic). --url defaults to KILN_URL, else http://127.0.0.1:5000.
// Prints the server's JSON answer; exit 0 on success, 1 on a refused or
// failed call (the server's message on stderr), 2 for bad arguments.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace kiln::cli {

struct GrantsOptions {
  std::string url = "http://127.0.0.1:5000";
  std::string ca_file;  // https with a private CA (--ca-file / KILN_CA_FILE)
  std::string user;
  std::string group;
  std::string object_kind;
  std::string object_id;
  std::string role;
  std::string id;  // delete
};

void RegisterGrantsCommands(CLI::App& app, GrantsOptions& options);
bool GrantsCommandChosen(const CLI::App& app);
int RunGrants(const CLI::App& app, const GrantsOptions& options);

}  // namespace kiln::cli
