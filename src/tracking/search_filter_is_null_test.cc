// IS NULL / IS NOT NULL: MLflow 3's UI filters experiments by
// `tags.`mlflow.experiment.isGateway` IS NULL`.
#include <gtest/gtest.h>

#include "tracking/search_filter_parser.h"

namespace kiln::tracking {
namespace {

using storage::CompareOp;
using storage::SearchEntity;

TEST(IsNullFilter, ExperimentTags) {
  auto f = ParseExperimentFilter("tags.`mlflow.experiment.isGateway` IS NULL AND name LIKE 'a%'");
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_EQ(f->size(), 2u);
  EXPECT_EQ((*f)[0].entity, SearchEntity::kTag);
  EXPECT_EQ((*f)[0].key, "mlflow.experiment.isGateway");
  EXPECT_EQ((*f)[0].op, CompareOp::kIsNull);
  auto g = ParseExperimentFilter("tags.team is not null");
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ((*g)[0].op, CompareOp::kIsNotNull);
  auto bad = ParseExperimentFilter("name IS NULL");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("only supported for tags"), std::string::npos);
}

TEST(IsNullFilter, RunTagsAndParamsOnly) {
  auto f = ParseRunFilter("params.lr IS NOT NULL and tags.t IS NULL");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ((*f)[0].entity, SearchEntity::kParam);
  EXPECT_EQ((*f)[0].op, CompareOp::kIsNotNull);
  EXPECT_EQ((*f)[1].op, CompareOp::kIsNull);
  auto bad = ParseRunFilter("metrics.acc IS NULL");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("only supported for tags and params"), std::string::npos);
  EXPECT_FALSE(ParseRegisteredModelFilter("tags.x IS NULL").ok());
  EXPECT_FALSE(ParseRunFilter("tags.t IS 'x'").ok());
}

}  // namespace
}  // namespace kiln::tracking
