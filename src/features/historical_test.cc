#include "features/historical.h"

#include <gtest/gtest.h>

#include <map>

namespace kiln::features {
namespace {

class Catalog final : public FeatureCatalog {
 public:
  std::map<std::string, ViewSchema> views;
  std::map<std::string, std::vector<ViewProjection>> services;

  StatusOr<std::string> ResolveProject(const std::string& p, const std::string&) override {
    return p.empty() ? std::string("proj") : p;
  }
  StatusOr<ViewSchema> GetViewSchema(const std::string& project, const std::string& view) override {
    auto it = views.find(view);
    if (it == views.end()) return NotFound("Feature view " + view + " does not exist in project " + project);
    return it->second;
  }
  StatusOr<std::vector<ViewSchema>> ListViewSchemas(const std::string&) override { return std::vector<ViewSchema>{}; }
  StatusOr<std::vector<ViewProjection>> GetFeatureServiceProjections(const std::string&,
                                                                     const std::string& s) override {
    auto it = services.find(s);
    if (it == services.end()) return NotFound("Feature service " + s + " does not exist");
    return it->second;
  }
  Status RecordMaterialization(const std::string&, const std::string&, int64_t, int64_t,
                               const std::string&) override {
    return Status::Ok();
  }
};

class Engine final : public storage::OfflineEngine {
 public:
  storage::PitRequest last;
  StatusOr<uint64_t> CountLatest(const storage::LatestScanRequest&) override { return 0; }
  Status ScanLatest(const storage::LatestScanRequest&, const storage::ChunkFn&) override { return Status::Ok(); }
  StatusOr<storage::PitResult> PointInTimeJoin(const storage::PitRequest& r) override {
    last = r;
    storage::PitResult out;
    out.rows = 3;
    out.columns = {"driver_id", "event_timestamp"};
    for (const auto& v : r.views) {
      for (const auto& f : v.features) out.columns.push_back(f.second);
    }
    return out;
  }
  StatusOr<std::vector<std::pair<std::string, storage::ColumnType>>> Describe(const storage::OfflineSource&) override {
    return Unimplemented("no");
  }
  std::string Version() const override { return "fake"; }
};

ViewSchema View(const std::string& name, std::vector<std::string> features, int64_t ttl) {
  ViewSchema v;
  v.name = name;
  v.entities = {{"driver", "driver_id", ValueType::kInt64}};
  for (auto& f : features) v.features.push_back({f, ValueType::kInt64});
  v.ttl_us = ttl;
  storage::OfflineSource s;
  s.path = "/data/" + name + ".parquet";
  s.timestamp_field = "ts";
  v.batch_source = s;
  return v;
}

struct Fixture {
  Engine engine;
  Catalog* catalog;
  std::unique_ptr<HistoricalService> service;
  Fixture() {
    auto c = std::make_unique<Catalog>();
    catalog = c.get();
    catalog->views["hourly"] = View("hourly", {"trips", "rate"}, 3600);
    catalog->views["daily"] = View("daily", {"avg", "trips"}, 86400);
    catalog->views["odfv"] = View("odfv", {"x"}, 0);
    catalog->views["odfv"].kind = ViewKind::kOnDemand;
    catalog->views["nosrc"] = View("nosrc", {"x"}, 0);
    catalog->views["nosrc"].batch_source.reset();
    catalog->views["nosrc"].batch_source_error = "BigQuerySource is not a file";
    ViewProjection p1{"hourly", "", {"rate"}, {}};
    ViewProjection p2{"daily", "d2", {}, {{"driver_id", "other_driver"}}};
    catalog->services["svc"] = {p1, p2};
    service = std::make_unique<HistoricalService>(std::move(c), engine);
  }
};

HistoricalRequest Req(std::vector<std::string> features) {
  HistoricalRequest r;
  r.features = std::move(features);
  r.entities.path = "/in.parquet";
  r.output_path = "/out.parquet";
  return r;
}

TEST(Historical, ViewsInFirstNamedOrderFeaturesInNamedOrder) {
  Fixture f;
  auto r = f.service->Retrieve(Req({"daily:avg", "hourly:rate", "hourly:trips"}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(f.engine.last.views.size(), 2u);
  EXPECT_EQ(f.engine.last.views[0].name, "daily");
  EXPECT_EQ(f.engine.last.views[0].ttl_us, 86400);
  EXPECT_EQ(f.engine.last.views[1].features[0].first, "rate");
  EXPECT_EQ(f.engine.last.views[1].features[1].second, "trips");
  EXPECT_EQ(r->columns, (std::vector<std::string>{"driver_id", "event_timestamp", "avg", "rate", "trips"}));
  EXPECT_EQ(f.engine.last.views[0].join_keys, std::vector<std::string>{"driver_id"});
}

TEST(Historical, CollisionsAsFeast) {
  Fixture f;
  auto r = f.service->Retrieve(Req({"daily:trips", "hourly:trips"}));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("Duplicate features named trips"), std::string::npos);
  HistoricalRequest full = Req({"daily:trips", "hourly:trips"});
  full.full_feature_names = true;
  auto ok = f.service->Retrieve(full);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(f.engine.last.views[0].features[0].second, "daily__trips");
  EXPECT_EQ(f.engine.last.views[1].features[0].second, "hourly__trips");
}

TEST(Historical, FeatureServiceAliasesAndJoinKeyMaps) {
  Fixture f;
  HistoricalRequest r = Req({});
  r.feature_service = "svc";
  r.full_feature_names = true;
  auto res = f.service->Retrieve(r);
  ASSERT_TRUE(res.ok()) << res.status().message();
  ASSERT_EQ(f.engine.last.views.size(), 2u);
  const auto& d = f.engine.last.views[1];
  EXPECT_EQ(d.name, "d2");
  EXPECT_EQ(d.join_keys, std::vector<std::string>{"other_driver"});
  EXPECT_EQ(d.source_join_keys, std::vector<std::string>{"driver_id"});
  ASSERT_EQ(d.features.size(), 2u);  // every feature of the view
  EXPECT_EQ(d.features[0].second, "d2__avg");
  EXPECT_EQ(f.engine.last.views[0].features.size(), 1u);
}

TEST(Historical, BadReferencesAreRefused) {
  Fixture f;
  EXPECT_EQ(f.service->Retrieve(Req({})).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.service->Retrieve(Req({"hourly"})).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.service->Retrieve(Req({"hourly@v2:rate"})).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.service->Retrieve(Req({"nope:rate"})).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(f.service->Retrieve(Req({"hourly:nope"})).status().code(), StatusCode::kNotFound);
  auto odfv = f.service->Retrieve(Req({"odfv:x"}));
  EXPECT_EQ(odfv.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(odfv.status().message().find("odfv"), std::string::npos);
  auto nosrc = f.service->Retrieve(Req({"nosrc:x"}));
  EXPECT_EQ(nosrc.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(nosrc.status().message().find("BigQuerySource"), std::string::npos);
  HistoricalRequest json_out = Req({"hourly:rate"});
  json_out.output_format = storage::FileFormat::kJson;
  EXPECT_EQ(f.service->Retrieve(json_out).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::features
