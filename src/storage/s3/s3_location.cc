#include "storage/s3/s3_location.h"

#include <cctype>
#include <charconv>

namespace kiln::storage::s3 {
namespace {

bool Unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// S3 bucket naming rules (the subset that matters for addressing safely).
bool ValidBucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (unsigned char c : b) {
    if (!(std::islower(c) || std::isdigit(c) || c == '-' || c == '.' || c == '_')) return false;
  }
  return std::isalnum(static_cast<unsigned char>(b.front())) && std::isalnum(static_cast<unsigned char>(b.back()));
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto r = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (r.ec == std::errc() && r.ptr == s.data() + i + 3) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

StatusOr<int64_t> ParseInt(std::string_view name, std::string_view v) {
  int64_t out = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), out);
  if (r.ec != std::errc() || r.ptr != v.data() + v.size()) {
    return InvalidArgument("artifacts URI option " + std::string(name) + "='" + std::string(v) + "' is not an integer");
  }
  return out;
}

}  // namespace

StatusOr<S3Uri> ParseS3Uri(std::string_view uri) {
  constexpr std::string_view kScheme = "s3://";
  if (!uri.starts_with(kScheme)) return InvalidArgument("'" + std::string(uri) + "' is not an s3:// URI");
  std::string_view rest = uri.substr(kScheme.size());
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  S3Uri out;
  size_t slash = rest.find('/');
  out.bucket = std::string(rest.substr(0, slash));
  if (!ValidBucket(out.bucket)) {
    return InvalidArgument("'" + std::string(uri) + "': '" + out.bucket +
                           "' is not a valid S3 bucket name (3-63 characters: a-z 0-9 . - _)");
  }
  std::string prefix = slash == std::string_view::npos ? "" : PercentDecode(rest.substr(slash + 1));
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  // The prefix follows the artifact path rules, so keys under it are unambiguous.
  size_t start = 0;
  while (start < prefix.size()) {
    size_t end = prefix.find('/', start);
    if (end == std::string::npos) end = prefix.size();
    std::string_view seg(prefix.data() + start, end - start);
    if (seg.empty() || seg == "." || seg == ".." || seg.find('\0') != std::string_view::npos ||
        seg.find('\\') != std::string_view::npos) {
      return InvalidArgument("'" + std::string(uri) + "': the key prefix has an empty, '.', '..' or invalid segment");
    }
    start = end + 1;
  }
  out.prefix = std::move(prefix);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (kv.empty()) continue;
    size_t eq = kv.find('=');
    std::string_view k = kv.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
    if (k == "addressing") {
      if (v != "path" && v != "virtual") return InvalidArgument("artifacts URI option addressing must be path or virtual");
      out.addressing = std::string(v);
    } else if (k == "part_size") {
      KILN_ASSIGN_OR_RETURN(out.part_size, ParseInt(k, v));
      if (out.part_size < (int64_t{5} << 20) || out.part_size > (int64_t{5} << 30)) {
        return InvalidArgument("artifacts URI option part_size must be between 5 MiB and 5 GiB (S3's part limits)");
      }
    } else if (k == "list_page_size") {
      KILN_ASSIGN_OR_RETURN(int64_t n, ParseInt(k, v));
      if (n < 1 || n > 1000) return InvalidArgument("artifacts URI option list_page_size must be between 1 and 1000");
      out.list_page_size = static_cast<int>(n);
    } else {
      return InvalidArgument("unknown artifacts URI option '" + std::string(k) +
                             "' (known: addressing, part_size, list_page_size)");
    }
  }
  return out;
}

StatusOr<S3Endpoint> ParseEndpoint(std::string_view url) {
  S3Endpoint out;
  std::string_view rest;
  if (url.starts_with("http://")) {
    out.scheme = "http";
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    out.scheme = "https";
    rest = url.substr(8);
  } else {
    return InvalidArgument("S3 endpoint '" + std::string(url) + "' is not an http:// or https:// URL");
  }
  size_t slash = rest.find('/');
  out.authority = std::string(rest.substr(0, slash));
  if (out.authority.empty() || out.authority.find_first_of("@?# ") != std::string::npos) {
    return InvalidArgument("S3 endpoint '" + std::string(url) + "' has no valid host");
  }
  if (slash != std::string_view::npos) {
    std::string path(rest.substr(slash));
    while (!path.empty() && path.back() == '/') path.pop_back();
    if (path.find_first_of("?#") != std::string::npos) {
      return InvalidArgument("S3 endpoint '" + std::string(url) + "' must not carry a query");
    }
    out.base_path = std::move(path);
  }
  return out;
}

std::string AwsUriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (Unreserved(c) || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string CanonicalQuery(const std::map<std::string, std::string>& params) {
  // Sorting must happen on the encoded keys; std::map sorts the raw ones,
  // which differs only for keys with reserved characters (S3's never have).
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += AwsUriEncode(k, false);
    out += '=';
    out += AwsUriEncode(v, false);
  }
  return out;
}

StatusOr<S3Addressing> S3Addressing::Create(const std::string& endpoint, const std::string& region,
                                            const std::string& bucket, const std::string& addressing) {
  S3Addressing a;
  S3Endpoint ep;
  if (endpoint.empty()) {
    ep.scheme = "https";
    ep.authority = "s3." + region + ".amazonaws.com";
    // Virtual-hosted is AWS's default; a bucket with dots would not match the
    // wildcard TLS certificate, so it stays path-style.
    a.path_style_ = addressing == "path" || bucket.find('.') != std::string::npos;
  } else {
    KILN_ASSIGN_OR_RETURN(ep, ParseEndpoint(endpoint));
    a.path_style_ = addressing != "virtual";
  }
  if (a.path_style_) {
    a.origin_ = ep.scheme + "://" + ep.authority + ep.base_path;
    a.bucket_path_ = "/" + bucket;
  } else {
    a.origin_ = ep.scheme + "://" + bucket + "." + ep.authority + ep.base_path;
  }
  a.description_ = "s3://" + bucket + " at " + ep.scheme + "://" + ep.authority + ep.base_path;
  return a;
}

std::string S3Addressing::Url(std::string_view key, const std::string& query) const {
  // Bucket-level requests go to "/bucket" path-style (no trailing '/', which
  // some servers would read as an object with an empty key), "/" virtual-hosted.
  std::string url = origin_ + bucket_path_;
  if (!key.empty() || bucket_path_.empty()) url += "/" + AwsUriEncode(key, true);
  if (!query.empty()) url += "?" + query;
  return url;
}

}  // namespace kiln::storage::s3
