#include "auth/authorizer.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "core/log.h"

namespace kiln::auth {
namespace {

struct IndexedGrant {
  int64_t id = 0;
  std::string subject_kind;
  std::string subject;
  ObjectRef object;
  Role role = Role::kNone;
};

std::string SubjectKey(std::string_view kind, std::string_view name) {
  std::string key(kind);
  key += '\0';
  key += name;
  return key;
}

std::string ObjectKey(const ObjectRef& o) {
  std::string key(1, static_cast<char>(o.kind));
  key += o.id;
  return key;
}

// Every grant, by subject: a request's scope picks the few of its principal
// (its name and groups) once and answers each check from those.
struct GrantIndex {
  std::unordered_map<std::string, std::vector<IndexedGrant>> by_subject;
  std::vector<IndexedGrant> all;
};

std::shared_ptr<const GrantIndex> BuildIndex(const std::vector<storage::GrantRecord>& grants) {
  auto index = std::make_shared<GrantIndex>();
  for (const auto& g : grants) {
    auto kind = ParseObjectKind(g.object_kind);
    auto role = ParseRole(g.role);
    // A row this version cannot read grants nothing rather than something unintended.
    if (!kind || !role || *role == Role::kNone) continue;
    IndexedGrant ig{g.id, g.subject_kind, g.subject, ObjectRef{*kind, g.object_id}, *role};
    index->by_subject[SubjectKey(g.subject_kind, g.subject)].push_back(ig);
    index->all.push_back(std::move(ig));
  }
  return index;
}

std::string GrantReason(const IndexedGrant& g) {
  return "grant " + std::to_string(g.id) + ": " + RoleName(g.role) + " on " + g.object.ToString() + " to " +
         g.subject_kind + " " + g.subject;
}

struct Match {
  Role role = Role::kNone;
  std::string reason;
};

// A feature view "<project>/<view>" is covered by grants on its project.
std::optional<ObjectRef> Parent(const ObjectRef& o) {
  if (o.kind != ObjectKind::kFeatureView) return std::nullopt;
  const size_t slash = o.id.find('/');
  if (slash == std::string::npos) return std::nullopt;
  return ObjectRef{ObjectKind::kFeatureProject, o.id.substr(0, slash)};
}

class ScopeImpl final : public AccessScope {
 public:
  ScopeImpl(std::shared_ptr<const Principal> principal, std::shared_ptr<const GrantIndex> index, Role default_role)
      : principal_(std::move(principal)), index_(std::move(index)), default_role_(default_role) {
    Collect(SubjectKey("user", principal_->name));
    for (const auto& g : principal_->groups) Collect(SubjectKey("group", g));
  }

  const Principal& principal() const override { return *principal_; }
  Role RoleOn(const ObjectRef& object) const override { return Best(object).role; }

  std::optional<std::vector<std::string>> Visible(ObjectKind kind, Role least) const override {
    if (Best(ObjectRef::Global()).role >= least) return std::nullopt;
    std::vector<std::string> ids;
    if (kind == ObjectKind::kGlobal) return ids;
    for (const auto& [key, g] : best_) {
      if (g->object.kind == kind && g->role >= least) ids.push_back(g->object.id);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  // The highest role and where it comes from; on a tie the most specific
  // source names the decision (a grant on the object before a global one).
  Match Best(const ObjectRef& object) const {
    if (principal_->admin) return {Role::kAdmin, "admin"};
    Match best;
    auto consider = [&best](Role role, auto&& reason) {
      if (role > best.role) best = {role, reason()};
    };
    if (object.kind != ObjectKind::kGlobal) {
      if (const IndexedGrant* g = Find(object)) consider(g->role, [g] { return GrantReason(*g); });
      if (auto parent = Parent(object)) {
        if (const IndexedGrant* g = Find(*parent)) consider(g->role, [g] { return GrantReason(*g); });
      }
    }
    if (const IndexedGrant* g = Find(ObjectRef::Global())) consider(g->role, [g] { return GrantReason(*g); });
    consider(principal_->global_role,
             [this] { return std::string("role ") + RoleName(principal_->global_role) + " from the credential"; });
    consider(default_role_, [this] { return std::string("default role ") + RoleName(default_role_); });
    if (best.reason.empty()) best.reason = "no grant";
    return best;
  }

 private:
  void Collect(const std::string& subject) {
    auto it = index_->by_subject.find(subject);
    if (it == index_->by_subject.end()) return;
    for (const IndexedGrant& g : it->second) {
      const IndexedGrant*& slot = best_[ObjectKey(g.object)];
      if (slot == nullptr || g.role > slot->role) slot = &g;
    }
  }
  const IndexedGrant* Find(const ObjectRef& o) const {
    auto it = best_.find(ObjectKey(o));
    return it == best_.end() ? nullptr : it->second;
  }

  std::shared_ptr<const Principal> principal_;
  std::shared_ptr<const GrantIndex> index_;  // keeps the grants best_ points into alive
  Role default_role_;
  std::unordered_map<std::string, const IndexedGrant*> best_;  // object -> the principal's highest grant on it
};

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  return std::none_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Checks and normalizes a grant (kind and role names spelled as kiln spells them).
StatusOr<storage::GrantRecord> Normalize(const storage::GrantRecord& in) {
  storage::GrantRecord g = in;
  if (g.subject_kind != "user" && g.subject_kind != "group") {
    return InvalidArgument("subject_kind must be 'user' or 'group' (got '" + g.subject_kind + "')");
  }
  if (!ValidName(g.subject)) return InvalidArgument("subject must be a name of 1 to 256 printable characters");
  auto kind = ParseObjectKind(g.object_kind);
  if (!kind) {
    return InvalidArgument("object_kind must be one of global, experiment, registered_model, feature_project, "
                           "feature_view, endpoint (got '" + g.object_kind + "')");
  }
  g.object_kind = ObjectKindName(*kind);
  if (*kind == ObjectKind::kGlobal) {
    if (!g.object_id.empty()) return InvalidArgument("a global grant names no object_id");
  } else if (!ValidName(g.object_id)) {
    return InvalidArgument("object_id must be 1 to 256 printable characters for " + g.object_kind);
  }
  if (*kind == ObjectKind::kFeatureView) {
    const size_t slash = g.object_id.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == g.object_id.size() ||
        g.object_id.find('/', slash + 1) != std::string::npos) {
      return InvalidArgument("a feature_view object_id is '<project>/<view>' (got '" + g.object_id + "')");
    }
  }
  auto role = ParseRole(g.role);
  if (!role) return InvalidArgument("role must be viewer, editor, manager or admin (got '" + g.role + "')");
  if (*role == Role::kNone) return InvalidArgument("role none grants nothing: revoke the grant instead");
  g.role = RoleName(*role);
  if (g.created_ms == 0) g.created_ms = NowMs();
  return g;
}

}  // namespace

class Authorizer::Impl {
 public:
  Impl(storage::IdentityStore& store, const AuthorizerOptions& options) : store_(store), options_(options) {}

  Status Rebuild() {
    auto grants = store_.AllGrants();
    if (!grants.ok()) return grants.status();
    std::shared_ptr<const GrantIndex> index = BuildIndex(*grants);
    std::unique_lock lock(snapshot_mu_);
    index_ = std::move(index);
    return Status::Ok();
  }

  std::shared_ptr<const GrantIndex> Snapshot() const {
    std::shared_lock lock(snapshot_mu_);
    return index_;
  }

  storage::IdentityStore& store_;
  const AuthorizerOptions options_;
  std::mutex write_mu_;  // one grant change (store write + rebuild) at a time
  mutable std::shared_mutex snapshot_mu_;
  std::shared_ptr<const GrantIndex> index_;
};

Authorizer::Authorizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Authorizer::~Authorizer() = default;

StatusOr<std::unique_ptr<Authorizer>> Authorizer::Create(storage::IdentityStore& store,
                                                         const AuthorizerOptions& options) {
  if (options.default_role != Role::kNone && options.default_role != Role::kViewer) {
    return InvalidArgument(std::string("the default role must be viewer or none (got ") +
                           RoleName(options.default_role) + ")");
  }
  auto impl = std::make_unique<Impl>(store, options);
  KILN_RETURN_IF_ERROR(impl->Rebuild());
  return std::unique_ptr<Authorizer>(new Authorizer(std::move(impl)));
}

std::shared_ptr<const AccessScope> Authorizer::Scope(std::shared_ptr<const Principal> principal) const {
  if (!principal) return nullptr;
  return std::make_shared<ScopeImpl>(std::move(principal), impl_->Snapshot(), impl_->options_.default_role);
}

Decision Authorizer::Decide(const AccessScope& scope, const std::vector<ObjectRef>& objects, Role least) const {
  static const std::vector<ObjectRef> kGlobalOnly = {ObjectRef::Global()};
  const std::vector<ObjectRef>& checked = objects.empty() ? kGlobalOnly : objects;
  const auto* impl = dynamic_cast<const ScopeImpl*>(&scope);
  std::vector<std::string> reasons;
  for (const ObjectRef& o : checked) {
    Match m = impl ? impl->Best(o) : Match{scope.RoleOn(o), std::string("role on ") + o.ToString()};
    if (m.role < least) {
      return {false, std::string("requires ") + RoleName(least) + " on " + o.ToString() + ", has " + RoleName(m.role)};
    }
    if (std::find(reasons.begin(), reasons.end(), m.reason) == reasons.end()) reasons.push_back(std::move(m.reason));
  }
  Decision d{true, ""};
  for (const auto& r : reasons) {
    if (!d.reason.empty()) d.reason += "; ";
    d.reason += r;
  }
  return d;
}

StatusOr<storage::GrantRecord> Authorizer::Grant(const storage::GrantRecord& grant) {
  KILN_ASSIGN_OR_RETURN(storage::GrantRecord g, Normalize(grant));
  std::lock_guard lock(impl_->write_mu_);
  auto created = impl_->store_.CreateGrant(g);
  storage::GrantRecord result;
  if (created.ok()) {
    result = *created;
  } else if (created.status().code() == StatusCode::kAlreadyExists) {
    storage::GrantQuery q{g.subject_kind, g.subject, g.object_kind, g.object_id, 1000, 0};
    KILN_ASSIGN_OR_RETURN(auto existing, impl_->store_.ListGrants(q));
    // The query's empty object_id means "any", so a global grant is matched exactly here.
    auto it = std::find_if(existing.begin(), existing.end(), [&g](const storage::GrantRecord& e) {
      return e.subject_kind == g.subject_kind && e.subject == g.subject && e.object_kind == g.object_kind &&
             e.object_id == g.object_id;
    });
    if (it == existing.end()) return created.status();
    KILN_RETURN_IF_ERROR(impl_->store_.UpdateGrantRole(it->id, g.role));
    result = *it;
    result.role = g.role;
  } else {
    return created.status();
  }
  Announce();
  // The grant is stored; if the index cannot be re-read the caller sees the
  // error and a retry (AlreadyExists -> same role) rebuilds it.
  KILN_RETURN_IF_ERROR(impl_->Rebuild());
  return result;
}

Status Authorizer::Revoke(int64_t grant_id) {
  std::lock_guard lock(impl_->write_mu_);
  KILN_RETURN_IF_ERROR(impl_->store_.DeleteGrant(grant_id));
  Announce();
  return impl_->Rebuild();
}

StatusOr<std::vector<storage::GrantRecord>> Authorizer::List(const storage::GrantQuery& query) {
  return impl_->store_.ListGrants(query);
}

StatusOr<storage::GrantRecord> Authorizer::Get(int64_t grant_id) { return impl_->store_.GetGrant(grant_id); }

Status Authorizer::GrantCreator(const Principal& creator, const ObjectRef& object) {
  if (object.kind == ObjectKind::kGlobal || creator.admin) return Status::Ok();
  if (creator.name.empty()) return InvalidArgument("the creator of " + object.ToString() + " has no name");
  auto principal = std::make_shared<const Principal>(creator);
  ScopeImpl scope(principal, impl_->Snapshot(), impl_->options_.default_role);
  if (scope.RoleOn(object) >= Role::kManager) return Status::Ok();
  storage::GrantRecord g;
  g.subject_kind = "user";
  g.subject = creator.name;
  g.object_kind = ObjectKindName(object.kind);
  g.object_id = object.id;
  g.role = RoleName(Role::kManager);
  g.created_by = creator.name;
  auto granted = Grant(g);
  return granted.ok() ? Status::Ok() : granted.status();
}

Status Authorizer::ForgetObject(const ObjectRef& object) {
  if (object.kind == ObjectKind::kGlobal) return InvalidArgument("the global scope cannot be forgotten");
  std::lock_guard lock(impl_->write_mu_);
  KILN_RETURN_IF_ERROR(impl_->store_.DeleteGrantsOn(ObjectKindName(object.kind), object.id));
  if (object.kind == ObjectKind::kFeatureProject) {
    // A project's views go with it.
    const std::string prefix = object.id + "/";
    for (const IndexedGrant& g : impl_->Snapshot()->all) {
      if (g.object.kind != ObjectKind::kFeatureView || g.object.id.rfind(prefix, 0) != 0) continue;
      Status s = impl_->store_.DeleteGrant(g.id);
      if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
    }
  }
  Announce();
  return impl_->Rebuild();
}

Status Authorizer::Reload() {
  std::lock_guard lock(impl_->write_mu_);
  return impl_->Rebuild();
}

void Authorizer::Follow(ChangeFeed& feed) {
  feed_ = &feed;
  feed.Subscribe(change_topics::kGrants, [this](const std::string&) {
    if (Status s = Reload(); !s.ok()) log::Warn("grants: cannot reload after another replica's change: " + s.message());
  });
}

void Authorizer::Announce() const {
  if (feed_ != nullptr) feed_->Announce(change_topics::kGrants, "");
}

}  // namespace kiln::auth
