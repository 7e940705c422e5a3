#include "storage/sql/sql_identity_store.h"

#include <gtest/gtest.h>

#include "storage/sql/sql_test_util.h"

namespace kiln::storage {
namespace {

class SqliteIdentityStoreTest : public testing::SqlStoreTest {
 protected:
  void SetUp() override {
    SqlStoreTest::SetUp();
    ids_ = std::make_unique<SqlIdentityStore>(store_->database());
  }
  void TearDown() override {
    ids_.reset();
    SqlStoreTest::TearDown();
  }

  UserRecord NewUser(const std::string& name, bool admin = false) {
    UserRecord u;
    u.name = name;
    u.admin = admin;
    u.password_hash = "$scrypt$x";
    u.groups = {"ml", "ops"};
    u.created_ms = 10;
    u.updated_ms = 10;
    u.password_changed_ms = 10;
    auto r = ids_->CreateUser(u);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : UserRecord{};
  }

  TokenRecord NewToken(const UserRecord& u, const std::string& id, const std::string& hash, int64_t created = 20) {
    TokenRecord t;
    t.id = id;
    t.user_id = u.id;
    t.name = "ci";
    t.hash = hash;
    t.created_ms = created;
    t.expires_ms = 1000;
    EXPECT_TRUE(ids_->CreateToken(t).ok());
    return t;
  }

  GrantRecord NewGrant(const std::string& kind, const std::string& subject, const std::string& object_kind,
                       const std::string& object_id, const std::string& role = "editor") {
    GrantRecord g;
    g.subject_kind = kind;
    g.subject = subject;
    g.object_kind = object_kind;
    g.object_id = object_id;
    g.role = role;
    g.created_by = "admin";
    g.created_ms = 30;
    auto r = ids_->CreateGrant(g);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : GrantRecord{};
  }

  std::unique_ptr<SqlIdentityStore> ids_;
};

TEST_F(SqliteIdentityStoreTest, UserRoundTripAndUniqueName) {
  UserRecord a = NewUser("alice", true);
  EXPECT_GT(a.id, 0);
  auto got = ids_->GetUser("alice");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "alice");
  EXPECT_TRUE(got->admin);
  EXPECT_FALSE(got->service_account);
  EXPECT_EQ(got->password_hash, "$scrypt$x");
  EXPECT_EQ(got->groups, (std::vector<std::string>{"ml", "ops"}));
  EXPECT_EQ(got->password_changed_ms, 10);

  UserRecord dup;
  dup.name = "alice";
  EXPECT_EQ(ids_->CreateUser(dup).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ids_->GetUser("bob").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ids_->GetUser("bob").status().message(), "user 'bob' does not exist");
}

TEST_F(SqliteIdentityStoreTest, ServiceAccountFlagIsKept) {
  UserRecord sa;
  sa.name = "ci-bot";
  sa.service_account = true;
  ASSERT_TRUE(ids_->CreateUser(sa).ok());
  EXPECT_TRUE(ids_->GetUser("ci-bot")->service_account);
  EXPECT_TRUE(ids_->GetUser("ci-bot")->password_hash.empty());
}

TEST_F(SqliteIdentityStoreTest, UpdateListCountDelete) {
  NewUser("bob");
  NewUser("alice");
  EXPECT_EQ(*ids_->CountUsers(), 2);
  auto list = ids_->ListUsers();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "alice");

  UserRecord u = *ids_->GetUser("bob");
  u.password_hash = "$scrypt$y";
  u.admin = true;
  u.groups = {};
  u.updated_ms = 50;
  u.password_changed_ms = 50;
  ASSERT_TRUE(ids_->UpdateUser(u).ok());
  auto got = ids_->GetUser("bob");
  EXPECT_EQ(got->password_hash, "$scrypt$y");
  EXPECT_TRUE(got->admin);
  EXPECT_TRUE(got->groups.empty());
  EXPECT_EQ(got->password_changed_ms, 50);

  UserRecord ghost;
  ghost.name = "ghost";
  EXPECT_EQ(ids_->UpdateUser(ghost).code(), StatusCode::kNotFound);
  EXPECT_TRUE(ids_->DeleteUser("bob").ok());
  EXPECT_EQ(ids_->DeleteUser("bob").code(), StatusCode::kNotFound);
  EXPECT_EQ(*ids_->CountUsers(), 1);
}

TEST_F(SqliteIdentityStoreTest, TokensByHashListRevokeTouch) {
  UserRecord a = NewUser("alice");
  UserRecord b = NewUser("bob");
  NewToken(a, "tok_1", "h1", 20);
  NewToken(a, "tok_2", "h2", 21);
  NewToken(b, "tok_3", "h3", 22);

  auto found = ids_->FindTokenByHash("h2");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, "tok_2");
  EXPECT_EQ(found->user_name, "alice");
  EXPECT_EQ(found->user_id, a.id);
  EXPECT_EQ(found->expires_ms, 1000);
  EXPECT_EQ(ids_->FindTokenByHash("nope").status().code(), StatusCode::kNotFound);

  EXPECT_EQ(ids_->ListTokens("alice")->size(), 2u);
  EXPECT_EQ(ids_->ListTokens("")->size(), 3u);
  EXPECT_TRUE(ids_->ListTokens("carol")->empty());

  // Same hash or id again is refused: a hash identifies one token.
  TokenRecord again;
  again.id = "tok_9";
  again.user_id = a.id;
  again.hash = "h1";
  EXPECT_EQ(ids_->CreateToken(again).code(), StatusCode::kAlreadyExists);
  again.user_id = 999;
  again.hash = "h9";
  EXPECT_EQ(ids_->CreateToken(again).code(), StatusCode::kNotFound);

  ASSERT_TRUE(ids_->RevokeToken("tok_1", 100).ok());
  ASSERT_TRUE(ids_->RevokeToken("tok_1", 200).ok());
  EXPECT_EQ(ids_->GetToken("tok_1")->revoked_ms, 100);
  EXPECT_EQ(ids_->FindTokenByHash("h1")->revoked_ms, 100);  // still found: the caller decides
  EXPECT_EQ(ids_->RevokeToken("tok_x", 1).code(), StatusCode::kNotFound);

  ASSERT_TRUE(ids_->TouchToken("tok_2", 300).ok());
  ASSERT_TRUE(ids_->TouchToken("tok_2", 250).ok());  // never goes back
  EXPECT_EQ(ids_->GetToken("tok_2")->last_used_ms, 300);
  EXPECT_EQ(ids_->TouchToken("tok_x", 1).code(), StatusCode::kNotFound);
}

TEST_F(SqliteIdentityStoreTest, DeletingAUserDropsItsTokensAndGrants) {
  UserRecord a = NewUser("alice");
  NewUser("bob");
  NewToken(a, "tok_1", "h1");
  NewGrant("user", "alice", "experiment", "1");
  NewGrant("group", "alice", "experiment", "1");  // a group that happens to share the name stays
  NewGrant("user", "bob", "experiment", "1");
  ASSERT_TRUE(ids_->DeleteUser("alice").ok());
  EXPECT_EQ(ids_->GetToken("tok_1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ids_->FindTokenByHash("h1").status().code(), StatusCode::kNotFound);
  auto grants = ids_->AllGrants();
  ASSERT_TRUE(grants.ok());
  ASSERT_EQ(grants->size(), 2u);
  EXPECT_EQ((*grants)[0].subject_kind, "group");
  EXPECT_EQ((*grants)[1].subject, "bob");
}

TEST_F(SqliteIdentityStoreTest, GrantsUniquePerPairQueryAndDelete) {
  GrantRecord g1 = NewGrant("user", "alice", "experiment", "1");
  NewGrant("user", "alice", "experiment", "2", "viewer");
  NewGrant("group", "ml", "global", "", "editor");
  EXPECT_EQ(g1.created_by, "admin");
  EXPECT_EQ(g1.created_ms, 30);

  GrantRecord dup = g1;
  dup.role = "manager";
  EXPECT_EQ(ids_->CreateGrant(dup).status().code(), StatusCode::kAlreadyExists);

  ASSERT_TRUE(ids_->UpdateGrantRole(g1.id, "manager").ok());
  EXPECT_EQ(ids_->GetGrant(g1.id)->role, "manager");
  EXPECT_EQ(ids_->UpdateGrantRole(999, "viewer").code(), StatusCode::kNotFound);

  GrantQuery q;
  q.subject = "alice";
  EXPECT_EQ(ids_->ListGrants(q)->size(), 2u);
  q.object_id = "2";
  ASSERT_EQ(ids_->ListGrants(q)->size(), 1u);
  EXPECT_EQ(ids_->ListGrants(q)->front().role, "viewer");
  GrantQuery page;
  page.max_results = 1;
  page.offset = 1;
  ASSERT_EQ(ids_->ListGrants(page)->size(), 1u);
  EXPECT_EQ(ids_->ListGrants(page)->front().object_id, "2");

  ASSERT_TRUE(ids_->DeleteGrantsOn("experiment", "1").ok());
  EXPECT_EQ(ids_->GetGrant(g1.id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ids_->AllGrants()->size(), 2u);
  EXPECT_EQ(ids_->DeleteGrant(g1.id).code(), StatusCode::kNotFound);
  ASSERT_TRUE(ids_->DeleteGrant(ids_->AllGrants()->front().id).ok());
  EXPECT_EQ(ids_->AllGrants()->size(), 1u);
}

}  // namespace
}  // namespace kiln::storage
