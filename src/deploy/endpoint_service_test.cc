// EndpointService against a real registry (SQLite + local artifacts in a
// temporary directory), real XGBoost models loaded into a real repository,
// the in-memory endpoint store and a manual clock driving the controller.
#include "deploy/endpoint_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <thread>

#include "deploy/capture_store.h"
#include "deploy/endpoint_service_test_util.h"
#include "storage/sql/sql_endpoint_store.h"

namespace kiln::deploy {
namespace {

using testing::EndpointServiceFixture;

class EndpointServiceTest : public EndpointServiceFixture {};

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST_F(EndpointServiceTest, CreateResolvesLoadsStoresAndPublishes) {
  ASSERT_EQ(Register("fraud", 0.25f), 1);
  auto v = Create("fraud-ep", Spec({Route("fraud", "version", "1")}));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const auto& st = v->record.state;
  EXPECT_EQ(st.latest_revision, 1);
  EXPECT_EQ(st.latest_ready_revision, 1);
  EXPECT_EQ(st.rolled_out_revision, 1);
  EXPECT_EQ(st.previous_rolled_out_revision, 0);
  EXPECT_FALSE(st.rollout.active);
  ASSERT_EQ(v->revisions.size(), 1u);
  EXPECT_EQ(v->revisions[0].spec.routes[0].version, 1);
  EXPECT_EQ(v->revisions[0].created_by, "alice");
  EXPECT_EQ(v->revisions[0].reason, "create");
  ASSERT_EQ(v->routes.size(), 1u);
  EXPECT_TRUE(v->routes[0].ready);
  EXPECT_EQ(v->routes[0].percent, 100);

  auto live = table_.Find("fraud-ep");
  ASSERT_TRUE(live);
  ASSERT_EQ(live->routes.size(), 1u);
  EXPECT_EQ(live->routes[0].weight_bp, 10000);
  EXPECT_EQ(live->routes[0].model, "fraud");
  EXPECT_EQ(live->routes[0].version, 1);
  ASSERT_TRUE(live->routes[0].served);
  EXPECT_EQ(live->routes[0].input_columns, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(live->capture);
  EXPECT_TRUE(models_->Get("fraud/1").ok());

  auto events = Events("fraud-ep");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "create");
  EXPECT_EQ(events[0].actor, "alice");
  EXPECT_EQ(events[0].reason, "manual");

  EXPECT_EQ(Create("fraud-ep", Spec({Route("fraud", "version", "1")})).status().code(), StatusCode::kAlreadyExists);
}

TEST_F(EndpointServiceTest, InvalidSpecsAreRefusedWithClearMessages) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  auto refused = [&](const std::string& name, storage::RevisionSpec spec, const std::string& part,
                     storage::EndpointSettings settings = {}) {
    auto v = Create(name, std::move(spec), settings);
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument) << part << ": " << v.status().ToString();
    EXPECT_TRUE(Contains(v.status().message(), part)) << v.status().message();
  };
  refused("-bad", Spec({Route("m", "version", "1")}), "must match");
  refused("e", Spec({}), "at least one route");
  refused("e", Spec({Route("m", "version", "1", 0)}), "percent must be from 1 to 100");
  refused("e", Spec({Route("m", "version", "1", 60), Route("m", "version", "1", 30)}), "sum to 100");
  refused("e", Spec({Route("m", "tag", "x")}), "exactly one of");
  refused("e", Spec({Route("m", "version", "x1")}), "positive integer");
  auto with_policy = [&](const std::string& strategy, int step, int64_t interval) {
    auto s = Spec({Route("m", "version", "1")});
    s.rollout.strategy = strategy;
    s.rollout.step_percent = step;
    s.rollout.interval_s = interval;
    return s;
  };
  refused("e", with_policy("blue_green", 0, 0), "strategy");
  refused("e", with_policy("canary", 0, 0), "step_percent must be from 1 to 99");
  refused("e", with_policy("canary", 100, 0), "step_percent must be from 1 to 99");
  refused("e", with_policy("linear", 10, 0), "interval_s must be at least 1");
  auto guard = with_policy("canary", 10, 0);
  guard.rollout.rollback_on.push_back({"latency", ">", 1, 60, 1});
  refused("e", guard, "error_rate or p99_ms");
  guard.rollout.rollback_on[0] = {"p99_ms", "!=", 1, 60, 1};
  refused("e", guard, "op");
  auto mirrored = Spec({Route("m", "version", "1")});
  mirrored.mirror = storage::EndpointMirror{Route("m", "version", "1"), 0};
  refused("e", mirrored, "mirror.percent");
  storage::EndpointSettings capture;
  capture.capture_percent = 101;
  refused("e", Spec({Route("m", "version", "1")}), "capture.percent", capture);

  // Registry answers pass through: unknown model, version, alias; no version in the stage.
  EXPECT_EQ(Create("e", Spec({Route("nope", "version", "1")})).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Create("e", Spec({Route("m", "version", "7")})).status().code(), StatusCode::kNotFound);
  // (MLflow's registry answers an unknown alias with INVALID_PARAMETER_VALUE.)
  EXPECT_EQ(Create("e", Spec({Route("m", "alias", "champion")})).status().code(), StatusCode::kInvalidArgument);
  auto stage = Create("e", Spec({Route("m", "stage", "production")}));
  EXPECT_EQ(stage.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(stage.status().message(), "no version in stage 'Production'")) << stage.status().message();
  EXPECT_EQ(Create("e", Spec({Route("m", "stage", "prod")})).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(table_.Find("e"));
  EXPECT_TRUE(store_.ListEndpoints()->empty());
}

TEST_F(EndpointServiceTest, FeatureBindingNeedsAFeatureRegistry) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  auto spec = Spec({Route("m", "version", "1")});
  spec.features = storage::FeatureBinding{};
  auto both = Create("e", spec);
  EXPECT_EQ(both.status().code(), StatusCode::kInvalidArgument);  // neither a service nor features
  spec.features->feature_service = "svc";
  auto v = Create("e", spec);
  EXPECT_EQ(v.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(v.status().message(), "no feature registry")) << v.status().message();
  EXPECT_FALSE(models_->Get("m/1").ok());  // refused before anything loaded
}

// A version whose files do not load is refused before anything is stored or
// published: traffic never meets a model that is not ready.
TEST_F(EndpointServiceTest, AModelThatFailsToLoadChangesNothing) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  ASSERT_EQ(Register("m", 2.0f, testing::kXgbMlModel, nullptr, "{\"not\": \"a model\"}"), 2);
  ASSERT_TRUE(Create("e", Spec({Route("m", "version", "1")})).ok());
  const int updates = store_.updates();
  auto before = table_.Find("e");
  auto v = svc_->UpdateEndpoint("bob", "e", Spec({Route("m", "version", "2")}));
  ASSERT_FALSE(v.ok());
  EXPECT_TRUE(Contains(v.status().message(), "failed to load")) << v.status().message();
  EXPECT_EQ(store_.updates(), updates);
  EXPECT_EQ(table_.Find("e"), before);
  EXPECT_EQ(svc_->GetEndpoint("e")->record.state.latest_revision, 1);
  EXPECT_EQ(Create("f", Spec({Route("m", "version", "2")})).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(table_.Find("f"));
}

TEST_F(EndpointServiceTest, UnservableVersionIsRefusedWithThePackageReason) {
  ASSERT_EQ(Register("sk", 1.0f, "flavors:\n  sklearn:\n    pickled_model: model.pkl\n"), 1);
  auto v = Create("e", Spec({Route("sk", "version", "1")}));
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(v.status().message(), "cannot be served")) << v.status().message();
  EXPECT_TRUE(Contains(v.status().message(), "pickle")) << v.status().message();
}

TEST_F(EndpointServiceTest, AliasAndStageRoutesResolveAtCreation) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  ASSERT_EQ(Register("m", 2.0f), 2);
  ASSERT_TRUE(registry_->SetAlias("alice", "m", "champion", "2").ok());
  ASSERT_TRUE(registry_->TransitionStage("alice", "m", "1", "Production", false).ok());
  auto v = Create("e", Spec({Route("m", "alias", "@champion", 50), Route("m", "stage", "PRODUCTION", 50)}));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const auto& routes = v->revisions[0].spec.routes;
  EXPECT_EQ(routes[0].ref, "champion");
  EXPECT_EQ(routes[0].version, 2);
  EXPECT_EQ(routes[1].ref, "Production");
  EXPECT_EQ(routes[1].version, 1);
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{1, 10000}}));
  auto live = table_.Find("e");
  ASSERT_EQ(live->routes.size(), 2u);
  EXPECT_EQ(live->routes[0].weight_bp, 5000);
  EXPECT_EQ(live->routes[1].version, 1);
}

TEST_F(EndpointServiceTest, CanaryStepsBakesAndRollsOut) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  ASSERT_EQ(Register("m", 2.0f), 2);
  ASSERT_TRUE(Create("e", Spec({Route("m", "version", "1")})).ok());
  auto spec = Spec({Route("m", "version", "2")});
  spec.rollout.strategy = "canary";
  spec.rollout.step_percent = 10;
  spec.rollout.bake_s = 60;
  auto v = svc_->UpdateEndpoint("bob", "e", spec);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->record.state.rollout.active);
  EXPECT_EQ(v->record.state.rollout.phase, "baking");
  EXPECT_EQ(v->record.state.rolled_out_revision, 1);
  EXPECT_EQ(v->record.state.latest_revision, 2);
  EXPECT_EQ(v->revisions.back().reason, "update");
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{1, 9000}, {2, 1000}}));
  ASSERT_EQ(v->routes.size(), 2u);
  EXPECT_EQ(v->routes[0].percent, 90);
  EXPECT_EQ(v->routes[1].percent, 10);

  // One change at a time.
  auto busy = svc_->UpdateEndpoint("bob", "e", Spec({Route("m", "version", "1")}));
  EXPECT_EQ(busy.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(busy.status().message(), "endpoint 'e' has a rollout in progress")) << busy.status().message();
  auto deploy_busy = svc_->DeployModel("bob", "m", "1", "staging");
  EXPECT_TRUE(deploy_busy.ok()) << "another endpoint is not busy: " << deploy_busy.status().ToString();

  svc_->Tick();
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{1, 9000}, {2, 1000}}));
  clock_.Advance(59'000);
  svc_->Tick();
  EXPECT_TRUE(svc_->GetEndpoint("e")->record.state.rollout.active);
  clock_.Advance(1'000);
  svc_->Tick();
  auto done = svc_->GetEndpoint("e");
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(done->record.state.rollout.active);
  EXPECT_EQ(done->record.state.rolled_out_revision, 2);
  EXPECT_EQ(done->record.state.previous_rolled_out_revision, 1);
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{2, 10000}}));
  // The previous revision stays loaded: a rollback is no cold start.
  EXPECT_TRUE(models_->Get("m/1").ok());

  auto events = Events("e");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].action, "update");
  EXPECT_EQ(events[1].actor, "bob");
  EXPECT_EQ(events[1].reason, "manual");
  EXPECT_TRUE(Contains(events[1].detail_json, "\"canary\"")) << events[1].detail_json;
  EXPECT_EQ(events[2].action, "rolled_out");
  EXPECT_EQ(events[2].actor, "kiln");
  EXPECT_EQ(events[2].reason, "rollout");
  EXPECT_EQ(events[2].revision, 2);
}

TEST_F(EndpointServiceTest, LinearStepsEveryIntervalThenBakes) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  ASSERT_EQ(Register("m", 2.0f), 2);
  ASSERT_TRUE(Create("e", Spec({Route("m", "version", "1")})).ok());
  auto spec = Spec({Route("m", "version", "2")});
  spec.rollout.strategy = "linear";
  spec.rollout.step_percent = 40;
  spec.rollout.interval_s = 10;
  spec.rollout.bake_s = 30;
  ASSERT_TRUE(svc_->UpdateEndpoint("bob", "e", spec).ok());
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{1, 6000}, {2, 4000}}));
  clock_.Advance(10'000);
  svc_->Tick();
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{1, 2000}, {2, 8000}}));
  clock_.Advance(10'000);
  svc_->Tick();
  // 100 %, but baking: still a rollout, still watched, the old revision kept.
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{2, 10000}}));
  auto baking = svc_->GetEndpoint("e");
  EXPECT_TRUE(baking->record.state.rollout.active);
  EXPECT_EQ(baking->record.state.rollout.phase, "baking");
  EXPECT_EQ(baking->record.state.rollout.percent, 100);
  EXPECT_TRUE(models_->Get("m/1").ok());
  clock_.Advance(30'000);
  svc_->Tick();
  auto done = svc_->GetEndpoint("e");
  EXPECT_FALSE(done->record.state.rollout.active);
  EXPECT_EQ(done->record.state.rolled_out_revision, 2);
  std::vector<std::string> actions;
  for (const auto& e : Events("e")) actions.push_back(e.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"create", "update", "rollout_step", "rollout_step", "rolled_out"}));
}

TEST_F(EndpointServiceTest, ErrorRateGuardrailRollsBackAutomatically) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  ASSERT_EQ(Register("m", 2.0f), 2);
  ASSERT_TRUE(Create("e", Spec({Route("m", "version", "1")})).ok());
  auto spec = Spec({Route("m", "version", "2")});
  spec.rollout.strategy = "canary";
  spec.rollout.step_percent = 50;
  spec.rollout.bake_s = 600;
  spec.rollout.rollback_on.push_back({"error_rate", ">", 0.2, 60, 5});
  ASSERT_TRUE(svc_->UpdateEndpoint("bob", "e", spec).ok());
  auto live = table_.Find("e");
  std::shared_ptr<RouteStats> canary, stable;
  for (const auto& r : live->routes) (r.revision == 2 ? canary : stable) = r.stats;
  ASSERT_TRUE(canary && stable);
  // The old revision's errors are not the canary's.
  for (int i = 0; i < 10; ++i) stable->Record(true, 0.001);
  // Below min_requests the guardrail cannot trip.
  for (int i = 0; i < 4; ++i) canary->Record(true, 0.001);
  svc_->Tick();
  EXPECT_TRUE(svc_->GetEndpoint("e")->record.state.rollout.active);
  canary->Record(true, 0.001);
  svc_->Tick();
  auto v = svc_->GetEndpoint("e");
  EXPECT_FALSE(v->record.state.rollout.active);
  EXPECT_EQ(v->record.state.rolled_out_revision, 1);
  EXPECT_EQ(v->record.state.latest_revision, 2);
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{1, 10000}}));
  auto events = Events("e");
  ASSERT_FALSE(events.empty());
  const auto& rb = events.back();
  EXPECT_EQ(rb.action, "rollback");
  EXPECT_EQ(rb.actor, "kiln");
  EXPECT_EQ(rb.reason, "guardrail");
  EXPECT_EQ(rb.revision, 1);
  auto detail = nlohmann::json::parse(rb.detail_json);
  EXPECT_EQ(detail["guardrail"]["metric"], "error_rate");
  EXPECT_EQ(detail["reading"]["requests"], 5);
  EXPECT_DOUBLE_EQ(detail["reading"]["error_rate"].get<double>(), 1.0);
  EXPECT_EQ(detail["abandoned_revision"], 2);
  // The abandoned revision is no longer kept loaded.
  EXPECT_FALSE(models_->Get("m/2").ok());
}

TEST_F(EndpointServiceTest, LatencyGuardrailWatchesTheBakeAtFullTraffic) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  ASSERT_EQ(Register("m", 2.0f), 2);
  ASSERT_TRUE(Create("e", Spec({Route("m", "version", "1")})).ok());
  auto spec = Spec({Route("m", "version", "2")});
  spec.rollout.strategy = "linear";
  spec.rollout.step_percent = 60;
  spec.rollout.interval_s = 1;
  spec.rollout.bake_s = 300;
  spec.rollout.rollback_on.push_back({"p99_ms", ">", 0.001, 60, 1});
  ASSERT_TRUE(svc_->UpdateEndpoint("bob", "e", spec).ok());
  clock_.Advance(1'000);
  svc_->Tick();
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{2, 10000}}));
  auto live = table_.Find("e");
  ASSERT_EQ(live->routes.size(), 1u);
  live->routes[0].stats->Record(false, 0.002);
  svc_->Tick();
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{1, 10000}}));
  auto events = Events("e");
  EXPECT_EQ(events.back().reason, "guardrail");
  EXPECT_GT(nlohmann::json::parse(events.back().detail_json)["reading"]["p99_ms"].get<double>(), 0.001);
}

TEST_F(EndpointServiceTest, RollbackAndPromote) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  ASSERT_EQ(Register("m", 2.0f), 2);
  ASSERT_TRUE(Create("e", Spec({Route("m", "version", "1")})).ok());
  auto none = svc_->Rollback("bob", "e");
  EXPECT_EQ(none.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(svc_->Promote("bob", "e").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(svc_->Rollback("bob", "nope").status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(svc_->UpdateEndpoint("bob", "e", Spec({Route("m", "version", "2")})).ok());
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{2, 10000}}));
  // Retried over a concurrent writer's version bumps.
  store_.AbortNextUpdates(2);
  auto back = svc_->Rollback("bob", "e", "manual");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->record.state.rolled_out_revision, 1);
  EXPECT_EQ(back->record.state.previous_rolled_out_revision, 2);
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{1, 10000}}));
  EXPECT_TRUE(models_->Get("m/2").ok());
  auto again = svc_->Rollback("bob", "e");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{2, 10000}}));

  auto canary = Spec({Route("m", "version", "1")});
  canary.rollout.strategy = "canary";
  canary.rollout.step_percent = 25;
  canary.rollout.bake_s = 3600;
  ASSERT_TRUE(svc_->UpdateEndpoint("bob", "e", canary).ok());
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{2, 7500}, {3, 2500}}));
  auto promoted = svc_->Promote("carol", "e");
  ASSERT_TRUE(promoted.ok()) << promoted.status().ToString();
  EXPECT_FALSE(promoted->record.state.rollout.active);
  EXPECT_EQ(promoted->record.state.rolled_out_revision, 3);
  EXPECT_EQ(promoted->record.state.previous_rolled_out_revision, 2);
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{3, 10000}}));
  auto events = Events("e");
  EXPECT_EQ(events.back().action, "promote");
  EXPECT_EQ(events.back().actor, "carol");

  // A rollback during a rollout returns to where it started.
  ASSERT_TRUE(svc_->UpdateEndpoint("bob", "e", [&] {
                     auto s = Spec({Route("m", "version", "2")});
                     s.rollout = canary.rollout;
                     return s;
                   }())
                  .ok());
  auto abandoned = svc_->Rollback("bob", "e");
  ASSERT_TRUE(abandoned.ok());
  EXPECT_EQ(abandoned->record.state.rolled_out_revision, 3);
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{3, 10000}}));
}

TEST_F(EndpointServiceTest, ModelsNothingKeepsAreUnloadedAndDeleteKeepsTheAuditTrail) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  ASSERT_EQ(Register("m", 2.0f), 2);
  ASSERT_EQ(Register("m", 3.0f), 3);
  ASSERT_TRUE(Create("e", Spec({Route("m", "version", "1")})).ok());
  ASSERT_TRUE(Create("f", Spec({Route("m", "version", "1")})).ok());
  ASSERT_TRUE(svc_->UpdateEndpoint("bob", "e", Spec({Route("m", "version", "2")})).ok());
  ASSERT_TRUE(svc_->UpdateEndpoint("bob", "e", Spec({Route("m", "version", "3")})).ok());
  // e keeps 3 (rolled out) and 2 (previous); f keeps 1.
  EXPECT_TRUE(models_->Get("m/1").ok());
  EXPECT_TRUE(models_->Get("m/2").ok());
  ASSERT_TRUE(svc_->DeleteEndpoint("bob", "f").ok());
  EXPECT_FALSE(models_->Get("m/1").ok());
  EXPECT_TRUE(models_->Get("m/3").ok());

  auto held = table_.Find("e");  // a call in flight
  ASSERT_TRUE(svc_->DeleteEndpoint("bob", "e").ok());
  EXPECT_FALSE(table_.Find("e"));
  EXPECT_FALSE(models_->Get("m/3").ok());
  EXPECT_TRUE(held->routes[0].served->batcher);  // still usable by whoever holds it
  EXPECT_EQ(svc_->GetEndpoint("e").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(svc_->DeleteEndpoint("bob", "e").code(), StatusCode::kNotFound);
  EXPECT_FALSE(svc_->Capture("e"));
  auto events = Events("e");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events.back().action, "delete");
  EXPECT_EQ(events.back().actor, "bob");
}

TEST_F(EndpointServiceTest, BatchingOverrideServesItsOwnBatcher) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  ASSERT_TRUE(Create("plain", Spec({Route("m", "version", "1")})).ok());
  auto spec = Spec({Route("m", "version", "1")});
  spec.batching.max_batch_rows = 8;
  spec.batching.max_queue = 17;
  ASSERT_TRUE(Create("batched", spec).ok());
  auto plain = table_.Find("plain"), batched = table_.Find("batched");
  EXPECT_NE(plain->routes[0].served, batched->routes[0].served);
  EXPECT_EQ(batched->routes[0].served->batcher->options().max_batch_rows, 8);
  EXPECT_EQ(batched->routes[0].served->batcher->options().max_queue, 17u);
  EXPECT_EQ(plain->routes[0].served->batcher->options().max_batch_rows,
            models_->default_batching().max_batch_rows);
  EXPECT_EQ(batched->routes[0].served->name.rfind("m/1#b", 0), 0u) << batched->routes[0].served->name;
}

TEST_F(EndpointServiceTest, FollowedAliasMoveCreatesARevision) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  ASSERT_EQ(Register("m", 2.0f), 2);
  ASSERT_TRUE(registry_->SetAlias("alice", "m", "champion", "1").ok());
  storage::EndpointSettings follow;
  follow.follow_aliases = true;
  ASSERT_TRUE(Create("follows", Spec({Route("m", "alias", "champion")}), follow).ok());
  ASSERT_TRUE(Create("pinned", Spec({Route("m", "alias", "champion")})).ok());
  ASSERT_TRUE(registry_->SetAlias("alice", "m", "champion", "2").ok());
  svc_->Tick();
  auto v = svc_->GetEndpoint("follows");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->record.state.latest_revision, 2);
  EXPECT_EQ(v->revisions.back().reason, "alias_move");
  EXPECT_EQ(v->revisions.back().spec.routes[0].version, 2);
  EXPECT_EQ(v->revisions.back().spec.routes[0].ref_kind, "alias");
  EXPECT_EQ(Weights("follows"), (std::map<int64_t, int>{{2, 10000}}));
  auto events = Events("follows");
  EXPECT_EQ(events.back().actor, "kiln");
  EXPECT_EQ(events.back().reason, "alias_move");
  EXPECT_EQ(svc_->GetEndpoint("pinned")->record.state.latest_revision, 1);
  // Setting the alias to where it already points changes nothing.
  ASSERT_TRUE(registry_->SetAlias("alice", "m", "champion", "2").ok());
  svc_->Tick();
  EXPECT_EQ(svc_->GetEndpoint("follows")->record.state.latest_revision, 2);
}

TEST_F(EndpointServiceTest, AliasMoveDuringARolloutWaitsForIt) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  ASSERT_EQ(Register("m", 2.0f), 2);
  ASSERT_EQ(Register("m", 3.0f), 3);
  ASSERT_TRUE(registry_->SetAlias("alice", "m", "champion", "1").ok());
  storage::EndpointSettings follow;
  follow.follow_aliases = true;
  auto spec = Spec({Route("m", "alias", "champion")});
  spec.rollout.strategy = "canary";
  spec.rollout.step_percent = 10;
  spec.rollout.bake_s = 10;
  ASSERT_TRUE(Create("e", spec, follow).ok());
  ASSERT_TRUE(registry_->SetAlias("alice", "m", "champion", "2").ok());
  svc_->Tick();
  EXPECT_TRUE(svc_->GetEndpoint("e")->record.state.rollout.active);  // the move rolls out by canary
  ASSERT_TRUE(registry_->SetAlias("alice", "m", "champion", "3").ok());
  svc_->Tick();
  EXPECT_EQ(svc_->GetEndpoint("e")->record.state.latest_revision, 2);  // one change at a time
  clock_.Advance(10'000);
  svc_->Tick();  // rolls out 2, then the queued move creates 3
  svc_->Tick();
  auto v = svc_->GetEndpoint("e");
  EXPECT_EQ(v->record.state.latest_revision, 3);
  EXPECT_EQ(v->revisions.back().spec.routes[0].version, 3);
}

TEST_F(EndpointServiceTest, DeployAndRollbackModelByStage) {
  ASSERT_EQ(Register("fraud", 1.0f), 1);
  ASSERT_EQ(Register("fraud", 2.0f), 2);
  auto first = svc_->DeployModel("alice", "fraud", "1", "production");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->endpoint, "fraud-production");
  EXPECT_EQ(first->revision, 1);
  EXPECT_EQ(first->version, 1);
  EXPECT_EQ(first->stage, "Production");
  EXPECT_TRUE(first->created);
  EXPECT_EQ(registry_->GetModelVersion("fraud", "1")->current_stage, "Production");

  auto second = svc_->DeployModel("alice", "fraud", "2", "Production");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->revision, 2);
  EXPECT_FALSE(second->created);
  EXPECT_EQ(registry_->GetModelVersion("fraud", "2")->current_stage, "Production");
  EXPECT_EQ(registry_->GetModelVersion("fraud", "1")->current_stage, "Archived");
  EXPECT_EQ(Weights("fraud-production"), (std::map<int64_t, int>{{2, 10000}}));
  auto events = Events("fraud-production");
  EXPECT_EQ(events.back().reason, "deploy");
  EXPECT_EQ(svc_->GetEndpoint("fraud-production")->revisions.back().reason, "deploy");

  auto back = svc_->RollbackModel("alice", "fraud", "PRODUCTION");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->revision, 1);
  EXPECT_EQ(back->version, 1);
  EXPECT_EQ(Weights("fraud-production"), (std::map<int64_t, int>{{1, 10000}}));
  EXPECT_EQ(registry_->GetModelVersion("fraud", "1")->current_stage, "Production");
  EXPECT_EQ(registry_->GetModelVersion("fraud", "2")->current_stage, "Archived");

  EXPECT_EQ(svc_->DeployModel("alice", "fraud", "1", "qa").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(svc_->DeployModel("alice", "fraud", "9", "staging").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(svc_->DeployModel("alice", "ghost", "1", "staging").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(svc_->RollbackModel("alice", "fraud", "staging").status().code(), StatusCode::kNotFound);
  ASSERT_EQ(Register("sk", 1.0f, "flavors:\n  sklearn:\n    pickled_model: model.pkl\n"), 1);
  auto unservable = svc_->DeployModel("alice", "sk", "1", "staging");
  EXPECT_EQ(unservable.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(unservable.status().message(), "pickle")) << unservable.status().message();
  // Refused before the registry moved anything.
  EXPECT_EQ(registry_->GetModelVersion("sk", "1")->current_stage, "None");
}

TEST_F(EndpointServiceTest, StartLoadsWhatStoredEndpointsServe) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  ASSERT_EQ(Register("m", 2.0f), 2);
  ASSERT_TRUE(Create("e", Spec({Route("m", "version", "1")})).ok());
  ASSERT_TRUE(svc_->UpdateEndpoint("bob", "e", Spec({Route("m", "version", "2")})).ok());
  svc_.reset();
  // A restarted server: fresh repository and route table, same store.
  auto models = NewRepository();
  RouteTable table;
  auto svc = NewService(*models, table);
  ASSERT_TRUE(svc->Start().ok());
  auto live = table.Find("e");
  ASSERT_TRUE(live);
  ASSERT_EQ(live->routes.size(), 1u);
  EXPECT_EQ(live->routes[0].version, 2);
  EXPECT_TRUE(models->Get("m/1").ok());  // the previous revision, for :rollback
  auto back = svc->Rollback("bob", "e");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(table.Find("e")->routes[0].version, 1);
  svc->Stop();
}

TEST_F(EndpointServiceTest, DriftBaselineFromAFileOrTheRunAndErrorsNeverFailTheEndpoint) {
  const std::string csv = dir_ + "/train.csv";
  {
    std::ofstream out(csv);
    out << "a,b,label\n";
    for (int i = 0; i < 100; ++i) out << (i % 10) << "," << (i % 7) << "," << (i % 2) << "\n";
  }
  std::string run_id;
  ASSERT_EQ(Register("m", 1.0f, testing::kXgbMlModel, &run_id), 1);
  storage::DatasetInput input;
  input.dataset.name = "train";
  input.dataset.digest = "d1";
  input.dataset.source_type = "local";
  input.dataset.source = "{\"uri\": \"" + csv + "\"}";
  ASSERT_TRUE(tracking_->LogInputs(run_id, {input}, {}).ok());

  storage::EndpointSettings file;
  file.drift_baseline = csv;
  auto v = Create("file", Spec({Route("m", "version", "1")}), file);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->drift_error, "");
  ASSERT_EQ(v->drift.size(), 2u);  // the signature's columns, not the label
  EXPECT_EQ(v->drift[0].feature, "a");
  EXPECT_TRUE(table_.Find("file")->drift);

  storage::EndpointSettings run;
  run.drift_baseline = "run";
  auto r = Create("run", Spec({Route("m", "version", "1")}), run);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->drift_error, "");
  EXPECT_EQ(r->drift.size(), 2u);

  storage::EndpointSettings bad;
  bad.drift_baseline = dir_ + "/missing.parquet";
  auto b = Create("bad", Spec({Route("m", "version", "1")}), bad);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE(b->drift.empty());
  EXPECT_FALSE(b->drift_error.empty());
  EXPECT_FALSE(table_.Find("bad")->drift);
  EXPECT_EQ(table_.Find("bad")->routes.size(), 1u);

  // Settings change without a new revision; the monitor follows.
  auto changed = svc_->UpdateSettings("bob", "bad", file);
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(changed->record.state.latest_revision, 1);
  EXPECT_EQ(changed->drift_error, "");
  EXPECT_EQ(changed->drift.size(), 2u);
  EXPECT_EQ(Events("bad").back().action, "settings");
}

TEST_F(EndpointServiceTest, CaptureStorePerEndpointAndCapturePercentInTheSnapshot) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  storage::EndpointSettings s;
  s.capture_percent = 25;
  ASSERT_TRUE(Create("e", Spec({Route("m", "version", "1")}), s).ok());
  auto capture = svc_->Capture("e");
  ASSERT_TRUE(capture);
  EXPECT_EQ(table_.Find("e")->capture, capture);
  EXPECT_DOUBLE_EQ(table_.Find("e")->capture_percent, 25);
  EXPECT_FALSE(svc_->Capture("nope"));
}

TEST_F(EndpointServiceTest, MetricsExportTrafficRequestsAndRollouts) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  ASSERT_EQ(Register("m", 2.0f), 2);
  ASSERT_TRUE(Create("e", Spec({Route("m", "version", "1")})).ok());
  auto spec = Spec({Route("m", "version", "2")});
  spec.rollout.strategy = "canary";
  spec.rollout.step_percent = 20;
  spec.rollout.bake_s = 60;
  ASSERT_TRUE(svc_->UpdateEndpoint("bob", "e", spec).ok());
  auto live = table_.Find("e");
  for (const auto& r : live->routes) {
    if (r.revision == 2) {
      r.stats->Record(false, 0.001);
      r.stats->Record(true, 0.001);
    }
  }
  std::string text = metrics_.Render();
  EXPECT_TRUE(Contains(text, "kiln_endpoint_traffic_percent{endpoint=\"e\",revision=\"2\",model=\"m\",version=\"2\"} 20"))
      << text;
  EXPECT_TRUE(Contains(text, "kiln_endpoint_traffic_percent{endpoint=\"e\",revision=\"1\",model=\"m\",version=\"1\"} 80"));
  EXPECT_TRUE(Contains(text, "kiln_endpoint_requests_total{endpoint=\"e\",revision=\"2\",model=\"m\",version=\"2\"} 2"));
  EXPECT_TRUE(Contains(text, "kiln_endpoint_errors_total{endpoint=\"e\",revision=\"2\",model=\"m\",version=\"2\"} 1"));
  EXPECT_TRUE(Contains(text, "kiln_endpoint_rollout_active{endpoint=\"e\"} 1"));
  ASSERT_TRUE(svc_->Promote("bob", "e").ok());
  text = metrics_.Render();
  EXPECT_TRUE(Contains(text, "kiln_endpoint_rollout_active{endpoint=\"e\"} 0"));
  EXPECT_TRUE(Contains(text, "kiln_endpoint_traffic_percent{endpoint=\"e\",revision=\"1\",model=\"m\",version=\"1\"} 0"));
  // Counters do not count twice.
  EXPECT_TRUE(Contains(text, "kiln_endpoint_requests_total{endpoint=\"e\",revision=\"2\",model=\"m\",version=\"2\"} 2"));
}

// Over the real SQLite endpoint store: a rollback stores one change and swaps
// the snapshot to models that are already loaded (the same ServedModel
// objects), so it is no cold start. The time it takes is recorded as a test
// property (kiln_deploy_test --gtest_output=xml), not asserted.
TEST_F(EndpointServiceTest, RollbackOverSqliteReusesLoadedModels) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  ASSERT_EQ(Register("m", 2.0f), 2);
  storage::SqlEndpointStore sqlite_store(tracking_store_->database());
  auto models = NewRepository();
  RouteTable table;
  EndpointServiceOptions opts;
  opts.tick_ms = 3'600'000;
  auto svc = EndpointService::Create(sqlite_store, *registry_, events_, *tracking_, *models, table, nullptr, metrics_,
                                     clock_, opts);
  ASSERT_TRUE(svc.ok());
  EndpointCreate req;
  req.name = "e";
  req.spec = Spec({Route("m", "version", "1")});
  ASSERT_TRUE((*svc)->CreateEndpoint("alice", req).ok());
  ASSERT_TRUE((*svc)->UpdateEndpoint("alice", "e", Spec({Route("m", "version", "2")})).ok());
  const auto v1 = models->Get("m/1"), v2 = models->Get("m/2");
  ASSERT_TRUE(v1.ok() && v2.ok());
  std::vector<double> ms;
  for (int i = 0; i < 40; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto back = (*svc)->Rollback("alice", "e");
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    const auto& served = table.Find("e")->routes.at(0).served;
    EXPECT_EQ(served, i % 2 == 0 ? *v1 : *v2);
  }
  std::sort(ms.begin(), ms.end());
  RecordProperty("rollback_median_ms", std::to_string(ms[ms.size() / 2]));
  RecordProperty("rollback_max_ms", std::to_string(ms.back()));
  std::printf("rollback over SQLite: median %.3f ms, max %.3f ms (40 rollbacks)\n", ms[ms.size() / 2], ms.back());
  auto events = (*svc)->ListEvents("e", 0, 1000);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 42u);
}

TEST_F(EndpointServiceTest, RunBaselineFollowsTheServedVersionAndComesBackOnRollback) {
  const std::string csv1 = dir_ + "/train1.csv", csv2 = dir_ + "/train2.csv";
  for (const auto& [path, scale] : {std::pair{csv1, 1}, std::pair{csv2, 100}}) {
    std::ofstream out(path);
    out << "a,b\n";
    for (int i = 0; i < 50; ++i) out << (i % 10) * scale << "," << i << "\n";
  }
  std::string run1, run2;
  ASSERT_EQ(Register("m", 1.0f, testing::kXgbMlModel, &run1), 1);
  ASSERT_EQ(Register("m", 2.0f, testing::kXgbMlModel, &run2), 2);
  for (const auto& [run, path] : {std::pair{run1, csv1}, std::pair{run2, csv2}}) {
    storage::DatasetInput in;
    in.dataset.name = "train";
    in.dataset.digest = path;
    in.dataset.source_type = "local";
    in.dataset.source = "{\"uri\": \"file://" + path + "\"}";
    ASSERT_TRUE(tracking_->LogInputs(run, {in}, {}).ok());
  }
  storage::EndpointSettings settings;
  settings.drift_baseline = "run";
  ASSERT_TRUE(Create("e", Spec({Route("m", "version", "1")}), settings).ok());
  auto first = table_.Find("e")->drift;
  ASSERT_TRUE(first);
  ASSERT_TRUE(svc_->UpdateEndpoint("bob", "e", Spec({Route("m", "version", "2")})).ok());
  auto second = table_.Find("e")->drift;
  ASSERT_TRUE(second);
  EXPECT_NE(first, second);
  ASSERT_TRUE(svc_->Rollback("bob", "e").ok());
  EXPECT_EQ(table_.Find("e")->drift, first);  // the same monitor, not re-read
}

// The controller thread does on its own what Tick() does: it finishes a
// rollout whose bake is over and follows an alias as soon as it moves.
TEST_F(EndpointServiceTest, ControllerThreadAdvancesRolloutsAndFollowsAliases) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  ASSERT_EQ(Register("m", 2.0f), 2);
  ASSERT_TRUE(registry_->SetAlias("alice", "m", "champion", "1").ok());
  svc_.reset();
  EndpointServiceOptions opts;
  opts.tick_ms = 5;
  auto svc = EndpointService::Create(store_, *registry_, events_, *tracking_, *models_, table_, nullptr, metrics_,
                                     clock_, opts);
  ASSERT_TRUE(svc.ok());
  ASSERT_TRUE((*svc)->Start().ok());
  EndpointCreate req;
  req.name = "e";
  req.spec = Spec({Route("m", "alias", "champion")});
  req.spec.rollout.strategy = "canary";
  req.spec.rollout.step_percent = 50;
  req.spec.rollout.bake_s = 0;
  req.settings.follow_aliases = true;
  ASSERT_TRUE((*svc)->CreateEndpoint("alice", req).ok());
  ASSERT_TRUE(registry_->SetAlias("alice", "m", "champion", "2").ok());
  auto rolled_out = [&] {
    auto v = (*svc)->GetEndpoint("e");
    return v.ok() && v->record.state.rolled_out_revision == 2 && !v->record.state.rollout.active;
  };
  for (int i = 0; i < 2000 && !rolled_out(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(rolled_out());
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{2, 10000}}));
  std::vector<std::string> actions;
  auto events = (*svc)->ListEvents("e", 0, 100);
  for (const auto& e : *events) actions.push_back(e.action + "/" + e.reason);
  EXPECT_EQ(actions, (std::vector<std::string>{"create/manual", "update/alias_move", "rolled_out/rollout"}));
  (*svc)->Stop();
}

// Predictions submitted continuously from several threads through whatever
// snapshot is published while the endpoint rolls out, is promoted, rolled
// back, follows an alias and is updated: none fails.
TEST_F(EndpointServiceTest, NoPredictionFailsThroughChanges) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  ASSERT_EQ(Register("m", 2.0f), 2);
  ASSERT_EQ(Register("m", 3.0f), 3);
  ASSERT_TRUE(registry_->SetAlias("alice", "m", "champion", "1").ok());
  storage::EndpointSettings follow;
  follow.follow_aliases = true;
  ASSERT_TRUE(Create("e", Spec({Route("m", "alias", "champion")}), follow).ok());

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&] {
      while (!stop.load()) {
        auto live = table_.Find("e");
        if (!live || live->routes.empty()) {
          failed++;
          continue;
        }
        const LiveRoute& route = live->Pick(RandomKey());
        serving::Tensor in;
        in.name = "input-0";
        in.dtype = serving::DataType::kFp32;
        in.shape = {1, 2};
        serving::AppendValue(in.data, 0.0f);
        serving::AppendValue(in.data, 1.0f);
        std::promise<bool> done;
        auto fut = done.get_future();
        Status s = route.served->batcher->Submit(
            {in}, [&done](StatusOr<std::vector<serving::Tensor>> out, const serving::BatchTiming&) {
              done.set_value(out.ok());
            });
        if (!s.ok() || !fut.get()) {
          failed++;
        } else {
          ok++;
        }
        route.stats->Record(false, 0.0001);
      }
    });
  }
  auto wait_for_calls = [&] {
    const int target = ok.load() + 50;
    while (ok.load() < target && failed.load() == 0) std::this_thread::yield();
  };
  auto canary = Spec({Route("m", "version", "2")});
  canary.rollout.strategy = "linear";
  canary.rollout.step_percent = 30;
  canary.rollout.interval_s = 1;
  for (int round = 0; round < 3; ++round) {
    wait_for_calls();
    ASSERT_TRUE(svc_->UpdateEndpoint("bob", "e", canary).ok());
    for (int step = 0; step < 4; ++step) {
      wait_for_calls();
      clock_.Advance(1'000);
      svc_->Tick();
    }
    wait_for_calls();
    ASSERT_TRUE(svc_->Rollback("bob", "e").ok());
    wait_for_calls();
    canary.routes[0].ref = round % 2 ? "2" : "3";
    auto c = canary;
    c.rollout.interval_s = 3600;
    ASSERT_TRUE(svc_->UpdateEndpoint("bob", "e", c).ok());
    wait_for_calls();
    ASSERT_TRUE(svc_->Promote("bob", "e").ok());
    wait_for_calls();
    ASSERT_TRUE(registry_->SetAlias("alice", "m", "champion", std::to_string(1 + round % 3)).ok());
    svc_->Tick();
    wait_for_calls();
    ASSERT_TRUE(svc_->UpdateEndpoint("bob", "e", Spec({Route("m", "alias", "champion")})).ok());
  }
  wait_for_calls();
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 0);
}

}  // namespace
}  // namespace kiln::deploy
