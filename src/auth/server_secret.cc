#include "auth/server_secret.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace kiln::auth {
namespace {

constexpr size_t kKeyBytes = 32;

std::string Hex(const unsigned char* data, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 0xf];
  }
  return out;
}

// O_EXCL: two replicas starting together on a shared data dir must not each
// write their own key (one of them would then reject the other's tokens).
StatusOr<bool> CreateKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    return Internal("cannot create the server secret '" + path + "': " + std::strerror(errno));
  }
  unsigned char key[kKeyBytes];
  if (RAND_bytes(key, sizeof(key)) != 1) {
    ::close(fd);
    ::unlink(path.c_str());
    return Internal("the OS random generator failed");
  }
  ssize_t written = ::write(fd, key, sizeof(key));
  OPENSSL_cleanse(key, sizeof(key));
  bool ok = written == static_cast<ssize_t>(sizeof(key)) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Internal("cannot write the server secret '" + path + "'");
  }
  return true;
}

}  // namespace

StatusOr<std::unique_ptr<ServerSecret>> ServerSecret::LoadOrCreate(const std::string& path, bool create) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Internal("cannot read the server secret '" + path + "': " + std::strerror(errno));
    if (!create) return NotFound("the server secret '" + path + "' does not exist");
    KILN_RETURN_IF_ERROR(CreateKeyFile(path).status());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Internal("cannot read the server secret '" + path + "'");
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string key = buf.str();
  if (key.size() < kKeyBytes) {
    return InvalidArgument("the server secret '" + path + "' holds " + std::to_string(key.size()) +
                           " bytes; at least 32 are needed");
  }
  return std::unique_ptr<ServerSecret>(new ServerSecret(std::move(key)));
}

std::unique_ptr<ServerSecret> ServerSecret::FromBytes(std::string key) {
  return std::unique_ptr<ServerSecret>(new ServerSecret(std::move(key)));
}

namespace {

// OpenSSL 3's one-shot HMAC() fetches the algorithm and keys a context on
// every call (microseconds). This is on every request's path (the credential
// cache key), so each thread keeps a keyed context and re-initialises it
// with the same key, which skips both.
struct ThreadMac {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* ctx = nullptr;
  std::string key;  // the key ctx holds
  ~ThreadMac() {
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    OPENSSL_cleanse(key.data(), key.size());
  }
};

bool KeyedContext(ThreadMac& t, const std::string& key) {
  if (t.ctx != nullptr && t.key.size() == key.size() && CRYPTO_memcmp(t.key.data(), key.data(), key.size()) == 0) {
    return EVP_MAC_init(t.ctx, nullptr, 0, nullptr) == 1;
  }
  if (t.mac == nullptr) t.mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (t.mac == nullptr) return false;
  EVP_MAC_CTX_free(t.ctx);
  t.ctx = EVP_MAC_CTX_new(t.mac);
  if (t.ctx == nullptr) return false;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(t.ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) != 1) {
    EVP_MAC_CTX_free(t.ctx);
    t.ctx = nullptr;
    return false;
  }
  t.key = key;
  return true;
}

}  // namespace

std::string ServerSecret::HmacHex(std::string_view data) const {
  thread_local ThreadMac t;
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (KeyedContext(t, key_) && EVP_MAC_update(t.ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
      EVP_MAC_final(t.ctx, mac, &len, sizeof(mac)) == 1) {
    return Hex(mac, len);
  }
  // The cached context failed (out of memory): the one-shot path.
  unsigned int one_shot = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &one_shot);
  return Hex(mac, one_shot);
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  // RAND_bytes only fails when the OS cannot seed it; an all-zero "random"
  // value would be a silently guessable token, so abort instead.
  if (bytes > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    std::abort();
  }
  return Hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace kiln::auth
