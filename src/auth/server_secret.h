// ServerSecret: the server's own key for keyed hashes -- API tokens are stored
// as HMAC-SHA256(secret, token) so a stolen database does not yield usable
// tokens, and the audit log replaces secrets by their HMAC. Read from a file
// (--secret-key-file, shared by replicas) or created at <data-dir>/secret.key
// with mode 0600 on first start.
//
// Immutable after Create; thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace kiln::auth {

class ServerSecret {
 public:
  // Loads `path`, or creates it with 32 random bytes when it does not exist
  // and `create` is true. InvalidArgument for a file shorter than 32 bytes.
  static StatusOr<std::unique_ptr<ServerSecret>> LoadOrCreate(const std::string& path, bool create);
  static std::unique_ptr<ServerSecret> FromBytes(std::string key);  // tests

  std::string HmacHex(std::string_view data) const;  // HMAC-SHA256, lower-case hex
  const std::string& bytes() const { return key_; }

 private:
  explicit ServerSecret(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

// Random bytes from the OS CSPRNG, as lower-case hex (2 * bytes characters).
std::string RandomHex(size_t bytes);
// Constant-time equality (length is not secret).
bool ConstantTimeEqual(std::string_view a, std::string_view b);

}  // namespace kiln::auth
