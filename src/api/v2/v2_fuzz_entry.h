// The entry logic shared by the V2 request-parser fuzzers (fuzz/) and the
// corpus regression test (v2_codec_corpus_test.cc), so a file that crashed a
// fuzzer is replayed through exactly the same code under GCC and `make test`.
//
// Each Check* function feeds one fuzzer input to DecodeInferRequest and
// returns "" when every invariant holds, else a description of the first one
// broken:
//  - the result is OK or InvalidArgument (never another code);
//  - for OK results: at least one input, shape dimensions non-negative, the
//    element count within DecodeInferRequest's limit, fixed-size tensors hold
//    exactly elements x element-size bytes, BYTES tensors exactly `elements`
//    well-formed (4-byte LE length + bytes) elements;
//  - EncodeInferResponse round trip: the inputs encoded as binary outputs and
//    decoded again give back identical tensors; encoded as JSON outputs (all
//    types JSON can carry: not BYTES, not FP16) they give back the same
//    values, non-finite floats as NaN (JSON has neither NaN nor infinities)
//    and any non-zero BOOL byte as true.
//
// Header-only and used only by test and fuzz binaries.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/v2/v2_codec.h"
#include "serving/tensor.h"

namespace kiln::api::v2::fuzz {

// The binary fuzzer's input: a 2-byte little-endian json_length, then the body.
inline constexpr size_t kBinaryPrefix = 2;

namespace detail {

inline std::string Where(size_t i, const std::string& what) { return "inputs[" + std::to_string(i) + "]: " + what; }

inline std::string CheckTensor(size_t i, const serving::Tensor& t) {
  int64_t elements = 1;
  for (int64_t d : t.shape) {
    if (d < 0) return Where(i, "negative dimension " + std::to_string(d));
    if (d == 0) {
      elements = 0;
    } else if (elements > (int64_t{1} << 28) / d) {
      return Where(i, "decoded a shape with more than 2^28 elements");
    } else {
      elements *= d;
    }
  }
  const size_t width = serving::ElementSize(t.dtype);
  if (t.dtype != serving::DataType::kBytes) {
    if (t.data.size() != static_cast<size_t>(elements) * width) {
      return Where(i, std::to_string(t.data.size()) + " data bytes for " + std::to_string(elements) + " elements of " +
                          std::string(serving::DataTypeName(t.dtype)));
    }
    return "";
  }
  size_t at = 0;
  for (int64_t e = 0; e < elements; ++e) {
    uint32_t len = 0;
    if (t.data.size() - at < sizeof(len)) return Where(i, "BYTES element " + std::to_string(e) + " cut short");
    std::memcpy(&len, t.data.data() + at, sizeof(len));
    at += sizeof(len);
    if (t.data.size() - at < len) return Where(i, "BYTES element " + std::to_string(e) + " overruns the data");
    at += len;
  }
  if (at != t.data.size()) return Where(i, "bytes left after the last BYTES element");
  return "";
}

// Same values, with non-finite floats (sent as JSON null) coming back as NaN.
template <typename F>
bool SameFloats(const std::vector<char>& a, const std::vector<char>& b) {
  if (a.size() != b.size()) return false;
  for (size_t at = 0; at + sizeof(F) <= a.size(); at += sizeof(F)) {
    F x, y;
    std::memcpy(&x, a.data() + at, sizeof(F));
    std::memcpy(&y, b.data() + at, sizeof(F));
    if (std::isfinite(x) ? std::memcmp(&x, &y, sizeof(F)) != 0 : !std::isnan(y)) return false;
  }
  return true;
}

// Raw BOOL bytes other than 0 and 1 are true; JSON sends them as true (1).
inline bool SameBools(const std::vector<char>& a, const std::vector<char>& b) {
  if (a.size() != b.size()) return false;
  for (size_t at = 0; at < a.size(); ++at) {
    if ((a[at] != 0) != (b[at] != 0)) return false;
  }
  return true;
}

// Decodes a response body as a request: its "outputs" become "inputs".
inline StatusOr<InferRequest> DecodeResponseAsRequest(const std::string& body, std::optional<size_t> json_length) {
  const size_t header_size = json_length ? *json_length : body.size();
  nlohmann::json doc = nlohmann::json::parse(body.substr(0, header_size));
  doc["inputs"] = std::move(doc["outputs"]);
  doc.erase("outputs");
  std::string header = doc.dump();
  if (!json_length) return DecodeInferRequest(header);
  const size_t n = header.size();
  return DecodeInferRequest(header + body.substr(header_size), n);
}

inline std::string CheckRoundTrip(const InferRequest& req, bool binary) {
  std::vector<serving::Tensor> tensors;
  for (const serving::Tensor& t : req.inputs) {
    if (binary || (t.dtype != serving::DataType::kBytes && t.dtype != serving::DataType::kFp16)) tensors.push_back(t);
  }
  if (tensors.empty()) return "";
  std::optional<size_t> json_length;
  const std::string body = EncodeInferResponse("m", "1", req.id, tensors, {}, binary, &json_length);
  if (binary != json_length.has_value()) return "EncodeInferResponse set json_length wrongly";
  auto again = DecodeResponseAsRequest(body, json_length);
  const std::string how = binary ? "binary" : "JSON";
  if (!again.ok()) return how + " round trip does not decode: " + again.status().message();
  if (again->id != req.id) return how + " round trip changed the id";
  if (again->inputs.size() != tensors.size()) return how + " round trip changed the number of tensors";
  for (size_t i = 0; i < tensors.size(); ++i) {
    const serving::Tensor& a = tensors[i];
    const serving::Tensor& b = again->inputs[i];
    if (a.name != b.name || a.dtype != b.dtype || a.shape != b.shape) {
      return Where(i, how + " round trip changed name, datatype or shape");
    }
    bool same = a.data == b.data;
    if (!binary && a.dtype == serving::DataType::kFp32) same = SameFloats<float>(a.data, b.data);
    if (!binary && a.dtype == serving::DataType::kFp64) same = SameFloats<double>(a.data, b.data);
    if (!binary && a.dtype == serving::DataType::kBool) same = SameBools(a.data, b.data);
    if (!same) return Where(i, how + " round trip changed the data");
  }
  return "";
}

inline std::string CheckResult(const StatusOr<InferRequest>& r, bool* decoded) {
  if (decoded) *decoded = r.ok();
  if (!r.ok()) {
    if (r.status().code() != StatusCode::kInvalidArgument) {
      return "status " + std::string(StatusCodeName(r.status().code())) + ": " + r.status().message();
    }
    if (r.status().message().empty()) return "InvalidArgument without a message";
    return "";
  }
  if (r->inputs.empty()) return "OK with no inputs";
  for (size_t i = 0; i < r->inputs.size(); ++i) {
    if (std::string broken = CheckTensor(i, r->inputs[i]); !broken.empty()) return broken;
  }
  if (std::string broken = CheckRoundTrip(*r, /*binary=*/true); !broken.empty()) return broken;
  return CheckRoundTrip(*r, /*binary=*/false);
}

}  // namespace detail

// fuzz/v2_json_request_fuzzer: the input is a plain JSON body.
// `decoded`, when given, is set to whether DecodeInferRequest returned OK.
inline std::string CheckJsonRequest(const uint8_t* data, size_t size, bool* decoded = nullptr) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  return detail::CheckResult(DecodeInferRequest(body, std::nullopt), decoded);
}

// fuzz/v2_binary_request_fuzzer: kBinaryPrefix bytes of little-endian
// json_length, then the body (JSON header + raw tensor bytes).
inline std::string CheckBinaryRequest(const uint8_t* data, size_t size, bool* decoded = nullptr) {
  if (decoded) *decoded = false;
  if (size < kBinaryPrefix) return "";
  const size_t json_length = static_cast<size_t>(data[0]) | static_cast<size_t>(data[1]) << 8;
  std::string_view body(reinterpret_cast<const char*>(data) + kBinaryPrefix, size - kBinaryPrefix);
  return detail::CheckResult(DecodeInferRequest(body, json_length), decoded);
}

}  // namespace kiln::api::v2::fuzz
