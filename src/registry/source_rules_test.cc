#include "registry/source_rules.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace kiln::registry {
namespace {

TEST(SourceRules, SplitsLikeUrlsplit) {
  SplitUri s = SplitSourceUri("S3://Bucket/a/b?x=1#f");
  EXPECT_EQ(s.scheme, "s3");
  EXPECT_EQ(s.netloc, "Bucket");
  EXPECT_EQ(s.path, "/a/b");
  EXPECT_EQ(SplitSourceUri("/plain/path").scheme, "");
  EXPECT_EQ(SplitSourceUri("dbfs:/x").path, "/x");
  EXPECT_EQ(SplitSourceUri("1abc:/x").scheme, "") << "a scheme starts with a letter";
}

TEST(SourceRules, RelativeReferencesAreRefused) {
  for (const char* uri : {"s3://b/a/../c", "s3://b/a/%2e%2e/c", "s3://b/a/%252e%252e/c", "s3://b", "s3://b/",
                          "s3://b/./a", "dbfs:rel/path", "s3://b/a%00b"}) {
    EXPECT_EQ(CheckNoRelativeReferences(uri).code(), StatusCode::kInvalidArgument) << uri;
  }
  for (const char* uri : {"s3://b/a/c", "s3://b//a//c/", "gs://b/m?x=..", "dbfs:/a/b", "s3://b/a..b"}) {
    EXPECT_TRUE(CheckNoRelativeReferences(uri).ok()) << uri;
  }
}

TEST(SourceRules, LocalSources) {
  EXPECT_TRUE(*IsLocalSource("/tmp/m"));
  EXPECT_TRUE(*IsLocalSource("rel/m"));
  EXPECT_TRUE(*IsLocalSource("file:///tmp/m"));
  EXPECT_TRUE(*IsLocalSource("file://localhost/tmp/m"));
  EXPECT_FALSE(*IsLocalSource("s3://b/m"));
  EXPECT_EQ(IsLocalSource("file://remote-host/tmp/m").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(LocalSourcePath("file:///tmp/a%20b"), "/tmp/a b");
  EXPECT_EQ(LocalSourcePath("/tmp/x"), "/tmp/x");

  std::string root = (std::filesystem::temp_directory_path() / "kiln_source_rules_root").string();
  EXPECT_TRUE(LocalPathWithin(root + "/run/artifacts/model", root + "/run/artifacts"));
  EXPECT_TRUE(LocalPathWithin(root + "/run/artifacts", root + "/run/artifacts/"));
  EXPECT_FALSE(LocalPathWithin(root + "/run/artifacts/../../etc", root + "/run/artifacts"));
  EXPECT_FALSE(LocalPathWithin(root + "/run/artifacts-other", root + "/run/artifacts"));
  EXPECT_FALSE(LocalPathWithin("/etc", root));
}

}  // namespace
}  // namespace kiln::registry
