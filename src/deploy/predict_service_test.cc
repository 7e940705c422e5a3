// PredictService, CheckFeatureBinding and EndpointInferenceRouter over
// hand-built LiveEndpoint snapshots of real tiny XGBoost models (loaded by
// serving::LoadRuntimeForFile, batched by the real DynamicBatcher) and, for
// entity mode, a real features::OnlineService over the real FeatureRegistry
// (in-memory registry store) and the embedded online store.
//
// The models are sums of stumps, one per feature, with leaves 1|2, 10|20 and
// 100|200: a prediction spells out which side of 0.5 every input column was,
// so a column put in the wrong place shows in the answer.
#include "deploy/predict_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "deploy/drift.h"
#include "deploy/endpoint_inference_router.h"
#include "deploy/feature_matrix.h"
#include "feast/core/Entity.pb.h"
#include "feast/core/FeatureService.pb.h"
#include "feast/core/FeatureView.pb.h"
#include "features/memory_registry_store_test_util.h"
#include "storage/embedded/embedded_online_store.h"

namespace kiln::deploy {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// --- tiny XGBoost models (laid out as xgboost's SaveModel writes them) ---
json Stump(int feature, float cond, float left, float right, int num_feature) {
  json t = {{"id", 0},
            {"tree_param",
             {{"num_nodes", "3"}, {"size_leaf_vector", "1"}, {"num_feature", std::to_string(num_feature)},
              {"num_deleted", "0"}}},
            {"categories", json::array()},
            {"categories_nodes", json::array()},
            {"categories_segments", json::array()},
            {"categories_sizes", json::array()},
            {"left_children", {1, -1, -1}},
            {"right_children", {2, -1, -1}},
            {"parents", {2147483647, 0, 0}},
            {"split_indices", {feature, 0, 0}},
            {"split_conditions", {cond, left, right}},
            {"default_left", {0, 0, 0}},
            {"split_type", {0, 0, 0}},
            {"base_weights", {0.0, 0.0, 0.0}},
            {"loss_changes", {0.0, 0.0, 0.0}},
            {"sum_hessian", {1.0, 1.0, 1.0}}};
  return t;
}

// Feature i < 0.5 adds 10^i, else 2 * 10^i; `offset` is added by one more tree.
std::string ModelJson(int num_feature, float offset = 0) {
  json trees = json::array();
  for (int i = 0; i < num_feature; ++i) {
    const float unit = static_cast<float>(std::pow(10, i));
    trees.push_back(Stump(i, 0.5f, unit, 2 * unit, num_feature));
  }
  if (offset != 0) trees.push_back(Stump(0, 1e30f, offset, offset, num_feature));
  for (size_t i = 0; i < trees.size(); ++i) trees[i]["id"] = static_cast<int>(i);
  json gbtree = {{"name", "gbtree"},
                 {"model",
                  {{"gbtree_model_param", {{"num_trees", std::to_string(trees.size())}, {"num_parallel_tree", "1"}}},
                   {"tree_info", std::vector<int>(trees.size(), 0)},
                   {"trees", trees}}}};
  json m = {{"learner",
             {{"attributes", json::object()},
              {"feature_names", json::array()},
              {"feature_types", json::array()},
              {"gradient_booster", gbtree},
              {"learner_model_param",
               {{"base_score", "0"}, {"boost_from_average", "1"}, {"num_class", "0"},
                {"num_feature", std::to_string(num_feature)}, {"num_target", "1"}}},
              {"objective", {{"name", "reg:squarederror"}}}}},
            {"version", {2, 1, 4}}};
  return m.dump();
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/kiln_predict_test_XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::shared_ptr<const serving::ServedModel> LoadModel(const std::string& dir, const std::string& name, int64_t version,
                                                      int num_feature, float offset = 0,
                                                      serving::BatchingOptions batching = {}) {
  const std::string model_dir = dir + "/" + name + "/" + std::to_string(version);
  fs::create_directories(model_dir);
  const std::string path = model_dir + "/model.json";
  std::ofstream(path) << ModelJson(num_feature, offset);
  auto rt = serving::LoadRuntimeForFile(path);
  EXPECT_TRUE(rt.ok()) << rt.status().ToString();
  if (!rt.ok()) return nullptr;
  auto served = std::make_shared<serving::ServedModel>();
  served->name = name + "/" + std::to_string(version);
  served->version = version;
  served->path = path;
  served->runtime = std::shared_ptr<serving::Runtime>(std::move(*rt));
  served->batcher = std::make_shared<serving::DynamicBatcher>(served->runtime, batching);
  return served;
}

LiveRoute Route(std::shared_ptr<const serving::ServedModel> served, const std::string& model, int64_t version,
                int weight_bp, std::vector<std::string> columns, int64_t revision = 1) {
  LiveRoute r;
  r.revision = revision;
  r.model = model;
  r.version = version;
  r.weight_bp = weight_bp;
  r.served = std::move(served);
  r.input_columns = std::move(columns);
  r.stats = std::make_shared<RouteStats>();
  return r;
}

StatusOr<PredictResponse> Call(const PredictService& svc, PredictRequest req) {
  std::promise<StatusOr<PredictResponse>> p;
  auto f = p.get_future();
  std::atomic<int> calls{0};
  svc.Predict(std::move(req), [&](StatusOr<PredictResponse> r) {
    ++calls;
    p.set_value(std::move(r));
  });
  auto r = f.get();
  EXPECT_EQ(calls.load(), 1);
  return r;
}

std::vector<float> Floats(const serving::Tensor& t) {
  std::vector<float> out(t.data.size() / sizeof(float));
  std::memcpy(out.data(), t.data.data(), t.data.size());
  return out;
}

PredictRequest Inputs(std::vector<std::string> columns, int64_t rows, std::vector<double> values) {
  PredictRequest req;
  req.endpoint = "ep";
  req.columns = std::move(columns);
  req.rows = rows;
  req.values = std::move(values);
  return req;
}

class PredictServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    v1 = LoadModel(dir.path(), "m", 1, 3);
    ASSERT_TRUE(v1);
  }
  void PublishSingle(std::vector<std::string> columns = {"x", "y", "z"}) {
    auto ep = std::make_shared<LiveEndpoint>();
    ep->name = "ep";
    ep->routes.push_back(Route(v1, "m", 1, 10000, std::move(columns)));
    stats = ep->routes[0].stats;
    table.Publish(ep);
  }

  TempDir dir;
  std::shared_ptr<const serving::ServedModel> v1;
  std::shared_ptr<RouteStats> stats;
  RouteTable table;
  PredictService svc{table, nullptr};
};

TEST_F(PredictServiceTest, NamedColumnsAreReorderedToTheSignature) {
  PublishSingle();
  // z, x, y given; the model's order is x, y, z. Row 0: x=1 y=0 z=0; row 1: x=0 y=1 z=1.
  auto r = Call(svc, Inputs({"z", "x", "y"}, 2, {0, 1, 0, 1, 0, 1}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->model, "m");
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(r->revision, 1);
  EXPECT_EQ(r->rows, 2);
  ASSERT_EQ(r->outputs.size(), 1u);
  EXPECT_EQ(Floats(r->outputs[0]), (std::vector<float>{2 + 10 + 100, 1 + 20 + 200}));
}

// Where done ran, and whether Predict had returned by then.
struct Answered {
  StatusOr<PredictResponse> response = Status::Ok();
  std::thread::id thread;
  bool before_return = false;
};

Answered CallAndWatch(const PredictService& svc, PredictRequest req) {
  std::promise<Answered> p;
  auto f = p.get_future();
  std::atomic<bool> returned{false};
  svc.Predict(std::move(req), [&](StatusOr<PredictResponse> r) {
    Answered a;
    a.response = std::move(r);
    a.thread = std::this_thread::get_id();
    a.before_return = !returned.load();
    p.set_value(std::move(a));
  });
  returned = true;
  return f.get();
}

TEST_F(PredictServiceTest, OnAnIoThreadCheapRowsRunInPlaceAndLargeOnesGoToTheBatcher) {
  PublishSingle();
  // Three stumps: two nodes deep each, plus copying three features.
  ASSERT_EQ(v1->runtime->RowCost(), 3 * 2 + 3);
  PredictRequest small = Inputs({"x", "y", "z"}, 2, {1, 0, 0, 0, 1, 1});
  small.on_io_thread = true;
  Answered here = CallAndWatch(svc, small);
  ASSERT_TRUE(here.response.ok()) << here.response.status().ToString();
  EXPECT_EQ(Floats(here.response->outputs[0]), (std::vector<float>{2 + 10 + 100, 1 + 20 + 200}));
  EXPECT_EQ(here.thread, std::this_thread::get_id());
  EXPECT_TRUE(here.before_return);
  EXPECT_EQ(stats->total_requests(), 1u);

  // The same rows from a worker go through the batcher.
  small.on_io_thread = false;
  Answered batched = CallAndWatch(svc, small);
  ASSERT_TRUE(batched.response.ok()) << batched.response.status().ToString();
  EXPECT_EQ(Floats(batched.response->outputs[0]), Floats(here.response->outputs[0]));
  EXPECT_NE(batched.thread, std::this_thread::get_id());

  // Rows beyond the in-place budget go through the batcher from an I/O thread too.
  const int64_t rows = PredictService::kInlineRowCost / v1->runtime->RowCost() + 1;
  PredictRequest large = Inputs({"x", "y", "z"}, rows, std::vector<double>(static_cast<size_t>(rows) * 3, 1.0));
  large.on_io_thread = true;
  Answered queued = CallAndWatch(svc, large);
  ASSERT_TRUE(queued.response.ok()) << queued.response.status().ToString();
  EXPECT_NE(queued.thread, std::this_thread::get_id());
  EXPECT_EQ(Floats(queued.response->outputs[0]), std::vector<float>(static_cast<size_t>(rows), 222));
  EXPECT_EQ(stats->total_requests(), 3u);
}

TEST_F(PredictServiceTest, PositionalRowsAreInSignatureOrder) {
  PublishSingle();
  auto r = Call(svc, Inputs({}, 1, {1, 0, 1}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Floats(r->outputs[0]), (std::vector<float>{2 + 10 + 200}));
}

TEST_F(PredictServiceTest, NaNIsMissingNotZero) {
  PublishSingle();
  // default_left is 0: a missing value goes right (the 2x leaf), zero goes left.
  auto r = Call(svc, Inputs({}, 2, {NAN, 0, 0, 0, 0, 0}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Floats(r->outputs[0]), (std::vector<float>{2 + 10 + 100, 1 + 10 + 100}));
}

TEST_F(PredictServiceTest, BadInputsNameTheProblem) {
  PublishSingle();
  auto r = Call(svc, Inputs({"x", "y", "w"}, 1, {1, 2, 3}));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("missing input column 'z'"), std::string::npos) << r.status().message();

  r = Call(svc, Inputs({"x", "y", "z", "w"}, 1, {1, 2, 3, 4}));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("unknown input column 'w'"), std::string::npos) << r.status().message();

  r = Call(svc, Inputs({"x", "x", "z"}, 1, {1, 2, 3}));
  EXPECT_NE(r.status().message().find("appears twice"), std::string::npos);

  r = Call(svc, Inputs({}, 1, {1, 2}));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("must hold 3 values"), std::string::npos) << r.status().message();

  r = Call(svc, Inputs({}, 0, {}));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);

  PredictRequest both = Inputs({}, 1, {1, 2, 3});
  features::RequestValue one;
  one.kind = features::RequestValue::Kind::kInt;
  one.i = 1;
  both.entities = {{"driver_id", {one}}};
  EXPECT_EQ(Call(svc, both).status().code(), StatusCode::kInvalidArgument);

  PredictRequest entities;
  entities.endpoint = "ep";
  entities.entities = both.entities;
  r = Call(svc, entities);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("not bound to features"), std::string::npos);

  PredictRequest unknown = Inputs({}, 1, {1, 2, 3});
  unknown.endpoint = "nope";
  EXPECT_EQ(Call(svc, unknown).status().code(), StatusCode::kNotFound);

  // Client errors are counted as requests, never as the route's errors.
  EXPECT_EQ(stats->total_requests(), 7u);
  EXPECT_EQ(stats->total_errors(), 0u);
}

TEST_F(PredictServiceTest, WithoutSignatureOnlyPositionalRowsOfTheModelsWidth) {
  PublishSingle({});
  auto r = Call(svc, Inputs({}, 1, {0, 0, 1}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Floats(r->outputs[0]), (std::vector<float>{1 + 10 + 200}));
  r = Call(svc, Inputs({"a", "b", "c"}, 1, {0, 0, 1}));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("no signature"), std::string::npos);
  r = Call(svc, Inputs({}, 1, {0, 0, 1, 1}));
  EXPECT_NE(r.status().message().find("must hold 3 values"), std::string::npos);
}

TEST_F(PredictServiceTest, RecordsEachCallOnceAndReturnsTheFeaturesUsed) {
  PublishSingle();
  PredictRequest req = Inputs({"y", "z", "x"}, 1, {1, 2, 3});
  req.return_features = true;
  auto r = Call(svc, req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->feature_names, (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(r->feature_values, (std::vector<double>{3, 1, 2}));
  EXPECT_GT(r->latency_ms, 0);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Call(svc, Inputs({}, 1, {0, 0, 0})).ok());
  EXPECT_EQ(stats->total_requests(), 5u);
  EXPECT_EQ(stats->total_errors(), 0u);
  EXPECT_EQ(stats->Read(60).requests, 5u);
}

TEST_F(PredictServiceTest, QueueFullIsAServerErrorOfTheRoute) {
  serving::BatchingOptions none;
  none.max_queue = 0;  // every Submit is refused
  auto model = LoadModel(dir.path(), "full", 1, 3, 0, none);
  auto ep = std::make_shared<LiveEndpoint>();
  ep->name = "ep";
  ep->routes.push_back(Route(model, "full", 1, 10000, {"x", "y", "z"}));
  auto st = ep->routes[0].stats;
  table.Publish(ep);
  auto r = Call(svc, Inputs({}, 1, {0, 0, 0}));
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(st->total_requests(), 1u);
  EXPECT_EQ(st->total_errors(), 1u);
}

TEST_F(PredictServiceTest, StickyValuesPinARouteAndSplitTraffic) {
  auto v2 = LoadModel(dir.path(), "m", 2, 3, 1000);
  auto ep = std::make_shared<LiveEndpoint>();
  ep->name = "ep";
  ep->sticky_header = "x-user";
  ep->routes.push_back(Route(v1, "m", 1, 5000, {"x", "y", "z"}, 1));
  ep->routes.push_back(Route(v2, "m", 2, 5000, {"x", "y", "z"}, 2));
  table.Publish(ep);
  std::map<int64_t, int> seen;
  for (int user = 0; user < 40; ++user) {
    PredictRequest req = Inputs({}, 1, {0, 0, 0});
    req.sticky_value = "user-" + std::to_string(user);
    auto first = Call(svc, req);
    ASSERT_TRUE(first.ok());
    for (int again = 0; again < 3; ++again) {
      auto r = Call(svc, req);
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->version, first->version);
      EXPECT_EQ(r->revision, first->revision);
      // The answer comes from the model the response names.
      EXPECT_EQ(Floats(r->outputs[0])[0], r->version == 2 ? 1111.0f : 111.0f);
    }
    ++seen[first->version];
  }
  EXPECT_GT(seen[1], 0);
  EXPECT_GT(seen[2], 0);
}

TEST_F(PredictServiceTest, MirrorGetsTheRowsInItsOwnColumnOrderAndItsAnswerIsDiscarded) {
  auto shadow = LoadModel(dir.path(), "shadow", 1, 2, 5000);
  auto ep = std::make_shared<LiveEndpoint>();
  ep->name = "ep";
  ep->routes.push_back(Route(v1, "m", 1, 10000, {"x", "y", "z"}));
  ep->mirror = Route(shadow, "shadow", 1, 0, {"z", "x"});
  ep->mirror_percent = 100;
  auto shadow_stats = ep->mirror->stats;
  table.Publish(ep);
  for (int i = 0; i < 5; ++i) {
    auto r = Call(svc, Inputs({}, 1, {1, 0, 0}));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->model, "m");
    EXPECT_EQ(Floats(r->outputs[0])[0], 112.0f);
  }
  for (int i = 0; i < 400 && shadow_stats->total_requests() < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(shadow_stats->total_requests(), 5u);
  EXPECT_EQ(shadow_stats->total_errors(), 0u);
}

TEST_F(PredictServiceTest, DriftSeesTheInputsUsed) {
  Baseline baseline;
  for (int i = 0; i < 100; ++i) {
    baseline["x"].push_back(i % 2);
    baseline["z"].push_back(0);
  }
  auto drift = DriftMonitor::Create(baseline);
  ASSERT_TRUE(drift.ok()) << drift.status().ToString();
  auto ep = std::make_shared<LiveEndpoint>();
  ep->name = "ep";
  ep->routes.push_back(Route(v1, "m", 1, 10000, {"x", "y", "z"}));
  ep->drift = *drift;
  table.Publish(ep);
  ASSERT_TRUE(Call(svc, Inputs({"z", "y", "x"}, 2, {0, 0, 1, 0, 0, 0})).ok());
  auto status = (*drift)->Compute();
  ASSERT_EQ(status.size(), 2u);
  for (const auto& s : status) EXPECT_EQ(s.current_rows, 2u) << s.feature;
}

TEST_F(PredictServiceTest, ChangesAndDeletesDuringCallsFailNothing) {
  // Calls in flight keep the snapshot they started on; once the endpoint and
  // every outside reference are gone, the last owner is a completion on the
  // model's own batcher thread, which must neither crash nor fail the call.
  for (int round = 0; round < 20; ++round) {
    auto model = LoadModel(dir.path(), "tmp", round + 1, 3);
    auto ep = std::make_shared<LiveEndpoint>();
    ep->name = "ep";
    ep->routes.push_back(Route(model, "tmp", round + 1, 10000, {"x", "y", "z"}));
    table.Publish(ep);
    ep.reset();
    model.reset();
    std::atomic<int> ok{0}, done{0};
    for (int i = 0; i < 20; ++i) {
      svc.Predict(Inputs({}, 1, {0, 0, 0}), [&](StatusOr<PredictResponse> r) {
        ok += r.ok();
        ++done;
      });
    }
    table.Remove("ep");
    while (done.load() < 20) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(ok.load(), 20);
  }
}

// --- entity mode ---

class FixedClock final : public Clock {
 public:
  int64_t NowMillis() const override { return now_ms; }
  int64_t now_ms = 1'700'000'000'000;
};

constexpr int64_t kNowUs = 1'700'000'000'000'000;
constexpr int64_t kHourUs = 3'600'000'000;

feast::core::FeatureView DriverView() {
  feast::core::FeatureView v;
  auto* spec = v.mutable_spec();
  spec->set_name("drivers");
  spec->set_project("proj");
  spec->add_entities("driver");
  auto add = [&](const char* name, feast::types::ValueType::Enum type) {
    auto* f = spec->add_features();
    f->set_name(name);
    f->set_value_type(type);
  };
  add("rate", feast::types::ValueType::DOUBLE);
  add("trips", feast::types::ValueType::INT64);
  add("score", feast::types::ValueType::FLOAT);
  add("city", feast::types::ValueType::STRING);
  spec->mutable_ttl()->set_seconds(3600);
  spec->set_online(true);
  auto* src = spec->mutable_batch_source();
  src->set_name("drivers_source");
  src->set_type(feast::core::DataSource::BATCH_FILE);
  src->mutable_file_options()->set_uri("/data/drivers.parquet");
  src->set_timestamp_field("ts");
  return v;
}

features::RequestValue Int(int64_t v) {
  features::RequestValue r;
  r.kind = features::RequestValue::Kind::kInt;
  r.i = v;
  return r;
}

class EntityPredictTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::EmbeddedOnlineStore::Open(dir.path() + "/online");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    online_store = std::move(*store);
    online = std::make_unique<features::OnlineService>(registry, *online_store, clock, features::OnlineLimits{});
    feast::core::Entity e;
    e.mutable_spec()->set_name("driver");
    e.mutable_spec()->set_join_key("driver_id");
    e.mutable_spec()->set_value_type(feast::types::ValueType::INT64);
    ASSERT_TRUE(registry.Apply(features::ObjectKind::kEntity, "proj", e, "t").ok());
    ASSERT_TRUE(registry.Apply(features::ObjectKind::kFeatureView, "proj", DriverView(), "t").ok());
    feast::core::FeatureService fs;
    fs.mutable_spec()->set_name("svc");
    auto* p = fs.mutable_spec()->add_features();
    p->set_feature_view_name("drivers");
    p->add_feature_columns()->set_name("rate");
    p->add_feature_columns()->set_name("trips");
    p->add_feature_columns()->set_name("score");
    ASSERT_TRUE(registry.Apply(features::ObjectKind::kFeatureService, "proj", fs, "t").ok());
    model = LoadModel(dir.path(), "m", 1, 3);
    ASSERT_TRUE(model);
  }

  void Write(int64_t id, int64_t event_us, json rate, json trips, json score) {
    std::string ts;
    features::AppendRfc3339(event_us, &ts);
    json df = {{"driver_id", {id}}, {"ts", {ts}},       {"rate", {rate}},
               {"trips", {trips}},  {"score", {score}}, {"city", {"x"}}};
    auto w = online->WriteToOnlineStore("proj", "drivers", df);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
  }

  // Signature (trips, drivers__rate, score): a short name, a full name, a short name.
  void Publish(storage::FeatureBinding binding, std::vector<std::string> columns = {"trips", "drivers__rate", "score"}) {
    ASSERT_TRUE(CheckFeatureBinding(registry, "proj", binding, columns).ok());
    auto ep = std::make_shared<LiveEndpoint>();
    ep->name = "ep";
    ep->routes.push_back(Route(model, "m", 1, 10000, std::move(columns)));
    ep->features = std::move(binding);
    table.Publish(ep);
  }

  PredictRequest Entities(std::vector<int64_t> ids) {
    PredictRequest req;
    req.endpoint = "ep";
    std::vector<features::RequestValue> values;
    for (int64_t id : ids) values.push_back(Int(id));
    req.entities = {{"driver_id", values}};
    return req;
  }

  TempDir dir;
  features::test_util::MemoryRegistryStore reg_store;
  FixedClock clock;
  features::FeatureRegistry registry{reg_store, clock};
  std::unique_ptr<storage::OnlineStore> online_store;
  std::unique_ptr<features::OnlineService> online;
  std::shared_ptr<const serving::ServedModel> model;
  RouteTable table;
};

TEST_F(EntityPredictTest, FeatureServiceRowsInSignatureOrder) {
  Write(1, kNowUs, 0.0, 7, 0.25);   // trips=7 (right), rate=0 (left), score=0.25 (left)
  Write(2, kNowUs, 0.9, 0, 0.75);   // trips=0 (left), rate=0.9 (right), score=0.75 (right)
  storage::FeatureBinding b;
  b.feature_service = "svc";
  Publish(b);
  PredictService svc(table, online.get());
  PredictRequest req = Entities({1, 2});
  req.return_features = true;
  auto r = Call(svc, req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Floats(r->outputs[0]), (std::vector<float>{2 + 10 + 100, 1 + 20 + 200}));
  EXPECT_EQ(r->feature_names, (std::vector<std::string>{"trips", "drivers__rate", "score"}));
  EXPECT_EQ(r->feature_values, (std::vector<double>{7, 0.0, 0.25, 0, 0.9, 0.75}));
}

TEST_F(EntityPredictTest, OnAnIoThreadFeaturesComeFromMemoryOrTheCallWouldBlock) {
  Write(1, kNowUs, 0.0, 7, 0.25);
  storage::FeatureBinding b;
  b.feature_service = "svc";
  Publish(b);
  PredictService svc(table, online.get());
  EXPECT_FALSE(svc.FeatureReadsBlock());
  PredictRequest req = Entities({1});
  req.on_io_thread = true;
  // Nothing of the registry cached since the applies: the call would block,
  // and counts as no outcome of the route.
  Answered cold = CallAndWatch(svc, req);
  EXPECT_TRUE(features::IsWouldBlock(cold.response.status())) << cold.response.status().ToString();
  EXPECT_TRUE(cold.before_return);
  EXPECT_EQ(table.Find("ep")->routes[0].stats->total_requests(), 0u);
  req.on_io_thread = false;
  ASSERT_TRUE(Call(svc, req).ok());  // a worker's call fills the cache
  req.on_io_thread = true;
  Answered warm = CallAndWatch(svc, req);
  ASSERT_TRUE(warm.response.ok()) << warm.response.status().ToString();
  EXPECT_EQ(warm.thread, std::this_thread::get_id());
  EXPECT_EQ(Floats(warm.response->outputs[0]), (std::vector<float>{2 + 10 + 100}));
}

TEST_F(EntityPredictTest, FeatureListBinding) {
  Write(3, kNowUs, 1.0, 1, 1.0);
  storage::FeatureBinding b;
  b.features = {"drivers:trips", "drivers:rate", "drivers:score"};
  Publish(b);
  PredictService svc(table, online.get());
  auto r = Call(svc, Entities({3}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Floats(r->outputs[0]), (std::vector<float>{222}));
}

TEST_F(EntityPredictTest, MissingNullAndStaleAreRefusedWithoutDefaults) {
  Write(1, kNowUs, 0.0, 1, 0.0);
  Write(2, kNowUs, nullptr, 1, 0.0);            // null rate
  Write(3, kNowUs - kHourUs - 1, 0.0, 1, 0.0);  // older than the ttl
  storage::FeatureBinding b;
  b.feature_service = "svc";
  Publish(b);
  PredictService svc(table, online.get());
  auto r = Call(svc, Entities({1, 99}));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("entity row 1 (driver_id=99)"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("NOT_FOUND"), std::string::npos);
  r = Call(svc, Entities({2}));
  EXPECT_NE(r.status().message().find("drivers__rate' is null"), std::string::npos) << r.status().message();
  r = Call(svc, Entities({3}));
  EXPECT_NE(r.status().message().find("OUTSIDE_MAX_AGE"), std::string::npos) << r.status().message();
}

TEST_F(EntityPredictTest, DefaultsAndAllowStale) {
  Write(2, kNowUs, nullptr, 1, 0.0);
  Write(3, kNowUs - kHourUs - 1, 0.0, 1, 0.0);
  storage::FeatureBinding b;
  b.feature_service = "svc";
  b.defaults = {{"drivers__rate", 0.9}, {"trips", 0.0}, {"score", 0.75}};
  Publish(b);
  PredictService svc(table, online.get());
  PredictRequest req = Entities({99, 2, 3});
  req.return_features = true;
  auto r = Call(svc, req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // 99: every default; 2: rate defaulted; 3: stale, so every value defaulted.
  EXPECT_EQ(r->feature_values, (std::vector<double>{0, 0.9, 0.75, 1, 0.9, 0.0, 0.0, 0.9, 0.75}));

  b.defaults.clear();
  b.allow_stale = true;
  Publish(b);
  auto stale = Call(svc, Entities({3}));
  ASSERT_TRUE(stale.ok()) << stale.status().ToString();
  EXPECT_EQ(Floats(stale->outputs[0]), (std::vector<float>{2 + 10 + 100}));
}

TEST_F(EntityPredictTest, AColumnNoFeatureProvidesTakesItsDefault) {
  Write(1, kNowUs, 0.0, 1, 0.0);
  storage::FeatureBinding b;
  b.features = {"drivers:trips", "drivers:rate"};
  EXPECT_EQ(CheckFeatureBinding(registry, "proj", b, {"trips", "rate", "bias"}).code(), StatusCode::kInvalidArgument);
  b.defaults = {{"bias", 1.0}};
  Publish(b, {"trips", "rate", "bias"});
  PredictService svc(table, online.get());
  auto r = Call(svc, Entities({1}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Floats(r->outputs[0]), (std::vector<float>{2 + 10 + 200}));
}

TEST_F(EntityPredictTest, CheckFeatureBindingRefusesWhatCannotFeedTheModel) {
  storage::FeatureBinding b;
  b.feature_service = "svc";
  EXPECT_TRUE(CheckFeatureBinding(registry, "", b, {"trips", "rate", "score"}).ok());
  EXPECT_EQ(CheckFeatureBinding(registry, "proj", b, {}).code(), StatusCode::kInvalidArgument);
  Status s = CheckFeatureBinding(registry, "proj", b, {"trips", "speed"});
  EXPECT_NE(s.message().find("'speed' is none of the bound features"), std::string::npos) << s.message();
  b.defaults = {{"spede", 0}};
  s = CheckFeatureBinding(registry, "proj", b, {"trips"});
  EXPECT_NE(s.message().find("default for 'spede'"), std::string::npos) << s.message();

  storage::FeatureBinding list;
  list.features = {"drivers:city"};
  s = CheckFeatureBinding(registry, "proj", list, {"city"});
  EXPECT_NE(s.message().find("STRING"), std::string::npos) << s.message();
  list.features = {"drivers:nope"};
  EXPECT_EQ(CheckFeatureBinding(registry, "proj", list, {"nope"}).code(), StatusCode::kNotFound);
  list.features = {"ghost:trips"};
  EXPECT_EQ(CheckFeatureBinding(registry, "proj", list, {"trips"}).code(), StatusCode::kNotFound);
  list.features = {"drivers:trips"};
  list.feature_service = "svc";
  EXPECT_EQ(CheckFeatureBinding(registry, "proj", list, {"trips"}).code(), StatusCode::kInvalidArgument);
  storage::FeatureBinding none;
  EXPECT_EQ(CheckFeatureBinding(registry, "proj", none, {"trips"}).code(), StatusCode::kInvalidArgument);
}

TEST(FeatureMatrix, NumericValuesAndRefusals) {
  auto encode = [](json v, features::ValueType t) {
    std::string out;
    EXPECT_TRUE(features::AppendJsonAsValueBytes(v, t, "c", &out).ok());
    return out;
  };
  double d = 0;
  bool null = false;
  ASSERT_TRUE(NumericFeatureValue(encode(-3, features::ValueType::kInt64), &d, &null).ok());
  EXPECT_EQ(d, -3);
  ASSERT_TRUE(NumericFeatureValue(encode(-3, features::ValueType::kInt32), &d, &null).ok());
  EXPECT_EQ(d, -3);
  ASSERT_TRUE(NumericFeatureValue(encode(0.1, features::ValueType::kDouble), &d, &null).ok());
  EXPECT_EQ(d, 0.1);
  ASSERT_TRUE(NumericFeatureValue(encode(0.1, features::ValueType::kFloat), &d, &null).ok());
  EXPECT_EQ(d, static_cast<double>(0.1f));
  ASSERT_TRUE(NumericFeatureValue(encode(true, features::ValueType::kBool), &d, &null).ok());
  EXPECT_EQ(d, 1);
  EXPECT_FALSE(null);
  ASSERT_TRUE(NumericFeatureValue("", &d, &null).ok());
  EXPECT_TRUE(null);
  Status s = NumericFeatureValue(encode("a", features::ValueType::kString), &d, &null);
  EXPECT_NE(s.message().find("STRING"), std::string::npos);
  s = NumericFeatureValue(encode(json::array({1.0}), features::ValueType::kDoubleList), &d, &null);
  EXPECT_NE(s.message().find("a list"), std::string::npos);
}

// --- the Open Inference hook ---

TEST_F(PredictServiceTest, RouterNamesTheModelAndRecordsTheCall) {
  auto v2 = LoadModel(dir.path(), "m", 2, 3, 1000);
  auto ep = std::make_shared<LiveEndpoint>();
  ep->name = "ep";
  ep->sticky_header = "x-user";
  ep->routes.push_back(Route(v1, "m", 1, 5000, {"x", "y", "z"}, 3));
  ep->routes.push_back(Route(v2, "m", 2, 5000, {"x", "y", "z"}, 4));
  table.Publish(ep);
  EndpointInferenceRouter router(table);
  EXPECT_FALSE(router.Route("other", {}).has_value());
  std::string user = "alice";
  serving::HeaderLookup header = [&](std::string_view name) -> std::string_view {
    return name == "x-user" ? std::string_view(user) : std::string_view();
  };
  auto first = router.Route("ep", header);
  ASSERT_TRUE(first.has_value() && first->ok());
  for (int i = 0; i < 5; ++i) {
    auto again = router.Route("ep", header);
    ASSERT_TRUE(again->ok());
    EXPECT_EQ((*again)->model, (*first)->model);
    EXPECT_EQ((*again)->revision, (*first)->revision);
  }
  EXPECT_EQ((*first)->endpoint, "ep");
  EXPECT_EQ((*first)->revision, (*first)->model->version == 1 ? 3 : 4);
  EXPECT_FALSE((*first)->inputs);
  (*first)->finished(true, 0.001);
  const auto& stats = ep->routes[(*first)->model->version == 1 ? 0 : 1].stats;
  EXPECT_EQ(stats->total_requests(), 1u);
  EXPECT_EQ(stats->total_errors(), 1u);

  auto empty = std::make_shared<LiveEndpoint>();
  empty->name = "empty";
  table.Publish(empty);
  auto none = router.Route("empty", {});
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->status().code(), StatusCode::kUnavailable);
}

TEST_F(PredictServiceTest, RouterMirrorRunsOnTheShadowModel) {
  auto shadow = LoadModel(dir.path(), "shadow", 1, 3);
  auto ep = std::make_shared<LiveEndpoint>();
  ep->name = "ep";
  ep->routes.push_back(Route(v1, "m", 1, 10000, {}));
  ep->mirror = Route(shadow, "shadow", 1, 0, {});
  ep->mirror_percent = 100;
  table.Publish(ep);
  EndpointInferenceRouter router(table);
  auto routed = router.Route("ep", {});
  ASSERT_TRUE(routed->ok());
  ASSERT_TRUE((*routed)->inputs);
  serving::Tensor t;
  t.name = "input-0";
  t.shape = {1, 3};
  for (int i = 0; i < 3; ++i) serving::AppendValue(t.data, 0.0f);
  (*routed)->inputs({t});
  for (int i = 0; i < 400 && ep->mirror->stats->total_requests() < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(ep->mirror->stats->total_requests(), 1u);
  EXPECT_EQ(ep->mirror->stats->total_errors(), 0u);
}

TEST_F(PredictServiceTest, RouterFeedsTheDriftMonitorWithV2Inputs) {
  Baseline baseline;
  for (int i = 0; i < 100; ++i) baseline["y"].push_back(i);
  auto drift = DriftMonitor::Create(baseline);
  ASSERT_TRUE(drift.ok());
  auto ep = std::make_shared<LiveEndpoint>();
  ep->name = "ep";
  ep->routes.push_back(Route(v1, "m", 1, 10000, {"x", "y", "z"}));
  ep->drift = *drift;
  table.Publish(ep);
  EndpointInferenceRouter router(table);
  auto routed = router.Route("ep", {});
  ASSERT_TRUE(routed->ok());
  ASSERT_TRUE((*routed)->inputs);  // the inputs hook, though nothing is mirrored
  serving::Tensor t;
  t.name = "input-0";
  t.dtype = serving::DataType::kFp64;
  t.shape = {2, 3};
  for (int i = 0; i < 6; ++i) serving::AppendValue(t.data, static_cast<double>(i));
  (*routed)->inputs({t});
  serving::Tensor wrong = t;
  wrong.shape = {3, 2};  // not the signature's width: not a table of its columns
  (*routed)->inputs({wrong});
  auto status = (*drift)->Compute();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].current_rows, 2u);
}

}  // namespace
}  // namespace kiln::deploy
