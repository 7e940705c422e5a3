// Compact JWS (RFC 7515) parsing and signature checks for the two algorithms
// kiln accepts, RS256 (RSASSA-PKCS1-v1_5 with SHA-256) and ES256 (ECDSA P-256
// with SHA-256, signature as raw r||s). Everything else is refused by name,
// "none" and the HMAC family above all: an HMAC "signed" with an RSA public
// key's bytes is the classic algorithm-confusion forgery. Claims are not
// checked here (see OidcVerifier); a Jws is only what the token says until
// VerifySignature has passed.
//
// Pure functions over value types; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "auth/jwks.h"
#include "core/status.h"

namespace kiln::auth {

// RFC 4648 section 5 without padding. Decoding is strict: no padding, no
// characters outside the alphabet, no non-zero bits in the last character.
std::string Base64UrlEncode(std::string_view in);
std::optional<std::string> Base64UrlDecode(std::string_view in);

struct Jws {
  nlohmann::json header;   // a JSON object
  std::string alg;         // "RS256" or "ES256" (anything else does not parse)
  std::optional<std::string> kid;
  std::string signing_input;  // "<header b64>.<payload b64>", what the signature covers
  std::string payload;        // decoded payload bytes (not yet parsed: unauthenticated until verified)
  std::string signature;      // decoded signature bytes
};

// Unauthenticated with the reason when the token is not a compact JWS kiln
// could verify: not three segments, bad base64url, header not a JSON object,
// alg missing or not accepted ("alg none is not accepted"), a "crit" header
// (kiln understands no extensions, RFC 7515 4.1.11 says refuse).
StatusOr<Jws> ParseJws(std::string_view token);

// Unauthenticated unless `jws.signature` is a valid signature of
// `jws.signing_input` by `key` under `jws.alg`; also refused when the alg does
// not fit the key (RS256 needs an RSA key, ES256 a P-256 key, and a key that
// names its own alg must name this one).
Status VerifySignature(const Jws& jws, const Jwk& key);

// The payload parsed as a JSON object (call after VerifySignature).
StatusOr<nlohmann::json> ParseClaims(const Jws& jws);

}  // namespace kiln::auth
