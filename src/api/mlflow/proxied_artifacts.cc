#include "api/mlflow/proxied_artifacts.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln::api::mlflow {

std::optional<std::string> ProxiedArtifactPath(const std::string& uri) {
  constexpr std::string_view kProxyScheme = "mlflow-artifacts:";
  if (uri.rfind(kProxyScheme, 0) != 0) return std::nullopt;
  std::string rest = uri.substr(kProxyScheme.size());
  if (rest.rfind("//", 0) == 0) {  // an authority, which names this server: drop it
    size_t slash = rest.find('/', 2);
    rest = slash == std::string::npos ? "" : rest.substr(slash);
  }
  while (!rest.empty() && rest.front() == '/') rest.erase(0, 1);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  return rest;
}

namespace {

// Bytes [start, start + length) of an artifact. The readers stream from the
// beginning (a file, an S3 GET), so the first read discards what comes
// before `start`, into the caller's buffer; it runs on the worker pool like
// every read. The web UI's ranged reads start at 0 and skip nothing.
class ArtifactRangeSource final : public net::ResponseBodySource {
 public:
  ArtifactRangeSource(std::unique_ptr<storage::ArtifactReader> reader, int64_t start, int64_t length)
      : reader_(std::move(reader)), skip_(start), length_(length), left_(length) {}
  int64_t size() const override { return length_; }
  StatusOr<size_t> Read(char* buffer, size_t capacity) override {
    while (skip_ > 0) {
      size_t want = static_cast<size_t>(std::min<int64_t>(skip_, static_cast<int64_t>(capacity)));
      KILN_ASSIGN_OR_RETURN(size_t n, reader_->Read(buffer, want));
      if (n == 0) return Internal("artifact ended before the requested range");
      skip_ -= static_cast<int64_t>(n);
    }
    if (left_ <= 0) return size_t{0};
    size_t want = static_cast<size_t>(std::min<int64_t>(left_, static_cast<int64_t>(capacity)));
    KILN_ASSIGN_OR_RETURN(size_t n, reader_->Read(buffer, want));
    left_ -= static_cast<int64_t>(n);
    return n;
  }

 private:
  std::unique_ptr<storage::ArtifactReader> reader_;
  int64_t skip_;
  const int64_t length_;
  int64_t left_;
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A decimal byte position; values past int64 saturate (a range beyond any
// file), anything but digits is nullopt.
std::optional<int64_t> BytePos(std::string_view s) {
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) return std::numeric_limits<int64_t>::max();
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

struct ByteRange {
  int64_t first = 0;
  int64_t last = 0;  // inclusive
};

// What a Range header asks of a file of `size` bytes.
struct RangeAnswer {
  enum Kind { kWhole, kRange, kUnsatisfiable, kBadRequest } kind = kWhole;
  ByteRange range;
  std::string message;  // kBadRequest
};

bool StartsWithUnit(std::string_view& header) {
  constexpr std::string_view kUnit = "bytes=";
  if (header.size() < kUnit.size()) return false;
  for (size_t i = 0; i < kUnit.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kUnit[i]) return false;
  }
  header.remove_prefix(kUnit.size());
  return true;
}

// Werkzeug's parse_range_header + range_for_length (Flask's send_file):
// anything but one well-formed range is 416. `size` > 0.
RangeAnswer FlaskRange(std::string_view header, int64_t size) {
  const RangeAnswer refuse{RangeAnswer::kUnsatisfiable, {}, ""};
  header = Trim(header);
  if (!StartsWithUnit(header)) return refuse;
  std::string_view spec = Trim(header);
  if (spec.find(',') != std::string_view::npos) return refuse;
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return refuse;
  std::string_view a = Trim(spec.substr(0, dash));
  std::string_view b = Trim(spec.substr(dash + 1));
  if (a.empty()) {  // suffix: the last N bytes
    auto n = BytePos(b);
    if (!n || *n == 0) return refuse;
    return {RangeAnswer::kRange, {std::max<int64_t>(0, size - *n), size - 1}, ""};
  }
  auto first = BytePos(a);
  if (!first || *first >= size) return refuse;
  int64_t last = size - 1;
  if (!b.empty()) {
    auto l = BytePos(b);
    if (!l || *l < *first) return refuse;
    last = std::min(*l, size - 1);
  }
  return {RangeAnswer::kRange, {*first, last}, ""};
}

// Starlette's FileResponse._parse_range_header, step by step: parts that are
// empty, lack a dash or are not numbers are skipped.
RangeAnswer StarletteRange(std::string_view header, int64_t size) {
  auto bad = [](std::string m) { return RangeAnswer{RangeAnswer::kBadRequest, {}, std::move(m)}; };
  size_t eq = header.find('=');
  if (eq == std::string_view::npos) return bad("Malformed range header.");
  std::string unit(Trim(header.substr(0, eq)));
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::tolower(c); });
  if (unit != "bytes") return bad("Only support bytes range");
  std::string_view rest = header.substr(eq + 1);
  std::vector<std::pair<int64_t, int64_t>> ranges;  // [start, end)
  while (true) {
    size_t comma = rest.find(',');
    std::string_view part = Trim(rest.substr(0, comma));
    size_t dash = part.find('-');
    if (!part.empty() && part != "-" && dash != std::string_view::npos) {
      std::string_view a = Trim(part.substr(0, dash));
      std::string_view b = Trim(part.substr(dash + 1));
      auto pa = BytePos(a);
      auto pb = BytePos(b);
      if ((a.empty() || pa) && (b.empty() || pb) && !(a.empty() && b.empty())) {
        int64_t start = pa ? *pa : std::max<int64_t>(size - *pb, 0);
        int64_t end = (pa && pb && *pb < size) ? *pb + 1 : size;
        ranges.emplace_back(start, end);
      }
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (ranges.empty()) return bad("Range header: range must be requested");
  for (const auto& [start, end] : ranges) {
    if (start < 0 || start >= size) return {RangeAnswer::kUnsatisfiable, {}, ""};
  }
  for (const auto& [start, end] : ranges) {
    if (start >= end) return bad("Range header: start must be less than end");
  }
  if (ranges.size() > 1) return {};  // Starlette: multipart/byteranges; kiln: the whole file
  return {RangeAnswer::kRange, {ranges[0].first, ranges[0].second - 1}, ""};
}

}  // namespace

void SetArtifactBody(const net::HttpRequest& req, net::HttpResponse& res,
                     std::unique_ptr<storage::ArtifactReader> reader, RangeStyle style) {
  res.headers.emplace_back("Accept-Ranges", "bytes");
  const int64_t size = reader->size();
  std::string_view range = req.Header("range");
  RangeAnswer answer;
  if (!range.empty() && req.Header("if-range").empty()) {
    if (style == RangeStyle::kStarlette) {
      answer = StarletteRange(range, size);
    } else if (size > 0) {
      answer = FlaskRange(range, size);
    }
  }
  switch (answer.kind) {
    case RangeAnswer::kWhole:
      res.stream = std::make_unique<ArtifactReaderSource>(std::move(reader));
      return;
    case RangeAnswer::kBadRequest:
      res.status = 400;
      res.content_type = "text/plain; charset=utf-8";
      res.body = answer.message;
      return;
    case RangeAnswer::kUnsatisfiable:
      res.status = 416;
      res.content_type = "text/plain; charset=utf-8";
      res.body.clear();
      res.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
      return;
    case RangeAnswer::kRange:
      break;
  }
  const ByteRange r = answer.range;
  res.status = 206;
  res.headers.emplace_back("Content-Range", "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" +
                                                std::to_string(size));
  res.stream = std::make_unique<ArtifactRangeSource>(std::move(reader), r.first, r.last - r.first + 1);
}

}  // namespace kiln::api::mlflow
