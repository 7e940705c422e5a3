// JSON Web Key Sets (RFC 7517/7518): the public keys an OIDC issuer signs
// its tokens with. Only signature keys kiln can verify are kept: RSA keys of
// at least 2048 bits (from n/e) and EC P-256 keys (from x/y, checked to lie on
// the curve). Symmetric ("oct") keys, other curves, keys whose "use" is not
// "sig", whose "key_ops" lack "verify" or whose "alg" is neither RS256 nor
// ES256 are skipped -- a set never hands out a key kiln would misuse.
//
// Value type: a KeySet is immutable after Parse and safe to share between
// threads (the EVP_PKEYs are only read).
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kiln::auth {

enum class JwkType { kRsa, kEcP256 };

const char* JwkTypeName(JwkType type);  // "RSA", "EC P-256"

struct Jwk {
  std::string kid;  // may be empty
  JwkType type = JwkType::kRsa;
  std::string alg;  // the key's own "alg" when it names one; empty otherwise
  std::shared_ptr<EVP_PKEY> key;
};

class KeySet {
 public:
  // InvalidArgument when `json` is not a JWKS object with a "keys" array.
  // Individual unusable keys are skipped, not errors; `skipped` (optional)
  // receives one reason per skipped key.
  static StatusOr<KeySet> Parse(std::string_view json, std::vector<std::string>* skipped = nullptr);

  const std::vector<Jwk>& keys() const { return keys_; }
  // Keys carrying this kid (several when an issuer reuses a kid across types).
  std::vector<const Jwk*> WithKid(std::string_view kid) const;

 private:
  std::vector<Jwk> keys_;
};

}  // namespace kiln::auth
