#include "api/mlflow/ui_static.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "api/mlflow/ui_routes.h"

namespace kiln::api::mlflow {
namespace {

namespace fs = std::filesystem;

class UiStaticTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::canonical(fs::temp_directory_path()) / ("kiln-ui-static-" + std::to_string(::getpid()));
    fs::remove_all(base_);
    root_ = base_ / "build";
    fs::create_directories(root_ / "static" / "js");
    Write(root_ / "index.html", "<html></html>");
    Write(root_ / "static" / "js" / "main.c2f5f8d4.js", "console.log(1)");
    Write(root_ / ".env", "SECRET=1");
    Write(base_ / "outside.txt", "root:x:0:0");
    fs::create_symlink(base_ / "outside.txt", root_ / "static" / "escape.txt");
    fs::create_symlink(root_ / "index.html", root_ / "static" / "inside.html");
  }
  void TearDown() override { fs::remove_all(base_); }
  static void Write(const fs::path& p, const std::string& data) { std::ofstream(p) << data; }

  fs::path base_;
  fs::path root_;
};

TEST_F(UiStaticTest, ResolvesFilesInsideTheRoot) {
  auto js = ResolveUiPath(root_.string(), "static/js/main.c2f5f8d4.js");
  ASSERT_TRUE(js.ok()) << js.status().message();
  EXPECT_EQ(*js, (root_ / "static" / "js" / "main.c2f5f8d4.js").string());
  EXPECT_TRUE(ResolveUiPath(root_.string(), "static/inside.html").ok());  // a symlink that stays inside
}

TEST_F(UiStaticTest, RefusesEverythingThatCouldLeaveTheRoot) {
  for (const char* bad : {"", "../outside.txt", "static/../../outside.txt", "./index.html", "static/./js/main.c2f5f8d4.js",
                          ".env", "static//js/main.c2f5f8d4.js", "/etc/passwd", "static/", "static",
                          "%2e%2e/outside.txt", "static/%2e%2e/index.html", "..%2foutside.txt", "static\\..\\index.html",
                          "static/escape.txt", "index.html\n", "missing.js", "static/js/main.c2f5f8d4.js/"}) {
    EXPECT_FALSE(ResolveUiPath(root_.string(), bad).ok()) << "resolved: " << bad;
  }
  EXPECT_FALSE(ResolveUiPath(root_.string(), std::string("index.html\0x", 12)).ok());
  EXPECT_FALSE(ResolveUiPath(root_.string(), std::string(2000, 'a')).ok());
}

TEST(UiStatic, ContentTypes) {
  EXPECT_EQ(UiContentType("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(UiContentType("static/js/main.c2f5f8d4.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(UiContentType("static/css/a.css"), "text/css; charset=utf-8");
  EXPECT_EQ(UiContentType("static/media/x.svg"), "image/svg+xml");
  EXPECT_EQ(UiContentType("static/media/f.woff2"), "font/woff2");
  EXPECT_EQ(UiContentType("favicon.ico"), "image/vnd.microsoft.icon");
  EXPECT_EQ(UiContentType("blob.bin"), "application/octet-stream");
}

TEST(UiStatic, OnlyHashedAssetsAreImmutable) {
  EXPECT_TRUE(IsHashedAssetName("static/js/main.c2f5f8d4.js"));
  EXPECT_TRUE(IsHashedAssetName("static/css/8116.9a0b6467.chunk.css"));
  EXPECT_TRUE(IsHashedAssetName("TelemetryLogger.telemetry-worker.d0f8ea2c83c08b63528f.worker.js"));
  EXPECT_TRUE(IsHashedAssetName("static/media/404-overflow.fad9a31861b0afba6f921ebb8e769688.svg"));
  EXPECT_FALSE(IsHashedAssetName("index.html"));
  EXPECT_FALSE(IsHashedAssetName("manifest.json"));
  EXPECT_FALSE(IsHashedAssetName("static/js/8116.js"));
  EXPECT_FALSE(IsHashedAssetName("static/js/main.C2F5F8D4.js"));
  EXPECT_EQ(UiCacheControl("index.html"), "no-cache");
  EXPECT_EQ(UiCacheControl("static/js/main.c2f5f8d4.js"), "public, max-age=31536000, immutable");
}

TEST_F(UiStaticTest, StreamsWithEtagAndAnswers304) {
  auto file = ResolveUiPath(root_.string(), "static/js/main.c2f5f8d4.js");
  ASSERT_TRUE(file.ok());
  net::HttpResponse res = UiFileResponse(*file, "");
  ASSERT_EQ(res.status, 200u);
  ASSERT_TRUE(res.stream);
  EXPECT_EQ(res.stream->size(), 14);
  char buf[64];
  auto n = res.stream->Read(buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "console.log(1)");
  std::string etag;
  for (const auto& [k, v] : res.headers) {
    if (k == "ETag") etag = v;
  }
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(UiFileResponse(*file, etag).status, 304u);
  EXPECT_EQ(UiFileResponse(*file, "\"other\", W/" + etag).status, 304u);
  EXPECT_EQ(UiFileResponse(*file, "\"other\"").status, 200u);
}

TEST_F(UiStaticTest, FindsTheUiInAPythonEnvironment) {
  fs::path venv = base_ / "venv";
  fs::path build = venv / "lib" / "python3.11" / "site-packages" / "mlflow" / "server" / "js" / "build";
  fs::create_directories(build);
  fs::create_directories(venv / "bin");
  Write(build / "index.html", "<html></html>");
  Write(venv / "bin" / "python", "");
  auto by_python = FindMlflowUiBuild((venv / "bin" / "python").string());
  ASSERT_TRUE(by_python.ok()) << by_python.status().message();
  EXPECT_EQ(*by_python, build.string());
  EXPECT_TRUE(FindMlflowUiBuild(venv.string()).ok());
  EXPECT_FALSE(FindMlflowUiBuild((base_ / "nope" / "bin" / "python").string()).ok());
  EXPECT_FALSE(FindMlflowUiBuild(root_.string()).ok());  // no lib/python3.*
}

}  // namespace
}  // namespace kiln::api::mlflow
