// The audit log's cryptography, shared by the writer (audit_log.cc) and the
// verifier: SHA-256 hash chain, HMAC of secrets, Ed25519 checkpoint keys.
// OpenSSL 3 underneath; every failure is a Status.
//
// Free functions and a key value type; Ed25519Key is immutable after
// construction and safe to use from several threads (each call makes its own
// EVP context).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace kiln::audit {

std::string Sha256Hex(std::string_view data);
// Hash of a record: SHA-256 over the previous record's hash (its 32 bytes,
// decoded from hex; kGenesisHash for the first record) followed by the record's
// canonical JSON.
std::string ChainHash(std::string_view prev_hash_hex, std::string_view canonical_json);
std::string HmacSha256Hex(std::string_view key, std::string_view data);

// The "prev" of the first record.
inline constexpr std::string_view kGenesisHash = "0000000000000000000000000000000000000000000000000000000000000000";

class Ed25519Key {
 public:
  // Loads the private key PEM at `path`, or creates one there (mode 0600)
  // when the file does not exist.
  static StatusOr<std::unique_ptr<Ed25519Key>> LoadOrCreate(const std::string& path);
  static StatusOr<std::unique_ptr<Ed25519Key>> LoadPrivate(const std::string& path);
  // A public key (PEM "PUBLIC KEY"); it can verify but not sign.
  static StatusOr<std::unique_ptr<Ed25519Key>> FromPublicPem(std::string_view pem);
  ~Ed25519Key();
  Ed25519Key(const Ed25519Key&) = delete;
  Ed25519Key& operator=(const Ed25519Key&) = delete;

  // base64 signature.
  StatusOr<std::string> Sign(std::string_view message) const;
  bool Verify(std::string_view message, std::string_view signature_base64) const;
  std::string PublicPem() const;
  // First 16 hex digits of SHA-256 of the raw 32-byte public key.
  std::string KeyId() const;

 private:
  struct Pkey;
  explicit Ed25519Key(Pkey* key);
  Pkey* key_;
};

}  // namespace kiln::audit
