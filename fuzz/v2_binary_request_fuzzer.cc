// libFuzzer target: kiln::api::v2::DecodeInferRequest on a binary-extension
// body; the first two bytes of the input are json_length (little-endian).
// The checks live in src/api/v2/v2_fuzz_entry.h, shared with the GoogleTest
// that replays fuzz/corpus and fuzz/regressions in the normal build.
#include <cstdio>
#include <cstdlib>

#include "api/v2/v2_fuzz_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string broken = kiln::api::v2::fuzz::CheckBinaryRequest(data, size);
  if (!broken.empty()) {
    std::fprintf(stderr, "invariant broken: %s\n", broken.c_str());
    std::abort();
  }
  return 0;
}
