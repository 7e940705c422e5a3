#include "api/webui/webui_routes.h"

#include <zlib.h>

#include <climits>
#include <cstdlib>
#include <memory>
#include <unordered_map>

#include "api/mlflow/ui_static.h"

namespace kiln::api::webui {
namespace {

constexpr std::string_view kNotBuilt =
    "kiln's web UI is not built into this binary: run scripts/setup.sh (it builds ui/ into "
    "third_party/ui-dist) and rebuild kiln, or serve a built folder with --ui-dir\n";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

StatusOr<std::string> Gunzip(const EmbeddedAsset& asset) {
  std::string out(asset.size, '\0');
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Internal("cannot start inflate");
  zs.next_in = const_cast<unsigned char*>(asset.gzip);
  zs.avail_in = static_cast<uInt>(asset.gzip_size);
  zs.next_out = reinterpret_cast<unsigned char*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&zs, Z_FINISH);
  size_t produced = out.size() - zs.avail_out;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || produced != asset.size) return Internal(std::string("embedded UI file is corrupt: ") + asset.path);
  return out;
}

net::HttpResponse Plain(unsigned status, std::string_view text) {
  net::HttpResponse res = net::HttpResponse::Text(status, std::string(text));
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  res.headers.emplace_back("Cache-Control", "no-cache");
  return res;
}

net::HttpResponse Redirect() {
  net::HttpResponse res = net::HttpResponse::Text(308, "/ui/\n");
  res.headers.emplace_back("Location", "/ui/");
  return res;
}

// Path -> asset, built once at registration.
class AssetIndex {
 public:
  explicit AssetIndex(EmbeddedAssets assets) {
    for (const EmbeddedAsset& a : assets) by_path_.emplace(a.path, &a);
  }
  const EmbeddedAsset* Find(std::string_view rel) const {
    auto it = by_path_.find(std::string(rel));
    return it == by_path_.end() ? nullptr : it->second;
  }
  bool empty() const { return by_path_.empty(); }

 private:
  std::unordered_map<std::string, const EmbeddedAsset*> by_path_;
};

}  // namespace

bool AcceptsGzip(std::string_view header) {
  size_t pos = 0;
  while (pos <= header.size()) {
    size_t comma = header.find(',', pos);
    if (comma == std::string_view::npos) comma = header.size();
    std::string_view item = Trim(header.substr(pos, comma - pos));
    pos = comma + 1;
    std::string_view coding = item;
    std::string_view params;
    if (size_t semi = item.find(';'); semi != std::string_view::npos) {
      coding = Trim(item.substr(0, semi));
      params = Trim(item.substr(semi + 1));
    }
    if (!EqualsNoCase(coding, "gzip") && !EqualsNoCase(coding, "x-gzip")) continue;
    if (params.size() >= 2 && (params[0] == 'q' || params[0] == 'Q') && params[1] == '=') {
      std::string q(Trim(params.substr(2)));
      return std::strtod(q.c_str(), nullptr) > 0.0;
    }
    return true;
  }
  return false;
}

bool EtagMatches(std::string_view header, std::string_view etag) {
  if (Trim(header) == "*") return true;
  size_t pos = 0;
  while (pos < header.size()) {
    size_t comma = header.find(',', pos);
    if (comma == std::string_view::npos) comma = header.size();
    std::string_view tag = Trim(header.substr(pos, comma - pos));
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == etag) return true;
    pos = comma + 1;
  }
  return false;
}

bool IsClientRoute(std::string_view rel) {
  if (rel.substr(0, 7) == "assets/" || rel == "assets") return false;
  size_t slash = rel.rfind('/');
  std::string_view last = slash == std::string_view::npos ? rel : rel.substr(slash + 1);
  return last.find('.') == std::string_view::npos;
}

std::string CacheControlFor(std::string_view rel) {
  if (rel.substr(0, 7) == "assets/") return "public, max-age=31536000, immutable";
  return "no-cache";
}

net::HttpResponse EmbeddedAssetResponse(const EmbeddedAsset& asset, std::string_view accept_encoding,
                                        std::string_view if_none_match) {
  const bool gzip = AcceptsGzip(accept_encoding);
  // The two encodings are different representations, so different tags.
  std::string etag(asset.etag);
  if (gzip) etag.insert(etag.size() - 1, "-gz");
  net::HttpResponse res;
  res.content_type = asset.content_type;
  res.headers.emplace_back("Cache-Control", CacheControlFor(asset.path));
  res.headers.emplace_back("ETag", etag);
  res.headers.emplace_back("Vary", "Accept-Encoding");
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (EtagMatches(if_none_match, etag)) {
    res.status = 304;
    return res;
  }
  if (gzip) {
    res.headers.emplace_back("Content-Encoding", "gzip");
    res.body.assign(reinterpret_cast<const char*>(asset.gzip), asset.gzip_size);
    return res;
  }
  auto plain = Gunzip(asset);
  if (!plain.ok()) return Plain(500, plain.status().message() + "\n");
  res.body = std::move(plain).value();
  return res;
}

Status AddWebUiRoutes(net::Router& router, const WebUiOptions& options) {
  net::Handler handler;
  net::Execution execution = net::Execution::kInline;
  if (!options.ui_dir.empty()) {
    char resolved[PATH_MAX];
    if (::realpath(options.ui_dir.c_str(), resolved) == nullptr) {
      return InvalidArgument("'" + options.ui_dir + "' does not exist");
    }
    std::string root(resolved);
    auto index = mlflow::ResolveUiPath(root, "index.html");
    if (!index.ok()) return InvalidArgument("'" + options.ui_dir + "' holds no index.html (run `npm run build` in ui/)");
    std::string index_path = *index;
    execution = net::Execution::kPool;
    handler = [root, index_path](net::HttpRequest& req) {
      std::string_view rel = req.PathParam("path");
      if (rel.empty()) return mlflow::UiFileResponse(index_path, req.Header("if-none-match"));
      auto file = mlflow::ResolveUiPath(root, rel);
      if (file.ok()) return mlflow::UiFileResponse(*file, req.Header("if-none-match"));
      if (IsClientRoute(rel)) return mlflow::UiFileResponse(index_path, req.Header("if-none-match"));
      return Plain(404, "Not Found\n");
    };
  } else {
    auto index = std::make_shared<AssetIndex>(options.assets);
    const EmbeddedAsset* index_html = index->Find("index.html");
    handler = [index, index_html](net::HttpRequest& req) {
      if (index_html == nullptr) return Plain(503, kNotBuilt);
      std::string_view rel = req.PathParam("path");
      const EmbeddedAsset* asset = rel.empty() ? index_html : index->Find(rel);
      if (asset == nullptr && IsClientRoute(rel)) asset = index_html;
      if (asset == nullptr) return Plain(404, "Not Found\n");
      return EmbeddedAssetResponse(*asset, req.Header("accept-encoding"), req.Header("if-none-match"));
    };
  }
  net::Route& bare = router.Add("GET", "/ui", [](net::HttpRequest&) { return Redirect(); }, net::Execution::kInline);
  bare.access = net::PublicAccess();
  net::Route& files = router.Add("GET", "/ui/{path...}", std::move(handler), execution);
  files.access = net::PublicAccess();
  return Status::Ok();
}

}  // namespace kiln::api::webui
