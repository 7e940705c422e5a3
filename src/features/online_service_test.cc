// OnlineService over the real FeatureRegistry (on an in-memory registry
// store) and an in-memory online store with the OnlineStore contract: the
// planning, key, status and write rules, with a fixed clock for ttl edges.
#include "features/online_service.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <tuple>

#include "feast/core/DataSource.pb.h"
#include "feast/core/Entity.pb.h"
#include "feast/core/FeatureService.pb.h"
#include "feast/core/FeatureView.pb.h"
#include "features/memory_registry_store_test_util.h"

namespace kiln::features {
namespace {

using test_util::MemoryRegistryStore;

// Newest row per key (event time, then created time), as the contract says.
class MemoryOnlineStore : public storage::OnlineStore {
 public:
  struct Row {
    int64_t event_us = 0, created_us = 0;
    std::map<std::string, std::string> values;
  };
  std::map<std::string, std::map<std::string, Row>> tables;

  StatusOr<storage::OnlineWriteResult> Write(const storage::OnlineTable& t,
                                             const storage::OnlineWriteBatch& b) override {
    storage::OnlineWriteResult r;
    auto& table = tables[t.project + "/" + t.view];
    for (const auto& row : b.rows) {
      auto it = table.find(row.entity_key);
      if (it != table.end() && (it->second.event_us > row.event_ts_us ||
                                (it->second.event_us == row.event_ts_us && it->second.created_us > row.created_ts_us))) {
        ++r.skipped;
        continue;
      }
      Row stored{row.event_ts_us, row.created_ts_us, {}};
      for (size_t f = 0; f < b.features.size(); ++f) stored.values[b.features[f]] = row.values[f];
      table[row.entity_key] = std::move(stored);
      ++r.written;
    }
    return r;
  }
  Status Read(const storage::OnlineTable& t, const std::vector<std::string>& keys,
              const std::vector<std::string>& features, const ReadFn& fn) override {
    auto table = tables.find(t.project + "/" + t.view);
    for (size_t i = 0; i < keys.size(); ++i) {
      const Row* row = nullptr;
      if (table != tables.end()) {
        auto it = table->second.find(keys[i]);
        if (it != table->second.end()) row = &it->second;
      }
      if (!row) {
        fn(i, nullptr);
        continue;
      }
      std::vector<std::string_view> values;
      for (const auto& f : features) {
        auto v = row->values.find(f);
        values.push_back(v == row->values.end() ? std::string_view() : std::string_view(v->second));
      }
      storage::OnlineRowView view{row->event_us, row->created_us, &values};
      fn(i, &view);
    }
    return Status::Ok();
  }
  Status DropTable(const storage::OnlineTable&) override { return Status::Ok(); }
  std::vector<TableStats> Stats() override { return {}; }
  Status Ping() override { return Status::Ok(); }
};

class FixedClock final : public Clock {
 public:
  int64_t NowMillis() const override { return now_ms; }
  int64_t now_ms = 1'700'000'000'000;
};

constexpr const char* kProject = "proj";
constexpr int64_t kNowUs = 1'700'000'000'000'000;
constexpr int64_t kHourUs = 3'600'000'000;

feast::core::Entity Entity(const std::string& name, const std::string& key, feast::types::ValueType::Enum type) {
  feast::core::Entity e;
  e.mutable_spec()->set_name(name);
  e.mutable_spec()->set_join_key(key);
  e.mutable_spec()->set_value_type(type);
  return e;
}

feast::core::FeatureView View(const std::string& name, std::vector<std::string> entities, int64_t ttl_s) {
  feast::core::FeatureView v;
  auto* spec = v.mutable_spec();
  spec->set_name(name);
  spec->set_project(kProject);
  for (const auto& e : entities) spec->add_entities(e);
  auto* f = spec->add_features();
  f->set_name("trips");
  f->set_value_type(feast::types::ValueType::INT64);
  auto* g = spec->add_features();
  g->set_name("rate");
  g->set_value_type(feast::types::ValueType::DOUBLE);
  spec->mutable_ttl()->set_seconds(ttl_s);
  spec->set_online(true);
  auto* src = spec->mutable_batch_source();
  src->set_name(name + "_source");
  src->set_type(feast::core::DataSource::BATCH_FILE);
  src->mutable_file_options()->set_uri("/data/" + name + ".parquet");
  src->set_timestamp_field("ts");
  return v;
}

std::string Iso(int64_t us) {
  std::string s;
  AppendRfc3339(us, &s);
  return s;
}

class OnlineServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(registry.Apply(ObjectKind::kEntity, kProject, Entity("driver", "driver_id", feast::types::ValueType::INT64), "t").ok());
    ASSERT_TRUE(registry.Apply(ObjectKind::kFeatureView, kProject, View("drivers", {"driver"}, 3600), "t").ok());
    ASSERT_TRUE(registry.Apply(ObjectKind::kFeatureView, kProject, View("globals", {"__dummy"}, 0), "t").ok());
    feast::core::FeatureService fs;
    fs.mutable_spec()->set_name("svc");
    auto* p = fs.mutable_spec()->add_features();
    p->set_feature_view_name("drivers");
    p->set_feature_view_name_alias("d");
    (*p->mutable_join_key_map())["driver_id"] = "user_id";
    p->add_feature_columns()->set_name("trips");
    ASSERT_TRUE(registry.Apply(ObjectKind::kFeatureService, kProject, fs, "t").ok());
  }

  void WriteDriver(int64_t id, int64_t event_us, const nlohmann::json& trips) {
    nlohmann::json df = {{"driver_id", {id}}, {"ts", {Iso(event_us)}}, {"trips", {trips}}, {"rate", {0.5}}};
    auto w = service.WriteToOnlineStore("", "drivers", df);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
  }

  static RequestValue Int(int64_t v) {
    RequestValue r;
    r.kind = RequestValue::Kind::kInt;
    r.i = v;
    return r;
  }

  MemoryRegistryStore reg_store;
  FixedClock clock;
  FeatureRegistry registry{reg_store, clock};
  MemoryOnlineStore online;
  OnlineService service{registry, online, clock, OnlineLimits{3, 100, ""}};
};

TEST_F(OnlineServiceTest, TtlEdgeIsPresentAndOneMicrosecondOlderIsOutsideMaxAge) {
  WriteDriver(1, kNowUs - kHourUs, 10);
  WriteDriver(2, kNowUs - kHourUs - 1, 20);
  WriteDriver(3, kNowUs, nullptr);
  OnlineRequest req;
  req.features = {"drivers:trips"};
  req.entities = {{"driver_id", {Int(1), Int(2), Int(3)}}};
  auto r = service.GetOnlineFeatures(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->columns.size(), 2u);
  const OnlineColumn& trips = r->columns[1];
  EXPECT_EQ(trips.statuses, (std::vector<FieldStatus>{FieldStatus::kPresent, FieldStatus::kOutsideMaxAge,
                                                       FieldStatus::kNullValue}));
  EXPECT_EQ(trips.event_ts_us, (std::vector<int64_t>{kNowUs - kHourUs, kNowUs - kHourUs - 1, kNowUs}));
  std::string v;
  ASSERT_TRUE(AppendValueJson(r->ValueBytes(trips, 1), &v).ok());
  EXPECT_EQ(v, "20");  // an old value is still returned, marked
}

TEST_F(OnlineServiceTest, FeatureServiceAliasAndJoinKeyMap) {
  WriteDriver(7, kNowUs, 70);
  OnlineRequest req;
  req.feature_service = "svc";
  req.full_feature_names = true;
  req.entities = {{"user_id", {Int(7), Int(8)}}};
  auto r = service.GetOnlineFeatures(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->columns.size(), 2u);
  EXPECT_EQ(r->columns[0].name, "user_id");
  EXPECT_EQ(r->columns[1].name, "d__trips");
  EXPECT_EQ(r->columns[1].statuses, (std::vector<FieldStatus>{FieldStatus::kPresent, FieldStatus::kNotFound}));
}

TEST_F(OnlineServiceTest, EntitylessViewsUseFeastsDummyKey) {
  nlohmann::json df = {{"ts", {Iso(kNowUs)}}, {"trips", {5}}, {"rate", {1.5}}};
  ASSERT_TRUE(service.WriteToOnlineStore("", "globals", df).ok());
  auto key = SerializeEntityKey({EntityKeyValue{"__dummy_id", ValueType::kString, 0, ""}});
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(online.tables["proj/globals"].count(*key), 1u);
  OnlineRequest req;
  req.features = {"globals:trips"};
  req.entities = {{"anything", {Int(1), Int(2)}}};
  auto r = service.GetOnlineFeatures(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->columns.size(), 1u);  // "anything" is no join key: not echoed (as Feast)
  EXPECT_EQ(r->columns[0].statuses, (std::vector<FieldStatus>{FieldStatus::kPresent, FieldStatus::kPresent}));
}

TEST_F(OnlineServiceTest, OlderWritesDoNotReplaceNewerRows) {
  WriteDriver(1, kNowUs, 10);
  WriteDriver(1, kNowUs - 5, 99);
  OnlineRequest req;
  req.features = {"drivers:trips"};
  req.entities = {{"driver_id", {Int(1)}}};
  auto r = service.GetOnlineFeatures(req);
  ASSERT_TRUE(r.ok());
  std::string v;
  ASSERT_TRUE(AppendValueJson(r->ValueBytes(r->columns[1], 0), &v).ok());
  EXPECT_EQ(v, "10");
}

// A caller on an I/O thread asks for memory only: a cold registry cache or a
// store whose reads block answers WouldBlock (the caller retries on a
// worker), a warm one the same answer as a normal read.
TEST_F(OnlineServiceTest, MemoryOnlyReadsAnswerFromTheCacheOrWouldBlock) {
  OnlineRequest req;
  req.feature_service = "svc";
  req.entities = {{"user_id", {Int(7)}}};
  req.memory_only = true;
  EXPECT_TRUE(IsWouldBlock(service.GetOnlineFeatures(req).status()));  // nothing cached since the applies
  WriteDriver(7, kNowUs, 70);
  req.memory_only = false;
  auto loaded = service.GetOnlineFeatures(req);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  req.memory_only = true;
  auto cached = service.GetOnlineFeatures(req);
  ASSERT_TRUE(cached.ok()) << cached.status().ToString();
  ASSERT_EQ(cached->columns.size(), loaded->columns.size());
  EXPECT_EQ(cached->columns[1].statuses, loaded->columns[1].statuses);
  EXPECT_EQ(cached->ValueBytes(cached->columns[1], 0), loaded->ValueBytes(loaded->columns[1], 0));
  // A registry change drops the cache: memory only would block again.
  ASSERT_TRUE(registry.Apply(ObjectKind::kFeatureView, kProject, View("other", {"driver"}, 60), "t").ok());
  EXPECT_TRUE(IsWouldBlock(service.GetOnlineFeatures(req).status()));
  // An unknown view is a real error on the normal path, never WouldBlock there.
  OnlineRequest bad;
  bad.features = {"nope:trips"};
  bad.entities = {{"driver_id", {Int(1)}}};
  auto r = service.GetOnlineFeatures(bad);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();

  class BlockingStore final : public MemoryOnlineStore {
   public:
    bool ReadsBlock() const override { return true; }
  };
  BlockingStore remote;
  OnlineService over_network{registry, remote, clock, OnlineLimits{3, 100, ""}};
  req.memory_only = false;
  ASSERT_TRUE(over_network.GetOnlineFeatures(req).ok());
  req.memory_only = true;
  EXPECT_TRUE(IsWouldBlock(over_network.GetOnlineFeatures(req).status()));
}

TEST_F(OnlineServiceTest, BadRequestsNameTheProblem) {
  OnlineRequest req;
  req.features = {"drivers:trips"};
  req.entities = {{"driver_id", {Int(1), Int(2), Int(3), Int(4)}}};
  auto r = service.GetOnlineFeatures(req);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("at most 3"), std::string::npos);

  req.entities = {{"driver_id", {Int(1)}}, {"other", {Int(1), Int(2)}}};
  EXPECT_EQ(service.GetOnlineFeatures(req).status().code(), StatusCode::kInvalidArgument);

  req.entities = {{"driver_id", {Int(1)}}};
  req.features = {"drivers:nope"};
  r = service.GetOnlineFeatures(req);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("nope"), std::string::npos);

  req.features = {"missing:trips"};
  r = service.GetOnlineFeatures(req);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("Feature view missing"), std::string::npos);

  req.features = {"drivers:trips", "globals:trips"};
  r = service.GetOnlineFeatures(req);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("Duplicate features"), std::string::npos);
  req.full_feature_names = true;
  EXPECT_TRUE(service.GetOnlineFeatures(req).ok());

  RequestValue text;
  text.kind = RequestValue::Kind::kString;
  text.s = "1";
  req.features = {"drivers:trips"};
  req.entities = {{"driver_id", {text}}};
  r = service.GetOnlineFeatures(req);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("INT64"), std::string::npos);

  nlohmann::json df = {{"driver_id", {1}}, {"ts", {Iso(kNowUs)}}, {"trips", {"x"}}, {"rate", {0.5}}};
  EXPECT_EQ(service.WriteToOnlineStore("", "drivers", df).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(online.tables["proj/drivers"].empty());  // nothing half-written
}

}  // namespace
}  // namespace kiln::features
