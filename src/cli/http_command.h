// What the CLI's HTTP commands (kiln users, tokens, grants) share: the
// caller's credentials from the environment and path encoding.
#pragma once

#include <map>
#include <string>

namespace kiln::cli {

// The environment variable's value, or empty.
std::string Env(const char* name);
// Authorization from KILN_TOKEN (Bearer), else KILN_USERNAME/KILN_PASSWORD
// (Basic); empty when neither is set.
std::map<std::string, std::string> KilnAuthHeaders();
// Percent-encodes everything but RFC 3986's unreserved characters.
std::string UrlEncode(const std::string& s);

}  // namespace kiln::cli
