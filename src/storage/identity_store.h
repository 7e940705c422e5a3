// IdentityStore: users and service accounts, their API tokens, and the grants
// of roles on objects. Passwords and tokens are stored only as the hashes
// auth/ computes (a scrypt string for passwords, a keyed HMAC for tokens);
// this layer never sees a secret.
//
// Implementation: sql/sql_identity_store.h, over SQLite or PostgreSQL.
//
// Thread-safety: implementations are thread-safe. Calls block on I/O: call
// them from the worker pool or at startup.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace kiln::storage {

struct UserRecord {
  int64_t id = 0;
  std::string name;                   // unique; also the grant subject
  bool service_account = false;       // no password; authenticates with tokens only
  bool admin = false;
  std::string password_hash;          // empty for service accounts
  std::vector<std::string> groups;    // stored group memberships (OIDC users bring theirs in the token)
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  int64_t password_changed_ms = 0;    // bumps invalidate cached Basic credentials
};

struct TokenRecord {
  std::string id;            // public id ("tok_..."), shown in lists and the audit log
  int64_t user_id = 0;
  std::string user_name;     // filled on reads
  std::string name;          // what it is for
  std::string hash;          // keyed HMAC of the secret, hex; unique
  int64_t created_ms = 0;
  int64_t expires_ms = 0;    // 0: never
  int64_t revoked_ms = 0;    // 0: active
  int64_t last_used_ms = 0;  // updated at most once a minute
};

struct GrantRecord {
  int64_t id = 0;
  std::string subject_kind;  // "user" or "group"
  std::string subject;       // user name or group name
  std::string object_kind;   // ObjectKindName(...)
  std::string object_id;     // empty for global
  std::string role;          // RoleName(...)
  std::string created_by;
  int64_t created_ms = 0;
};

struct GrantQuery {
  std::string subject_kind;  // empty: any
  std::string subject;
  std::string object_kind;
  std::string object_id;
  int64_t max_results = 1000;
  int64_t offset = 0;
};

class IdentityStore {
 public:
  virtual ~IdentityStore() = default;

  // AlreadyExists when the name is taken. Returns the stored record (id set).
  virtual StatusOr<UserRecord> CreateUser(const UserRecord& user) = 0;
  // NotFound("user 'x' does not exist").
  virtual StatusOr<UserRecord> GetUser(const std::string& name) = 0;
  virtual StatusOr<std::vector<UserRecord>> ListUsers() = 0;
  // Replaces password_hash, admin, groups and updated_ms/password_changed_ms
  // of the user named `user.name`. NotFound when absent.
  virtual Status UpdateUser(const UserRecord& user) = 0;
  // Deletes the user, its tokens and the grants naming it. NotFound when absent.
  virtual Status DeleteUser(const std::string& name) = 0;
  virtual StatusOr<int64_t> CountUsers() = 0;

  virtual Status CreateToken(const TokenRecord& token) = 0;
  // By keyed hash; NotFound when no token has it (revoked and expired ones are returned: the caller decides).
  virtual StatusOr<TokenRecord> FindTokenByHash(const std::string& hash) = 0;
  virtual StatusOr<std::vector<TokenRecord>> ListTokens(const std::string& user_name) = 0;  // empty: all users
  virtual StatusOr<TokenRecord> GetToken(const std::string& id) = 0;
  virtual Status RevokeToken(const std::string& id, int64_t revoked_ms) = 0;
  virtual Status TouchToken(const std::string& id, int64_t used_ms) = 0;

  // AlreadyExists for the same (subject_kind, subject, object_kind, object_id): one role per pair.
  virtual StatusOr<GrantRecord> CreateGrant(const GrantRecord& grant) = 0;
  // Replaces the role of an existing grant; NotFound when absent.
  virtual Status UpdateGrantRole(int64_t id, const std::string& role) = 0;
  virtual StatusOr<GrantRecord> GetGrant(int64_t id) = 0;
  virtual StatusOr<std::vector<GrantRecord>> ListGrants(const GrantQuery& query) = 0;
  virtual Status DeleteGrant(int64_t id) = 0;
  // Grants on an object that was deleted (no orphan grants survive a delete).
  virtual Status DeleteGrantsOn(const std::string& object_kind, const std::string& object_id) = 0;
  // Every grant, for the in-memory index (grants are few compared with objects).
  virtual StatusOr<std::vector<GrantRecord>> AllGrants() = 0;
};

}  // namespace kiln::storage
