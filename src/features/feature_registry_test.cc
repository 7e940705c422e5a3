#include "features/feature_registry.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <tuple>

#include "feast/core/DataSource.pb.h"
#include "feast/core/Entity.pb.h"
#include "feast/core/FeatureService.pb.h"
#include "feast/core/FeatureView.pb.h"
#include "feast/core/InfraObject.pb.h"
#include "feast/core/OnDemandFeatureView.pb.h"
#include "feast/core/Registry.pb.h"
#include "core/change_feed_test_util.h"
#include "features/memory_registry_store_test_util.h"
#include "features/registry_lineage.h"

namespace kiln::features {
namespace {

using MemoryStore = test_util::MemoryRegistryStore;

class FakeClock final : public Clock {
 public:
  int64_t NowMillis() const override { return now_ms; }
  int64_t now_ms = 1'700'000'000'000;
};

constexpr const char* kProject = "proj";

feast::core::Entity Driver() {
  feast::core::Entity e;
  e.mutable_spec()->set_name("driver");
  e.mutable_spec()->set_join_key("driver_id");
  e.mutable_spec()->set_value_type(feast::types::ValueType::INT64);
  return e;
}

feast::core::DataSource FileSource(const std::string& path) {
  feast::core::DataSource s;
  s.set_name("driver_stats_source");
  s.set_type(feast::core::DataSource::BATCH_FILE);
  s.mutable_file_options()->set_uri(path);
  s.set_timestamp_field("event_timestamp");
  s.set_created_timestamp_column("created");
  (*s.mutable_field_mapping())["trips_raw"] = "trips";
  return s;
}

feast::core::FeatureView DriverStats(int64_t ttl_s = 86400) {
  feast::core::FeatureView v;
  auto* spec = v.mutable_spec();
  spec->set_name("driver_stats");
  spec->add_entities("driver");
  auto* f = spec->add_features();
  f->set_name("conv_rate");
  f->set_value_type(feast::types::ValueType::FLOAT);
  auto* g = spec->add_features();
  g->set_name("trips");
  g->set_value_type(feast::types::ValueType::INT64);
  auto* ec = spec->add_entity_columns();
  ec->set_name("driver_id");
  ec->set_value_type(feast::types::ValueType::INT64);
  spec->mutable_ttl()->set_seconds(ttl_s);
  spec->set_online(true);
  *spec->mutable_batch_source() = FileSource("/data/driver_stats.parquet");
  auto* push = spec->mutable_stream_source();
  push->set_name("driver_push");
  push->set_type(feast::core::DataSource::PUSH_SOURCE);
  (*spec->mutable_tags())["team"] = "ml";
  return v;
}

class FeatureRegistryTest : public ::testing::Test {
 protected:
  Status ApplyBasics() {
    KILN_RETURN_IF_ERROR(reg.Apply(ObjectKind::kEntity, kProject, Driver(), "test"));
    return reg.Apply(ObjectKind::kFeatureView, kProject, DriverStats(), "test");
  }
  feast::core::FeatureView StoredView() {
    auto o = reg.Get(ObjectKind::kFeatureView, kProject, "driver_stats");
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    return static_cast<const feast::core::FeatureView&>(*o->message);
  }
  size_t EventCount() { return store.ListEvents("", 0, 0)->size(); }

  MemoryStore store;
  FakeClock clock;
  FeatureRegistry reg{store, clock};
};

TEST_F(FeatureRegistryTest, ApplyStampsTimestampsAndCreatesTheProject) {
  ASSERT_TRUE(ApplyBasics().ok());
  feast::core::FeatureView v = StoredView();
  EXPECT_EQ(v.spec().project(), kProject);
  EXPECT_EQ(v.meta().created_timestamp().seconds(), 1'700'000'000);
  EXPECT_EQ(v.meta().last_updated_timestamp().seconds(), 1'700'000'000);
  auto project = reg.Get(ObjectKind::kProject, kProject, kProject);
  ASSERT_TRUE(project.ok());
  auto meta = reg.ListProjectMetadata(kProject);
  ASSERT_TRUE(meta.ok());
  ASSERT_EQ(meta->size(), 1u);
  EXPECT_EQ((*meta)[0].project_uuid().size(), 36u);
  EXPECT_TRUE(reg.ListProjectMetadata("other")->empty());
}

TEST_F(FeatureRegistryTest, UnchangedReapplyWritesNothing) {
  ASSERT_TRUE(ApplyBasics().ok());
  const size_t events = EventCount();
  clock.now_ms += 5000;
  feast::core::FeatureView again = DriverStats();
  // The SDK stamps embedded data sources itself on every build.
  again.mutable_spec()->mutable_batch_source()->mutable_meta()->mutable_created_timestamp()->set_seconds(42);
  ASSERT_TRUE(reg.Apply(ObjectKind::kFeatureView, kProject, again, "test").ok());
  EXPECT_EQ(EventCount(), events);
  EXPECT_EQ(StoredView().meta().last_updated_timestamp().seconds(), 1'700'000'000);
}

TEST_F(FeatureRegistryTest, ChangedReapplyKeepsCreatedAndIntervals) {
  ASSERT_TRUE(ApplyBasics().ok());
  ASSERT_TRUE(reg.RecordMaterialization(kProject, "driver_stats", 1'000'000, 2'000'000, "test").ok());
  clock.now_ms += 7000;
  ASSERT_TRUE(reg.Apply(ObjectKind::kFeatureView, kProject, DriverStats(3600), "test").ok());
  feast::core::FeatureView v = StoredView();
  EXPECT_EQ(v.spec().ttl().seconds(), 3600);
  EXPECT_EQ(v.meta().created_timestamp().seconds(), 1'700'000'000);
  EXPECT_EQ(v.meta().last_updated_timestamp().seconds(), 1'700'000'007);
  ASSERT_EQ(v.meta().materialization_intervals_size(), 1);
  EXPECT_EQ(v.meta().materialization_intervals(0).end_time().seconds(), 2);
  EXPECT_EQ(v.meta().state(), feast::core::AVAILABLE_ONLINE);
  auto events = store.ListEvents(kProject, 0, 0);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->back().action, "apply");
  EXPECT_NE(events->back().detail_json.find("update"), std::string::npos);
}

TEST_F(FeatureRegistryTest, MaterializationIsAnEventAndShowsInTheSchema) {
  ASSERT_TRUE(ApplyBasics().ok());
  ASSERT_TRUE(reg.GetViewSchema(kProject, "driver_stats").ok());  // cached now
  ASSERT_TRUE(reg.RecordMaterialization(kProject, "driver_stats", 5'000'000, 9'000'000, "mat").ok());
  auto events = store.ListEvents(kProject, 0, 0);
  EXPECT_EQ(events->back().action, "materialize");
  EXPECT_EQ(events->back().actor, "mat");
  auto schema = reg.GetViewSchema(kProject, "driver_stats");
  ASSERT_TRUE(schema.ok());
  ASSERT_EQ(schema->materialization_intervals.size(), 1u);
  EXPECT_EQ(schema->materialization_intervals[0], (std::pair<int64_t, int64_t>{5000000, 9000000}));
  EXPECT_EQ(reg.RecordMaterialization(kProject, "nope", 0, 1, "t").message(),
            "Feature view nope does not exist in project proj");
  EXPECT_EQ(reg.RecordMaterialization(kProject, "driver_stats", 2, 1, "t").code(), StatusCode::kInvalidArgument);
}

TEST_F(FeatureRegistryTest, ViewKindsShareOneNameSpace) {
  ASSERT_TRUE(ApplyBasics().ok());
  feast::core::OnDemandFeatureView odfv;
  odfv.mutable_spec()->set_name("driver_stats");
  Status s = reg.Apply(ObjectKind::kOnDemandFeatureView, kProject, odfv, "test");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("already used by a FeatureView"), std::string::npos);
}

TEST_F(FeatureRegistryTest, BadInputIsInvalidArgument) {
  EXPECT_EQ(reg.Apply(ObjectKind::kEntity, kProject, feast::core::Entity(), "t").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(reg.Apply(ObjectKind::kEntity, "", Driver(), "t").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reg.Apply(ObjectKind::kEntity, kProject, DriverStats(), "t").code(), StatusCode::kInvalidArgument);
}

TEST_F(FeatureRegistryTest, NotFoundCarriesFeastsMessages) {
  ASSERT_TRUE(ApplyBasics().ok());
  EXPECT_EQ(reg.Get(ObjectKind::kEntity, kProject, "x").status().message(), "Entity x does not exist in project proj");
  EXPECT_EQ(reg.Get(ObjectKind::kDataSource, kProject, "x").status().message(),
            "Data source x does not exist in project proj");
  EXPECT_EQ(reg.GetAnyFeatureView(kProject, "x").status().message(),
            "Feature view x does not exist in project proj");
  EXPECT_EQ(reg.Delete(ObjectKind::kFeatureService, kProject, "x", "t").message(),
            "Feature service x does not exist in project proj");
  EXPECT_EQ(reg.DeleteProject("x", "t").message(), "Project x does not exist");
  EXPECT_EQ(reg.DeleteFeatureView(kProject, "x", "t").code(), StatusCode::kNotFound);
}

// Two replicas' registries over one store: a view changed through one is
// read fresh by the other once the change feed told it, not from its cache.
TEST_F(FeatureRegistryTest, AnotherReplicasWriteDropsThisReplicasCachedSchemas) {
  kiln::testing::ChangeFeedHub hub;
  auto feed_a = hub.NewReplica();
  auto feed_b = hub.NewReplica();
  FeatureRegistry other{store, clock};
  FeatureRegistry unfollowing{store, clock};
  reg.Follow(*feed_a);
  other.Follow(*feed_b);
  ASSERT_TRUE(ApplyBasics().ok());
  ASSERT_EQ(other.GetViewSchema(kProject, "driver_stats")->ttl_us, int64_t{86400} * 1'000'000);
  ASSERT_EQ(unfollowing.GetViewSchema(kProject, "driver_stats")->ttl_us, int64_t{86400} * 1'000'000);
  ASSERT_TRUE(reg.Apply(ObjectKind::kFeatureView, kProject, DriverStats(3600), "test").ok());
  EXPECT_EQ(other.GetViewSchema(kProject, "driver_stats")->ttl_us, int64_t{3600} * 1'000'000);
  // Without the feed a replica keeps answering from its cache.
  EXPECT_EQ(unfollowing.GetViewSchema(kProject, "driver_stats")->ttl_us, int64_t{86400} * 1'000'000);
  ASSERT_TRUE(reg.DeleteFeatureView(kProject, "driver_stats", "t").ok());
  EXPECT_EQ(other.GetViewSchema(kProject, "driver_stats").status().code(), StatusCode::kNotFound);
}

TEST_F(FeatureRegistryTest, DeletesAreEventsAndDropCachedSchemas) {
  ASSERT_TRUE(ApplyBasics().ok());
  ASSERT_TRUE(reg.GetViewSchema(kProject, "driver_stats").ok());
  ASSERT_TRUE(reg.DeleteFeatureView(kProject, "driver_stats", "t").ok());
  EXPECT_EQ(reg.GetViewSchema(kProject, "driver_stats").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store.ListEvents(kProject, 0, 0)->back().action, "delete");
  ASSERT_TRUE(reg.DeleteProject(kProject, "t").ok());
  EXPECT_TRUE(reg.List(ObjectKind::kProject, "", {})->empty());
  EXPECT_TRUE(reg.List(ObjectKind::kEntity, kProject, {})->empty());
}

TEST_F(FeatureRegistryTest, ViewSchemaFromTheProtos) {
  ASSERT_TRUE(ApplyBasics().ok());
  auto s = reg.GetViewSchema(kProject, "driver_stats");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->kind, ViewKind::kBatch);
  ASSERT_EQ(s->entities.size(), 1u);
  EXPECT_EQ(s->entities[0].name, "driver");
  EXPECT_EQ(s->entities[0].join_key, "driver_id");
  EXPECT_EQ(s->entities[0].type, ValueType::kInt64);
  ASSERT_EQ(s->features.size(), 2u);
  EXPECT_EQ(s->features[0].name, "conv_rate");
  EXPECT_EQ(s->features[0].type, ValueType::kFloat);
  EXPECT_EQ(s->ttl_us, 86'400'000'000);
  EXPECT_TRUE(s->online);
  EXPECT_EQ(s->push_source_name, "driver_push");
  ASSERT_TRUE(s->batch_source.has_value()) << s->batch_source_error;
  EXPECT_EQ(s->batch_source->path, "/data/driver_stats.parquet");
  EXPECT_EQ(s->batch_source->format, storage::FileFormat::kParquet);
  EXPECT_EQ(s->batch_source->timestamp_field, "event_timestamp");
  EXPECT_EQ(s->batch_source->created_timestamp_column, "created");
  EXPECT_EQ(s->batch_source->field_mapping.at("trips_raw"), "trips");
  EXPECT_EQ(s->created_us, 1'700'000'000'000'000);

  // Resolved without a project when only one holds the view.
  EXPECT_TRUE(reg.GetViewSchema("", "driver_stats").ok());
  auto pushed = reg.ViewsForPushSource("", "driver_push");
  ASSERT_TRUE(pushed.ok());
  ASSERT_EQ(pushed->size(), 1u);
  EXPECT_EQ(reg.ViewsForPushSource("", "nope").status().message(), "Unable to find push source 'nope'.");
}

TEST_F(FeatureRegistryTest, SourcesKilnCannotReadSayWhy) {
  ASSERT_TRUE(reg.Apply(ObjectKind::kEntity, kProject, Driver(), "t").ok());
  feast::core::FeatureView csv = DriverStats();
  csv.mutable_spec()->mutable_batch_source()->mutable_file_options()->set_uri("file:///data/x.CSV");
  ASSERT_TRUE(reg.Apply(ObjectKind::kFeatureView, kProject, csv, "t").ok());
  auto s = reg.GetViewSchema(kProject, "driver_stats");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s->batch_source.has_value());
  EXPECT_EQ(s->batch_source->format, storage::FileFormat::kCsv);
  EXPECT_EQ(s->batch_source->path, "/data/x.CSV");

  feast::core::FeatureView rel = DriverStats(60);
  rel.mutable_spec()->mutable_batch_source()->mutable_file_options()->set_uri("data/x.parquet");
  ASSERT_TRUE(reg.Apply(ObjectKind::kFeatureView, kProject, rel, "t").ok());
  s = reg.GetViewSchema(kProject, "driver_stats");
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->batch_source.has_value());
  EXPECT_NE(s->batch_source_error.find("relative path"), std::string::npos);

  feast::core::FeatureView s3 = DriverStats(61);
  s3.mutable_spec()->mutable_batch_source()->mutable_file_options()->set_uri("s3://b/x.parquet");
  ASSERT_TRUE(reg.Apply(ObjectKind::kFeatureView, kProject, s3, "t").ok());
  EXPECT_NE(reg.GetViewSchema(kProject, "driver_stats")->batch_source_error.find("local files only"),
            std::string::npos);
}

TEST_F(FeatureRegistryTest, OnDemandViewsAreListedNotExecuted) {
  feast::core::OnDemandFeatureView odfv;
  odfv.mutable_spec()->set_name("plus_one");
  auto* f = odfv.mutable_spec()->add_features();
  f->set_name("y");
  f->set_value_type(feast::types::ValueType::DOUBLE);
  ASSERT_TRUE(reg.Apply(ObjectKind::kOnDemandFeatureView, kProject, odfv, "t").ok());
  auto s = reg.GetViewSchema(kProject, "plus_one");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->kind, ViewKind::kOnDemand);
  EXPECT_NE(s->batch_source_error.find("plus_one"), std::string::npos);
  EXPECT_EQ(reg.ListViewSchemas(kProject)->size(), 1u);
}

TEST_F(FeatureRegistryTest, FeatureServiceProjections) {
  ASSERT_TRUE(ApplyBasics().ok());
  feast::core::FeatureService fs;
  fs.mutable_spec()->set_name("svc");
  auto* p = fs.mutable_spec()->add_features();
  p->set_feature_view_name("driver_stats");
  p->set_feature_view_name_alias("ds");
  p->add_feature_columns()->set_name("trips");
  (*p->mutable_join_key_map())["driver_id"] = "driver";
  ASSERT_TRUE(reg.Apply(ObjectKind::kFeatureService, kProject, fs, "t").ok());
  auto proj = reg.GetFeatureServiceProjections("", "svc");
  ASSERT_TRUE(proj.ok());
  ASSERT_EQ(proj->size(), 1u);
  EXPECT_EQ((*proj)[0].view, "driver_stats");
  EXPECT_EQ((*proj)[0].alias, "ds");
  EXPECT_EQ((*proj)[0].features, std::vector<std::string>{"trips"});
  ASSERT_EQ((*proj)[0].join_key_map.size(), 1u);
  EXPECT_EQ((*proj)[0].join_key_map[0].second, "driver");

  auto lineage = RegistryLineage(reg, kProject, "", "");
  ASSERT_TRUE(lineage.ok());
  bool found = false;
  for (const auto& r : lineage->indirect) {
    found |= r.source.type == "entity" && r.source.name == "driver" && r.target.name == "svc";
  }
  EXPECT_TRUE(found);
}

TEST_F(FeatureRegistryTest, ProjectResolution) {
  ASSERT_TRUE(ApplyBasics().ok());
  EXPECT_EQ(*reg.ResolveProject("explicit", "driver_stats"), "explicit");
  EXPECT_EQ(*reg.ResolveProject("", "driver_stats:conv_rate"), kProject);
  EXPECT_EQ(*reg.ResolveProject("", "unknown"), kProject);  // the only project
  ASSERT_TRUE(reg.Apply(ObjectKind::kEntity, "second", Driver(), "t").ok());
  ASSERT_TRUE(reg.Apply(ObjectKind::kFeatureView, "second", DriverStats(), "t").ok());
  auto ambiguous = reg.ResolveProject("", "driver_stats");
  EXPECT_EQ(ambiguous.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ambiguous.status().message().find("proj, second"), std::string::npos);
  EXPECT_EQ(reg.ResolveProject("", "unknown").status().code(), StatusCode::kNotFound);
}

TEST_F(FeatureRegistryTest, ListsFilterByTagsAndUpdateTime) {
  ASSERT_TRUE(ApplyBasics().ok());
  RegistryListFilter f;
  f.tags = {{"team", "ml"}};
  EXPECT_EQ(reg.List(ObjectKind::kFeatureView, kProject, f)->size(), 1u);
  f.tags = {{"team", "other"}};
  EXPECT_TRUE(reg.List(ObjectKind::kFeatureView, kProject, f)->empty());
  RegistryListFilter since;
  since.updated_since_us = (clock.now_ms + 1000) * 1000;
  EXPECT_TRUE(reg.ListAllFeatureViews(kProject, since, true)->empty());
}

TEST_F(FeatureRegistryTest, InfraAndWholeRegistry) {
  ASSERT_TRUE(ApplyBasics().ok());
  feast::core::Infra infra;
  EXPECT_TRUE(reg.GetInfra(kProject, &infra).ok());
  EXPECT_EQ(infra.infra_objects_size(), 0);
  infra.add_infra_objects()->set_infra_object_class_type("x");
  ASSERT_TRUE(reg.UpdateInfra(kProject, infra, "t").ok());
  feast::core::Infra back;
  ASSERT_TRUE(reg.GetInfra(kProject, &back).ok());
  EXPECT_EQ(back.infra_objects_size(), 1);

  feast::core::Registry r;
  ASSERT_TRUE(reg.BuildRegistryProto(&r).ok());
  EXPECT_EQ(r.projects_size(), 1);
  EXPECT_EQ(r.entities_size(), 1);
  EXPECT_EQ(r.feature_views_size(), 1);
  EXPECT_EQ(r.infra().infra_objects_size(), 1);
  EXPECT_EQ(r.last_updated().seconds(), 1'700'000'000);
}

}  // namespace
}  // namespace kiln::features
