#include "api/mlflow/ui_static.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace kiln::api::mlflow {
namespace {

constexpr size_t kMaxUiPath = 1024;

bool AllowedChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-' || c == '~' || c == '+' || c == '@' || c == '/';
}

std::string_view BaseName(std::string_view p) {
  size_t slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Owns an open file; reads run on the worker pool, one chunk at a time.
class FileSource final : public net::ResponseBodySource {
 public:
  FileSource(int fd, int64_t size) : fd_(fd), size_(size) {}
  ~FileSource() override { ::close(fd_); }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  int64_t size() const override { return size_; }
  StatusOr<size_t> Read(char* buffer, size_t capacity) override {
    while (true) {
      ssize_t n = ::read(fd_, buffer, capacity);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return Internal(std::string("cannot read UI file: ") + std::strerror(errno));
    }
  }

 private:
  int fd_;
  int64_t size_;
};

net::HttpResponse NotFoundResponse() {
  net::HttpResponse res = net::HttpResponse::Text(404, "Not Found\n");
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return res;
}

}  // namespace

StatusOr<std::string> ResolveUiPath(const std::string& root, std::string_view rel) {
  if (rel.empty() || rel.size() > kMaxUiPath) return NotFound("no such UI file");
  for (char c : rel) {
    if (!AllowedChar(c)) return NotFound("no such UI file");
  }
  size_t start = 0;
  while (start <= rel.size()) {
    size_t slash = rel.find('/', start);
    if (slash == std::string_view::npos) slash = rel.size();
    std::string_view seg = rel.substr(start, slash - start);
    // Empty segments ("a//b", a leading or trailing '/') and dot-files
    // (".", "..", ".env") never name a UI asset.
    if (seg.empty() || seg.front() == '.') return NotFound("no such UI file");
    start = slash + 1;
  }
  std::string joined = root + "/" + std::string(rel);
  char resolved[PATH_MAX];
  if (::realpath(joined.c_str(), resolved) == nullptr) return NotFound("no such UI file");
  std::string real(resolved);
  if (real.size() <= root.size() || real.compare(0, root.size(), root) != 0 || real[root.size()] != '/') {
    return NotFound("no such UI file");  // a symlink pointing out of the UI folder
  }
  struct stat st;
  if (::stat(real.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return NotFound("no such UI file");
  return real;
}

std::string UiContentType(std::string_view path) {
  struct Type {
    const char* ext;
    const char* type;
  };
  static constexpr Type kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".cjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/vnd.microsoft.icon"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".ttf", "font/ttf"},
      {".otf", "font/otf"},
      {".eot", "application/vnd.ms-fontobject"},
      {".wasm", "application/wasm"},
  };
  for (const auto& t : kTypes) {
    if (EndsWith(path, t.ext)) return t.type;
  }
  return "application/octet-stream";
}

bool IsHashedAssetName(std::string_view path) {
  std::string_view name = BaseName(path);
  // Split on '.', ignoring the first part (the chunk name) and the last (the
  // extension): a middle part of 8+ lowercase hex digits is a content hash.
  size_t first = name.find('.');
  size_t last = name.rfind('.');
  if (first == std::string_view::npos || first == last) return false;
  std::string_view middle = name.substr(first + 1, last - first - 1);
  size_t start = 0;
  while (start <= middle.size()) {
    size_t dot = middle.find('.', start);
    if (dot == std::string_view::npos) dot = middle.size();
    std::string_view part = middle.substr(start, dot - start);
    bool hex = part.size() >= 8;
    for (char c : part) hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (hex) return true;
    start = dot + 1;
  }
  return false;
}

std::string UiCacheControl(std::string_view path) {
  if (IsHashedAssetName(path)) return "public, max-age=31536000, immutable";
  return "no-cache";
}

net::HttpResponse UiFileResponse(const std::string& file, std::string_view if_none_match) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return NotFoundResponse();
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return NotFoundResponse();
  }
  auto source = std::make_unique<FileSource>(fd, static_cast<int64_t>(st.st_size));
  std::string etag = "\"" + std::to_string(st.st_size) + "-" + std::to_string(st.st_mtim.tv_sec) + "." +
                     std::to_string(st.st_mtim.tv_nsec) + "\"";
  net::HttpResponse res;
  res.content_type = UiContentType(file);
  res.headers.emplace_back("Cache-Control", UiCacheControl(file));
  res.headers.emplace_back("ETag", etag);
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  // If-None-Match may list several tags, or "*".
  bool matched = if_none_match == "*";
  size_t pos = 0;
  while (!matched && pos < if_none_match.size()) {
    size_t comma = if_none_match.find(',', pos);
    if (comma == std::string_view::npos) comma = if_none_match.size();
    std::string_view tag = if_none_match.substr(pos, comma - pos);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    matched = tag == etag;
    pos = comma + 1;
  }
  if (matched) {
    res.status = 304;
    return res;  // source closes the file
  }
  res.stream = std::move(source);
  return res;
}

}  // namespace kiln::api::mlflow
