// Replays the fuzz corpus and the crashers the fuzzers found
// (fuzz/corpus/<target>/, fuzz/regressions/<target>/) through the same entry
// logic as the libFuzzer targets (v2_fuzz_entry.h), in the normal build:
// every file must decode to OK or InvalidArgument with the invariants intact.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "api/v2/v2_fuzz_entry.h"

#ifndef KILN_SOURCE_DIR
#error "kiln_api_test needs KILN_SOURCE_DIR (src/api/CMakeLists.txt) to find fuzz/"
#endif

namespace kiln::api::v2 {
namespace {

namespace fs = std::filesystem;

using CheckFn = std::string (*)(const uint8_t*, size_t, bool*);

std::vector<fs::path> FilesUnder(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().filename() != ".gitkeep") files.push_back(entry.path());
  }
  return files;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct Replayed {
  size_t files = 0;
  size_t decoded = 0;
};

Replayed Replay(const std::vector<fs::path>& files, CheckFn check) {
  Replayed r;
  for (const fs::path& path : files) {
    const std::string bytes = ReadFile(path);
    bool decoded = false;
    const std::string broken = check(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &decoded);
    EXPECT_EQ(broken, "") << path;
    ++r.files;
    r.decoded += decoded ? 1 : 0;
  }
  return r;
}

void ReplayTarget(const std::string& target, CheckFn check) {
  const fs::path root = fs::path(KILN_SOURCE_DIR) / "fuzz";
  const auto corpus = FilesUnder(root / "corpus" / target);
  const auto regressions = FilesUnder(root / "regressions" / target);
  // A missing or empty corpus must not pass vacuously.
  ASSERT_GE(corpus.size(), 10u) << "no corpus under " << (root / "corpus" / target);
  const Replayed c = Replay(corpus, check);
  const Replayed r = Replay(regressions, check);
  // The corpus must reach the OK path (and so the round-trip checks), not only rejections.
  EXPECT_GE(c.decoded, 5u) << target << ": too few corpus files decode";
  std::printf("%s: %zu corpus files (%zu decode OK), %zu regressions (%zu decode OK)\n", target.c_str(), c.files,
              c.decoded, r.files, r.decoded);
}

TEST(V2CodecCorpus, JsonRequestFuzzerCorpusAndRegressions) {
  ReplayTarget("v2_json_request_fuzzer", &fuzz::CheckJsonRequest);
}

TEST(V2CodecCorpus, BinaryRequestFuzzerCorpusAndRegressions) {
  ReplayTarget("v2_binary_request_fuzzer", &fuzz::CheckBinaryRequest);
}

// The fuzzing fixes in v2_codec.cc, pinned to their exact outcome.
TEST(V2CodecCorpus, ShapeProductThatOverflowsInt64IsTooLarge) {
  // Was UB (signed overflow 2 * INT64_MAX) before the bound was checked ahead of the multiply.
  for (const char* shape : {"[2,9223372036854775807]", "[268435456,68719476736]", "[4,4611686018427387904]"}) {
    auto req = DecodeInferRequest(std::string(R"({"inputs":[{"name":"x","shape":)") + shape +
                                  R"(,"datatype":"FP32","data":[]}]})");
    ASSERT_FALSE(req.ok()) << shape;
    EXPECT_EQ(req.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(req.status().message().find(".shape is too large"), std::string::npos) << req.status().message();
  }
  // A zero dimension after a large one still makes an empty tensor.
  EXPECT_TRUE(
      DecodeInferRequest(R"({"inputs":[{"name":"x","shape":[268435456,0],"datatype":"FP32","data":[]}]})").ok());
}

TEST(V2CodecCorpus, UnsignedAboveInt64MaxIsNotASignedValue) {
  // 18446744073709551615 used to wrap to -1 in every signed type.
  for (const char* type : {"INT8", "INT16", "INT32", "INT64"}) {
    for (const char* value : {"18446744073709551615", "9223372036854775808"}) {
      auto req = DecodeInferRequest(std::string(R"({"inputs":[{"name":"x","shape":[1],"datatype":")") + type +
                                    R"(","data":[)" + value + "]}]}");
      EXPECT_FALSE(req.ok()) << type << " " << value;
    }
  }
  auto max =
      DecodeInferRequest(R"({"inputs":[{"name":"x","shape":[1],"datatype":"INT64","data":[9223372036854775807]}]})");
  ASSERT_TRUE(max.ok()) << max.status().message();
  int64_t v = 0;
  std::memcpy(&v, max->inputs[0].data.data(), sizeof(v));
  EXPECT_EQ(v, INT64_MAX);
}

}  // namespace
}  // namespace kiln::api::v2
