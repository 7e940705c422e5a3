// SqlIdentityStore: IdentityStore over any sql::Database, on the schema v8
// tables users, api_tokens and grants of kiln's metadata database, sharing
// the tracking store's database.
//
// Conventions beyond the interface's contract:
// - Groups are stored as a JSON array of strings (users.groups_json).
// - A token's user_id must name an existing user (NotFound otherwise);
//   deleting a user deletes its tokens (ON DELETE CASCADE) and, in the same
//   transaction, the grants whose subject is that user.
// - ListUsers orders by name; ListTokens by created_ms then id; ListGrants
//   and AllGrants by id. GrantQuery max_results <= 0 means no limit.
//
// Ownership: borrows the Database, which must outlive the store.
// Thread-safety: every method is thread-safe (see sql::Database).
#pragma once

#include "storage/sql/sql_conn.h"
#include "storage/identity_store.h"

namespace kiln::storage {

class SqlIdentityStore final : public IdentityStore {
 public:
  explicit SqlIdentityStore(sql::Database& db) : db_(db) {}

  StatusOr<UserRecord> CreateUser(const UserRecord& user) override;
  StatusOr<UserRecord> GetUser(const std::string& name) override;
  StatusOr<std::vector<UserRecord>> ListUsers() override;
  Status UpdateUser(const UserRecord& user) override;
  Status DeleteUser(const std::string& name) override;
  StatusOr<int64_t> CountUsers() override;

  Status CreateToken(const TokenRecord& token) override;
  StatusOr<TokenRecord> FindTokenByHash(const std::string& hash) override;
  StatusOr<std::vector<TokenRecord>> ListTokens(const std::string& user_name) override;
  StatusOr<TokenRecord> GetToken(const std::string& id) override;
  Status RevokeToken(const std::string& id, int64_t revoked_ms) override;
  Status TouchToken(const std::string& id, int64_t used_ms) override;

  StatusOr<GrantRecord> CreateGrant(const GrantRecord& grant) override;
  Status UpdateGrantRole(int64_t id, const std::string& role) override;
  StatusOr<GrantRecord> GetGrant(int64_t id) override;
  StatusOr<std::vector<GrantRecord>> ListGrants(const GrantQuery& query) override;
  Status DeleteGrant(int64_t id) override;
  Status DeleteGrantsOn(const std::string& object_kind, const std::string& object_id) override;
  StatusOr<std::vector<GrantRecord>> AllGrants() override;

 private:
  sql::Database& db_;
};

}  // namespace kiln::storage
