// The few S3 XML documents kiln reads and writes, handled by hand: responses
// are small, flat and machine-written (no DTDs, no CDATA, no nested elements
// of the same name), so a tag scanner with entity decoding is enough.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kiln::storage::s3 {

// Inner text of every <tag ...>...</tag> (or empty for <tag/>) in order,
// still escaped.
std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag);
// The first element's decoded text, nullopt when absent.
std::optional<std::string> XmlText(std::string_view xml, std::string_view tag);
std::string XmlUnescape(std::string_view s);
std::string XmlEscape(std::string_view s);

struct S3Error {
  std::string code;     // e.g. "SignatureDoesNotMatch"; empty when the body had none
  std::string message;
};
// Parses <Error><Code/><Message/></Error>; an empty S3Error when absent.
S3Error ParseError(std::string_view xml);

struct ListedObject {
  std::string key;
  int64_t size = 0;
};
struct ListPage {
  std::vector<ListedObject> objects;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_continuation_token;
};
// A ListObjectsV2 result. Keys and prefixes are URL-decoded when the server
// says it applied encoding-type=url. InvalidArgument on a malformed document.
StatusOr<ListPage> ParseListObjectsV2(std::string_view xml);

// <CompleteMultipartUpload> for parts 1..n with their ETags (as S3 returned them).
std::string CompleteMultipartXml(const std::vector<std::string>& etags);
// <Delete><Quiet>true</Quiet><Object><Key>…</Key></Object>…</Delete>
std::string DeleteObjectsXml(const std::vector<std::string>& keys);
// Errors reported inside a DeleteObjects result ("key: Code: Message").
std::vector<std::string> ParseDeleteErrors(std::string_view xml);

}  // namespace kiln::storage::s3
