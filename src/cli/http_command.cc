#include "cli/http_command.h"

#include <cctype>
#include <cstdlib>

#include "core/base64.h"

namespace kiln::cli {
std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::map<std::string, std::string> KilnAuthHeaders() {
  std::map<std::string, std::string> h;
  if (std::string token = Env("KILN_TOKEN"); !token.empty()) {
    h["Authorization"] = "Bearer " + token;
  } else if (std::string user = Env("KILN_USERNAME"); !user.empty()) {
    h["Authorization"] = "Basic " + Base64Encode(user + ":" + Env("KILN_PASSWORD"));
  }
  return h;
}

std::string UrlEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace kiln::cli
