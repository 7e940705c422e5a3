// IdentityService: users, service accounts and API tokens -- the rules the
// store does not know: names are validated, passwords hashed with scrypt
// (never stored or returned in clear) and at least 12 characters (MLflow's
// rule), service accounts have no password, tokens are "kiln_" + 64 random
// hex digits shown once and stored as their keyed HMAC, and the last admin
// can be neither deleted nor demoted.
//
// EnsureAdmin() is the first-start bootstrap: with auth on and no user at
// all, it creates the admin user `admin` from the given password, and
// refuses (FailedPrecondition) when there is none -- kiln has no default
// password.
//
// Callers that cache credentials (the Authenticator) must be told about
// password, admin, deletion and revocation changes: this service does not
// know them (the api layer calls Authenticator::Invalidate).
//
// Ownership: borrows the store, secret and clock.
// Thread-safety: thread-safe. Mutations that check "the last admin" are
// serialised by one mutex (within one process; two replicas demoting the
// last two admins at the same instant could both succeed). Calls block on
// the store and on scrypt: call from the worker pool.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "auth/password_hash.h"
#include "auth/server_secret.h"
#include "core/clock.h"
#include "core/status.h"
#include "storage/identity_store.h"

namespace kiln::auth {

struct NewUser {
  std::string name;
  std::string password;  // required for users, refused for service accounts
  bool service_account = false;
  bool admin = false;
  std::vector<std::string> groups;
};

struct NewToken {
  std::string user_name;  // the owner
  std::string name;       // what it is for
  int64_t expires_ms = 0; // absolute time; 0: never
};

struct CreatedToken {
  storage::TokenRecord record;  // without the hash
  std::string secret;           // "kiln_..." -- returned once, never stored
};

class IdentityService {
 public:
  static std::unique_ptr<IdentityService> Create(storage::IdentityStore& store, const ServerSecret& secret,
                                                 Clock& clock, ScryptParams scrypt = {});

  Status EnsureAdmin(const std::string& password);

  StatusOr<storage::UserRecord> CreateUser(const NewUser& user);
  StatusOr<storage::UserRecord> GetUser(const std::string& name);
  StatusOr<std::vector<storage::UserRecord>> ListUsers();
  Status SetPassword(const std::string& name, const std::string& password);
  Status SetAdmin(const std::string& name, bool admin);
  Status SetGroups(const std::string& name, const std::vector<std::string>& groups);
  Status DeleteUser(const std::string& name);
  // Whether `password` is the user's current one (MLflow's self-service
  // password change re-asserts it). False for service accounts.
  StatusOr<bool> CheckPassword(const std::string& name, const std::string& password);

  StatusOr<CreatedToken> CreateToken(const NewToken& token);
  StatusOr<std::vector<storage::TokenRecord>> ListTokens(const std::string& user_name);  // empty: all
  StatusOr<storage::TokenRecord> GetToken(const std::string& id);
  // Revoking a revoked token is not an error (the first revocation time stays).
  StatusOr<storage::TokenRecord> RevokeToken(const std::string& id);

  static Status ValidateName(const std::string& name);
  static Status ValidatePassword(const std::string& password);

 private:
  IdentityService(storage::IdentityStore& store, const ServerSecret& secret, Clock& clock, ScryptParams scrypt)
      : store_(store), secret_(secret), clock_(clock), scrypt_(scrypt) {}
  // FailedPrecondition when `name` is the only admin left.
  Status CheckNotLastAdmin(const storage::UserRecord& user, const char* what);

  storage::IdentityStore& store_;
  const ServerSecret& secret_;
  Clock& clock_;
  const ScryptParams scrypt_;
  std::mutex admin_mu_;  // serialises mutations that count admins
};

}  // namespace kiln::auth
