// Where an S3 artifact store lives and how its URLs are spelled: the
// `s3://bucket/prefix` URI, the endpoint (AWS or a custom S3-compatible one),
// path-style vs virtual-hosted addressing, and AWS's URI encoding rules.
// Pure functions and value types; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/status.h"

namespace kiln::storage::s3 {

// Parsed `s3://bucket[/prefix][?option=value&...]`. Options (kiln's own, not
// part of any AWS URI): addressing=path|virtual, part_size=<bytes> (multipart
// part size, >= 5 MiB), list_page_size=<1..1000> (ListObjectsV2 max-keys).
struct S3Uri {
  std::string bucket;
  std::string prefix;  // no leading or trailing '/'; empty = the bucket's root
  std::string addressing;  // "", "path" or "virtual"
  int64_t part_size = 0;   // 0: default
  int list_page_size = 0;  // 0: default (1000)
};

StatusOr<S3Uri> ParseS3Uri(std::string_view uri);

// An endpoint URL split into scheme and authority, e.g. "http" + "127.0.0.1:7070".
struct S3Endpoint {
  std::string scheme;     // "http" | "https"
  std::string authority;  // host[:port]
  std::string base_path;  // "" or "/something" (no trailing '/')
};

// Parses "http(s)://host[:port][/path]". InvalidArgument otherwise.
StatusOr<S3Endpoint> ParseEndpoint(std::string_view url);

// AWS's URI encoding (SigV4 canonical form, which S3 also expects on the
// wire): unreserved characters A-Z a-z 0-9 - . _ ~ stay, every other byte
// becomes %XX (upper-case hex); '/' stays when keep_slash.
std::string AwsUriEncode(std::string_view s, bool keep_slash);

// A query string in SigV4 canonical form: keys sorted, keys and values
// encoded, every pair written "k=v" (also for empty values). Sending the query
// already canonical means the signer and the server cannot disagree on it.
std::string CanonicalQuery(const std::map<std::string, std::string>& params);

// Addresses objects of one bucket.
class S3Addressing {
 public:
  // `endpoint` empty: AWS's regional endpoint, virtual-hosted unless the
  // bucket name cannot be a host name (dots, upper case) or addressing=path.
  // A custom endpoint is path-style unless addressing=virtual.
  static StatusOr<S3Addressing> Create(const std::string& endpoint, const std::string& region,
                                       const std::string& bucket, const std::string& addressing);

  // Full URL of `key` (empty key: the bucket) with an optional canonical query.
  std::string Url(std::string_view key, const std::string& query = "") const;
  bool path_style() const { return path_style_; }
  // For messages: "s3://bucket at http://host:port".
  const std::string& description() const { return description_; }

 private:
  std::string origin_;       // scheme://authority[/base]
  std::string bucket_path_;  // "/bucket" for path-style, "" for virtual-hosted
  bool path_style_ = true;
  std::string description_;
};

}  // namespace kiln::storage::s3
