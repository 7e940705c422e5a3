// MemoryIdentityStore: an in-memory storage::IdentityStore for unit tests of
// auth/ (the authorizer is under test, not the store), with the interface's
// semantics: unique user names and token hashes, one grant per (subject,
// object) pair, grants of a deleted user removed with it. Tests can make the
// next calls fail with Unavailable to check that errors are passed on.
//
// Thread-safety: thread-safe (one mutex).
#pragma once

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "storage/identity_store.h"

namespace kiln::auth::testing {

class MemoryIdentityStore final : public storage::IdentityStore {
 public:
  StatusOr<storage::UserRecord> CreateUser(const storage::UserRecord& user) override {
    std::lock_guard lock(mu_);
    KILN_RETURN_IF_ERROR(MaybeFail());
    for (const auto& [id, u] : users_) {
      if (u.name == user.name) return AlreadyExists("user '" + user.name + "' already exists");
    }
    storage::UserRecord stored = user;
    stored.id = next_user_id_++;
    users_[stored.id] = stored;
    return stored;
  }
  StatusOr<storage::UserRecord> GetUser(const std::string& name) override {
    std::lock_guard lock(mu_);
    KILN_RETURN_IF_ERROR(MaybeFail());
    for (const auto& [id, u] : users_) {
      if (u.name == name) return u;
    }
    return NotFound("user '" + name + "' does not exist");
  }
  StatusOr<std::vector<storage::UserRecord>> ListUsers() override {
    std::lock_guard lock(mu_);
    KILN_RETURN_IF_ERROR(MaybeFail());
    std::vector<storage::UserRecord> out;
    for (const auto& [id, u] : users_) out.push_back(u);
    return out;
  }
  Status UpdateUser(const storage::UserRecord& user) override {
    std::lock_guard lock(mu_);
    KILN_RETURN_IF_ERROR(MaybeFail());
    for (auto& [id, u] : users_) {
      if (u.name != user.name) continue;
      u.password_hash = user.password_hash;
      u.admin = user.admin;
      u.groups = user.groups;
      u.updated_ms = user.updated_ms;
      u.password_changed_ms = user.password_changed_ms;
      return Status::Ok();
    }
    return NotFound("user '" + user.name + "' does not exist");
  }
  Status DeleteUser(const std::string& name) override {
    std::lock_guard lock(mu_);
    KILN_RETURN_IF_ERROR(MaybeFail());
    for (auto it = users_.begin(); it != users_.end(); ++it) {
      if (it->second.name != name) continue;
      const int64_t uid = it->first;
      users_.erase(it);
      std::erase_if(tokens_, [uid](const auto& kv) { return kv.second.user_id == uid; });
      std::erase_if(grants_, [&name](const auto& kv) {
        return kv.second.subject_kind == "user" && kv.second.subject == name;
      });
      return Status::Ok();
    }
    return NotFound("user '" + name + "' does not exist");
  }
  StatusOr<int64_t> CountUsers() override {
    std::lock_guard lock(mu_);
    KILN_RETURN_IF_ERROR(MaybeFail());
    return static_cast<int64_t>(users_.size());
  }

  Status CreateToken(const storage::TokenRecord& token) override {
    std::lock_guard lock(mu_);
    KILN_RETURN_IF_ERROR(MaybeFail());
    for (const auto& [id, t] : tokens_) {
      if (t.hash == token.hash || t.id == token.id) return AlreadyExists("token exists");
    }
    tokens_[token.id] = token;
    return Status::Ok();
  }
  StatusOr<storage::TokenRecord> FindTokenByHash(const std::string& hash) override {
    std::lock_guard lock(mu_);
    KILN_RETURN_IF_ERROR(MaybeFail());
    for (const auto& [id, t] : tokens_) {
      if (t.hash == hash) return WithUserName(t);
    }
    return NotFound("no such token");
  }
  StatusOr<std::vector<storage::TokenRecord>> ListTokens(const std::string& user_name) override {
    std::lock_guard lock(mu_);
    KILN_RETURN_IF_ERROR(MaybeFail());
    std::vector<storage::TokenRecord> out;
    for (const auto& [id, t] : tokens_) {
      storage::TokenRecord r = WithUserName(t);
      if (user_name.empty() || r.user_name == user_name) out.push_back(r);
    }
    return out;
  }
  StatusOr<storage::TokenRecord> GetToken(const std::string& id) override {
    std::lock_guard lock(mu_);
    KILN_RETURN_IF_ERROR(MaybeFail());
    auto it = tokens_.find(id);
    if (it == tokens_.end()) return NotFound("token '" + id + "' does not exist");
    return WithUserName(it->second);
  }
  Status RevokeToken(const std::string& id, int64_t revoked_ms) override {
    std::lock_guard lock(mu_);
    KILN_RETURN_IF_ERROR(MaybeFail());
    auto it = tokens_.find(id);
    if (it == tokens_.end()) return NotFound("token '" + id + "' does not exist");
    it->second.revoked_ms = revoked_ms;
    return Status::Ok();
  }
  Status TouchToken(const std::string& id, int64_t used_ms) override {
    std::lock_guard lock(mu_);
    KILN_RETURN_IF_ERROR(MaybeFail());
    auto it = tokens_.find(id);
    if (it == tokens_.end()) return NotFound("token '" + id + "' does not exist");
    it->second.last_used_ms = used_ms;
    return Status::Ok();
  }

  StatusOr<storage::GrantRecord> CreateGrant(const storage::GrantRecord& grant) override {
    std::lock_guard lock(mu_);
    KILN_RETURN_IF_ERROR(MaybeFail());
    for (const auto& [id, g] : grants_) {
      if (g.subject_kind == grant.subject_kind && g.subject == grant.subject && g.object_kind == grant.object_kind &&
          g.object_id == grant.object_id) {
        return AlreadyExists("grant " + std::to_string(id) + " already names this subject and object");
      }
    }
    storage::GrantRecord stored = grant;
    stored.id = next_grant_id_++;
    grants_[stored.id] = stored;
    return stored;
  }
  Status UpdateGrantRole(int64_t id, const std::string& role) override {
    std::lock_guard lock(mu_);
    KILN_RETURN_IF_ERROR(MaybeFail());
    auto it = grants_.find(id);
    if (it == grants_.end()) return NotFound("grant " + std::to_string(id) + " does not exist");
    it->second.role = role;
    return Status::Ok();
  }
  StatusOr<storage::GrantRecord> GetGrant(int64_t id) override {
    std::lock_guard lock(mu_);
    KILN_RETURN_IF_ERROR(MaybeFail());
    auto it = grants_.find(id);
    if (it == grants_.end()) return NotFound("grant " + std::to_string(id) + " does not exist");
    return it->second;
  }
  StatusOr<std::vector<storage::GrantRecord>> ListGrants(const storage::GrantQuery& q) override {
    std::lock_guard lock(mu_);
    KILN_RETURN_IF_ERROR(MaybeFail());
    std::vector<storage::GrantRecord> out;
    int64_t skipped = 0;
    for (const auto& [id, g] : grants_) {
      if (!q.subject_kind.empty() && g.subject_kind != q.subject_kind) continue;
      if (!q.subject.empty() && g.subject != q.subject) continue;
      if (!q.object_kind.empty() && g.object_kind != q.object_kind) continue;
      if (!q.object_id.empty() && g.object_id != q.object_id) continue;
      if (skipped++ < q.offset) continue;
      if (static_cast<int64_t>(out.size()) >= q.max_results) break;
      out.push_back(g);
    }
    return out;
  }
  Status DeleteGrant(int64_t id) override {
    std::lock_guard lock(mu_);
    KILN_RETURN_IF_ERROR(MaybeFail());
    if (grants_.erase(id) == 0) return NotFound("grant " + std::to_string(id) + " does not exist");
    return Status::Ok();
  }
  Status DeleteGrantsOn(const std::string& object_kind, const std::string& object_id) override {
    std::lock_guard lock(mu_);
    KILN_RETURN_IF_ERROR(MaybeFail());
    std::erase_if(grants_, [&](const auto& kv) {
      return kv.second.object_kind == object_kind && kv.second.object_id == object_id;
    });
    return Status::Ok();
  }
  StatusOr<std::vector<storage::GrantRecord>> AllGrants() override {
    std::lock_guard lock(mu_);
    KILN_RETURN_IF_ERROR(MaybeFail());
    std::vector<storage::GrantRecord> out;
    for (const auto& [id, g] : grants_) out.push_back(g);
    return out;
  }

  // The next `calls` store calls answer Unavailable.
  void FailNext(int calls) {
    std::lock_guard lock(mu_);
    fail_next_ = calls;
  }
  size_t grant_count() const {
    std::lock_guard lock(mu_);
    return grants_.size();
  }

 private:
  Status MaybeFail() {
    if (fail_next_ <= 0) return Status::Ok();
    --fail_next_;
    return Unavailable("identity store unavailable (injected)");
  }
  storage::TokenRecord WithUserName(storage::TokenRecord t) const {
    auto it = users_.find(t.user_id);
    if (it != users_.end()) t.user_name = it->second.name;
    return t;
  }

  mutable std::mutex mu_;
  std::map<int64_t, storage::UserRecord> users_;
  std::map<std::string, storage::TokenRecord> tokens_;
  std::map<int64_t, storage::GrantRecord> grants_;
  int64_t next_user_id_ = 1;
  int64_t next_grant_id_ = 1;
  int fail_next_ = 0;
};

}  // namespace kiln::auth::testing
