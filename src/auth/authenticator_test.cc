#include "auth/authenticator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "auth/login_limiter.h"
#include "auth/password_hash.h"

#include "auth/identity_test_util.h"

namespace kiln::auth {
namespace {

class AuthenticatorTest : public testing::IdentityTest {
 protected:
  void SetUp() override {
    IdentityTest::SetUp();
    AuthenticatorOptions options;
    options.max_failures = 5;
    auth_ = Authenticator::Create(*ids_, *secret_, nullptr, clock_, options);
  }
  void TearDown() override {
    auth_.reset();
    IdentityTest::TearDown();
  }

  StatusOr<std::shared_ptr<const Principal>> Auth(const std::string& header, const std::string& source = "10.0.0.1:1") {
    return auth_->Authenticate(header, source);
  }

  std::unique_ptr<Authenticator> auth_;
};

TEST_F(AuthenticatorTest, NoHeaderIsAnonymousAndUnknownSchemesAreRefused) {
  auto anon = Auth("");
  ASSERT_TRUE(anon.ok());
  EXPECT_EQ(*anon, nullptr);
  EXPECT_EQ(Auth("Digest abc").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Auth("Basic !!!notbase64").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Auth("Basic " + Base64Encode("no-colon")).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Auth("Bearer ").status().code(), StatusCode::kUnauthenticated);
  auto jwt = Auth("Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln");
  EXPECT_EQ(jwt.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(jwt.status().message().find("no OIDC issuer"), std::string::npos) << jwt.status().message();
}

TEST_F(AuthenticatorTest, BasicIsVerifiedOnceThenServedFromTheCache) {
  AddUser("alice", "alice-password-1", true);
  auto p = Auth(BasicHeader("alice", "alice-password-1"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_NE(*p, nullptr);
  EXPECT_EQ((*p)->name, "alice");
  EXPECT_TRUE((*p)->admin);
  EXPECT_EQ((*p)->kind, Principal::Kind::kUser);
  EXPECT_EQ((*p)->method, "basic");
  const int reads = ids_->user_reads.load();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Auth(BasicHeader("alice", "alice-password-1"), "10.0.0.2:9").ok());
  EXPECT_EQ(ids_->user_reads.load(), reads);  // no store read, so no scrypt either
  // Case-insensitive scheme, as RFC 7235 says.
  EXPECT_TRUE(Auth("basic " + Base64Encode("alice:alice-password-1")).ok());

  clock_.now += 60001;  // the cache entry aged out
  ASSERT_TRUE(Auth(BasicHeader("alice", "alice-password-1")).ok());
  EXPECT_EQ(ids_->user_reads.load(), reads + 1);
}

TEST_F(AuthenticatorTest, WrongPasswordAndUnknownUserLookAlike) {
  AddUser("alice", "alice-password-1");
  auto wrong = Auth(BasicHeader("alice", "alice-password-2"));
  auto unknown = Auth(BasicHeader("nobody", "alice-password-1"));
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(unknown.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(wrong.status().message(), unknown.status().message());
  // A cached good pair does not make a different password pass.
  ASSERT_TRUE(Auth(BasicHeader("alice", "alice-password-1")).ok());
  EXPECT_FALSE(Auth(BasicHeader("alice", "alice-password-3")).ok());
}

TEST_F(AuthenticatorTest, PasswordChangeInvalidatesTheCachedPairAtOnce) {
  AddUser("alice", "alice-password-1");
  ASSERT_TRUE(Auth(BasicHeader("alice", "alice-password-1")).ok());
  ASSERT_TRUE(service_->SetPassword("alice", "alice-password-2").ok());
  auth_->Invalidate("alice");
  EXPECT_EQ(Auth(BasicHeader("alice", "alice-password-1")).status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(Auth(BasicHeader("alice", "alice-password-2")).ok());
}

TEST_F(AuthenticatorTest, AdminChangeIsSeenAfterInvalidate) {
  AddUser("root", "root-password-1", true);
  AddUser("alice", "alice-password-1");
  EXPECT_FALSE((*Auth(BasicHeader("alice", "alice-password-1")))->admin);
  ASSERT_TRUE(service_->SetAdmin("alice", true).ok());
  auth_->Invalidate("alice");
  EXPECT_TRUE((*Auth(BasicHeader("alice", "alice-password-1")))->admin);
}

TEST_F(AuthenticatorTest, ServiceAccountsCannotUsePasswords) {
  NewUser sa;
  sa.name = "ci-bot";
  sa.service_account = true;
  ASSERT_TRUE(service_->CreateUser(sa).ok());
  EXPECT_EQ(Auth(BasicHeader("ci-bot", "")).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Auth(BasicHeader("ci-bot", "anything-at-all")).status().code(), StatusCode::kUnauthenticated);
  auto token = service_->CreateToken(NewToken{"ci-bot", "ci", 0});
  ASSERT_TRUE(token.ok());
  auto p = Auth("Bearer " + token->secret);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)->kind, Principal::Kind::kServiceAccount);
}

TEST_F(AuthenticatorTest, TokensAreLookedUpByKeyedHashAndCached) {
  AddUser("alice", "alice-password-1");
  auto token = service_->CreateToken(NewToken{"alice", "laptop", 0});
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->secret.rfind("kiln_", 0), 0u);
  EXPECT_EQ(token->secret.size(), 5u + 64u);
  auto p = Auth("Bearer " + token->secret);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)->name, "alice");
  EXPECT_EQ((*p)->method, "token");
  EXPECT_EQ((*p)->credential_id, token->record.id);
  const int reads = ids_->token_reads.load();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(Auth("Bearer " + token->secret).ok());
  EXPECT_EQ(ids_->token_reads.load(), reads);
  EXPECT_GT(ids_->GetToken(token->record.id)->last_used_ms, 0);

  EXPECT_EQ(Auth("Bearer kiln_" + std::string(64, '0')).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Auth("Bearer not-a-kiln-token").status().code(), StatusCode::kUnauthenticated);
}

TEST_F(AuthenticatorTest, RevokedTokensAreRefusedAtOnce) {
  AddUser("alice", "alice-password-1");
  auto token = service_->CreateToken(NewToken{"alice", "", 0});
  ASSERT_TRUE(Auth("Bearer " + token->secret).ok());
  ASSERT_TRUE(service_->RevokeToken(token->record.id).ok());
  auth_->Invalidate("alice");
  auto r = Auth("Bearer " + token->secret);
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(r.status().message().find("revoked"), std::string::npos);
}

TEST_F(AuthenticatorTest, ExpiredTokensAreRefusedEvenWhenCached) {
  AddUser("alice", "alice-password-1");
  auto token = service_->CreateToken(NewToken{"alice", "", clock_.now + 5000});
  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(Auth("Bearer " + token->secret).ok());
  clock_.now += 5000;
  auto r = Auth("Bearer " + token->secret);
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(r.status().message().find("expired"), std::string::npos);
}

TEST_F(AuthenticatorTest, DeletedUsersLoseTheirTokensAndPasswords) {
  AddUser("root", "root-password-1", true);
  AddUser("alice", "alice-password-1");
  auto token = service_->CreateToken(NewToken{"alice", "", 0});
  ASSERT_TRUE(Auth("Bearer " + token->secret).ok());
  ASSERT_TRUE(Auth(BasicHeader("alice", "alice-password-1")).ok());
  ASSERT_TRUE(service_->DeleteUser("alice").ok());
  auth_->Invalidate("alice");
  EXPECT_FALSE(Auth("Bearer " + token->secret).ok());
  EXPECT_FALSE(Auth(BasicHeader("alice", "alice-password-1")).ok());
}

TEST_F(AuthenticatorTest, RepeatedFailuresAreRateLimitedEvenForTheRightPassword) {
  AddUser("alice", "alice-password-1");
  auto token = service_->CreateToken(NewToken{"alice", "", 0});
  ASSERT_TRUE(token.ok());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Auth(BasicHeader("alice", "guess-" + std::to_string(i)), "10.0.0.5:" + std::to_string(i)).status().code(),
              StatusCode::kUnauthenticated);
  }
  // Blocked by user name, from any source.
  EXPECT_EQ(Auth(BasicHeader("alice", "alice-password-1"), "10.0.0.6:1").status().code(),
            StatusCode::kResourceExhausted);
  // The source has more room (many users may share one address) ...
  EXPECT_EQ(Auth(BasicHeader("bob", "whatever-pass"), "10.0.0.5:77").status().code(), StatusCode::kUnauthenticated);
  for (int i = 0; i < 5 * LoginLimiter::kSourceFactor; ++i) (void)Auth(BasicHeader("u" + std::to_string(i), "x"), "10.0.0.5:9");
  // ... until it guessed too often: then no password from it is checked.
  EXPECT_EQ(Auth(BasicHeader("bob", "whatever-pass"), "10.0.0.5:78").status().code(), StatusCode::kResourceExhausted);
  // Tokens cannot be guessed: they still work from that address.
  EXPECT_TRUE(Auth("Bearer " + token->secret, "10.0.0.5:79").ok());
  clock_.now += 60000;
  EXPECT_TRUE(Auth(BasicHeader("alice", "alice-password-1"), "10.0.0.6:1").ok());
}

}  // namespace
}  // namespace kiln::auth

namespace kiln::auth {
namespace {

// Prints what a cached credential costs per request (no assertion: timings
// are the benchmark's business, bench/auth/).
TEST_F(AuthenticatorTest, CachedCredentialCostIsPrinted) {
  AddUser("alice", "alice-password-1");
  auto token = service_->CreateToken(NewToken{"alice", "", 0});
  ASSERT_TRUE(token.ok());
  const std::string basic = BasicHeader("alice", "alice-password-1");
  const std::string bearer = "Bearer " + token->secret;
  ASSERT_TRUE(Auth(basic).ok());
  ASSERT_TRUE(Auth(bearer).ok());
  for (const auto& [label, header] : {std::pair<const char*, std::string>{"basic", basic}, {"token", bearer}}) {
    constexpr int kCalls = 20000;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kCalls; ++i) ASSERT_TRUE(auth_->Authenticate(header, "10.0.0.1:1").ok());
    double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / kCalls;
    std::printf("cached %s credential: %.2f us per Authenticate\n", label, us);
  }
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(HashPassword("a default-cost password").ok());
  std::printf("one scrypt hash (ln=15, r=8, p=1; 32 MiB): %.1f ms\n",
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
}

}  // namespace
}  // namespace kiln::auth
