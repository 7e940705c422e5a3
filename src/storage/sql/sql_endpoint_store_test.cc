#include "storage/sql/sql_endpoint_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "storage/sqlite/migrations.h"
#include "storage/sql/sql_conn.h"
#include "storage/sql/sql_conn.h"
#include "storage/sql/sql_test_util.h"

namespace kiln::storage {
namespace {

EndpointRoute Route(const std::string& model, int64_t version, int percent, const std::string& kind = "version",
                    const std::string& ref = "") {
  EndpointRoute r;
  r.model = model;
  r.ref_kind = kind;
  r.ref = ref.empty() ? std::to_string(version) : ref;
  r.version = version;
  r.percent = percent;
  return r;
}

// A revision using every field, so the round trip covers the whole spec.
EndpointRevision FullRevision(int64_t number) {
  EndpointRevision rev;
  rev.number = number;
  rev.created_ms = 1000 + number;
  rev.created_by = "alice";
  rev.reason = "create";
  RevisionSpec& s = rev.spec;
  s.routes = {Route("fraud", 3, 90), Route("fraud", 4, 10, "alias", "champion")};
  EndpointMirror m;
  m.route = Route("fraud", 5, 100, "stage", "Staging");
  m.percent = 7;
  s.mirror = m;
  s.batching = {64, 200, 256};
  s.sticky_header = "x-user-id";
  FeatureBinding f;
  f.project = "p";
  f.features = {"driver:rate", "driver:trips"};
  f.defaults = {{"rate", 0.25}, {"trips", -1e300}, {"odd", std::nan("")}};
  f.allow_stale = true;
  s.features = f;
  s.rollout.strategy = "canary";
  s.rollout.step_percent = 10;
  s.rollout.interval_s = 5;
  s.rollout.bake_s = 60;
  Guardrail g;
  g.metric = "p99_ms";
  g.op = ">=";
  g.threshold = 0.1 + 0.2;  // not exactly representable in few digits
  g.window_s = 30;
  g.min_requests = 5;
  s.rollout.rollback_on = {g};
  return rev;
}

EndpointRevision SimpleRevision(int64_t number, int64_t version) {
  EndpointRevision rev;
  rev.number = number;
  rev.created_ms = 2000 + number;
  rev.created_by = "bob";
  rev.reason = "update";
  rev.spec.routes = {Route("fraud", version, 100)};
  return rev;
}

EndpointRecord Record(const std::string& name) {
  EndpointRecord r;
  r.name = name;
  r.created_ms = 500;
  r.updated_ms = 500;
  r.created_by = "alice";
  r.settings.description = "fraud scoring";
  r.settings.follow_aliases = true;
  r.settings.capture_percent = 12.5;
  r.settings.drift_baseline = "/data/train.parquet";
  r.settings.drift_threshold = 0.2;
  r.state.latest_revision = 1;
  r.state.latest_ready_revision = 1;
  r.state.rolled_out_revision = 1;
  r.state.traffic = {{1, 100}};
  return r;
}

EndpointEvent Event(const std::string& action, int64_t revision = 1, const std::string& actor = "alice") {
  EndpointEvent e;
  e.actor = actor;
  e.action = action;
  e.reason = "manual";
  e.revision = revision;
  e.detail_json = R"({"traffic":[{"revision":1,"percent":100}]})";
  return e;
}

void ExpectSameRoute(const EndpointRoute& a, const EndpointRoute& b) {
  EXPECT_EQ(a.model, b.model);
  EXPECT_EQ(a.ref_kind, b.ref_kind);
  EXPECT_EQ(a.ref, b.ref);
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.percent, b.percent);
}

class SqliteEndpointStoreTest : public testing::SqlStoreTest {
 protected:
  void SetUp() override {
    testing::SqlStoreTest::SetUp();
    eps_ = std::make_unique<SqlEndpointStore>(store_->database());
  }
  void TearDown() override {
    eps_.reset();
    testing::SqlStoreTest::TearDown();
  }
  EndpointRecord Create(const std::string& name) {
    auto r = eps_->CreateEndpoint(Record(name), SimpleRevision(1, 3), Event("create"));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : EndpointRecord{};
  }
  std::vector<EndpointEvent> Events(const std::string& name) {
    auto e = eps_->ListEvents(name, 0, 0);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? *e : std::vector<EndpointEvent>{};
  }
  std::unique_ptr<SqlEndpointStore> eps_;
};

TEST_F(SqliteEndpointStoreTest, CreateRoundTripsRecordAndFullRevision) {
  EndpointRecord in = Record("fraud");
  in.state.rollout = {true, 1, 2, 10, "stepping", 700, 800};
  in.state.traffic = {{1, 90}, {2, 10}};
  auto created = eps_->CreateEndpoint(in, FullRevision(1), Event("create"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->state.config_version, 1);

  auto got = eps_->GetEndpoint("fraud");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->name, "fraud");
  EXPECT_EQ(got->created_ms, 500);
  EXPECT_EQ(got->updated_ms, 500);
  EXPECT_EQ(got->created_by, "alice");
  EXPECT_EQ(got->settings.description, "fraud scoring");
  EXPECT_TRUE(got->settings.follow_aliases);
  EXPECT_EQ(got->settings.capture_percent, 12.5);
  EXPECT_EQ(got->settings.drift_baseline, "/data/train.parquet");
  EXPECT_EQ(got->settings.drift_threshold, 0.2);
  const EndpointState& st = got->state;
  EXPECT_EQ(st.config_version, 1);
  EXPECT_EQ(st.latest_revision, 1);
  EXPECT_EQ(st.latest_ready_revision, 1);
  EXPECT_EQ(st.rolled_out_revision, 1);
  EXPECT_EQ(st.previous_rolled_out_revision, 0);
  ASSERT_EQ(st.traffic.size(), 2u);
  EXPECT_EQ(st.traffic[1].revision, 2);
  EXPECT_EQ(st.traffic[1].percent, 10);
  EXPECT_TRUE(st.rollout.active);
  EXPECT_EQ(st.rollout.from_revision, 1);
  EXPECT_EQ(st.rollout.to_revision, 2);
  EXPECT_EQ(st.rollout.percent, 10);
  EXPECT_EQ(st.rollout.phase, "stepping");
  EXPECT_EQ(st.rollout.started_ms, 700);
  EXPECT_EQ(st.rollout.next_step_ms, 800);

  auto rev = eps_->GetRevision("fraud", 1);
  ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  EndpointRevision want = FullRevision(1);
  EXPECT_EQ(rev->number, 1);
  EXPECT_EQ(rev->created_ms, want.created_ms);
  EXPECT_EQ(rev->created_by, "alice");
  EXPECT_EQ(rev->reason, "create");
  ASSERT_EQ(rev->spec.routes.size(), 2u);
  ExpectSameRoute(rev->spec.routes[0], want.spec.routes[0]);
  ExpectSameRoute(rev->spec.routes[1], want.spec.routes[1]);
  ASSERT_TRUE(rev->spec.mirror.has_value());
  ExpectSameRoute(rev->spec.mirror->route, want.spec.mirror->route);
  EXPECT_EQ(rev->spec.mirror->percent, 7);
  EXPECT_EQ(rev->spec.batching.max_batch_rows, 64);
  EXPECT_EQ(rev->spec.batching.max_queue_delay_us, 200);
  EXPECT_EQ(rev->spec.batching.max_queue, 256);
  EXPECT_EQ(rev->spec.sticky_header, "x-user-id");
  ASSERT_TRUE(rev->spec.features.has_value());
  EXPECT_EQ(rev->spec.features->project, "p");
  EXPECT_EQ(rev->spec.features->feature_service, "");
  EXPECT_EQ(rev->spec.features->features, want.spec.features->features);
  ASSERT_EQ(rev->spec.features->defaults.size(), 3u);
  EXPECT_EQ(rev->spec.features->defaults.at("rate"), 0.25);
  EXPECT_EQ(rev->spec.features->defaults.at("trips"), -1e300);
  EXPECT_TRUE(std::isnan(rev->spec.features->defaults.at("odd"))) << "NaN survives JSON";
  EXPECT_TRUE(rev->spec.features->allow_stale);
  EXPECT_EQ(rev->spec.rollout.strategy, "canary");
  EXPECT_EQ(rev->spec.rollout.step_percent, 10);
  EXPECT_EQ(rev->spec.rollout.interval_s, 5);
  EXPECT_EQ(rev->spec.rollout.bake_s, 60);
  ASSERT_EQ(rev->spec.rollout.rollback_on.size(), 1u);
  const Guardrail& g = rev->spec.rollout.rollback_on[0];
  EXPECT_EQ(g.metric, "p99_ms");
  EXPECT_EQ(g.op, ">=");
  EXPECT_EQ(g.threshold, 0.1 + 0.2) << "doubles round-trip exactly";
  EXPECT_EQ(g.window_s, 30);
  EXPECT_EQ(g.min_requests, 5);

  auto events = Events("fraud");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_GT(events[0].id, 0);
  EXPECT_EQ(events[0].endpoint, "fraud") << "an empty endpoint takes the record's name";
  EXPECT_EQ(events[0].timestamp_ms, 500) << "a zero timestamp takes created_ms";
  EXPECT_EQ(events[0].actor, "alice");
  EXPECT_EQ(events[0].action, "create");
  EXPECT_EQ(events[0].reason, "manual");
  EXPECT_EQ(events[0].revision, 1);
  EXPECT_EQ(events[0].detail_json, R"({"traffic":[{"revision":1,"percent":100}]})");
}

TEST_F(SqliteEndpointStoreTest, RevisionWithoutOptionalPartsStaysWithout) {
  Create("e");
  auto rev = eps_->GetRevision("e", 1);
  ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  EXPECT_FALSE(rev->spec.mirror.has_value());
  EXPECT_FALSE(rev->spec.features.has_value());
  EXPECT_EQ(rev->spec.batching.max_queue_delay_us, -1);
  EXPECT_EQ(rev->spec.rollout.strategy, "all_at_once");
  EXPECT_TRUE(rev->spec.rollout.rollback_on.empty());
}

TEST_F(SqliteEndpointStoreTest, CreateRefusesTakenNameAndBadFirstRevision) {
  Create("e");
  auto again = eps_->CreateEndpoint(Record("e"), SimpleRevision(1, 4), Event("create"));
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.status().message(), "endpoint 'e' already exists");
  EXPECT_EQ(Events("e").size(), 1u) << "a refused create writes no event";
  EXPECT_EQ(eps_->GetRevision("e", 1)->spec.routes[0].version, 3) << "the original revision is untouched";

  auto bad = eps_->CreateEndpoint(Record("f"), SimpleRevision(2, 4), Event("create"));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(eps_->GetEndpoint("f").status().code(), StatusCode::kNotFound);

  auto zero = eps_->CreateEndpoint(Record("g"), SimpleRevision(0, 4), Event("create"));
  ASSERT_TRUE(zero.ok()) << zero.status().ToString();
  EXPECT_EQ(eps_->ListRevisions("g")->at(0).number, 1) << "number 0 is stored as 1";
}

TEST_F(SqliteEndpointStoreTest, MissingEndpointIsNotFound) {
  auto got = eps_->GetEndpoint("nope");
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(got.status().message(), "endpoint 'nope' does not exist");
  EXPECT_EQ(eps_->ListRevisions("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(eps_->GetRevision("nope", 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(eps_->DeleteEndpoint("nope", Event("delete")).code(), StatusCode::kNotFound);
  EXPECT_EQ(eps_->UpdateEndpoint(Record("nope"), 1, std::nullopt, Event("update")).status().code(),
            StatusCode::kNotFound);
  EXPECT_TRUE(Events("nope").empty()) << "failed calls leave no event";

  Create("e");
  auto rev = eps_->GetRevision("e", 9);
  EXPECT_EQ(rev.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(rev.status().message(), "revision 9 of endpoint 'e' does not exist");
}

TEST_F(SqliteEndpointStoreTest, UpdateIsConditionalOnConfigVersion) {
  EndpointRecord r = Create("e");
  r.updated_ms = 900;
  r.settings.description = "v2";
  r.state.latest_revision = 2;
  r.state.config_version = 77;  // ignored: the store sets expected + 1
  auto up = eps_->UpdateEndpoint(r, 1, SimpleRevision(2, 4), Event("update", 2));
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->state.config_version, 2);
  EXPECT_EQ(up->settings.description, "v2");
  EXPECT_EQ(up->updated_ms, 900);
  EXPECT_EQ(up->created_ms, 500) << "created_ms is not replaced";
  EXPECT_EQ(up->state.latest_revision, 2);

  // A change computed from the old version loses and leaves nothing behind.
  EndpointRecord stale = r;
  stale.settings.description = "stale";
  auto lost = eps_->UpdateEndpoint(stale, 1, SimpleRevision(3, 5), Event("update", 3));
  EXPECT_EQ(lost.status().code(), StatusCode::kAborted);
  EXPECT_EQ(lost.status().message(), "endpoint 'e' changed concurrently (config_version 2, expected 1)");
  auto got = eps_->GetEndpoint("e");
  EXPECT_EQ(got->settings.description, "v2");
  EXPECT_EQ(got->state.config_version, 2);
  EXPECT_EQ(eps_->ListRevisions("e")->size(), 2u);
  EXPECT_EQ(Events("e").size(), 2u);

  // Settings-only update: no revision.
  r.settings.capture_percent = 50;
  auto settings = eps_->UpdateEndpoint(r, 2, std::nullopt, Event("settings", 0));
  ASSERT_TRUE(settings.ok()) << settings.status().ToString();
  EXPECT_EQ(settings->state.config_version, 3);
  EXPECT_EQ(settings->settings.capture_percent, 50);
  EXPECT_EQ(eps_->ListRevisions("e")->size(), 2u);
}

TEST_F(SqliteEndpointStoreTest, NewRevisionMustFollowTheLatest) {
  EndpointRecord r = Create("e");
  auto gap = eps_->UpdateEndpoint(r, 1, SimpleRevision(3, 4), Event("update", 3));
  EXPECT_EQ(gap.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(gap.status().message(), "new revision of endpoint 'e' must be number 2, not 3");
  EXPECT_EQ(eps_->GetEndpoint("e")->state.config_version, 1) << "the refused update rolled back entirely";
  EXPECT_EQ(Events("e").size(), 1u);
  auto dup = eps_->UpdateEndpoint(r, 1, SimpleRevision(1, 4), Event("update", 1));
  EXPECT_EQ(dup.status().code(), StatusCode::kInvalidArgument);

  ASSERT_TRUE(eps_->UpdateEndpoint(r, 1, SimpleRevision(2, 4), Event("update", 2)).ok());
  ASSERT_TRUE(eps_->UpdateEndpoint(r, 2, SimpleRevision(3, 5), Event("update", 3)).ok());
  auto revs = eps_->ListRevisions("e");
  ASSERT_TRUE(revs.ok());
  ASSERT_EQ(revs->size(), 3u);
  for (size_t i = 0; i < revs->size(); ++i) EXPECT_EQ((*revs)[i].number, static_cast<int64_t>(i + 1));
  EXPECT_EQ((*revs)[2].spec.routes[0].version, 5);
  EXPECT_EQ((*revs)[2].created_by, "bob");
}

TEST_F(SqliteEndpointStoreTest, ConcurrentConditionalUpdatesExactlyOneWins) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 20;
  Create("e");
  for (int round = 0; round < kRounds; ++round) {
    auto base = eps_->GetEndpoint("e");
    ASSERT_TRUE(base.ok());
    const int64_t expected = base->state.config_version;
    const int64_t next_revision = base->state.latest_revision + 1;
    std::atomic<int> go{0}, won{0}, aborted{0}, other{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        EndpointRecord mine = *base;
        mine.settings.description = "thread " + std::to_string(t);
        mine.state.latest_revision = next_revision;
        go.fetch_add(1);
        while (go.load() < kThreads) std::this_thread::yield();
        auto r = eps_->UpdateEndpoint(mine, expected, SimpleRevision(next_revision, 10 + t),
                                      Event("update", next_revision, "t" + std::to_string(t)));
        if (r.ok()) {
          won.fetch_add(1);
        } else if (r.status().code() == StatusCode::kAborted) {
          aborted.fetch_add(1);
        } else {
          other.fetch_add(1);
        }
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_EQ(won.load(), 1) << "round " << round;
    ASSERT_EQ(aborted.load(), kThreads - 1) << "round " << round;
    ASSERT_EQ(other.load(), 0);
    auto after = eps_->GetEndpoint("e");
    ASSERT_EQ(after->state.config_version, expected + 1);
    // The winner's revision, settings and event are the ones stored, together.
    auto revs = eps_->ListRevisions("e");
    ASSERT_EQ(revs->size(), static_cast<size_t>(next_revision));
    auto events = Events("e");
    ASSERT_EQ(events.size(), static_cast<size_t>(next_revision));
    const std::string winner = after->settings.description.substr(7);
    EXPECT_EQ(events.back().actor, "t" + winner);
    EXPECT_EQ(revs->back().spec.routes[0].version, 10 + std::stoi(winner));
  }
}

TEST_F(SqliteEndpointStoreTest, DeleteRemovesEndpointAndRevisionsButKeepsEvents) {
  EndpointRecord r = Create("e");
  ASSERT_TRUE(eps_->UpdateEndpoint(r, 1, SimpleRevision(2, 4), Event("update", 2)).ok());
  Create("other");
  EndpointEvent del = Event("delete", 0, "carol");
  del.timestamp_ms = 4242;
  ASSERT_TRUE(eps_->DeleteEndpoint("e", del).ok());
  EXPECT_EQ(eps_->GetEndpoint("e").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(eps_->ListRevisions("e").status().code(), StatusCode::kNotFound);
  auto events = Events("e");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].action, "delete");
  EXPECT_EQ(events[2].actor, "carol");
  EXPECT_EQ(events[2].timestamp_ms, 4242);
  auto all = eps_->ListEndpoints();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].name, "other");

  // A new endpoint of the same name starts at revision 1 and continues the audit trail.
  auto again = eps_->CreateEndpoint(Record("e"), SimpleRevision(1, 9), Event("create"));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->state.config_version, 1);
  EXPECT_EQ(eps_->ListRevisions("e")->size(), 1u);
  EXPECT_EQ(eps_->GetRevision("e", 1)->spec.routes[0].version, 9);
  EXPECT_EQ(Events("e").size(), 4u);
}

TEST_F(SqliteEndpointStoreTest, ListEndpointsByNameAndEventPaging) {
  Create("zeta");
  EndpointRecord a = Create("alpha");
  Create("mid");
  auto all = eps_->ListEndpoints();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "alpha");
  EXPECT_EQ((*all)[1].name, "mid");
  EXPECT_EQ((*all)[2].name, "zeta");

  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(eps_->UpdateEndpoint(a, 1 + i, std::nullopt, Event("settings", 0)).ok());
  }
  auto first = eps_->ListEvents("alpha", 0, 2);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].action, "create");
  EXPECT_LT((*first)[0].id, (*first)[1].id);
  auto rest = eps_->ListEvents("alpha", (*first)[1].id, 100);
  ASSERT_EQ(rest->size(), 3u);
  EXPECT_GT((*rest)[0].id, (*first)[1].id);
  for (const auto& e : *rest) EXPECT_EQ(e.endpoint, "alpha") << "other endpoints' events are not listed";
  EXPECT_TRUE(eps_->ListEvents("alpha", rest->back().id, 10)->empty());
}

TEST_F(SqliteEndpointStoreTest, SurvivesReopen) {
  EndpointRecord r = Create("e");
  ASSERT_TRUE(eps_->UpdateEndpoint(r, 1, SimpleRevision(2, 4), Event("update", 2)).ok());
  eps_.reset();
  store_.reset();
  ASSERT_NO_FATAL_FAILURE(Reopen());
  eps_ = std::make_unique<SqlEndpointStore>(store_->database());
  auto got = eps_->GetEndpoint("e");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->state.config_version, 2);
  EXPECT_EQ(eps_->ListRevisions("e")->size(), 2u);
  EXPECT_EQ(Events("e").size(), 2u);
}

TEST_F(SqliteEndpointStoreTest, CorruptRowIsInternalNotGarbage) {
  Create("e");
  eps_.reset();
  // Damaged behind the store's back, through the database itself (any engine).
  ASSERT_TRUE(store_->database()
                  .Write([](sql::Conn& c) -> Status {
                    KILN_RETURN_IF_ERROR(c.Exec("UPDATE endpoint_revisions SET spec_json = '{\"routes\": 5}'"));
                    return c.Exec("UPDATE endpoints SET settings_json = '{\"capture_percent\": \"lots\"}'");
                  })
                  .ok());
  eps_ = std::make_unique<SqlEndpointStore>(store_->database());
  auto rev = eps_->GetRevision("e", 1);
  EXPECT_EQ(rev.status().code(), StatusCode::kInternal);
  EXPECT_NE(rev.status().message().find("revision spec is corrupt"), std::string::npos) << rev.status().message();
  EXPECT_EQ(eps_->GetEndpoint("e").status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace kiln::storage

namespace kiln::storage {
namespace {

// v7 adds the endpoint tables to a v6 database without touching what it holds.
TEST(SqliteEndpointMigrationTest, V6DatabaseGainsEndpointTables) {
  const std::string dir = testing::MakeTempDir();
  const std::string path = dir + "/v6.db";
  {
    auto conn = sqlite::SqliteConn::Open(path, false);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    ASSERT_TRUE(sqlite::MigrateTo(**conn, 6).ok());
    ASSERT_TRUE((*conn)
                    ->Exec("INSERT INTO feature_objects VALUES ('p', 'entity', 'driver', CAST('x' AS BLOB), 1, 1);")
                    .ok());
  }
  {
    auto store = testing::OpenTestStore(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ(*SqliteSchemaVersion(path), sqlite::LatestSchemaVersion());
    SqlEndpointStore eps((*store)->database());
    EXPECT_TRUE(eps.ListEndpoints()->empty());
    ASSERT_TRUE(eps.CreateEndpoint(Record("e"), SimpleRevision(1, 3), Event("create")).ok());
    auto n = (*store)->database().Read([](sql::Conn& c) -> Status {
      KILN_ASSIGN_OR_RETURN(int64_t rows, c.QueryInt("SELECT count(*) FROM feature_objects"));
      return rows == 1 ? Status::Ok() : Internal("feature objects lost");
    });
    EXPECT_TRUE(n.ok()) << n.ToString();
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace kiln::storage
