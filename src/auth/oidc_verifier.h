// OidcVerifier: accepts OpenID Connect ID/access tokens (JWTs) issued by one
// configured issuer. Signatures are checked against the issuer's JWKS
// (fetched from its discovery document, cached, refetched when a token names
// an unknown key id -- key rotation -- at most once per refresh interval).
// Only RS256 and ES256 are accepted (never "none", never HMAC with a public
// key); iss, aud, exp and nbf are mandatory and checked with a small leeway.
// The principal's name, groups and global role come from configurable claims.
//
// Ownership: owns its key cache and HTTP client.
// Thread-safety: Verify() is thread-safe; a JWKS fetch blocks the calling
// (worker) thread and happens at most once at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/access.h"
#include "core/clock.h"
#include "core/status.h"

namespace kiln::auth {

struct OidcOptions {
  std::string issuer;              // exact "iss"; discovery at <issuer>/.well-known/openid-configuration
  std::string audience;            // required in "aud" (string or array)
  std::string jwks_uri;            // overrides discovery when set
  std::string username_claim = "preferred_username";  // falls back to "sub" when absent
  std::string groups_claim = "groups";                // array of strings (or one string)
  std::string roles_claim = "roles";                  // values viewer|editor|manager|admin -> global role
  int64_t leeway_s = 30;
  int64_t refresh_interval_s = 30;  // least time between two JWKS fetches
  int64_t fetch_timeout_ms = 5000;
  std::string ca_file;  // an https issuer whose certificate a private CA signed (default: the system's CAs)
  // Tokens that passed every check, remembered (exact token string -> principal)
  // so a client repeating its token costs a map lookup, not a signature check;
  // exp/nbf are re-checked on each hit, and a JWKS refresh empties the cache.
  // 0 turns it off.
  size_t token_cache_entries = 4096;
};

class OidcVerifier {
 public:
  // Does not fetch anything yet: the first token triggers discovery, so the
  // server starts even while the issuer is down.
  static StatusOr<std::unique_ptr<OidcVerifier>> Create(const OidcOptions& options, Clock& clock);
  ~OidcVerifier();

  // A principal of Kind::kExternal with method "oidc", or Unauthenticated
  // with the reason (expired, wrong audience, unknown key, ...). Unavailable
  // when the issuer's keys were never obtained (discovery or JWKS fetch
  // failed): the token may well be valid, kiln just cannot tell yet.
  StatusOr<Principal> Verify(std::string_view token);
  // Three base64url segments: worth trying as a JWT rather than a kiln token.
  static bool LooksLikeJwt(std::string_view token);

 private:
  class Impl;
  explicit OidcVerifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::auth
