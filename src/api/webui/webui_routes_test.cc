#include "api/webui/webui_routes.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace kiln::api::webui {
// Generated from testdata/ by cmake/embed_webui.cmake (see CMakeLists.txt).
EmbeddedAssets TestWebUiAssets();

namespace {

std::string ReadFixture(const std::string& rel) {
  std::ifstream in(std::string(KILN_WEBUI_TESTDATA) + "/" + rel, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Gunzip(const std::string& gz) {
  std::string out(1 << 20, '\0');
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
  zs.next_in = reinterpret_cast<unsigned char*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  zs.next_out = reinterpret_cast<unsigned char*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(out.size() - zs.avail_out);
  inflateEnd(&zs);
  return out;
}

std::string HeaderOf(const net::HttpResponse& res, std::string_view name) {
  for (const auto& [k, v] : res.headers) {
    if (k == name) return v;
  }
  return "";
}

net::HttpResponse Get(net::Router& router, const std::string& path,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
  net::RouteMatch m = router.Match("GET", path);
  EXPECT_NE(m.route, nullptr) << path;
  if (m.route == nullptr) return net::HttpResponse::Text(404, "");
  net::HttpRequest req;
  req.method = "GET";
  req.path = path;
  req.path_params = m.params;
  req.headers = std::move(headers);
  return m.route->handler(req);
}

TEST(EmbedScript, TableHoldsEveryFixtureFileCompressed) {
  EmbeddedAssets assets = TestWebUiAssets();
  ASSERT_EQ(assets.count, 3u);
  // Sorted by path; dot-files are not embedded.
  EXPECT_STREQ(assets.items[0].path, "assets/app-AbC123xy.js");
  EXPECT_STREQ(assets.items[1].path, "assets/style-Zz9_-Qw1.css");
  EXPECT_STREQ(assets.items[2].path, "index.html");
  for (const EmbeddedAsset& a : assets) {
    std::string original = ReadFixture(a.path);
    EXPECT_EQ(a.size, original.size()) << a.path;
    std::string gz(reinterpret_cast<const char*>(a.gzip), a.gzip_size);
    EXPECT_EQ(Gunzip(gz), original) << a.path;
    EXPECT_EQ(std::string(a.etag).front(), '"');
  }
  // The repetitive script compresses well.
  EXPECT_LT(assets.items[0].gzip_size * 10, assets.items[0].size);
  EXPECT_STREQ(assets.items[0].content_type, "text/javascript; charset=utf-8");
  EXPECT_STREQ(assets.items[1].content_type, "text/css; charset=utf-8");
  EXPECT_STREQ(assets.items[2].content_type, "text/html; charset=utf-8");
}

TEST(AcceptEncoding, Gzip) {
  EXPECT_TRUE(AcceptsGzip("gzip, deflate, br, zstd"));
  EXPECT_TRUE(AcceptsGzip("br;q=1.0, GZIP;q=0.5"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("identity"));
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("gzipx"));
}

TEST(IfNoneMatch, Lists) {
  EXPECT_TRUE(EtagMatches("\"a\", \"b\"", "\"b\""));
  EXPECT_TRUE(EtagMatches("W/\"b\"", "\"b\""));
  EXPECT_TRUE(EtagMatches("*", "\"b\""));
  EXPECT_FALSE(EtagMatches("\"bb\"", "\"b\""));
  EXPECT_FALSE(EtagMatches("", "\"b\""));
}

TEST(ClientRoutes, FilesAreNotPages) {
  EXPECT_TRUE(IsClientRoute("experiments/1"));
  EXPECT_TRUE(IsClientRoute("runs"));
  EXPECT_FALSE(IsClientRoute("assets/index-OLD.js"));
  EXPECT_FALSE(IsClientRoute("assets/new"));
  EXPECT_FALSE(IsClientRoute("favicon.ico"));
  EXPECT_EQ(CacheControlFor("assets/index-CEDjia5L.js"), "public, max-age=31536000, immutable");
  EXPECT_EQ(CacheControlFor("index.html"), "no-cache");
}

class EmbeddedRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    WebUiOptions options;
    options.assets = TestWebUiAssets();
    ASSERT_TRUE(AddWebUiRoutes(router, options).ok());
  }
  net::Router router;
};

TEST_F(EmbeddedRoutes, GzipWhenAcceptedWithLongCacheForHashedAssets) {
  auto res = Get(router, "/ui/assets/app-AbC123xy.js", {{"accept-encoding", "gzip, br"}});
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(HeaderOf(res, "Content-Encoding"), "gzip");
  EXPECT_EQ(HeaderOf(res, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(HeaderOf(res, "Vary"), "Accept-Encoding");
  EXPECT_EQ(Gunzip(res.body), ReadFixture("assets/app-AbC123xy.js"));
}

TEST_F(EmbeddedRoutes, PlainBytesWithoutGzip) {
  auto res = Get(router, "/ui/assets/app-AbC123xy.js");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(HeaderOf(res, "Content-Encoding"), "");
  EXPECT_EQ(res.body, ReadFixture("assets/app-AbC123xy.js"));
}

TEST_F(EmbeddedRoutes, EtagRevalidatesTo304PerEncoding) {
  auto first = Get(router, "/ui/assets/style-Zz9_-Qw1.css", {{"accept-encoding", "gzip"}});
  std::string etag = HeaderOf(first, "ETag");
  ASSERT_FALSE(etag.empty());
  auto again = Get(router, "/ui/assets/style-Zz9_-Qw1.css", {{"accept-encoding", "gzip"}, {"if-none-match", etag}});
  EXPECT_EQ(again.status, 304u);
  EXPECT_TRUE(again.body.empty());
  // The uncompressed representation has its own tag.
  auto plain = Get(router, "/ui/assets/style-Zz9_-Qw1.css", {{"if-none-match", etag}});
  EXPECT_EQ(plain.status, 200u);
  EXPECT_NE(HeaderOf(plain, "ETag"), etag);
}

TEST_F(EmbeddedRoutes, IndexAndClientRoutesAreRevalidatedHtml) {
  for (const char* path : {"/ui/", "/ui/experiments/12", "/ui/index.html"}) {
    auto res = Get(router, path);
    EXPECT_EQ(res.status, 200u) << path;
    EXPECT_EQ(res.content_type, "text/html; charset=utf-8") << path;
    EXPECT_EQ(HeaderOf(res, "Cache-Control"), "no-cache") << path;
    EXPECT_EQ(res.body, ReadFixture("index.html")) << path;
  }
}

TEST_F(EmbeddedRoutes, MissingFilesAre404NotHtml) {
  EXPECT_EQ(Get(router, "/ui/assets/app-OLDHASH1.js").status, 404u);
  EXPECT_EQ(Get(router, "/ui/robots.txt").status, 404u);
}

TEST_F(EmbeddedRoutes, BarePathRedirectsAndEveryRouteIsPublic) {
  auto res = Get(router, "/ui");
  EXPECT_EQ(res.status, 308u);
  EXPECT_EQ(HeaderOf(res, "Location"), "/ui/");
  for (const net::Route* r : router.routes()) EXPECT_EQ(r->access.kind, net::AccessKind::kPublic) << r->pattern;
}

TEST(EmptyTable, AnswersUiNotBuilt) {
  net::Router router;
  WebUiOptions options;
  options.assets = EmbeddedAssets{};
  ASSERT_TRUE(AddWebUiRoutes(router, options).ok());
  auto res = Get(router, "/ui/experiments/1");
  EXPECT_EQ(res.status, 503u);
  EXPECT_NE(res.body.find("scripts/setup.sh"), std::string::npos);
}

// A folder's files are streamed (the worker pool reads them chunk by chunk).
std::string BodyOf(net::HttpResponse& res) {
  if (!res.stream) return res.body;
  std::string out;
  char buf[4096];
  while (true) {
    auto n = res.stream->Read(buf, sizeof buf);
    EXPECT_TRUE(n.ok());
    if (!n.ok() || *n == 0) break;
    out.append(buf, *n);
  }
  return out;
}

TEST(UiDir, ServesAFolderWithFallback) {
  net::Router router;
  WebUiOptions options;
  options.ui_dir = KILN_WEBUI_TESTDATA;
  ASSERT_TRUE(AddWebUiRoutes(router, options).ok());
  auto css = Get(router, "/ui/assets/style-Zz9_-Qw1.css");
  EXPECT_EQ(BodyOf(css), ReadFixture("assets/style-Zz9_-Qw1.css"));
  auto res = Get(router, "/ui/experiments/3");
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(Get(router, "/ui/assets/gone-12345678.js").status, 404u);
  EXPECT_EQ(Get(router, "/ui/../CMakeLists.txt").status, 404u);
}

TEST(UiDir, RefusesAFolderWithoutIndex) {
  net::Router router;
  WebUiOptions options;
  options.ui_dir = std::string(KILN_WEBUI_TESTDATA) + "/assets";
  EXPECT_FALSE(AddWebUiRoutes(router, options).ok());
  options.ui_dir = "/nonexistent/kiln-ui";
  EXPECT_FALSE(AddWebUiRoutes(router, options).ok());
}

}  // namespace
}  // namespace kiln::api::webui
