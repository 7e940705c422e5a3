// The claim rules of OidcVerifier, apart from keys and signatures: which
// tokens are valid now for this issuer and audience, and who they name.
//
// Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include "auth/oidc_verifier.h"
#include "core/access.h"
#include "core/status.h"

namespace kiln::auth {

// The time window a token is valid in, from its exp and nbf (seconds since
// the epoch), kept beside a cached principal so a cache hit re-checks it.
struct TokenWindow {
  double not_before = 0;
  double expires = 0;
};

// Unauthenticated with the reason unless iss equals the issuer exactly, aud
// (a string or an array) contains the audience, exp and nbf are present
// numbers with now in [nbf - leeway, exp + leeway), and iat, when present, is
// not after now + leeway.
StatusOr<TokenWindow> CheckClaims(const nlohmann::json& claims, const OidcOptions& options, double now_s);

// Ok when `now_s` is inside the window, allowing the leeway.
Status CheckWindow(const TokenWindow& window, int64_t leeway_s, double now_s);

// The principal a verified token names: name from the username claim (else
// "sub"; refused when neither is a non-empty string), groups and the global
// role from their claims. Claim names with dots ("realm_access.roles") are
// looked up as nested objects when no top-level claim has the whole name.
StatusOr<Principal> PrincipalFromClaims(const nlohmann::json& claims, const OidcOptions& options);

}  // namespace kiln::auth
