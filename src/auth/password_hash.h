// Password hashing with scrypt (OpenSSL 3's EVP_PBE_scrypt), memory-hard so a
// stolen hash costs an attacker memory as well as time per guess.
//
// The stored string describes itself, so parameters can be raised later
// without breaking existing hashes:
//   $scrypt$ln=15,r=8,p=1$<salt, base64>$<32-byte key, base64>
// (N = 2^ln; memory per hash = 128 * r * N bytes = 32 MiB by default).
//
// Free functions, thread-safe. Hashing takes tens of milliseconds by design:
// call from the worker pool, never on an I/O thread.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace kiln::auth {

struct ScryptParams {
  int log2_n = 15;  // N = 32768
  int r = 8;
  int p = 1;
};

// Parameters a stored hash may carry: bounded so that a tampered row cannot
// make one login allocate gigabytes or run for minutes.
constexpr int kMinLog2N = 10;
constexpr int kMaxLog2N = 20;

// InvalidArgument for parameters out of bounds; Internal if OpenSSL fails.
StatusOr<std::string> HashPassword(std::string_view password, const ScryptParams& params = {});
// Whether `password` matches `encoded` (constant-time comparison of the
// derived keys). InvalidArgument when `encoded` is not a hash this module
// wrote (a corrupt row must not read as "wrong password").
StatusOr<bool> VerifyPassword(std::string_view password, std::string_view encoded);

}  // namespace kiln::auth
