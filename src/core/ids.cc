#include "core/ids.h"

#include <random>

namespace kiln {

std::string NewHexId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  uint64_t a = rng(), b = rng();
  // Version-4 / variant bits so the id is a valid UUID4 without dashes.
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  for (int i = 0; i < 16; ++i) out[i] = kHex[(a >> (60 - 4 * i)) & 0xf];
  for (int i = 0; i < 16; ++i) out[16 + i] = kHex[(b >> (60 - 4 * i)) & 0xf];
  return out;
}

}  // namespace kiln
