#include "cli/users_cmd.h"

#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/http_command.h"
#include "net/http_client.h"

namespace kiln::cli {
namespace {

net::HttpClientOptions ClientOptions(const UsersOptions& o) {
  net::HttpClientOptions http;
  http.ca_file = o.ca_file;
  return http;
}

using json = nlohmann::json;


// One line from stdin; on a terminal, prompted on stderr without echo.
bool ReadPassword(const char* prompt, std::string* out) {
  const bool tty = ::isatty(STDIN_FILENO) != 0;
  termios saved{};
  if (tty) {
    std::fprintf(stderr, "%s", prompt);
    std::fflush(stderr);
    ::tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  bool got = static_cast<bool>(std::getline(std::cin, *out));
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::fprintf(stderr, "\n");
  }
  if (!out->empty() && out->back() == '\r') out->pop_back();
  if (!got || out->empty()) {
    std::fprintf(stderr, "kiln: no password on stdin (give it as one line, e.g. from a file: < pw.txt)\n");
    return false;
  }
  return true;
}

int Call(const UsersOptions& o, const char* tool, const std::string& method, const std::string& path,
         const std::string& body) {
  auto client = net::HttpClient::Create(o.url, ClientOptions(o));
  if (!client.ok()) {
    std::fprintf(stderr, "kiln %s: %s\n", tool, client.status().message().c_str());
    return 2;
  }
  auto headers = KilnAuthHeaders();
  if (!body.empty()) headers["Content-Type"] = "application/json";
  auto res = (*client)->Request(method, path, body, headers);
  if (!res.ok()) {
    std::fprintf(stderr, "kiln %s: %s\n", tool, res.status().message().c_str());
    return 1;
  }
  json j = json::parse(res->body, nullptr, false);
  if (res->status < 200 || res->status >= 300) {
    std::string message = res->body;
    if (!j.is_discarded() && j.is_object()) {
      message = j.value("error_code", std::string("HTTP ") + std::to_string(res->status)) + ": " +
                j.value("message", std::string());
    }
    std::fprintf(stderr, "kiln %s: %ld %s\n", tool, res->status, message.c_str());
    return 1;
  }
  std::printf("%s\n", j.is_discarded() ? res->body.c_str() : j.dump(2).c_str());
  return 0;
}

void AddUrl(CLI::App* cmd, UsersOptions& o) {
  cmd->add_option("--url", o.url, "The kiln server")->envname("KILN_URL")->capture_default_str();
  cmd->add_option("--ca-file", o.ca_file, "CA certificate (PEM) of a server on https with a private CA")
      ->envname("KILN_CA_FILE");
}

int RunUserCommand(const CLI::App& users, const UsersOptions& o) {
  const std::string path = "/api/v1/users/" + UrlEncode(o.name);
  if (users.got_subcommand("create")) {
    json body = {{"name", o.name}, {"admin", o.admin}, {"service_account", o.service_account}};
    if (!o.groups.empty()) body["groups"] = o.groups;
    if (!o.service_account) {
      std::string password;
      if (!ReadPassword("Password for the new user: ", &password)) return 2;
      body["password"] = password;
    }
    return Call(o, "users", "POST", "/api/v1/users", body.dump());
  }
  if (users.got_subcommand("list")) return Call(o, "users", "GET", "/api/v1/users", "");
  if (users.got_subcommand("get")) return Call(o, "users", "GET", path, "");
  if (users.got_subcommand("delete")) return Call(o, "users", "DELETE", path, "");
  if (users.got_subcommand("set-password")) {
    std::string password;
    if (!ReadPassword("New password: ", &password)) return 2;
    json body = {{"password", password}};
    // The server asks for the current password when one changes one's own.
    if (Env("KILN_TOKEN").empty() && Env("KILN_USERNAME") == o.name) body["current_password"] = Env("KILN_PASSWORD");
    return Call(o, "users", "PATCH", path, body.dump());
  }
  if (users.got_subcommand("set-admin")) {
    if (o.admin_value != "true" && o.admin_value != "false") {
      std::fprintf(stderr, "kiln users set-admin: give true or false, not '%s'\n", o.admin_value.c_str());
      return 2;
    }
    return Call(o, "users", "PATCH", path, json{{"admin", o.admin_value == "true"}}.dump());
  }
  return 2;
}

int RunTokenCommand(const CLI::App& tokens, const UsersOptions& o) {
  if (tokens.got_subcommand("create")) {
    json body = json::object();
    if (!o.name.empty()) body["name"] = o.name;
    if (!o.user.empty()) body["user"] = o.user;
    if (o.expires_in_s < 0) {
      std::fprintf(stderr, "kiln tokens create: --expires-in must be positive\n");
      return 2;
    }
    if (o.expires_in_s > 0) body["expires_in_s"] = o.expires_in_s;
    return Call(o, "tokens", "POST", "/api/v1/tokens", body.dump());
  }
  if (tokens.got_subcommand("list")) {
    if (o.all && !o.user.empty()) {
      std::fprintf(stderr, "kiln tokens list: give --user or --all, not both\n");
      return 2;
    }
    std::string path = "/api/v1/tokens";
    if (o.all) path += "?all=true";
    if (!o.user.empty()) path += "?user=" + UrlEncode(o.user);
    return Call(o, "tokens", "GET", path, "");
  }
  if (tokens.got_subcommand("revoke")) return Call(o, "tokens", "DELETE", "/api/v1/tokens/" + UrlEncode(o.id), "");
  return 2;
}

}  // namespace

void RegisterUserCommands(CLI::App& app, UsersOptions& o) {
  auto* users = app.add_subcommand("users", "Users and service accounts of a running kiln (/api/v1/users)");
  users->require_subcommand(1);
  auto* create = users->add_subcommand("create", "Create a user (password on stdin) or a service account");
  AddUrl(create, o);
  create->add_option("name", o.name, "User name")->required();
  create->add_flag("--admin", o.admin, "Make the user an administrator");
  create->add_flag("--service-account", o.service_account, "No password: authenticates with API tokens only");
  create->add_option("--groups", o.groups, "Group memberships (comma-separated or repeated)")->delimiter(',');
  AddUrl(users->add_subcommand("list", "Every user (administrators only)"), o);
  auto* get = users->add_subcommand("get", "One user");
  AddUrl(get, o);
  get->add_option("name", o.name, "User name")->required();
  auto* del = users->add_subcommand("delete", "Delete a user, its tokens and its grants");
  AddUrl(del, o);
  del->add_option("name", o.name, "User name")->required();
  auto* pw = users->add_subcommand("set-password", "Change a password (the new one on stdin)");
  AddUrl(pw, o);
  pw->add_option("name", o.name, "User name")->required();
  auto* adm = users->add_subcommand("set-admin", "Grant or take away administrator rights");
  AddUrl(adm, o);
  adm->add_option("name", o.name, "User name")->required();
  adm->add_option("value", o.admin_value, "true or false")->required();

  auto* tokens = app.add_subcommand("tokens", "API tokens (/api/v1/tokens)");
  tokens->require_subcommand(1);
  auto* tcreate = tokens->add_subcommand("create", "Create a token; its secret is printed once");
  AddUrl(tcreate, o);
  tcreate->add_option("--name", o.name, "What the token is for");
  tcreate->add_option("--user", o.user, "Owner other than oneself (administrators only)");
  tcreate->add_option("--expires-in", o.expires_in_s, "Lifetime in seconds (default: no expiry)");
  auto* tlist = tokens->add_subcommand("list", "Own tokens, or another user's / all (administrators)");
  AddUrl(tlist, o);
  tlist->add_option("--user", o.user, "This user's tokens");
  tlist->add_flag("--all", o.all, "Every user's tokens");
  auto* revoke = tokens->add_subcommand("revoke", "Revoke a token by id");
  AddUrl(revoke, o);
  revoke->add_option("id", o.id, "Token id (tok_...)")->required();
}

bool UserCommandChosen(const CLI::App& app) { return app.got_subcommand("users") || app.got_subcommand("tokens"); }

int RunUsers(const CLI::App& app, const UsersOptions& o) {
  if (app.got_subcommand("users")) return RunUserCommand(*app.get_subcommand("users"), o);
  return RunTokenCommand(*app.get_subcommand("tokens"), o);
}

}  // namespace kiln::cli
