// OidcVerifier against an issuer of the test's own: kiln's HttpServer on
// port 0 serves the discovery document and a JWKS the test can change (key
// rotation) and counts fetches; keys are generated and tokens signed here; a
// settable clock drives expiry and the refresh interval (no wall-clock waits).
#include "auth/oidc_verifier.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <mutex>
#include <thread>

#include "auth/jwt_test_signer.h"
#include "core/metrics.h"
#include "core/worker_pool.h"
#include "net/http_server.h"
#include "net/router.h"

namespace kiln::auth {
namespace {

using testing::Json;
using testing::TestKey;

class SettableClock final : public Clock {
 public:
  int64_t NowMillis() const override { return ms.load(); }
  std::atomic<int64_t> ms{1'800'000'000'000};
};

class OidcVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/.well-known/openid-configuration", [this](net::HttpRequest&) {
      ++discovery_hits_;
      std::lock_guard lock(mu_);
      return net::HttpResponse::Json(200, Json{{"issuer", discovery_issuer_.empty() ? issuer_ : discovery_issuer_},
                                               {"jwks_uri", issuer_ + "/keys"}}.dump());
    });
    router_.Add("GET", "/keys", [this](net::HttpRequest&) {
      ++jwks_hits_;
      std::lock_guard lock(mu_);
      if (jwks_status_ != 200) return net::HttpResponse::Text(jwks_status_, "down");
      return net::HttpResponse::Json(200, Json{{"keys", published_}}.dump());
    });
    net::HttpServerOptions o;
    o.port = 0;
    o.handle_signals = false;
    o.access_log = false;
    pool_ = std::make_unique<WorkerPool>(2, 64);
    auto server = net::HttpServer::Create(o, router_, *pool_, metrics_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    thread_ = std::thread([this] { (void)server_->Run(); });
    issuer_ = "http://127.0.0.1:" + std::to_string(server_->port());
    Publish({rsa_.Jwk(), ec_.Jwk()});
    options_.issuer = issuer_;
    options_.audience = "kiln";
  }
  void TearDown() override {
    server_->Shutdown();
    thread_.join();
  }

  void Publish(std::vector<Json> keys) {
    std::lock_guard lock(mu_);
    published_ = std::move(keys);
  }
  std::unique_ptr<OidcVerifier> Verifier() {
    auto v = OidcVerifier::Create(options_, clock_);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return std::move(v).value();
  }
  double Now() const { return static_cast<double>(clock_.ms.load()) / 1000.0; }
  Json Claims() const {
    return {{"iss", issuer_}, {"aud", "kiln"}, {"exp", Now() + 300}, {"nbf", Now() - 5}, {"iat", Now() - 5},
            {"sub", "s-1"},   {"preferred_username", "alice"}, {"groups", {"team-a"}}, {"roles", {"editor"}},
            {"jti", "j-1"}};
  }
  std::string Refusal(OidcVerifier& v, const std::string& token) {
    auto p = v.Verify(token);
    if (p.ok()) return "accepted";
    EXPECT_EQ(p.status().code(), StatusCode::kUnauthenticated) << p.status().ToString();
    return p.status().message();
  }
  void Advance(int64_t seconds) { clock_.ms += seconds * 1000; }

  TestKey rsa_ = TestKey::Rsa("rsa-1");
  TestKey ec_ = TestKey::Ec("ec-1");
  SettableClock clock_;
  OidcOptions options_;
  std::string issuer_;
  std::atomic<int> discovery_hits_{0};
  std::atomic<int> jwks_hits_{0};
  std::mutex mu_;
  std::vector<Json> published_;
  std::string discovery_issuer_;
  unsigned jwks_status_ = 200;

  net::Router router_;
  MetricsRegistry metrics_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
};

TEST_F(OidcVerifierTest, ValidRs256AndEs256OverRealHttp) {
  auto v = Verifier();
  for (const TestKey* key : {&rsa_, &ec_}) {
    auto p = v->Verify(key->Sign(Claims()));
    ASSERT_TRUE(p.ok()) << key->alg() << ": " << p.status().ToString();
    EXPECT_EQ(p->name, "alice");
    EXPECT_EQ(p->kind, Principal::Kind::kExternal);
    EXPECT_EQ(p->method, "oidc");
    EXPECT_EQ(p->groups, std::vector<std::string>{"team-a"});
    EXPECT_EQ(p->global_role, Role::kEditor);
    EXPECT_FALSE(p->admin);
    EXPECT_EQ(p->credential_id, "j-1");
  }
  EXPECT_EQ(discovery_hits_.load(), 1);
  EXPECT_EQ(jwks_hits_.load(), 1);  // both keys from one fetch
}

TEST_F(OidcVerifierTest, TimeAndAudienceAndIssuerChecks) {
  auto v = Verifier();
  Json c = Claims();
  c["exp"] = Now() - 60;
  EXPECT_EQ(Refusal(*v, rsa_.Sign(c)), "token expired");
  c = Claims();
  c["nbf"] = Now() + 120;
  EXPECT_EQ(Refusal(*v, ec_.Sign(c)), "token not yet valid (nbf)");
  c = Claims();
  c.erase("exp");
  EXPECT_EQ(Refusal(*v, rsa_.Sign(c)), "token has no exp");
  c = Claims();
  c.erase("nbf");
  EXPECT_EQ(Refusal(*v, rsa_.Sign(c)), "token has no nbf");
  c = Claims();
  c["iss"] = issuer_ + "/other";
  EXPECT_EQ(Refusal(*v, rsa_.Sign(c)), "issuer mismatch");
  c = Claims();
  c["aud"] = {"someone-else"};
  EXPECT_EQ(Refusal(*v, rsa_.Sign(c)), "audience mismatch");
}

TEST_F(OidcVerifierTest, CachedTokenStillExpires) {
  auto v = Verifier();
  Json c = Claims();
  c["exp"] = Now() + 60;
  const std::string token = rsa_.Sign(c);
  ASSERT_TRUE(v->Verify(token).ok());
  ASSERT_TRUE(v->Verify(token).ok());  // from the cache
  Advance(60 + options_.leeway_s);
  EXPECT_EQ(Refusal(*v, token), "token expired");
}

TEST_F(OidcVerifierTest, ForgeriesAreRefused) {
  auto v = Verifier();
  const Json c = Claims();
  EXPECT_EQ(Refusal(*v, testing::Unsigned({{"alg", "none"}, {"kid", "rsa-1"}}, c)), "alg none is not accepted");
  EXPECT_EQ(Refusal(*v, testing::Hs256({{"alg", "HS256"}, {"kid", "rsa-1"}}, c, rsa_.PublicPem())),
            "alg HS256 is not accepted (RS256 and ES256 only)");
  // Payload swapped under a valid signature.
  const std::string good = rsa_.Sign(c);
  Json elevated = c;
  elevated["roles"] = {"admin"};
  const std::string other = rsa_.Sign(elevated);
  const auto parts = [](const std::string& t) {
    const size_t d1 = t.find('.');
    const size_t d2 = t.find('.', d1 + 1);
    return std::array<std::string, 3>{t.substr(0, d1), t.substr(d1 + 1, d2 - d1 - 1), t.substr(d2 + 1)};
  };
  const auto g = parts(good);
  const auto o = parts(other);
  EXPECT_EQ(Refusal(*v, g[0] + "." + o[1] + "." + g[2]), "signature verification failed");
  // An ES256 token naming the RSA key's kid: the key type decides, not the header.
  EXPECT_EQ(Refusal(*v, ec_.Sign(c, {{"kid", "rsa-1"}})), "alg ES256 does not match signing key rsa-1 of type RSA");
  // Signed by a key the issuer never published but claiming a published kid.
  EXPECT_EQ(Refusal(*v, TestKey::Rsa("rsa-1").Sign(c)), "signature verification failed");
  EXPECT_TRUE(v->Verify(good).ok());
}

TEST_F(OidcVerifierTest, UnknownKidThenRotationRefetchesAtMostOncePerInterval) {
  options_.refresh_interval_s = 30;
  auto v = Verifier();
  const std::string before = rsa_.Sign(Claims());
  ASSERT_TRUE(v->Verify(before).ok());
  EXPECT_EQ(jwks_hits_.load(), 1);

  // The issuer rotates: a new key appears, the old one goes.
  const TestKey next = TestKey::Rsa("rsa-2");
  Publish({next.Jwk(), ec_.Jwk()});
  Advance(10);  // within the interval of the first fetch: not fetched again
  EXPECT_EQ(Refusal(*v, next.Sign(Claims())), "unknown signing key rsa-2");
  EXPECT_EQ(jwks_hits_.load(), 1);
  Advance(20);
  auto p = v->Verify(next.Sign(Claims()));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(jwks_hits_.load(), 2);
  EXPECT_EQ(discovery_hits_.load(), 1);  // the jwks_uri is remembered
  // The withdrawn key no longer vouches, even for a token it verified before.
  EXPECT_EQ(Refusal(*v, before), "unknown signing key rsa-1");
}

TEST_F(OidcVerifierTest, KidStormIsRateLimited) {
  options_.refresh_interval_s = 30;
  auto v = Verifier();
  ASSERT_TRUE(v->Verify(rsa_.Sign(Claims())).ok());
  Advance(30);
  std::vector<std::thread> threads;
  std::atomic<int> refused{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto r = v->Verify(rsa_.Sign(Claims(), {{"kid", "random-" + std::to_string(t) + "-" + std::to_string(i)}}));
        if (!r.ok() && r.status().code() == StatusCode::kUnauthenticated) ++refused;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(refused.load(), 200);
  EXPECT_EQ(jwks_hits_.load(), 2);  // 200 unknown kids, one fetch
  Advance(30);
  EXPECT_FALSE(v->Verify(rsa_.Sign(Claims(), {{"kid", "random-x"}})).ok());
  EXPECT_EQ(jwks_hits_.load(), 3);
  EXPECT_TRUE(v->Verify(ec_.Sign(Claims())).ok());  // known keys keep working throughout
}

TEST_F(OidcVerifierTest, ConcurrentFirstTokensShareOneFetch) {
  auto v = Verifier();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Json c = Claims();
      c["jti"] = "j-" + std::to_string(t);
      if (v->Verify((t % 2 ? ec_ : rsa_).Sign(c)).ok()) ++ok;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(jwks_hits_.load(), 1);
  EXPECT_EQ(discovery_hits_.load(), 1);
}

TEST_F(OidcVerifierTest, FetchFailureKeepsOldKeys) {
  options_.refresh_interval_s = 5;
  auto v = Verifier();
  ASSERT_TRUE(v->Verify(rsa_.Sign(Claims())).ok());
  {
    std::lock_guard lock(mu_);
    jwks_status_ = 500;
  }
  Advance(5);
  EXPECT_EQ(Refusal(*v, rsa_.Sign(Claims(), {{"kid", "new"}})), "unknown signing key new");
  EXPECT_EQ(jwks_hits_.load(), 2);
  Json c = Claims();
  c["jti"] = "another";  // not cached: verified against the kept keys
  EXPECT_TRUE(v->Verify(ec_.Sign(c)).ok());
}

TEST_F(OidcVerifierTest, IssuerUnreachableOrLyingIsUnavailable) {
  {
    std::lock_guard lock(mu_);
    discovery_issuer_ = "https://evil.example";
  }
  auto v = Verifier();
  auto r = v->Verify(rsa_.Sign(Claims()));
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("is not the configured"), std::string::npos) << r.status().message();
  EXPECT_EQ(jwks_hits_.load(), 0);
  // Not retried on every request while the interval runs.
  EXPECT_EQ(v->Verify(rsa_.Sign(Claims())).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(discovery_hits_.load(), 1);
  {
    std::lock_guard lock(mu_);
    discovery_issuer_.clear();
  }
  Advance(options_.refresh_interval_s);
  EXPECT_TRUE(v->Verify(rsa_.Sign(Claims())).ok());

  options_.issuer = "http://127.0.0.1:1";  // nothing listens there
  auto down = Verifier();
  EXPECT_EQ(down->Verify(rsa_.Sign(Claims())).status().code(), StatusCode::kUnavailable);
}

TEST_F(OidcVerifierTest, ConfiguredJwksUriSkipsDiscovery) {
  options_.jwks_uri = issuer_ + "/keys";
  auto v = Verifier();
  EXPECT_TRUE(v->Verify(ec_.Sign(Claims())).ok());
  EXPECT_EQ(discovery_hits_.load(), 0);
  EXPECT_EQ(jwks_hits_.load(), 1);
}

TEST_F(OidcVerifierTest, TokenWithoutKidNeedsASingleKey) {
  auto v = Verifier();
  EXPECT_EQ(Refusal(*v, rsa_.Sign(Claims(), {{"kid", nullptr}})),
            "token has no kid and the issuer publishes 2 usable keys");
  Publish({rsa_.Jwk()});
  Advance(options_.refresh_interval_s);
  EXPECT_TRUE(v->Verify(rsa_.Sign(Claims(), {{"kid", nullptr}})).ok());
}

TEST_F(OidcVerifierTest, OneKidPublishedTwiceTriesEachKeyOfTheType) {
  const TestKey a = TestKey::Rsa("dup");
  const TestKey b = TestKey::Rsa("dup");
  const TestKey c = TestKey::Ec("dup");
  Publish({a.Jwk(), c.Jwk(), b.Jwk()});
  auto v = Verifier();
  for (const TestKey* k : {&a, &b, &c}) EXPECT_TRUE(v->Verify(k->Sign(Claims())).ok()) << k->alg();
  EXPECT_EQ(Refusal(*v, TestKey::Rsa("dup").Sign(Claims())), "signature verification failed");
}

TEST_F(OidcVerifierTest, RolesClaimAdminAndMissingName) {
  auto v = Verifier();
  Json c = Claims();
  c["roles"] = {"admin", "viewer"};
  auto p = v->Verify(ec_.Sign(c));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->admin);
  EXPECT_EQ(p->global_role, Role::kAdmin);
  c = Claims();
  c.erase("preferred_username");
  c.erase("sub");
  EXPECT_EQ(Refusal(*v, ec_.Sign(c)), "token has neither preferred_username nor sub");
}

TEST(OidcVerifierCreate, RefusesIncompleteOptions) {
  SystemClock clock;
  OidcOptions o;
  EXPECT_FALSE(OidcVerifier::Create(o, clock).ok());
  o.issuer = "idp.example";
  o.audience = "kiln";
  EXPECT_FALSE(OidcVerifier::Create(o, clock).ok());
  o.issuer = "https://idp.example";
  o.audience.clear();
  EXPECT_FALSE(OidcVerifier::Create(o, clock).ok());
  o.audience = "kiln";
  EXPECT_TRUE(OidcVerifier::Create(o, clock).ok());
}

TEST(OidcVerifierLooksLikeJwt, ShapesOnly) {
  EXPECT_TRUE(OidcVerifier::LooksLikeJwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"));
  EXPECT_TRUE(OidcVerifier::LooksLikeJwt("eyJhbGciOiJub25lIn0.e30."));  // unsigned: reaches Verify to be refused
  EXPECT_FALSE(OidcVerifier::LooksLikeJwt("kiln_0123456789abcdef"));
  EXPECT_FALSE(OidcVerifier::LooksLikeJwt("a.b.c.d"));
  EXPECT_FALSE(OidcVerifier::LooksLikeJwt(".b.c"));
  EXPECT_FALSE(OidcVerifier::LooksLikeJwt("a..c"));
  EXPECT_FALSE(OidcVerifier::LooksLikeJwt("a b.c.d"));
  EXPECT_FALSE(OidcVerifier::LooksLikeJwt(""));
}

}  // namespace
}  // namespace kiln::auth
