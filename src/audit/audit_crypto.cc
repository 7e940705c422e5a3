#include "audit/audit_crypto.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/base64.h"

namespace kiln::audit {
namespace {

std::string Hex(const unsigned char* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Undecodable hex (a tampered "prev") contributes its raw text, so the
// hash still changes and verification fails instead of crashing.
std::string HexBytes(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::string(hex);
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexDigit(hex[2 * i]), lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::string(hex);
    out[i] = static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::string OpenSslError(std::string_view what) { return std::string(what) + " failed (OpenSSL)"; }

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return Hex(digest, sizeof digest);
}

std::string ChainHash(std::string_view prev_hash_hex, std::string_view canonical_json) {
  std::string prev = HexBytes(prev_hash_hex);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, prev.data(), prev.size());
  EVP_DigestUpdate(ctx, canonical_json.data(), canonical_json.size());
  EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  return Hex(digest, len);
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return Hex(out, len);
}

struct Ed25519Key::Pkey {
  EVP_PKEY* pkey = nullptr;
  bool has_private = false;
  ~Pkey() { EVP_PKEY_free(pkey); }
};

Ed25519Key::Ed25519Key(Pkey* key) : key_(key) {}
Ed25519Key::~Ed25519Key() { delete key_; }

StatusOr<std::unique_ptr<Ed25519Key>> Ed25519Key::LoadPrivate(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read audit signing key " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string pem = ss.str();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (pkey == nullptr) return InvalidArgument(path + " is not a PEM private key");
  if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(pkey);
    return InvalidArgument(path + " is not an Ed25519 key");
  }
  auto* k = new Pkey;
  k->pkey = pkey;
  k->has_private = true;
  return std::unique_ptr<Ed25519Key>(new Ed25519Key(k));
}

StatusOr<std::unique_ptr<Ed25519Key>> Ed25519Key::LoadOrCreate(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return LoadPrivate(path);
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (pkey == nullptr) return Internal(OpenSslError("Ed25519 key generation"));
  auto* k = new Pkey;
  k->pkey = pkey;
  k->has_private = true;
  std::unique_ptr<Ed25519Key> key(new Ed25519Key(k));
  BIO* bio = BIO_new(BIO_s_mem());
  if (PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    BIO_free(bio);
    return Internal(OpenSslError("writing the Ed25519 key"));
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  // O_EXCL: two servers racing on a fresh data dir must not each keep a key
  // the other overwrote.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return LoadPrivate(path);
    return Unavailable("cannot create audit signing key " + path + ": " + std::strerror(errno));
  }
  ssize_t written = ::write(fd, pem.data(), pem.size());
  bool ok = written == static_cast<ssize_t>(pem.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Unavailable("cannot write audit signing key " + path);
  return key;
}

StatusOr<std::unique_ptr<Ed25519Key>> Ed25519Key::FromPublicPem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (pkey == nullptr) return InvalidArgument("not a PEM public key");
  if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(pkey);
    return InvalidArgument("not an Ed25519 public key");
  }
  auto* k = new Pkey;
  k->pkey = pkey;
  return std::unique_ptr<Ed25519Key>(new Ed25519Key(k));
}

StatusOr<std::string> Ed25519Key::Sign(std::string_view message) const {
  if (!key_->has_private) return FailedPrecondition("a public key cannot sign");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char sig[64];
  size_t len = sizeof sig;
  bool ok = EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key_->pkey) == 1 &&
            EVP_DigestSign(ctx, sig, &len, reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return Internal(OpenSslError("Ed25519 signing"));
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(sig), len));
}

bool Ed25519Key::Verify(std::string_view message, std::string_view signature_base64) const {
  std::optional<std::string> sig = Base64Decode(signature_base64);
  if (!sig || sig->size() != 64) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key_->pkey) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                             reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::string Ed25519Key::PublicPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key_->pkey);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

std::string Ed25519Key::KeyId() const {
  unsigned char raw[32];
  size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key_->pkey, raw, &len) != 1) return "";
  return Sha256Hex(std::string_view(reinterpret_cast<const char*>(raw), len)).substr(0, 16);
}

}  // namespace kiln::audit
