#include "auth/jwks.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <nlohmann/json.hpp>

#include "auth/jwt.h"

namespace kiln::auth {
namespace {

using Json = nlohmann::json;

// Below 2048 bits RSA signatures are forgeable by a determined attacker.
constexpr int kMinRsaBits = 2048;
// Above this, verification turns into a denial of service (and no IdP does it).
constexpr int kMaxRsaBits = 8192;

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct BldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};

std::shared_ptr<EVP_PKEY> Own(EVP_PKEY* key) { return std::shared_ptr<EVP_PKEY>(key, &EVP_PKEY_free); }

StatusOr<std::string> Member(const Json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) return InvalidArgument(std::string("no \"") + name + "\"");
  auto bytes = Base64UrlDecode(it->get_ref<const std::string&>());
  if (!bytes || bytes->empty()) return InvalidArgument(std::string("\"") + name + "\" is not base64url");
  return *bytes;
}

StatusOr<std::shared_ptr<EVP_PKEY>> FromData(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) return Internal("OpenSSL key import unavailable");
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0 || !key) {
    return InvalidArgument("not a valid public key");
  }
  return Own(key);
}

StatusOr<std::shared_ptr<EVP_PKEY>> RsaKey(const Json& jwk) {
  KILN_ASSIGN_OR_RETURN(std::string n, Member(jwk, "n"));
  KILN_ASSIGN_OR_RETURN(std::string e, Member(jwk, "e"));
  std::unique_ptr<BIGNUM, BnFree> bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                                                 static_cast<int>(n.size()), nullptr));
  std::unique_ptr<BIGNUM, BnFree> bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                                                 static_cast<int>(e.size()), nullptr));
  if (!bn_n || !bn_e) return Internal("out of memory");
  const int bits = BN_num_bits(bn_n.get());
  if (bits < kMinRsaBits || bits > kMaxRsaBits) {
    return InvalidArgument("RSA modulus of " + std::to_string(bits) + " bits (2048 to 8192 accepted)");
  }
  // e must be odd and > 1, or the "signature" check degenerates.
  if (!BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get())) return InvalidArgument("bad RSA exponent");
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    return Internal("out of memory");
  }
  return FromData("RSA", bld.get());
}

StatusOr<std::shared_ptr<EVP_PKEY>> EcP256Key(const Json& jwk) {
  KILN_ASSIGN_OR_RETURN(std::string x, Member(jwk, "x"));
  KILN_ASSIGN_OR_RETURN(std::string y, Member(jwk, "y"));
  // RFC 7518 6.2.1.2: the coordinates are exactly the field size, 32 bytes for P-256.
  if (x.size() != 32 || y.size() != 32) return InvalidArgument("P-256 coordinates must be 32 bytes");
  std::string point = "\x04" + x + y;  // uncompressed SEC1 point
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  char group[] = "prime256v1";
  if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size())) {
    return Internal("out of memory");
  }
  KILN_ASSIGN_OR_RETURN(auto key, FromData("EC", bld.get()));
  // An off-curve point would make ECDSA verification meaningless (invalid-curve attacks).
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return InvalidArgument("EC point is not on P-256");
  return key;
}

// Ok with the parsed key, or the reason the key is not usable for signatures.
StatusOr<Jwk> ParseKey(const Json& j) {
  if (!j.is_object()) return InvalidArgument("not an object");
  Jwk out;
  if (auto it = j.find("kid"); it != j.end()) {
    if (!it->is_string()) return InvalidArgument("\"kid\" is not a string");
    out.kid = it->get<std::string>();
  }
  if (auto it = j.find("use"); it != j.end() && !(it->is_string() && it->get_ref<const std::string&>() == "sig")) {
    return InvalidArgument("\"use\" is not \"sig\"");
  }
  if (auto it = j.find("key_ops"); it != j.end()) {
    bool verify = false;
    if (it->is_array()) {
      for (const auto& op : *it) verify = verify || (op.is_string() && op.get_ref<const std::string&>() == "verify");
    }
    if (!verify) return InvalidArgument("\"key_ops\" lacks \"verify\"");
  }
  auto kty = j.find("kty");
  if (kty == j.end() || !kty->is_string()) return InvalidArgument("no \"kty\"");
  const std::string& type = kty->get_ref<const std::string&>();
  if (type == "RSA") {
    out.type = JwkType::kRsa;
    KILN_ASSIGN_OR_RETURN(out.key, RsaKey(j));
  } else if (type == "EC") {
    auto crv = j.find("crv");
    if (crv == j.end() || !crv->is_string() || crv->get_ref<const std::string&>() != "P-256") {
      return InvalidArgument("EC curve other than P-256");
    }
    out.type = JwkType::kEcP256;
    KILN_ASSIGN_OR_RETURN(out.key, EcP256Key(j));
  } else {
    return InvalidArgument("kty \"" + type + "\" is not accepted (RSA and EC P-256 only)");
  }
  if (auto it = j.find("alg"); it != j.end()) {
    if (!it->is_string()) return InvalidArgument("\"alg\" is not a string");
    out.alg = it->get<std::string>();
    const char* expected = out.type == JwkType::kRsa ? "RS256" : "ES256";
    if (out.alg != expected) return InvalidArgument("key alg \"" + out.alg + "\" is not accepted");
  }
  return out;
}

}  // namespace

const char* JwkTypeName(JwkType type) { return type == JwkType::kRsa ? "RSA" : "EC P-256"; }

StatusOr<KeySet> KeySet::Parse(std::string_view json, std::vector<std::string>* skipped) {
  Json doc = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return InvalidArgument("JWKS is not a JSON object");
  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) return InvalidArgument("JWKS has no \"keys\" array");
  KeySet set;
  for (size_t i = 0; i < keys->size(); ++i) {
    auto key = ParseKey((*keys)[i]);
    if (key.ok()) {
      set.keys_.push_back(std::move(key).value());
    } else if (skipped) {
      std::string kid;
      if ((*keys)[i].is_object() && (*keys)[i].contains("kid") && (*keys)[i]["kid"].is_string()) {
        kid = (*keys)[i]["kid"].get<std::string>();
      }
      skipped->push_back("key " + std::to_string(i) + (kid.empty() ? "" : " (kid " + kid + ")") + ": " +
                         key.status().message());
    }
  }
  return set;
}

std::vector<const Jwk*> KeySet::WithKid(std::string_view kid) const {
  std::vector<const Jwk*> out;
  for (const Jwk& k : keys_) {
    if (k.kid == kid) out.push_back(&k);
  }
  return out;
}

}  // namespace kiln::auth
