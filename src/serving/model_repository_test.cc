#include "serving/model_repository.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/metrics.h"
#include "serving/inference_metrics.h"

namespace kiln::serving {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A one-stump XGBoost regression model, as Learner::SaveModel writes it.
std::string StumpModel() {
  json tree = {{"id", 0},
               {"tree_param", {{"num_nodes", "3"}, {"size_leaf_vector", "1"}, {"num_feature", "1"}, {"num_deleted", "0"}}},
               {"left_children", {1, -1, -1}},
               {"right_children", {2, -1, -1}},
               {"parents", {2147483647, 0, 0}},
               {"split_indices", {0, 0, 0}},
               {"split_conditions", {0.5, 1.0, 2.0}},
               {"default_left", {0, 0, 0}},
               {"split_type", {0, 0, 0}},
               {"base_weights", {0.0, 0.0, 0.0}},
               {"loss_changes", {0.0, 0.0, 0.0}},
               {"sum_hessian", {1.0, 1.0, 1.0}},
               {"categories", json::array()},
               {"categories_nodes", json::array()},
               {"categories_segments", json::array()},
               {"categories_sizes", json::array()}};
  json gbtree = {{"name", "gbtree"},
                 {"model",
                  {{"gbtree_model_param", {{"num_trees", "1"}, {"num_parallel_tree", "1"}}},
                   {"tree_info", {0}},
                   {"trees", {tree}}}}};
  json model = {{"learner",
                 {{"attributes", json::object()},
                  {"feature_names", json::array()},
                  {"feature_types", json::array()},
                  {"gradient_booster", gbtree},
                  {"learner_model_param",
                   {{"base_score", "5E-1"}, {"boost_from_average", "1"}, {"num_class", "0"}, {"num_feature", "1"},
                    {"num_target", "1"}}},
                  {"objective", {{"name", "reg:squarederror"}}}}},
                {"version", {2, 1, 4}}};
  return model.dump();
}

class ModelRepositoryFailures : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("kiln_model_repo_test_" + std::to_string(getpid()));
    fs::remove_all(root_);
    Write("good/1/model.json", StumpModel());
    Write("broken/1/model.json", "{not a model");
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const std::string& rel, const std::string& content) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << content;
  }
  fs::path root_;
};

TEST_F(ModelRepositoryFailures, CountsInitialLoadReloadAndUriFailuresPerModel) {
  ModelRepository repo(root_.string(), [](const std::string& uri) -> StatusOr<ResolvedModel> {
    return NotFound("no such version: " + uri);
  });
  repo.LoadAll();
  auto failures = repo.LoadFailures();
  EXPECT_EQ(failures["good"], 0u);
  EXPECT_EQ(failures["broken"], 1u);
  // A reload that fails while version 1 stays served still counts.
  Write("good/1/model.json", "{still not a model");
  EXPECT_FALSE(repo.Load("good").ok());
  EXPECT_TRUE(repo.Get("good").ok());
  EXPECT_FALSE(repo.LoadUri("from-registry", "models:/x/9").ok());
  // Not in the repository, or an invalid name: the caller's mistake, not a load failure.
  EXPECT_FALSE(repo.Load("missing").ok());
  EXPECT_FALSE(repo.Load("../x").ok());
  failures = repo.LoadFailures();
  EXPECT_EQ(failures["good"], 1u);
  EXPECT_EQ(failures["broken"], 1u);
  EXPECT_EQ(failures["from-registry"], 1u);
  EXPECT_EQ(failures.count("missing"), 0u);
  EXPECT_EQ(failures.size(), 3u);
}

TEST_F(ModelRepositoryFailures, ExportedAsACounterFromZero) {
  ModelRepository repo(root_.string());
  MetricsRegistry registry;
  InferenceMetrics metrics(registry, repo);
  repo.LoadAll();
  std::string text = registry.Render();
  EXPECT_NE(text.find("kiln_model_load_failures_total{model=\"good\"} 0"), std::string::npos) << text;
  EXPECT_NE(text.find("kiln_model_load_failures_total{model=\"broken\"} 1"), std::string::npos);
  EXPECT_FALSE(repo.Load("broken").ok());
  EXPECT_FALSE(repo.Load("broken").ok());
  text = registry.Render();
  EXPECT_NE(text.find("kiln_model_load_failures_total{model=\"broken\"} 3"), std::string::npos) << text;
}

}  // namespace
}  // namespace kiln::serving
