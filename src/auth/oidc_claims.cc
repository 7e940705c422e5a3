#include "auth/oidc_claims.h"

#include <algorithm>
#include <string>
#include <vector>

namespace kiln::auth {
namespace {

using Json = nlohmann::json;

const Json* Claim(const Json& claims, const std::string& name) {
  if (auto it = claims.find(name); it != claims.end()) return &*it;
  if (name.find('.') == std::string::npos) return nullptr;
  const Json* at = &claims;
  size_t start = 0;
  while (start <= name.size()) {
    const size_t dot = std::min(name.find('.', start), name.size());
    if (!at->is_object()) return nullptr;
    auto it = at->find(name.substr(start, dot - start));
    if (it == at->end()) return nullptr;
    at = &*it;
    start = dot + 1;
  }
  return at;
}

// A claim that is one string or an array of strings (other array members are ignored).
std::vector<std::string> Strings(const Json* value) {
  std::vector<std::string> out;
  if (!value) return out;
  if (value->is_string()) {
    out.push_back(value->get<std::string>());
  } else if (value->is_array()) {
    for (const Json& v : *value) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

StatusOr<double> NumericDate(const Json& claims, const char* name, bool required) {
  auto it = claims.find(name);
  if (it == claims.end()) {
    if (required) return Unauthenticated(std::string("token has no ") + name);
    return -1.0;
  }
  if (!it->is_number()) return Unauthenticated(std::string("token ") + name + " is not a number");
  return it->get<double>();
}

}  // namespace

StatusOr<TokenWindow> CheckClaims(const Json& claims, const OidcOptions& options, double now_s) {
  auto iss = claims.find("iss");
  if (iss == claims.end()) return Unauthenticated("token has no iss");
  if (!iss->is_string() || iss->get_ref<const std::string&>() != options.issuer) {
    return Unauthenticated("issuer mismatch");
  }
  auto aud = claims.find("aud");
  if (aud == claims.end()) return Unauthenticated("token has no aud");
  const std::vector<std::string> audiences = Strings(&*aud);
  if (std::find(audiences.begin(), audiences.end(), options.audience) == audiences.end()) {
    return Unauthenticated("audience mismatch");
  }
  TokenWindow window;
  KILN_ASSIGN_OR_RETURN(window.expires, NumericDate(claims, "exp", true));
  KILN_ASSIGN_OR_RETURN(window.not_before, NumericDate(claims, "nbf", true));
  KILN_RETURN_IF_ERROR(CheckWindow(window, options.leeway_s, now_s));
  if (claims.contains("iat")) {
    KILN_ASSIGN_OR_RETURN(double iat, NumericDate(claims, "iat", false));
    if (iat > now_s + static_cast<double>(options.leeway_s)) return Unauthenticated("token issued in the future (iat)");
  }
  return window;
}

Status CheckWindow(const TokenWindow& window, int64_t leeway_s, double now_s) {
  const double leeway = static_cast<double>(leeway_s);
  // RFC 7519 4.1.4: the token must not be accepted on or after exp.
  if (now_s - leeway >= window.expires) return Unauthenticated("token expired");
  if (now_s + leeway < window.not_before) return Unauthenticated("token not yet valid (nbf)");
  return Status::Ok();
}

StatusOr<Principal> PrincipalFromClaims(const Json& claims, const OidcOptions& options) {
  Principal p;
  p.kind = Principal::Kind::kExternal;
  p.method = "oidc";
  for (const std::string& name : {options.username_claim, std::string("sub")}) {
    const Json* v = name.empty() ? nullptr : Claim(claims, name);
    if (v && v->is_string() && !v->get_ref<const std::string&>().empty()) {
      p.name = v->get<std::string>();
      break;
    }
  }
  if (p.name.empty()) return Unauthenticated("token has neither " + options.username_claim + " nor sub");
  if (!options.groups_claim.empty()) p.groups = Strings(Claim(claims, options.groups_claim));
  if (!options.roles_claim.empty()) {
    for (const std::string& value : Strings(Claim(claims, options.roles_claim))) {
      const std::optional<Role> role = ParseRole(value);
      if (!role) continue;  // IdPs put unrelated roles in the same claim
      p.global_role = std::max(p.global_role, *role);
      if (*role == Role::kAdmin) p.admin = true;
    }
  }
  if (auto jti = claims.find("jti"); jti != claims.end() && jti->is_string()) p.credential_id = jti->get<std::string>();
  return p;
}

}  // namespace kiln::auth
