#include "auth/password_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/base64.h"

namespace kiln::auth {
namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kKeyBytes = 32;
constexpr std::string_view kPrefix = "$scrypt$";

Status CheckParams(const ScryptParams& p) {
  if (p.log2_n < kMinLog2N || p.log2_n > kMaxLog2N) {
    return InvalidArgument("scrypt ln must be within [" + std::to_string(kMinLog2N) + ", " +
                           std::to_string(kMaxLog2N) + "]");
  }
  if (p.r < 1 || p.r > 32) return InvalidArgument("scrypt r must be within [1, 32]");
  if (p.p < 1 || p.p > 16) return InvalidArgument("scrypt p must be within [1, 16]");
  return Status::Ok();
}

StatusOr<std::string> Derive(std::string_view password, std::string_view salt, const ScryptParams& p) {
  const uint64_t n = uint64_t{1} << p.log2_n;
  // OpenSSL refuses to allocate more than maxmem: allow exactly what these
  // parameters need (128*r*N for V plus 128*r*p for B) with some headroom.
  const uint64_t maxmem = 128ull * p.r * (n + p.p + 2) + (1u << 20);
  std::string key(kKeyBytes, '\0');
  if (EVP_PBE_scrypt(password.data(), password.size(), reinterpret_cast<const unsigned char*>(salt.data()),
                     salt.size(), n, static_cast<uint64_t>(p.r), static_cast<uint64_t>(p.p), maxmem,
                     reinterpret_cast<unsigned char*>(key.data()), key.size()) != 1) {
    return Internal("scrypt failed (out of memory?)");
  }
  return key;
}

std::optional<int> ParseInt(std::string_view s) {
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

struct Parsed {
  ScryptParams params;
  std::string salt;
  std::string key;
};

StatusOr<Parsed> Parse(std::string_view encoded) {
  const Status bad = InvalidArgument("not a kiln scrypt password hash");
  if (encoded.substr(0, kPrefix.size()) != kPrefix) return bad;
  auto parts = Split(encoded.substr(kPrefix.size()), '$');
  if (parts.size() != 3) return bad;
  Parsed out;
  bool seen_n = false, seen_r = false, seen_p = false;
  for (std::string_view kv : Split(parts[0], ',')) {
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) return bad;
    auto v = ParseInt(kv.substr(eq + 1));
    if (!v) return bad;
    std::string_view k = kv.substr(0, eq);
    if (k == "ln" && !seen_n) {
      out.params.log2_n = *v;
      seen_n = true;
    } else if (k == "r" && !seen_r) {
      out.params.r = *v;
      seen_r = true;
    } else if (k == "p" && !seen_p) {
      out.params.p = *v;
      seen_p = true;
    } else {
      return bad;
    }
  }
  if (!seen_n || !seen_r || !seen_p) return bad;
  KILN_RETURN_IF_ERROR(CheckParams(out.params));
  auto salt = Base64Decode(parts[1]);
  auto key = Base64Decode(parts[2]);
  if (!salt || !key || salt->empty() || key->size() != kKeyBytes) return bad;
  out.salt = std::move(*salt);
  out.key = std::move(*key);
  return out;
}

}  // namespace

StatusOr<std::string> HashPassword(std::string_view password, const ScryptParams& params) {
  KILN_RETURN_IF_ERROR(CheckParams(params));
  std::string salt(kSaltBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) != 1) {
    return Internal("the OS random generator failed");
  }
  KILN_ASSIGN_OR_RETURN(std::string key, Derive(password, salt, params));
  std::string out = std::string(kPrefix) + "ln=" + std::to_string(params.log2_n) + ",r=" + std::to_string(params.r) +
                    ",p=" + std::to_string(params.p) + "$" + Base64Encode(salt) + "$" + Base64Encode(key);
  OPENSSL_cleanse(key.data(), key.size());
  return out;
}

StatusOr<bool> VerifyPassword(std::string_view password, std::string_view encoded) {
  KILN_ASSIGN_OR_RETURN(Parsed parsed, Parse(encoded));
  KILN_ASSIGN_OR_RETURN(std::string key, Derive(password, parsed.salt, parsed.params));
  bool equal = CRYPTO_memcmp(key.data(), parsed.key.data(), kKeyBytes) == 0;
  OPENSSL_cleanse(key.data(), key.size());
  return equal;
}

}  // namespace kiln::auth
