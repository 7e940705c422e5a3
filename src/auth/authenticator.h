// Authenticator: turns the credentials a request carries into a Principal.
//   - "Basic base64(user:password)": the user's scrypt hash is checked once;
//     then the credential pair is cached under its keyed HMAC (so a request
//     costs one HMAC and a map lookup, not a memory-hard hash), until the
//     password changes or the cache entry ages out.
//   - "Bearer <kiln token>": looked up by keyed HMAC (tokens are never stored
//     in clear), refused when revoked or expired; cached briefly.
//   - "Bearer <JWT>": verified by the OidcVerifier, when one is configured.
// Failed attempts are rate-limited per user name and per source address
// (ResourceExhausted, answered 429): a password cannot be guessed at speed.
//
// Ownership: borrows the store, secret, verifier and clock.
// Thread-safety: thread-safe. A cache miss reads the store (blocks): call
// from the worker pool.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth/oidc_verifier.h"
#include "auth/server_secret.h"
#include "core/access.h"
#include "core/change_feed.h"
#include "core/clock.h"
#include "core/status.h"
#include "storage/identity_store.h"

namespace kiln::auth {

struct AuthenticatorOptions {
  int64_t cache_ttl_ms = 60000;       // how long a verified credential is trusted without the store
  size_t cache_max_entries = 100000;
  int max_failures = 10;              // per user name or source within the window, then 429
  int64_t failure_window_ms = 60000;
};

class Authenticator {
 public:
  static std::unique_ptr<Authenticator> Create(storage::IdentityStore& store, const ServerSecret& secret,
                                               OidcVerifier* oidc, Clock& clock, const AuthenticatorOptions& options);
  ~Authenticator();

  // `authorization`: the Authorization header (HTTP) or metadata value (gRPC).
  // Null principal when it is empty (anonymous); Unauthenticated when the
  // credentials are wrong (the message never says which part);
  // ResourceExhausted when rate-limited.
  StatusOr<std::shared_ptr<const Principal>> Authenticate(std::string_view authorization, std::string_view source);
  // Drops cached credentials of a user (password change, token revocation,
  // deletion), here and -- after Follow -- on the other replicas.
  void Invalidate(const std::string& user_name);
  // Replicas: Invalidate announces on `feed`, and another replica's
  // announcement drops this one's cached credentials of that user (all of
  // them on a resync). Call once, before serving; the feed must outlive this.
  void Follow(ChangeFeed& feed);

 private:
  class Impl;
  explicit Authenticator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  ChangeFeed* feed_ = nullptr;  // set by Follow before serving
};

}  // namespace kiln::auth
