#include "auth/authorizer.h"

#include <thread>

#include <gtest/gtest.h>

#include "auth/memory_identity_store_test_util.h"

namespace kiln::auth {
namespace {

ObjectRef Exp(std::string id) { return {ObjectKind::kExperiment, std::move(id)}; }
ObjectRef Model(std::string id) { return {ObjectKind::kRegisteredModel, std::move(id)}; }
ObjectRef Project(std::string id) { return {ObjectKind::kFeatureProject, std::move(id)}; }
ObjectRef View(std::string id) { return {ObjectKind::kFeatureView, std::move(id)}; }

std::shared_ptr<const Principal> User(std::string name, std::vector<std::string> groups = {}) {
  auto p = std::make_shared<Principal>();
  p->name = std::move(name);
  p->groups = std::move(groups);
  return p;
}

storage::GrantRecord G(std::string subject_kind, std::string subject, ObjectRef o, std::string role) {
  storage::GrantRecord g;
  g.subject_kind = std::move(subject_kind);
  g.subject = std::move(subject);
  g.object_kind = ObjectKindName(o.kind);
  g.object_id = o.id;
  g.role = std::move(role);
  g.created_by = "admin";
  return g;
}

class AuthorizerTest : public ::testing::Test {
 protected:
  void Make(Role default_role) {
    AuthorizerOptions options;
    options.default_role = default_role;
    auto a = Authorizer::Create(store_, options);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    authz_ = std::move(*a);
  }
  int64_t Grant(std::string kind, std::string subject, ObjectRef o, std::string role) {
    auto g = authz_->Grant(G(std::move(kind), std::move(subject), std::move(o), std::move(role)));
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return g.ok() ? g->id : 0;
  }

  testing::MemoryIdentityStore store_;
  std::unique_ptr<Authorizer> authz_;
};

TEST_F(AuthorizerTest, DefaultRoleViewerReadsEverythingAndChangesNothing) {
  Make(Role::kViewer);
  auto scope = authz_->Scope(User("alice"));
  EXPECT_EQ(scope->RoleOn(Exp("1")), Role::kViewer);
  EXPECT_EQ(scope->RoleOn(ObjectRef::Global()), Role::kViewer);
  EXPECT_FALSE(scope->Visible(ObjectKind::kExperiment).has_value());
  auto vis = scope->Visible(ObjectKind::kExperiment, Role::kEditor);
  ASSERT_TRUE(vis.has_value());
  EXPECT_TRUE(vis->empty());
  Decision d = authz_->Decide(*scope, {Exp("1")}, Role::kViewer);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.reason, "default role viewer");
  d = authz_->Decide(*scope, {Exp("1")}, Role::kEditor);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "requires editor on experiment:1, has viewer");
}

TEST_F(AuthorizerTest, GrantsToUserAndGroupsAndTheMatchingGrantIsNamed) {
  Make(Role::kNone);
  const int64_t ml = Grant("group", "ml", Exp("3"), "editor");
  Grant("user", "alice", Exp("3"), "viewer");
  const int64_t mine = Grant("user", "alice", Exp("4"), "manager");
  auto alice = authz_->Scope(User("alice", {"ml"}));
  EXPECT_EQ(alice->RoleOn(Exp("3")), Role::kEditor);  // the higher of her grant and her group's
  EXPECT_EQ(alice->RoleOn(Exp("4")), Role::kManager);
  EXPECT_EQ(alice->RoleOn(Exp("5")), Role::kNone);
  Decision d = authz_->Decide(*alice, {Exp("3")}, Role::kEditor);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.reason, "grant " + std::to_string(ml) + ": editor on experiment:3 to group ml");
  d = authz_->Decide(*alice, {Exp("3"), Exp("4")}, Role::kViewer);
  EXPECT_TRUE(d.allowed);
  EXPECT_NE(d.reason.find("grant " + std::to_string(mine) + ": manager on experiment:4 to user alice"),
            std::string::npos);
  d = authz_->Decide(*alice, {Exp("3"), Exp("5")}, Role::kViewer);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "requires viewer on experiment:5, has none");

  auto bob = authz_->Scope(User("bob"));  // not in ml
  EXPECT_EQ(bob->RoleOn(Exp("3")), Role::kNone);
  auto carol = authz_->Scope(User("carol", {"ml"}));
  EXPECT_EQ(carol->RoleOn(Exp("3")), Role::kEditor);
  EXPECT_EQ(carol->RoleOn(Exp("4")), Role::kNone);
}

TEST_F(AuthorizerTest, VisibleListsExactlyTheGrantedIds) {
  Make(Role::kNone);
  Grant("user", "alice", Exp("3"), "viewer");
  Grant("user", "alice", Exp("1"), "editor");
  Grant("group", "ml", Exp("7"), "manager");
  Grant("user", "alice", Model("fraud"), "viewer");
  Grant("user", "bob", Exp("9"), "manager");
  auto alice = authz_->Scope(User("alice", {"ml"}));
  EXPECT_EQ(alice->Visible(ObjectKind::kExperiment), (std::vector<std::string>{"1", "3", "7"}));
  EXPECT_EQ(alice->Visible(ObjectKind::kExperiment, Role::kEditor), (std::vector<std::string>{"1", "7"}));
  EXPECT_EQ(alice->Visible(ObjectKind::kRegisteredModel), (std::vector<std::string>{"fraud"}));
  EXPECT_EQ(alice->Visible(ObjectKind::kEndpoint), std::vector<std::string>{});
  auto nobody = authz_->Scope(User("dave"));
  EXPECT_EQ(nobody->Visible(ObjectKind::kExperiment), std::vector<std::string>{});
}

TEST_F(AuthorizerTest, GlobalGrantsCredentialRolesAndAdmins) {
  Make(Role::kNone);
  const int64_t global = Grant("user", "creator", ObjectRef::Global(), "editor");
  auto creator = authz_->Scope(User("creator"));
  EXPECT_EQ(creator->RoleOn(ObjectRef::Global()), Role::kEditor);
  EXPECT_EQ(creator->RoleOn(Exp("42")), Role::kEditor);
  EXPECT_FALSE(creator->Visible(ObjectKind::kExperiment, Role::kEditor).has_value());
  EXPECT_TRUE(creator->Visible(ObjectKind::kExperiment, Role::kManager).has_value());
  Decision d = authz_->Decide(*creator, {}, Role::kEditor);  // empty: the global scope
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.reason, "grant " + std::to_string(global) + ": editor on global to user creator");

  auto oidc = std::make_shared<Principal>();
  oidc->name = "ext";
  oidc->kind = Principal::Kind::kExternal;
  oidc->global_role = Role::kManager;
  auto ext = authz_->Scope(oidc);
  EXPECT_EQ(ext->RoleOn(Model("m")), Role::kManager);
  d = authz_->Decide(*ext, {Model("m")}, Role::kManager);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.reason, "role manager from the credential");
  EXPECT_FALSE(authz_->Decide(*ext, {}, Role::kAdmin).allowed);

  auto root = std::make_shared<Principal>();
  root->name = "admin";
  root->admin = true;
  auto admin = authz_->Scope(root);
  EXPECT_EQ(admin->RoleOn(Exp("1")), Role::kAdmin);
  EXPECT_FALSE(admin->Visible(ObjectKind::kFeatureView, Role::kManager).has_value());
  d = authz_->Decide(*admin, {}, Role::kAdmin);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.reason, "admin");
}

TEST_F(AuthorizerTest, FeatureViewsInheritFromTheirProject) {
  Make(Role::kNone);
  Grant("user", "alice", Project("shop"), "editor");
  Grant("user", "alice", View("bank/accounts"), "viewer");
  auto alice = authz_->Scope(User("alice"));
  EXPECT_EQ(alice->RoleOn(View("shop/orders")), Role::kEditor);
  EXPECT_EQ(alice->RoleOn(View("bank/accounts")), Role::kViewer);
  EXPECT_EQ(alice->RoleOn(View("bank/loans")), Role::kNone);
  EXPECT_EQ(alice->RoleOn(Project("bank")), Role::kNone);  // a view does not open its project
  EXPECT_EQ(alice->Visible(ObjectKind::kFeatureProject), (std::vector<std::string>{"shop"}));
  EXPECT_EQ(alice->Visible(ObjectKind::kFeatureView), (std::vector<std::string>{"bank/accounts"}));
  EXPECT_FALSE(authz_->Decide(*alice, {View("shop/orders"), View("bank/accounts")}, Role::kEditor).allowed);
}

TEST_F(AuthorizerTest, GrantReplacesTheRoleAndRevokeTakesItAway) {
  Make(Role::kNone);
  const int64_t id = Grant("user", "alice", Exp("1"), "viewer");
  auto before = authz_->Scope(User("alice"));
  EXPECT_EQ(Grant("user", "alice", Exp("1"), "MANAGE"), id);  // MLflow's names are understood
  EXPECT_EQ(store_.grant_count(), 1u);
  auto stored = store_.GetGrant(id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->role, "manager");
  // A scope is a snapshot: a request finishes under the grants it started with.
  EXPECT_EQ(before->RoleOn(Exp("1")), Role::kViewer);
  EXPECT_EQ(authz_->Scope(User("alice"))->RoleOn(Exp("1")), Role::kManager);
  ASSERT_TRUE(authz_->Revoke(id).ok());
  EXPECT_EQ(authz_->Scope(User("alice"))->RoleOn(Exp("1")), Role::kNone);
  EXPECT_EQ(authz_->Revoke(id).code(), StatusCode::kNotFound);
}

TEST_F(AuthorizerTest, GlobalGrantReplacedNotDuplicated) {
  Make(Role::kNone);
  Grant("user", "alice", Exp("1"), "viewer");  // an object grant the lookup must not confuse with the global one
  const int64_t id = Grant("user", "alice", ObjectRef::Global(), "viewer");
  EXPECT_EQ(Grant("user", "alice", ObjectRef::Global(), "editor"), id);
  EXPECT_EQ(authz_->Scope(User("alice"))->RoleOn(Exp("1")), Role::kEditor);
  auto g1 = store_.GetGrant(1);
  ASSERT_TRUE(g1.ok());
  EXPECT_EQ(g1->role, "viewer");
}

TEST_F(AuthorizerTest, InvalidGrantsAreRefused) {
  Make(Role::kViewer);
  auto bad = [&](storage::GrantRecord g) { return authz_->Grant(g).status().code(); };
  EXPECT_EQ(bad(G("team", "x", Exp("1"), "viewer")), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad(G("user", "", Exp("1"), "viewer")), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad(G("user", "a", Exp(""), "viewer")), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad(G("user", "a", Exp("1"), "owner")), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad(G("user", "a", Exp("1"), "none")), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad(G("user", "a", View("noslash"), "viewer")), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad(G("user", "a", View("a/b/c"), "viewer")), StatusCode::kInvalidArgument);
  auto global_with_id = G("user", "a", ObjectRef::Global(), "viewer");
  global_with_id.object_id = "x";
  EXPECT_EQ(bad(global_with_id), StatusCode::kInvalidArgument);
  auto unknown_kind = G("user", "a", Exp("1"), "viewer");
  unknown_kind.object_kind = "cluster";
  EXPECT_EQ(bad(unknown_kind), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.grant_count(), 0u);
  AuthorizerOptions editor_default;
  editor_default.default_role = Role::kEditor;
  EXPECT_EQ(Authorizer::Create(store_, editor_default).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(AuthorizerTest, CreatorBecomesManagerUnlessAlreadyManager) {
  Make(Role::kViewer);
  Principal alice;
  alice.name = "alice";
  ASSERT_TRUE(authz_->GrantCreator(alice, Exp("8")).ok());
  EXPECT_EQ(authz_->Scope(User("alice"))->RoleOn(Exp("8")), Role::kManager);
  EXPECT_EQ(store_.grant_count(), 1u);
  ASSERT_TRUE(authz_->GrantCreator(alice, Exp("8")).ok());
  EXPECT_EQ(store_.grant_count(), 1u);
  Principal root;
  root.name = "admin";
  root.admin = true;
  ASSERT_TRUE(authz_->GrantCreator(root, Exp("9")).ok());
  Grant("group", "owners", ObjectRef::Global(), "manager");
  Principal owner;
  owner.name = "olga";
  owner.groups = {"owners"};
  ASSERT_TRUE(authz_->GrantCreator(owner, Exp("10")).ok());
  EXPECT_EQ(store_.grant_count(), 2u);  // alice's and the owners' global grant
  // An editor grant becomes manager (one grant per pair).
  Grant("user", "ed", Model("m"), "editor");
  Principal ed;
  ed.name = "ed";
  ASSERT_TRUE(authz_->GrantCreator(ed, Model("m")).ok());
  EXPECT_EQ(authz_->Scope(User("ed"))->RoleOn(Model("m")), Role::kManager);
  EXPECT_EQ(store_.grant_count(), 3u);
}

TEST_F(AuthorizerTest, ForgetObjectDropsItsGrantsAndAProjectsViews) {
  Make(Role::kNone);
  Grant("user", "alice", Exp("1"), "manager");
  Grant("group", "ml", Exp("1"), "viewer");
  Grant("user", "alice", Exp("2"), "viewer");
  Grant("user", "alice", Project("shop"), "editor");
  Grant("user", "bob", View("shop/orders"), "viewer");
  Grant("user", "bob", View("shopping/carts"), "viewer");
  ASSERT_TRUE(authz_->ForgetObject(Exp("1")).ok());
  auto alice = authz_->Scope(User("alice", {"ml"}));
  EXPECT_EQ(alice->RoleOn(Exp("1")), Role::kNone);
  EXPECT_EQ(alice->RoleOn(Exp("2")), Role::kViewer);
  ASSERT_TRUE(authz_->ForgetObject(Project("shop")).ok());
  EXPECT_EQ(authz_->Scope(User("alice"))->RoleOn(Project("shop")), Role::kNone);
  auto bob = authz_->Scope(User("bob"));
  EXPECT_EQ(bob->RoleOn(View("shop/orders")), Role::kNone);
  EXPECT_EQ(bob->RoleOn(View("shopping/carts")), Role::kViewer);  // a prefix of the name is not the project
  EXPECT_EQ(store_.grant_count(), 2u);
}

TEST_F(AuthorizerTest, ReloadPicksUpAnotherReplicasChanges) {
  Make(Role::kNone);
  auto g = store_.CreateGrant(G("user", "alice", Exp("1"), "editor"));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(authz_->Scope(User("alice"))->RoleOn(Exp("1")), Role::kNone);
  ASSERT_TRUE(authz_->Reload().ok());
  EXPECT_EQ(authz_->Scope(User("alice"))->RoleOn(Exp("1")), Role::kEditor);
}

TEST_F(AuthorizerTest, StoreErrorsArePassedOnAndARetryRecovers) {
  store_.FailNext(1);
  EXPECT_EQ(Authorizer::Create(store_, {}).status().code(), StatusCode::kUnavailable);
  Make(Role::kNone);
  store_.FailNext(1);
  EXPECT_EQ(authz_->Grant(G("user", "alice", Exp("1"), "editor")).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(authz_->Scope(User("alice"))->RoleOn(Exp("1")), Role::kNone);
  // The grant is written but the index could not be re-read: the error says so and a retry converges.
  auto created = store_.CreateGrant(G("user", "alice", Exp("2"), "editor"));
  ASSERT_TRUE(created.ok());
  Grant("user", "alice", Exp("2"), "editor");
  EXPECT_EQ(authz_->Scope(User("alice"))->RoleOn(Exp("2")), Role::kEditor);
}

TEST_F(AuthorizerTest, ScopesAreSafeToBuildWhileGrantsChange) {
  Make(Role::kNone);
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop.load()) {
      auto s = authz_->Scope(User("alice", {"ml"}));
      Role r = s->RoleOn(Exp("1"));
      EXPECT_TRUE(r == Role::kNone || r == Role::kViewer || r == Role::kEditor);
    }
  });
  for (int i = 0; i < 200; ++i) {
    const int64_t id = Grant("group", "ml", Exp("1"), i % 2 ? "viewer" : "editor");
    if (i % 3 == 0) {
      ASSERT_TRUE(authz_->Revoke(id).ok());
    }
  }
  stop = true;
  reader.join();
}

}  // namespace
}  // namespace kiln::auth
