// Test-only: the issuer's side of a JWT, so tests mint their own tokens with
// keys generated on the spot (OpenSSL), publish them as JWKs, and forge the
// tokens an attacker would (unsigned, HMAC with the public key, tampered).
// Header-only; included by the auth tests.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "auth/jwt.h"

namespace kiln::auth::testing {

using Json = nlohmann::json;

inline std::string BnBytes(const EVP_PKEY* key, const char* name, int pad) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) throw std::runtime_error("get_bn_param");
  std::string out(pad > 0 ? static_cast<size_t>(pad) : static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  return out;
}

class TestKey {
 public:
  static TestKey Rsa(std::string kid, unsigned bits = 2048) {
    return TestKey(std::move(kid), true, EVP_RSA_gen(bits));
  }
  static TestKey Ec(std::string kid) { return TestKey(std::move(kid), false, EVP_EC_gen("P-256")); }

  const std::string& kid() const { return kid_; }
  bool rsa() const { return rsa_; }
  const char* alg() const { return rsa_ ? "RS256" : "ES256"; }

  // The public JWK an issuer publishes.
  Json Jwk() const {
    Json j = {{"kid", kid_}, {"use", "sig"}, {"alg", alg()}};
    if (rsa_) {
      j["kty"] = "RSA";
      j["n"] = Base64UrlEncode(BnBytes(key_.get(), OSSL_PKEY_PARAM_RSA_N, 0));
      j["e"] = Base64UrlEncode(BnBytes(key_.get(), OSSL_PKEY_PARAM_RSA_E, 0));
    } else {
      j["kty"] = "EC";
      j["crv"] = "P-256";
      j["x"] = Base64UrlEncode(BnBytes(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32));
      j["y"] = Base64UrlEncode(BnBytes(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32));
    }
    return j;
  }

  std::string PublicPem() const {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key_.get());
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(bio);
    return out;
  }

  // Raw signature bytes as JWS wants them (PKCS#1 v1.5 for RSA, r||s for EC).
  std::string SignRaw(const std::string& input) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_.get());
    const auto* data = reinterpret_cast<const unsigned char*>(input.data());
    EVP_DigestSign(ctx, nullptr, &len, data, input.size());
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, data, input.size()) != 1) {
      throw std::runtime_error("sign");
    }
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    if (rsa_) return sig;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* ec = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(ec), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(ec), reinterpret_cast<unsigned char*>(raw.data() + 32), 32);
    ECDSA_SIG_free(ec);
    return raw;
  }

  // A signed compact JWS; the header gets alg and kid unless it sets them.
  std::string Sign(const Json& claims, Json header = Json::object()) const {
    if (!header.contains("alg")) header["alg"] = alg();
    if (!header.contains("kid")) header["kid"] = kid_;
    if (header["kid"].is_null()) header.erase("kid");
    const std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
    return input + "." + Base64UrlEncode(SignRaw(input));
  }

 private:
  TestKey(std::string kid, bool rsa, EVP_PKEY* key)
      : kid_(std::move(kid)), rsa_(rsa), key_(key, &EVP_PKEY_free) {
    if (!key) throw std::runtime_error("keygen");
  }
  std::string kid_;
  bool rsa_;
  std::shared_ptr<EVP_PKEY> key_;
};

inline std::string Unsigned(const Json& header, const Json& claims) {
  return Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump()) + ".";
}

// HS256 with `secret` as the key: against an RSA key's PEM, the alg-confusion forgery.
inline std::string Hs256(const Json& header, const Json& claims, const std::string& secret) {
  const std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), len));
}

}  // namespace kiln::auth::testing
