#include "auth/identity_service.h"

#include <gtest/gtest.h>

#include "auth/identity_test_util.h"

namespace kiln::auth {
namespace {

using IdentityServiceTest = testing::IdentityTest;

TEST_F(IdentityServiceTest, EnsureAdminCreatesAdminOnceAndRefusesNoPassword) {
  Status s = service_->EnsureAdmin("");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("KILN_ADMIN_PASSWORD"), std::string::npos) << s.message();
  EXPECT_EQ(service_->EnsureAdmin("short").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(service_->EnsureAdmin("first-admin-password").ok());
  auto admin = service_->GetUser("admin");
  ASSERT_TRUE(admin.ok());
  EXPECT_TRUE(admin->admin);
  EXPECT_TRUE(*service_->CheckPassword("admin", "first-admin-password"));
  // Later starts keep the existing users and their passwords.
  ASSERT_TRUE(service_->EnsureAdmin("").ok());
  ASSERT_TRUE(service_->EnsureAdmin("another-password").ok());
  EXPECT_TRUE(*service_->CheckPassword("admin", "first-admin-password"));
}

TEST_F(IdentityServiceTest, PasswordsAreHashedAndValidated) {
  auto u = AddUser("alice", "alice-password-1");
  EXPECT_EQ(u.password_hash.rfind("$scrypt$", 0), 0u);
  EXPECT_EQ(u.password_hash.find("alice-password-1"), std::string::npos);
  NewUser bad;
  bad.name = "bob";
  bad.password = "too-short";
  EXPECT_EQ(service_->CreateUser(bad).status().code(), StatusCode::kInvalidArgument);
  bad.password = "";
  EXPECT_EQ(service_->CreateUser(bad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->SetPassword("alice", "short").code(), StatusCode::kInvalidArgument);
  const int64_t before = service_->GetUser("alice")->password_changed_ms;
  ASSERT_TRUE(service_->SetPassword("alice", "alice-password-2").ok());
  EXPECT_GT(service_->GetUser("alice")->password_changed_ms, before);
  EXPECT_FALSE(*service_->CheckPassword("alice", "alice-password-1"));
  EXPECT_TRUE(*service_->CheckPassword("alice", "alice-password-2"));
  EXPECT_EQ(service_->SetPassword("ghost", "ghost-password-1").code(), StatusCode::kNotFound);
}

TEST_F(IdentityServiceTest, NamesAreValidated) {
  for (const char* name : {"", "a:b", "a b", "a/b", "ünï"}) {
    NewUser u;
    u.name = name;
    u.password = "long-enough-pass";
    EXPECT_EQ(service_->CreateUser(u).status().code(), StatusCode::kInvalidArgument) << name;
  }
  AddUser("first.last+ml@example.com", "long-enough-pass");
  NewUser dup;
  dup.name = "first.last+ml@example.com";
  dup.password = "long-enough-pass";
  EXPECT_EQ(service_->CreateUser(dup).status().code(), StatusCode::kAlreadyExists);
}

TEST_F(IdentityServiceTest, ServiceAccountsHaveNoPassword) {
  NewUser sa;
  sa.name = "ci-bot";
  sa.service_account = true;
  sa.password = "some-password-1";
  EXPECT_EQ(service_->CreateUser(sa).status().code(), StatusCode::kInvalidArgument);
  sa.password = "";
  auto created = service_->CreateUser(sa);
  ASSERT_TRUE(created.ok());
  EXPECT_TRUE(created->service_account);
  EXPECT_TRUE(created->password_hash.empty());
  EXPECT_EQ(service_->SetPassword("ci-bot", "some-password-1").code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(*service_->CheckPassword("ci-bot", ""));
}

TEST_F(IdentityServiceTest, TheLastAdminCanBeNeitherDeletedNorDemoted) {
  AddUser("root", "root-password-1", true);
  AddUser("alice", "alice-password-1");
  EXPECT_EQ(service_->DeleteUser("root").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->SetAdmin("root", false).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(service_->SetAdmin("alice", true).ok());
  ASSERT_TRUE(service_->SetAdmin("root", false).ok());
  EXPECT_EQ(service_->DeleteUser("alice").code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(service_->DeleteUser("root").ok());
  EXPECT_EQ(service_->GetUser("root").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->DeleteUser("root").code(), StatusCode::kNotFound);
}

TEST_F(IdentityServiceTest, TokensAreShownOnceStoredHashedListedAndRevoked) {
  AddUser("alice", "alice-password-1");
  AddUser("bob", "bob-password-12");
  auto t = service_->CreateToken(NewToken{"alice", "laptop", clock_.now + 3600000});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->record.id.rfind("tok_", 0), 0u);
  EXPECT_TRUE(t->record.hash.empty());
  auto stored = ids_->GetToken(t->record.id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->hash, secret_->HmacHex(t->secret));
  EXPECT_EQ(stored->hash.find(t->secret), std::string::npos);
  ASSERT_TRUE(service_->CreateToken(NewToken{"bob", "", 0}).ok());

  auto mine = service_->ListTokens("alice");
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].name, "laptop");
  EXPECT_TRUE((*mine)[0].hash.empty());
  EXPECT_EQ(service_->ListTokens("")->size(), 2u);
  EXPECT_EQ(service_->ListTokens("ghost").status().code(), StatusCode::kNotFound);

  auto revoked = service_->RevokeToken(t->record.id);
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(revoked->revoked_ms, clock_.now.load());
  EXPECT_TRUE(service_->RevokeToken(t->record.id).ok());
  EXPECT_EQ(service_->RevokeToken("tok_nope").status().code(), StatusCode::kNotFound);

  EXPECT_EQ(service_->CreateToken(NewToken{"alice", "", clock_.now - 1}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->CreateToken(NewToken{"ghost", "", 0}).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace kiln::auth
