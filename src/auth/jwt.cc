#include "auth/jwt.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <array>
#include <memory>

namespace kiln::auth {
namespace {

using Json = nlohmann::json;

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
// Larger than any header kiln accepts; keeps hostile inputs from costing anything.
constexpr size_t kMaxTokenBytes = 64 * 1024;

constexpr std::array<int8_t, 256> DecodeTable() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr auto kDecode = DecodeTable();

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

// JWS carries r||s (RFC 7518 3.4); OpenSSL verifies DER SEQUENCE{r, s}.
std::optional<std::string> RawEcdsaToDer(std::string_view raw) {
  std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
  if (!sig) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(bytes, 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + 32, 32, nullptr);
  if (!r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

bool DigestVerify(EVP_PKEY* key, bool rsa, std::string_view signature, std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key) == 1 &&
            (!rsa || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1) &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  // A failed check leaves reasons on this thread's queue; nobody reads them.
  if (!ok) ERR_clear_error();
  return ok;
}

}  // namespace

std::string Base64UrlEncode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  size_t i = 0;
  const auto* b = reinterpret_cast<const unsigned char*>(in.data());
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = (uint32_t{b[i]} << 16) | (uint32_t{b[i + 1]} << 8) | b[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (in.size() - i == 1) {
    const uint32_t v = uint32_t{b[i]} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (in.size() - i == 2) {
    const uint32_t v = (uint32_t{b[i]} << 16) | (uint32_t{b[i + 1]} << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int8_t v = kDecode[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Left-over bits must be zero, so each byte string has exactly one encoding.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

StatusOr<Jws> ParseJws(std::string_view token) {
  if (token.size() > kMaxTokenBytes) return Unauthenticated("token too large");
  const size_t dots = static_cast<size_t>(std::count(token.begin(), token.end(), '.'));
  if (dots == 4) return Unauthenticated("encrypted tokens (JWE) are not accepted");
  if (dots != 2) return Unauthenticated("not a compact JWS (three dot-separated parts)");
  const size_t d1 = token.find('.');
  const size_t d2 = token.find('.', d1 + 1);
  const std::string_view h64 = token.substr(0, d1);
  const std::string_view p64 = token.substr(d1 + 1, d2 - d1 - 1);
  const std::string_view s64 = token.substr(d2 + 1);

  Jws jws;
  auto header_bytes = Base64UrlDecode(h64);
  if (!header_bytes) return Unauthenticated("token header is not base64url");
  jws.header = Json::parse(*header_bytes, nullptr, /*allow_exceptions=*/false);
  if (jws.header.is_discarded() || !jws.header.is_object()) {
    return Unauthenticated("token header is not a JSON object");
  }
  auto alg = jws.header.find("alg");
  if (alg == jws.header.end() || !alg->is_string()) return Unauthenticated("token header has no alg");
  jws.alg = alg->get<std::string>();
  if (jws.alg == "none") return Unauthenticated("alg none is not accepted");
  if (jws.alg != "RS256" && jws.alg != "ES256") {
    return Unauthenticated("alg " + jws.alg + " is not accepted (RS256 and ES256 only)");
  }
  // RFC 7515 4.1.11: extensions listed in crit must be understood, and kiln implements none.
  if (jws.header.contains("crit")) return Unauthenticated("crit header parameters are not supported");
  if (auto kid = jws.header.find("kid"); kid != jws.header.end()) {
    if (!kid->is_string()) return Unauthenticated("token header kid is not a string");
    jws.kid = kid->get<std::string>();
  }
  auto payload = Base64UrlDecode(p64);
  if (!payload) return Unauthenticated("token payload is not base64url");
  auto signature = Base64UrlDecode(s64);
  if (!signature) return Unauthenticated("token signature is not base64url");
  if (signature->empty()) return Unauthenticated("token is not signed");
  jws.payload = std::move(*payload);
  jws.signature = std::move(*signature);
  jws.signing_input = std::string(token.substr(0, d2));
  return jws;
}

Status VerifySignature(const Jws& jws, const Jwk& key) {
  const bool rsa = jws.alg == "RS256";
  if (!rsa && jws.alg != "ES256") return Unauthenticated("alg " + jws.alg + " is not accepted");
  const JwkType needed = rsa ? JwkType::kRsa : JwkType::kEcP256;
  if (key.type != needed) {
    return Unauthenticated("alg " + jws.alg + " does not match signing key " +
                           (key.kid.empty() ? std::string("(no kid)") : key.kid) + " of type " +
                           JwkTypeName(key.type));
  }
  if (!key.alg.empty() && key.alg != jws.alg) {
    return Unauthenticated("alg " + jws.alg + " does not match the key's alg " + key.alg);
  }
  if (!key.key) return Unauthenticated("signing key unavailable");
  std::string der;
  std::string_view signature = jws.signature;
  if (!rsa) {
    if (signature.size() != 64) return Unauthenticated("ES256 signature is not 64 bytes");
    auto converted = RawEcdsaToDer(signature);
    if (!converted) return Unauthenticated("ES256 signature is malformed");
    der = std::move(*converted);
    signature = der;
  }
  if (!DigestVerify(key.key.get(), rsa, signature, jws.signing_input)) {
    return Unauthenticated("signature verification failed");
  }
  return Status::Ok();
}

StatusOr<nlohmann::json> ParseClaims(const Jws& jws) {
  Json claims = Json::parse(jws.payload, nullptr, /*allow_exceptions=*/false);
  if (claims.is_discarded() || !claims.is_object()) return Unauthenticated("token claims are not a JSON object");
  return claims;
}

}  // namespace kiln::auth
