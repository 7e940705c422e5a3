// Authorizer: roles granted to users and groups on objects, and the decisions
// made from them. Grants live in the IdentityStore and in an in-memory index
// (rebuilt on every grant change), so a decision costs no query.
//
// A principal's role on an object is the highest of: admin (bypasses all),
// the role its credential carries (OIDC roles claim), grants to its name or
// groups on the object, on the object's parent (a feature view's project), or
// global, and the server's default role (--default-role).
//
// Ownership: borrows the store.
// Thread-safety: thread-safe; Scope()/Decide() take a shared lock only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/access.h"
#include "core/change_feed.h"
#include "core/status.h"
#include "storage/identity_store.h"

namespace kiln::auth {

struct AuthorizerOptions {
  Role default_role = Role::kViewer;  // on objects nobody granted the caller (viewer or none)
};

struct Decision {
  bool allowed = false;
  std::string reason;  // the grant that matched ("grant 12: editor on experiment:3 to group ml"), "admin",
                       // "default role viewer", or why denied ("requires editor on experiment:3, has viewer")
};

class Authorizer {
 public:
  static StatusOr<std::unique_ptr<Authorizer>> Create(storage::IdentityStore& store, const AuthorizerOptions& options);
  ~Authorizer();

  std::shared_ptr<const AccessScope> Scope(std::shared_ptr<const Principal> principal) const;
  // `least` on every object (an empty list means the global scope).
  Decision Decide(const AccessScope& scope, const std::vector<ObjectRef>& objects, Role least) const;

  // Grants (the store and the index). Validation errors are InvalidArgument.
  StatusOr<storage::GrantRecord> Grant(const storage::GrantRecord& grant);  // AlreadyExists -> role replaced
  Status Revoke(int64_t grant_id);
  StatusOr<std::vector<storage::GrantRecord>> List(const storage::GrantQuery& query);
  StatusOr<storage::GrantRecord> Get(int64_t grant_id);  // NotFound when absent
  // The creator of a new object becomes its manager (no-op for admins and
  // for principals that already hold manager or more on it).
  Status GrantCreator(const Principal& creator, const ObjectRef& object);
  // Removes grants on a deleted object.
  Status ForgetObject(const ObjectRef& object);
  // Re-reads every grant (another replica changed them).
  Status Reload();
  // Replicas: announces every grant change on `feed` and reloads when
  // another replica announces one. Call once, before serving; the feed
  // must outlive this.
  void Follow(ChangeFeed& feed);

 private:
  class Impl;
  explicit Authorizer(std::unique_ptr<Impl> impl);
  void Announce() const;
  std::unique_ptr<Impl> impl_;
  ChangeFeed* feed_ = nullptr;  // set by Follow before serving
};

}  // namespace kiln::auth
