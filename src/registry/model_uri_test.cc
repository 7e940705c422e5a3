#include "registry/model_uri.h"

#include <gtest/gtest.h>

namespace kiln::registry {
namespace {

TEST(ModelUri, Forms) {
  auto v = ParseModelsUri("models:/fraud/3");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kind, ModelUri::Kind::kVersion);
  EXPECT_EQ(v->name, "fraud");
  EXPECT_EQ(v->version, 3);
  auto a = ParseModelsUri("models:/fraud@champion");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->kind, ModelUri::Kind::kAlias);
  EXPECT_EQ(a->alias, "champion");
  EXPECT_EQ(ParseModelsUri("models:/fraud/Production")->kind, ModelUri::Kind::kStage);
  EXPECT_EQ(ParseModelsUri("models:/fraud/latest")->kind, ModelUri::Kind::kLatest);
  auto m = ParseModelsUri("models:/m-0123abcd");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->kind, ModelUri::Kind::kLoggedModel);
  EXPECT_EQ(m->model_id, "m-0123abcd");
}

TEST(ModelUri, RejectsMalformed) {
  for (const char* bad : {"models:", "models:/", "models://host/a/1", "models:/a/1/2", "models:/a@", "models:/@x",
                          "models:/a/b@c", "runs:/x/y"}) {
    EXPECT_FALSE(ParseModelsUri(bad).ok()) << bad;
  }
}

TEST(ModelUri, RunsUri) {
  auto r = ParseRunsUri("runs:/abc/model/sub");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->run_id, "abc");
  EXPECT_EQ(r->path, "model/sub");
  EXPECT_FALSE(ParseRunsUri("runs:/abc/../other").ok());
  EXPECT_FALSE(ParseRunsUri("runs://abc/model").ok());
}

TEST(ModelUri, ArtifactStorePath) {
  EXPECT_EQ(*ArtifactStorePath("mlflow-artifacts:/0/r/artifacts/model"), "0/r/artifacts/model");
  EXPECT_EQ(*ArtifactStorePath("mlflow-artifacts://host:5000/0/r/"), "0/r");
  for (const char* bad : {"file:///etc", "/etc/passwd", "s3://bucket/x", "mlflow-artifacts:/a/../b",
                          "mlflow-artifacts:/a/%2e%2e/b", "mlflow-artifacts:/a//b", "mlflow-artifacts:/a\\b"}) {
    EXPECT_FALSE(ArtifactStorePath(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace kiln::registry
