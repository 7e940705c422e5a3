#include "cli/grants_cmd.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/http_command.h"
#include "net/http_client.h"

namespace kiln::cli {
namespace {

net::HttpClientOptions ClientOptions(const GrantsOptions& o) {
  net::HttpClientOptions http;
  http.ca_file = o.ca_file;
  return http;
}

using json = nlohmann::json;


int Call(const GrantsOptions& o, const std::string& method, const std::string& path, const std::string& body) {
  auto client = net::HttpClient::Create(o.url, ClientOptions(o));
  if (!client.ok()) {
    std::fprintf(stderr, "kiln grants: %s\n", client.status().message().c_str());
    return 2;
  }
  auto headers = KilnAuthHeaders();
  if (!body.empty()) headers["Content-Type"] = "application/json";
  auto res = (*client)->Request(method, path, body, headers);
  if (!res.ok()) {
    std::fprintf(stderr, "kiln grants: %s\n", res.status().message().c_str());
    return 1;
  }
  json j = json::parse(res->body, nullptr, false);
  if (res->status < 200 || res->status >= 300) {
    std::string message = res->body;
    if (!j.is_discarded() && j.is_object()) {
      message = j.value("error_code", std::string("HTTP ") + std::to_string(res->status)) + ": " +
                j.value("message", std::string());
    }
    std::fprintf(stderr, "kiln grants: %ld %s\n", res->status, message.c_str());
    return 1;
  }
  std::printf("%s\n", j.is_discarded() ? res->body.c_str() : j.dump(2).c_str());
  return 0;
}

// Exactly one subject for create; at most one for list.
bool Subject(const GrantsOptions& o, bool required, std::string* kind, std::string* name) {
  if (!o.user.empty() && !o.group.empty()) {
    std::fprintf(stderr, "kiln grants: give --user or --group, not both\n");
    return false;
  }
  if (!o.user.empty()) {
    *kind = "user";
    *name = o.user;
  } else if (!o.group.empty()) {
    *kind = "group";
    *name = o.group;
  } else if (required) {
    std::fprintf(stderr, "kiln grants: --user or --group is required\n");
    return false;
  }
  return true;
}

void AddUrl(CLI::App* cmd, GrantsOptions& o) {
  cmd->add_option("--url", o.url, "The kiln server")->envname("KILN_URL")->capture_default_str();
  cmd->add_option("--ca-file", o.ca_file, "CA certificate (PEM) of a server on https with a private CA")
      ->envname("KILN_CA_FILE");
}

}  // namespace

void RegisterGrantsCommands(CLI::App& app, GrantsOptions& o) {
  auto* grants = app.add_subcommand("grants", "Roles of users and groups on objects (/api/v1/grants)");
  grants->require_subcommand(1);
  const std::string kinds = "global, experiment, registered_model, feature_project, feature_view or endpoint";
  auto* create = grants->add_subcommand("create", "Grant a role (replaces the subject's role on the object; none removes it)");
  AddUrl(create, o);
  create->add_option("--user", o.user, "User or service account receiving the role");
  create->add_option("--group", o.group, "Group receiving the role");
  create->add_option("--object-kind", o.object_kind, kinds)->required();
  create->add_option("--object-id", o.object_id, "Experiment id, model or endpoint name, project, project/view");
  create->add_option("--role", o.role, "viewer, editor, manager, admin or none")->required();
  auto* list = grants->add_subcommand("list", "Grants the caller may see");
  AddUrl(list, o);
  list->add_option("--user", o.user, "Only grants to this user");
  list->add_option("--group", o.group, "Only grants to this group");
  list->add_option("--object-kind", o.object_kind, kinds);
  list->add_option("--object-id", o.object_id, "Only grants on this object");
  auto* del = grants->add_subcommand("delete", "Remove a grant by id");
  AddUrl(del, o);
  del->add_option("id", o.id, "Grant id")->required();
}

bool GrantsCommandChosen(const CLI::App& app) { return app.got_subcommand("grants"); }

int RunGrants(const CLI::App& app, const GrantsOptions& o) {
  const CLI::App* grants = app.get_subcommand("grants");
  std::string kind, name;
  if (grants->got_subcommand("create")) {
    if (!Subject(o, true, &kind, &name)) return 2;
    json body = {{"subject_kind", kind}, {"subject", name}, {"object_kind", o.object_kind}, {"role", o.role}};
    if (!o.object_id.empty()) body["object_id"] = o.object_id;
    return Call(o, "POST", "/api/v1/grants", body.dump());
  }
  if (grants->got_subcommand("list")) {
    if (!Subject(o, false, &kind, &name)) return 2;
    std::string query;
    auto add = [&query](const char* key, const std::string& value) {
      if (value.empty()) return;
      query += query.empty() ? "?" : "&";
      query += std::string(key) + "=" + UrlEncode(value);
    };
    add("subject_kind", kind);
    add("subject", name);
    add("object_kind", o.object_kind);
    add("object_id", o.object_id);
    // Every page, so the listing is complete.
    json all = json::array();
    std::string token;
    for (;;) {
      std::string path = "/api/v1/grants" + query;
      path += query.empty() ? "?" : "&";
      path += "max_results=1000";
      if (!token.empty()) path += "&page_token=" + UrlEncode(token);
      auto client = net::HttpClient::Create(o.url, ClientOptions(o));
      if (!client.ok()) {
        std::fprintf(stderr, "kiln grants: %s\n", client.status().message().c_str());
        return 2;
      }
      auto res = (*client)->Request("GET", path, "", KilnAuthHeaders());
      if (!res.ok() || res->status != 200) return Call(o, "GET", path, "");  // reports the error
      json page = json::parse(res->body, nullptr, false);
      if (page.is_discarded()) return Call(o, "GET", path, "");
      for (auto& g : page["grants"]) all.push_back(std::move(g));
      if (!page.contains("next_page_token")) break;
      token = page["next_page_token"].get<std::string>();
    }
    std::printf("%s\n", json{{"grants", std::move(all)}}.dump(2).c_str());
    return 0;
  }
  if (grants->got_subcommand("delete")) return Call(o, "DELETE", "/api/v1/grants/" + UrlEncode(o.id), "");
  return 2;
}

}  // namespace kiln::cli
