#include "storage/s3/s3_xml.h"

#include <charconv>

namespace kiln::storage::s3 {
namespace {

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string UrlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
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
    out += s[i] == '+' ? ' ' : s[i];
  }
  return out;
}

}  // namespace

std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  const std::string open = "<" + std::string(tag);
  const std::string close = "</" + std::string(tag) + ">";
  size_t pos = 0;
  while (true) {
    size_t start = xml.find(open, pos);
    if (start == std::string_view::npos) break;
    size_t after = start + open.size();
    if (after >= xml.size()) break;
    char c = xml[after];
    if (c != '>' && c != ' ' && c != '/' && c != '\t' && c != '\n' && c != '\r') {  // a longer tag name
      pos = after;
      continue;
    }
    size_t gt = xml.find('>', after);
    if (gt == std::string_view::npos) break;
    if (xml[gt - 1] == '/') {  // <tag/>
      out.emplace_back();
      pos = gt + 1;
      continue;
    }
    size_t end = xml.find(close, gt + 1);
    if (end == std::string_view::npos) break;
    out.push_back(xml.substr(gt + 1, end - gt - 1));
    pos = end + close.size();
  }
  return out;
}

std::optional<std::string> XmlText(std::string_view xml, std::string_view tag) {
  auto all = XmlElements(xml, tag);
  if (all.empty()) return std::nullopt;
  return XmlUnescape(all.front());
}

std::string XmlUnescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) {
      out += s[i];
      continue;
    }
    std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp") out += '&';
    else if (ent == "lt") out += '<';
    else if (ent == "gt") out += '>';
    else if (ent == "quot") out += '"';
    else if (ent == "apos") out += '\'';
    else if (ent.size() > 1 && ent[0] == '#') {
      uint32_t cp = 0;
      bool hex = ent[1] == 'x' || ent[1] == 'X';
      std::string_view digits = ent.substr(hex ? 2 : 1);
      auto r = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (r.ec != std::errc() || r.ptr != digits.data() + digits.size() || cp > 0x10FFFF) {
        out += s.substr(i, semi - i + 1);
      } else {
        AppendUtf8(out, cp);
      }
    } else {
      out += s.substr(i, semi - i + 1);
    }
    i = semi;
  }
  return out;
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\r': out += "&#13;"; break;
      case '\n': out += "&#10;"; break;
      default: out += c;
    }
  }
  return out;
}

S3Error ParseError(std::string_view xml) {
  S3Error e;
  auto err = XmlElements(xml, "Error");
  std::string_view body = err.empty() ? std::string_view() : err.front();
  if (body.empty()) return e;
  e.code = XmlText(body, "Code").value_or("");
  e.message = XmlText(body, "Message").value_or("");
  return e;
}

StatusOr<ListPage> ParseListObjectsV2(std::string_view xml) {
  auto root = XmlElements(xml, "ListBucketResult");
  if (root.empty()) return InvalidArgument("S3 answered ListObjectsV2 without a ListBucketResult");
  std::string_view doc = root.front();
  ListPage page;
  // Contents and CommonPrefixes both hold a <Prefix>-free or <Key> child; the
  // top-level fields are read outside those blocks so they cannot be confused.
  const bool url_encoded = XmlText(doc, "EncodingType").value_or("") == "url";
  auto decode = [url_encoded](std::string_view raw) {
    std::string s = XmlUnescape(raw);
    return url_encoded ? UrlDecode(s) : s;
  };
  for (std::string_view c : XmlElements(doc, "Contents")) {
    auto keys = XmlElements(c, "Key");
    if (keys.empty()) return InvalidArgument("S3 listed an object without a Key");
    ListedObject o;
    o.key = decode(keys.front());
    std::string size = XmlText(c, "Size").value_or("0");
    auto r = std::from_chars(size.data(), size.data() + size.size(), o.size);
    if (r.ec != std::errc() || o.size < 0) return InvalidArgument("S3 listed '" + o.key + "' with size '" + size + "'");
    page.objects.push_back(std::move(o));
  }
  for (std::string_view p : XmlElements(doc, "CommonPrefixes")) {
    auto prefixes = XmlElements(p, "Prefix");
    if (prefixes.empty()) return InvalidArgument("S3 listed a common prefix without a Prefix");
    page.common_prefixes.push_back(decode(prefixes.front()));
  }
  // Strip the blocks so that top-level tags are found only at the top level.
  std::string top(doc);
  for (const char* block : {"Contents", "CommonPrefixes"}) {
    const std::string open = std::string("<") + block;
    const std::string close = std::string("</") + block + ">";
    size_t s;
    while ((s = top.find(open)) != std::string::npos) {
      size_t e = top.find(close, s);
      if (e == std::string::npos) break;
      top.erase(s, e + close.size() - s);
    }
  }
  page.truncated = XmlText(top, "IsTruncated").value_or("false") == "true";
  page.next_continuation_token = XmlText(top, "NextContinuationToken").value_or("");
  if (page.truncated && page.next_continuation_token.empty()) {
    return InvalidArgument("S3 answered a truncated listing without a NextContinuationToken");
  }
  return page;
}

std::string CompleteMultipartXml(const std::vector<std::string>& etags) {
  std::string out = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (size_t i = 0; i < etags.size(); ++i) {
    out += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + XmlEscape(etags[i]) +
           "</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

std::string DeleteObjectsXml(const std::vector<std::string>& keys) {
  std::string out = "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>";
  for (const auto& k : keys) out += "<Object><Key>" + XmlEscape(k) + "</Key></Object>";
  out += "</Delete>";
  return out;
}

std::vector<std::string> ParseDeleteErrors(std::string_view xml) {
  std::vector<std::string> out;
  auto root = XmlElements(xml, "DeleteResult");
  if (root.empty()) return out;
  for (std::string_view e : XmlElements(root.front(), "Error")) {
    out.push_back(XmlText(e, "Key").value_or("?") + ": " + XmlText(e, "Code").value_or("") + ": " +
                  XmlText(e, "Message").value_or(""));
  }
  return out;
}

}  // namespace kiln::storage::s3
