#include "registry/source_rules.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

namespace kiln::registry {
namespace {

bool IsSchemeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
         c == '.';
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Python's urllib.parse.unquote (plus: unquote_plus, '+' is a space).
std::string Unquote(std::string_view s, bool plus) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus && s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

std::vector<std::string_view> Segments(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t slash = s.find('/', start);
    out.push_back(s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

// urlsplit's hostname: the netloc without user info and port, lower-cased.
std::string Hostname(const std::string& netloc) {
  std::string host = netloc.substr(netloc.rfind('@') == std::string::npos ? 0 : netloc.rfind('@') + 1);
  if (!host.empty() && host.front() == '[') {
    size_t end = host.find(']');
    host = host.substr(1, end == std::string::npos ? std::string::npos : end - 1);
  } else if (size_t colon = host.find(':'); colon != std::string::npos) {
    host.resize(colon);
  }
  std::transform(host.begin(), host.end(), host.begin(), Lower);
  return host;
}

}  // namespace

SplitUri SplitSourceUri(std::string_view uri) {
  SplitUri out;
  std::string_view rest = uri;
  size_t colon = uri.find(':');
  if (colon != std::string_view::npos && colon > 0 &&
      ((uri[0] >= 'a' && uri[0] <= 'z') || (uri[0] >= 'A' && uri[0] <= 'Z')) &&
      std::all_of(uri.begin(), uri.begin() + static_cast<std::ptrdiff_t>(colon), IsSchemeChar)) {
    out.scheme.resize(colon);
    std::transform(uri.begin(), uri.begin() + static_cast<std::ptrdiff_t>(colon), out.scheme.begin(), Lower);
    rest = uri.substr(colon + 1);
  }
  if (rest.starts_with("//")) {
    size_t end = rest.find_first_of("/?#", 2);
    out.netloc = std::string(rest.substr(2, end == std::string_view::npos ? std::string_view::npos : end - 2));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  }
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  if (size_t q = rest.find('?'); q != std::string_view::npos) rest = rest.substr(0, q);
  out.path = std::string(rest);
  return out;
}

Status CheckNoRelativeReferences(std::string_view source) {
  std::string decoded(source);
  for (int round = 0; round < 16; ++round) {
    std::string next = Unquote(decoded, /*plus=*/true);
    if (next == decoded) break;
    decoded = std::move(next);
  }
  std::string path = SplitSourceUri(decoded).path;
  while (!path.empty() && path.back() == '/') path.pop_back();
  std::string collapsed;
  for (char c : path) {
    if (c == '/' && !collapsed.empty() && collapsed.back() == '/') continue;
    collapsed.push_back(c);
  }
  bool bad = collapsed.find('\0') != std::string::npos;
  for (std::string_view seg : Segments(decoded)) bad = bad || seg == "..";
  // MLflow compares the path with its pathlib resolution, which is absolute
  // and has no '.' segments: an empty or relative path never matches.
  bad = bad || collapsed.empty() || collapsed.front() != '/';
  for (std::string_view seg : Segments(collapsed)) bad = bad || seg == ".";
  if (!bad) return Status::Ok();
  return InvalidArgument("Invalid model version source: '" + std::string(source) +
                         "'. If supplying a source as an http, https, local file path, ftp, objectstore, or "
                         "mlflow-artifacts uri, an absolute path must be provided without relative path references "
                         "present. Please provide an absolute path.");
}

StatusOr<bool> IsLocalSource(std::string_view uri) {
  SplitUri split = SplitSourceUri(uri);
  if (split.scheme.empty()) return true;
  std::string host = Hostname(split.netloc);
  bool remote = !host.empty() && host != "." && !host.starts_with("localhost") && !host.starts_with("127.0.0.1");
  if (split.scheme == "file") {
    if (remote) {
      return InvalidArgument(std::string(uri) +
                             " is not a valid remote uri. For remote access on windows, please consider using a "
                             "different scheme such as SMB (e.g. smb://<hostname>/<path>).");
    }
    return true;
  }
  return false;
}

std::string LocalSourcePath(std::string_view uri) {
  SplitUri split = SplitSourceUri(uri);
  if (split.scheme == "file") return Unquote(split.path, /*plus=*/false);
  return Unquote(uri, /*plus=*/false);
}

bool LocalPathWithin(const std::string& path, const std::string& root) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
  if (ec) return false;
  std::filesystem::path r = std::filesystem::weakly_canonical(std::filesystem::absolute(root, ec), ec);
  if (ec) return false;
  auto pi = p.begin();
  for (auto ri = r.begin(); ri != r.end(); ++ri, ++pi) {
    if (ri->empty()) continue;  // a trailing separator
    if (pi == p.end() || *pi != *ri) return false;
  }
  return true;
}

Status InvalidLocalSource(std::string_view source, std::string_view id_name) {
  return InvalidArgument("Invalid model version source: '" + std::string(source) +
                         "'. To use a local path as a model version source, the " + std::string(id_name) +
                         " request parameter has to be specified and the local path has to be contained within the "
                         "artifact directory of the run specified by the " + std::string(id_name) + ".");
}

}  // namespace kiln::registry
