// JWS parsing and signatures, JWKS parsing and the claim rules, with keys
// generated here and tokens signed here: valid RS256/ES256 pass; unsigned,
// HMAC (incl. the RSA-public-key confusion), crit, tampered and
// key-type-mismatched tokens fail with their reason.
#include "auth/jwt.h"

#include <gtest/gtest.h>

#include "auth/jwks.h"
#include "auth/jwt_test_signer.h"
#include "auth/oidc_claims.h"

namespace kiln::auth {
namespace {

using testing::Json;
using testing::TestKey;

Jwk ParseOne(const Json& jwk) {
  auto set = KeySet::Parse(Json{{"keys", Json::array({jwk})}}.dump());
  EXPECT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->keys().size(), 1u);
  return set->keys().empty() ? Jwk{} : set->keys().front();
}

std::string Reason(const Status& s) { return s.message(); }

TEST(Base64Url, RoundTripsAndDecodesStrictly) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar",
                                                       std::string("\xff\xfe\x00\x01", 4)}) {
    auto back = Base64UrlDecode(Base64UrlEncode(s));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(Base64UrlDecode("Zm9v=").has_value());  // padding
  EXPECT_FALSE(Base64UrlDecode("Zm+v").has_value());   // standard alphabet
  EXPECT_FALSE(Base64UrlDecode("Zm9vY").has_value());  // impossible length
  EXPECT_FALSE(Base64UrlDecode("Zh").has_value());     // non-zero left-over bits ("Zg" is canonical)
  EXPECT_EQ(*Base64UrlDecode("Zg"), "f");
}

TEST(Jws, ValidRs256AndEs256Verify) {
  for (const TestKey& key : {TestKey::Rsa("r1"), TestKey::Ec("e1")}) {
    const std::string token = key.Sign({{"sub", "alice"}});
    auto jws = ParseJws(token);
    ASSERT_TRUE(jws.ok()) << jws.status().ToString();
    EXPECT_EQ(jws->alg, key.alg());
    EXPECT_EQ(jws->kid.value_or(""), key.kid());
    EXPECT_TRUE(VerifySignature(*jws, ParseOne(key.Jwk())).ok()) << key.alg();
    auto claims = ParseClaims(*jws);
    ASSERT_TRUE(claims.ok());
    EXPECT_EQ((*claims)["sub"], "alice");
  }
}

TEST(Jws, RefusedAlgorithmsAndHeaders) {
  const TestKey rsa = TestKey::Rsa("r1");
  const Json claims = {{"sub", "alice"}};
  auto none = ParseJws(testing::Unsigned({{"alg", "none"}, {"kid", "r1"}}, claims));
  EXPECT_EQ(none.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Reason(none.status()), "alg none is not accepted");
  // The alg-confusion forgery: HS256 "signed" with the RSA public key's bytes.
  auto confused = ParseJws(testing::Hs256({{"alg", "HS256"}, {"kid", "r1"}}, claims, rsa.PublicPem()));
  EXPECT_EQ(Reason(confused.status()), "alg HS256 is not accepted (RS256 and ES256 only)");
  for (const char* alg : {"RS384", "RS512", "PS256", "ES384", "ES512", "EdDSA", "NONE", "rs256"}) {
    EXPECT_FALSE(ParseJws(rsa.Sign(claims, {{"alg", alg}})).ok()) << alg;
  }
  EXPECT_EQ(Reason(ParseJws(rsa.Sign(claims, {{"crit", {"exp"}}, {"exp", 1}})).status()),
            "crit header parameters are not supported");
  EXPECT_EQ(Reason(ParseJws(rsa.Sign(claims, {{"kid", 7}})).status()), "token header kid is not a string");
  EXPECT_EQ(Reason(ParseJws("a.b.c.d.e").status()), "encrypted tokens (JWE) are not accepted");
  EXPECT_FALSE(ParseJws("not-a-token").ok());
  EXPECT_FALSE(ParseJws("e30.e30.").ok());                      // {} header: no alg
  EXPECT_FALSE(ParseJws("W10.e30.AAAA").ok());                  // [] header
  EXPECT_FALSE(ParseJws(Base64UrlEncode(R"({"alg":"RS256"})") + ".e30.").ok());  // empty signature
  // A header with an alg of the wrong JSON type.
  EXPECT_EQ(Reason(ParseJws(Base64UrlEncode(R"({"alg":["RS256"]})") + ".e30.AAAA").status()), "token header has no alg");
}

TEST(Jws, TamperedPayloadFails) {
  for (const TestKey& key : {TestKey::Rsa("r1"), TestKey::Ec("e1")}) {
    const std::string token = key.Sign({{"sub", "alice"}, {"roles", {"viewer"}}});
    const size_t d1 = token.find('.');
    const size_t d2 = token.find('.', d1 + 1);
    const std::string forged = token.substr(0, d1 + 1) +
                               Base64UrlEncode(Json{{"sub", "alice"}, {"roles", {"admin"}}}.dump()) +
                               token.substr(d2);
    auto jws = ParseJws(forged);
    ASSERT_TRUE(jws.ok());
    EXPECT_EQ(Reason(VerifySignature(*jws, ParseOne(key.Jwk()))), "signature verification failed");
    // A signature flipped by one bit fails too.
    std::string bad = token;
    bad[d2 + 5] = bad[d2 + 5] == 'A' ? 'B' : 'A';
    auto jws2 = ParseJws(bad);
    ASSERT_TRUE(jws2.ok());
    EXPECT_FALSE(VerifySignature(*jws2, ParseOne(key.Jwk())).ok());
  }
}

TEST(Jws, AlgMustMatchKeyType) {
  const TestKey rsa = TestKey::Rsa("k");
  const TestKey ec = TestKey::Ec("k");
  // An ES256 token checked against an RSA key, and the other way around.
  auto es = ParseJws(ec.Sign({{"sub", "a"}}));
  ASSERT_TRUE(es.ok());
  EXPECT_EQ(Reason(VerifySignature(*es, ParseOne(rsa.Jwk()))), "alg ES256 does not match signing key k of type RSA");
  auto rs = ParseJws(rsa.Sign({{"sub", "a"}}));
  ASSERT_TRUE(rs.ok());
  EXPECT_EQ(Reason(VerifySignature(*rs, ParseOne(ec.Jwk()))), "alg RS256 does not match signing key k of type EC P-256");
  // The ES256 signature is 64 raw bytes; a DER one is refused.
  auto short_sig = ParseJws(ec.Sign({{"sub", "a"}}).substr(0, es->signing_input.size()) + "." +
                            Base64UrlEncode(std::string(70, 'x')));
  ASSERT_TRUE(short_sig.ok());
  EXPECT_EQ(Reason(VerifySignature(*short_sig, ParseOne(ec.Jwk()))), "ES256 signature is not 64 bytes");
}

TEST(Jwks, KeepsOnlyUsableSignatureKeys) {
  const TestKey r1 = TestKey::Rsa("r1");
  const TestKey e1 = TestKey::Ec("e1");
  Json enc = TestKey::Rsa("enc").Jwk();
  enc["use"] = "enc";
  Json wrap = e1.Jwk();
  wrap["kid"] = "wrap";
  wrap["key_ops"] = {"wrapKey"};
  Json oct = {{"kty", "oct"}, {"kid", "hmac"}, {"k", Base64UrlEncode("secret")}};
  Json small = TestKey::Rsa("small", 1024).Jwk();
  Json p384 = e1.Jwk();
  p384["kid"] = "p384";
  p384["crv"] = "P-384";
  Json off_curve = e1.Jwk();
  off_curve["kid"] = "off";
  std::string y = *Base64UrlDecode(off_curve["y"].get<std::string>());
  y[31] ^= 1;
  off_curve["y"] = Base64UrlEncode(y);
  Json wrong_alg = r1.Jwk();
  wrong_alg["kid"] = "ps";
  wrong_alg["alg"] = "PS256";
  Json no_use = r1.Jwk();
  no_use.erase("use");
  no_use.erase("alg");
  no_use["kid"] = "plain";

  std::vector<std::string> skipped;
  auto set = KeySet::Parse(
      Json{{"keys", {r1.Jwk(), e1.Jwk(), enc, wrap, oct, small, p384, off_curve, wrong_alg, no_use, "junk"}}}.dump(),
      &skipped);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  std::vector<std::string> kids;
  for (const Jwk& k : set->keys()) kids.push_back(k.kid);
  EXPECT_EQ(kids, (std::vector<std::string>{"r1", "e1", "plain"}));
  EXPECT_EQ(skipped.size(), 8u);
  EXPECT_EQ(set->WithKid("e1").size(), 1u);
  EXPECT_EQ(set->WithKid("e1").front()->type, JwkType::kEcP256);
  EXPECT_TRUE(set->WithKid("nope").empty());

  EXPECT_FALSE(KeySet::Parse("[]").ok());
  EXPECT_FALSE(KeySet::Parse("{\"keys\": 1}").ok());
  EXPECT_FALSE(KeySet::Parse("not json").ok());
  ASSERT_TRUE(KeySet::Parse("{\"keys\": []}").ok());
}

TEST(Jwks, KeyNamingAnotherAlgIsNotUsedForThisOne) {
  const TestKey rsa = TestKey::Rsa("r1");
  Jwk key = ParseOne(rsa.Jwk());
  key.alg = "RS512";  // as if published for another algorithm
  auto jws = ParseJws(rsa.Sign({{"sub", "a"}}));
  ASSERT_TRUE(jws.ok());
  EXPECT_EQ(Reason(VerifySignature(*jws, key)), "alg RS256 does not match the key's alg RS512");
}

class Claims : public ::testing::Test {
 protected:
  Claims() {
    options_.issuer = "https://idp.example";
    options_.audience = "kiln";
  }
  Json Valid() const {
    return {{"iss", "https://idp.example"}, {"aud", "kiln"}, {"exp", now_ + 600}, {"nbf", now_ - 10},
            {"iat", now_ - 10}, {"sub", "u-1"}};
  }
  std::string Check(const Json& claims) const {
    auto r = CheckClaims(claims, options_, now_);
    if (r.ok()) return "ok";
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
    return r.status().message();
  }
  OidcOptions options_;
  double now_ = 1'800'000'000;
};

TEST_F(Claims, MandatoryClaimsAndTimes) {
  EXPECT_EQ(Check(Valid()), "ok");
  Json c = Valid();
  c["aud"] = {"other", "kiln"};
  EXPECT_EQ(Check(c), "ok");
  for (const char* name : {"iss", "aud", "exp", "nbf"}) {
    c = Valid();
    c.erase(name);
    EXPECT_EQ(Check(c), std::string("token has no ") + name);
  }
  c = Valid();
  c.erase("iat");  // optional
  EXPECT_EQ(Check(c), "ok");
  c = Valid();
  c["iss"] = "https://idp.example/";  // exact match only
  EXPECT_EQ(Check(c), "issuer mismatch");
  c["iss"] = 5;
  EXPECT_EQ(Check(c), "issuer mismatch");
  c = Valid();
  c["aud"] = "kiln2";
  EXPECT_EQ(Check(c), "audience mismatch");
  c["aud"] = {"a", "b"};
  EXPECT_EQ(Check(c), "audience mismatch");
  c = Valid();
  c["exp"] = "1900000000";
  EXPECT_EQ(Check(c), "token exp is not a number");
  // The leeway (30 s): 29 s past exp still passes, 30 s does not.
  c = Valid();
  c["exp"] = now_ - 29;
  EXPECT_EQ(Check(c), "ok");
  c["exp"] = now_ - 30;
  EXPECT_EQ(Check(c), "token expired");
  c = Valid();
  c["nbf"] = now_ + 30;
  EXPECT_EQ(Check(c), "ok");
  c["nbf"] = now_ + 31;
  EXPECT_EQ(Check(c), "token not yet valid (nbf)");
  c = Valid();
  c["iat"] = now_ + 31;
  EXPECT_EQ(Check(c), "token issued in the future (iat)");
  c["iat"] = "x";
  EXPECT_EQ(Check(c), "token iat is not a number");
}

TEST_F(Claims, PrincipalFromConfiguredClaims) {
  Json c = Valid();
  c["preferred_username"] = "alice";
  c["groups"] = {"team-a", 7, "team-b"};
  c["roles"] = {"offline_access", "viewer", "EDITOR"};
  c["jti"] = "tok-1";
  auto p = PrincipalFromClaims(c, options_);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "alice");
  EXPECT_EQ(p->kind, Principal::Kind::kExternal);
  EXPECT_EQ(p->method, "oidc");
  EXPECT_EQ(p->groups, (std::vector<std::string>{"team-a", "team-b"}));
  EXPECT_EQ(p->global_role, Role::kEditor);
  EXPECT_FALSE(p->admin);
  EXPECT_EQ(p->credential_id, "tok-1");

  c.erase("preferred_username");  // falls back to sub
  c["groups"] = "solo";
  c["roles"] = "admin";
  p = PrincipalFromClaims(c, options_);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "u-1");
  EXPECT_EQ(p->groups, (std::vector<std::string>{"solo"}));
  EXPECT_EQ(p->global_role, Role::kAdmin);
  EXPECT_TRUE(p->admin);

  c.erase("sub");
  EXPECT_EQ(PrincipalFromClaims(c, options_).status().message(), "token has neither preferred_username nor sub");

  // Keycloak-style nested claims.
  options_.username_claim = "email";
  options_.roles_claim = "realm_access.roles";
  c = Valid();
  c["email"] = "bob@example.com";
  c["realm_access"] = {{"roles", {"manager"}}};
  p = PrincipalFromClaims(c, options_);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "bob@example.com");
  EXPECT_EQ(p->global_role, Role::kManager);
  EXPECT_TRUE(p->groups.empty());
  EXPECT_TRUE(p->credential_id.empty());
}

}  // namespace
}  // namespace kiln::auth
