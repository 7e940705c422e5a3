// Test fixture for EndpointService: a real RegistryService over real SQLite
// stores and a local artifact store in a temporary directory, XGBoost JSON
// models written by the test, the in-memory endpoint store, a controllable
// clock. Only for *_test.cc files.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/metrics.h"
#include "deploy/endpoint_service.h"
#include "deploy/memory_endpoint_store_test_util.h"
#include "storage/local/local_artifact_store.h"
#include "storage/sql/sql_registry_store.h"
#include "storage/sql/sql_tracking_store.h"
#include "storage/sqlite/sqlite_database.h"

namespace kiln::deploy::testing {

class ManualClock final : public Clock {
 public:
  int64_t NowMillis() const override { return now_.load(); }
  void Advance(int64_t ms) { now_ += ms; }

 private:
  std::atomic<int64_t> now_{1'700'000'000'000};
};

// An XGBoost JSON model over 2 features whose every prediction is `value`
// (reg:squarederror, base_score 0, one stump with equal leaves).
inline std::string ConstantModelJson(float value) {
  using nlohmann::json;
  json tree = {{"id", 0},
               {"tree_param", {{"num_nodes", "3"}, {"size_leaf_vector", "1"}, {"num_feature", "2"}, {"num_deleted", "0"}}},
               {"categories", json::array()},
               {"categories_nodes", json::array()},
               {"categories_segments", json::array()},
               {"categories_sizes", json::array()},
               {"left_children", {1, -1, -1}},
               {"right_children", {2, -1, -1}},
               {"parents", {2147483647, 0, 0}},
               {"split_indices", {0, 0, 0}},
               {"split_conditions", {0.5, value, value}},
               {"default_left", {0, 0, 0}},
               {"split_type", {0, 0, 0}},
               {"base_weights", {0.0, 0.0, 0.0}},
               {"loss_changes", {0.0, 0.0, 0.0}},
               {"sum_hessian", {1.0, 1.0, 1.0}}};
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
                   {{"base_score", "0"}, {"boost_from_average", "1"}, {"num_class", "0"}, {"num_feature", "2"},
                    {"num_target", "1"}}},
                  {"objective", {{"name", "reg:squarederror"}}}}},
                {"version", {2, 1, 4}}};
  return model.dump();
}

inline constexpr const char* kXgbMlModel = R"(artifact_path: model
flavors:
  python_function:
    data: model.json
    loader_module: mlflow.xgboost
  xgboost:
    data: model.json
    model_class: xgboost.core.Booster
    model_format: json
signature:
  inputs: '[{"type": "double", "name": "a", "required": true}, {"type": "double", "name": "b", "required": true}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1]}}]'
)";

class EndpointServiceFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kiln_deploy_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto database = storage::sqlite::OpenDatabase(dir_ + "/kiln.db");
    ASSERT_TRUE(database.ok()) << database.status().ToString();
    database_ = std::move(*database);
    auto db = storage::SqlTrackingStore::Create(*database_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    tracking_store_ = std::move(*db);
    auto art = storage::LocalArtifactStore::Create(dir_ + "/artifacts");
    ASSERT_TRUE(art.ok());
    artifacts_ = std::move(*art);
    registry_store_ = std::make_unique<storage::SqlRegistryStore>(tracking_store_->database());
    tracking_ = std::make_unique<tracking::TrackingService>(*tracking_store_, clock_);
    registry_ = std::make_unique<registry::RegistryService>(*registry_store_, *tracking_, *artifacts_, clock_, events_);
    models_ = NewRepository();
    svc_ = NewService(*models_, table_);
  }

  void TearDown() override {
    svc_.reset();
    models_.reset();
    registry_.reset();
    registry_store_.reset();
    tracking_.reset();
    tracking_store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // A repository resolving models:/ URIs through the registry, as `kiln serve` builds it.
  std::unique_ptr<serving::ModelRepository> NewRepository() {
    const std::string root = artifacts_->root();
    registry::RegistryService* reg = registry_.get();
    return std::make_unique<serving::ModelRepository>(
        "", [reg, root](const std::string& uri) -> StatusOr<serving::ResolvedModel> {
          KILN_ASSIGN_OR_RETURN(storage::ModelVersion mv, reg->ResolveModelUri(uri));
          KILN_ASSIGN_OR_RETURN(auto pkg, reg->GetPackage(mv.name, std::to_string(mv.version)));
          if (!pkg.package.servable) return InvalidArgument("cannot be served: " + pkg.package.reason);
          return serving::ResolvedModel{mv.version, pkg.package.runtime,
                                        root + "/" + mv.storage_path + "/" + pkg.package.model_file};
        });
  }

  std::unique_ptr<EndpointService> NewService(serving::ModelRepository& models, RouteTable& table) {
    EndpointServiceOptions opts;
    opts.tick_ms = 3'600'000;  // tests drive the controller with Tick()
    opts.capture_max_bytes = 1 << 20;
    auto svc = EndpointService::Create(store_, *registry_, events_, *tracking_, models, table, nullptr, metrics_,
                                       clock_, opts);
    EXPECT_TRUE(svc.ok()) << svc.status().ToString();
    return svc.ok() ? std::move(*svc) : nullptr;
  }

  void Put(const std::string& path, const std::string& content) {
    auto w = artifacts_->OpenWriter(path);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(content).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }

  // Registers a new version of `name` that predicts `value`; returns its number.
  int64_t Register(const std::string& name, float value, const std::string& mlmodel = kXgbMlModel,
                   std::string* run_id = nullptr, const std::string& model_json = "") {
    if (!registry_->GetRegisteredModel(name).ok()) {
      EXPECT_TRUE(registry_->CreateRegisteredModel("alice", name, {}, "").ok());
    }
    auto run = tracking_->CreateRun("0", "alice", "train", std::nullopt, {});
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    if (!run.ok()) return 0;
    const std::string root = run->info.artifact_uri.substr(std::string("mlflow-artifacts:/").size());
    Put(root + "/model/MLmodel", mlmodel);
    Put(root + "/model/model.json", model_json.empty() ? ConstantModelJson(value) : model_json);
    registry::CreateModelVersionRequest req;
    req.name = name;
    req.source = "runs:/" + run->info.run_id + "/model";
    req.run_id = run->info.run_id;
    auto v = registry_->CreateModelVersion("alice", req);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    if (run_id) *run_id = run->info.run_id;
    return v.ok() ? v->version : 0;
  }

  static storage::EndpointRoute Route(const std::string& model, const std::string& kind, const std::string& ref,
                                      int percent = 100) {
    storage::EndpointRoute r;
    r.model = model;
    r.ref_kind = kind;
    r.ref = ref;
    r.percent = percent;
    return r;
  }

  static storage::RevisionSpec Spec(std::vector<storage::EndpointRoute> routes) {
    storage::RevisionSpec s;
    s.routes = std::move(routes);
    return s;
  }

  StatusOr<EndpointView> Create(const std::string& name, storage::RevisionSpec spec,
                                storage::EndpointSettings settings = {}) {
    EndpointCreate req;
    req.name = name;
    req.spec = std::move(spec);
    req.settings = std::move(settings);
    return svc_->CreateEndpoint("alice", req);
  }

  std::vector<storage::EndpointEvent> Events(const std::string& name) {
    auto e = svc_->ListEvents(name, 0, 1000);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? *e : std::vector<storage::EndpointEvent>{};
  }

  // revision -> percent of the endpoint's traffic in the published snapshot.
  std::map<int64_t, int> Weights(const std::string& name) {
    std::map<int64_t, int> out;
    auto live = table_.Find(name);
    if (!live) return out;
    for (const auto& r : live->routes) out[r.revision] += r.weight_bp;
    return out;
  }

  std::string dir_;
  ManualClock clock_;
  registry::EventRecorder events_;
  std::unique_ptr<storage::sql::Database> database_;
  std::unique_ptr<storage::SqlTrackingStore> tracking_store_;
  std::unique_ptr<storage::LocalArtifactStore> artifacts_;
  std::unique_ptr<storage::SqlRegistryStore> registry_store_;
  std::unique_ptr<tracking::TrackingService> tracking_;
  std::unique_ptr<registry::RegistryService> registry_;
  MemoryEndpointStore store_;
  MetricsRegistry metrics_;
  RouteTable table_;
  std::unique_ptr<serving::ModelRepository> models_;
  std::unique_ptr<EndpointService> svc_;
};

}  // namespace kiln::deploy::testing
