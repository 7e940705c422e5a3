// Two EndpointService instances over one endpoint store: what two replicas
// of `kiln serve` on one database do. Replica B learns of A's changes only
// through OnStoreChanged (the change feed calls it in `kiln serve`).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "deploy/announced_endpoint_store.h"
#include "deploy/endpoint_service.h"
#include "deploy/endpoint_service_test_util.h"

namespace kiln::deploy {
namespace {

using testing::EndpointServiceFixture;

class EndpointResyncTest : public EndpointServiceFixture {
 protected:
  void SetUp() override {
    EndpointServiceFixture::SetUp();
    models_b_ = NewRepository();
    svc_b_ = NewService(*models_b_, table_b_);
    ASSERT_NE(svc_b_, nullptr);
  }
  void TearDown() override {
    svc_b_.reset();
    models_b_.reset();
    EndpointServiceFixture::TearDown();
  }
  std::map<std::pair<int64_t, int64_t>, int> BWeights(const std::string& name) {
    std::map<std::pair<int64_t, int64_t>, int> out;  // (revision, version) -> basis points
    auto live = table_b_.Find(name);
    if (!live) return out;
    for (const auto& r : live->routes) out[{r.revision, r.version}] += r.weight_bp;
    return out;
  }

  RouteTable table_b_;
  std::unique_ptr<serving::ModelRepository> models_b_;
  std::unique_ptr<EndpointService> svc_b_;
};

TEST_F(EndpointResyncTest, AnotherReplicaServesWhatIsStoredOnceTold) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  ASSERT_EQ(Register("m", 2.0f), 2);
  ASSERT_TRUE(Create("e", Spec({Route("m", "version", "1")})).ok());
  svc_b_->Tick();
  EXPECT_FALSE(table_b_.Find("e")) << "B was not told yet";

  svc_b_->OnStoreChanged("e");
  svc_b_->Tick();
  EXPECT_EQ(BWeights("e"), (std::map<std::pair<int64_t, int64_t>, int>{{{1, 1}, 10000}}));
  EXPECT_TRUE(models_b_->Get("m/1").ok()) << "B loaded the model itself";
  auto b_view = svc_b_->GetEndpoint("e");
  ASSERT_TRUE(b_view.ok());
  ASSERT_EQ(b_view->routes.size(), 1u);
  EXPECT_TRUE(b_view->routes[0].ready);

  // A new revision on A: B serves it after the announcement, and unloads the old model.
  ASSERT_TRUE(svc_->UpdateEndpoint("bob", "e", Spec({Route("m", "version", "2")})).ok());
  svc_b_->OnStoreChanged("e");
  svc_b_->Tick();
  EXPECT_EQ(BWeights("e"), (std::map<std::pair<int64_t, int64_t>, int>{{{2, 2}, 10000}}));
  EXPECT_TRUE(models_b_->Get("m/2").ok());
  // The previous rolled-out revision stays loaded on B too: its rollback is no cold start.
  EXPECT_TRUE(models_b_->Get("m/1").ok());

  // A rollback on B is stored and reaches A the same way.
  ASSERT_TRUE(svc_b_->Rollback("carol", "e").ok());
  EXPECT_EQ(BWeights("e"), (std::map<std::pair<int64_t, int64_t>, int>{{{1, 1}, 10000}}));
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{2, 10000}})) << "A was not told yet";
  svc_->OnStoreChanged("e");
  svc_->Tick();
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{1, 10000}}));

  // Deleted on A: B stops serving it.
  ASSERT_TRUE(svc_->DeleteEndpoint("alice", "e").ok());
  svc_b_->OnStoreChanged("e");
  svc_b_->Tick();
  EXPECT_FALSE(table_b_.Find("e"));
  EXPECT_FALSE(models_b_->Get("m/1").ok()) << "nothing uses the model any more";
}

TEST_F(EndpointResyncTest, ResyncingEverythingFindsNewChangedAndDeletedEndpoints) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  ASSERT_EQ(Register("m", 2.0f), 2);
  ASSERT_TRUE(Create("kept", Spec({Route("m", "version", "1")})).ok());
  ASSERT_TRUE(Create("gone", Spec({Route("m", "version", "1")})).ok());
  svc_b_->OnStoreChanged("");
  svc_b_->Tick();
  ASSERT_TRUE(table_b_.Find("kept"));
  ASSERT_TRUE(table_b_.Find("gone"));

  ASSERT_TRUE(svc_->UpdateEndpoint("bob", "kept", Spec({Route("m", "version", "2")})).ok());
  ASSERT_TRUE(svc_->DeleteEndpoint("alice", "gone").ok());
  ASSERT_TRUE(Create("new", Spec({Route("m", "version", "2")})).ok());
  svc_b_->OnStoreChanged("");  // e.g. after the feed's connection was lost
  svc_b_->Tick();
  EXPECT_EQ(BWeights("kept"), (std::map<std::pair<int64_t, int64_t>, int>{{{2, 2}, 10000}}));
  EXPECT_FALSE(table_b_.Find("gone"));
  EXPECT_EQ(BWeights("new"), (std::map<std::pair<int64_t, int64_t>, int>{{{1, 2}, 10000}}));
}

TEST_F(EndpointResyncTest, BothReplicasStepACanaryOnceBetweenThem) {
  ASSERT_EQ(Register("m", 1.0f), 1);
  ASSERT_EQ(Register("m", 2.0f), 2);
  ASSERT_TRUE(Create("e", Spec({Route("m", "version", "1")})).ok());
  auto spec = Spec({Route("m", "version", "2")});
  spec.rollout.strategy = "canary";
  spec.rollout.step_percent = 10;
  spec.rollout.bake_s = 60;
  ASSERT_TRUE(svc_->UpdateEndpoint("bob", "e", spec).ok());
  svc_b_->OnStoreChanged("e");
  svc_b_->Tick();
  EXPECT_EQ(BWeights("e"), (std::map<std::pair<int64_t, int64_t>, int>{{{1, 1}, 9000}, {{2, 2}, 1000}}));

  clock_.Advance(60'000);
  svc_b_->Tick();  // B's controller finishes the bake first
  svc_->Tick();    // A's sees it is done and publishes what is stored
  EXPECT_EQ(BWeights("e"), (std::map<std::pair<int64_t, int64_t>, int>{{{2, 2}, 10000}}));
  EXPECT_EQ(Weights("e"), (std::map<int64_t, int>{{2, 10000}}));
  auto events = Events("e");
  size_t rolled_out = 0;
  for (const auto& ev : events) rolled_out += ev.action == "rolled_out";
  EXPECT_EQ(rolled_out, 1u);
}

// Records announcements (what PgChangeFeed would send).
class RecordingFeed final : public ChangeFeed {
 public:
  void Announce(const std::string& topic, const std::string& key) override { said.push_back(topic + ":" + key); }
  void Subscribe(const std::string&, Handler) override {}
  std::vector<std::string> said;
};

TEST_F(EndpointResyncTest, TheAnnouncedStoreAnnouncesStoredChangesOnly) {
  RecordingFeed feed;
  AnnouncedEndpointStore announced(store_, feed);
  storage::EndpointRecord rec;
  rec.name = "e";
  storage::EndpointRevision first;
  first.number = 1;
  storage::EndpointEvent ev;
  ev.endpoint = "e";
  ev.action = "create";
  auto created = announced.CreateEndpoint(rec, first, ev);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_FALSE(announced.CreateEndpoint(rec, first, ev).ok());
  EXPECT_EQ(announced.UpdateEndpoint(*created, 99, std::nullopt, ev).status().code(), StatusCode::kAborted);
  ASSERT_TRUE(announced.UpdateEndpoint(*created, created->state.config_version, std::nullopt, ev).ok());
  ASSERT_TRUE(announced.GetEndpoint("e").ok());
  ASSERT_TRUE(announced.DeleteEndpoint("e", ev).ok());
  EXPECT_FALSE(announced.DeleteEndpoint("e", ev).ok());
  EXPECT_EQ(feed.said, (std::vector<std::string>{"endpoints:e", "endpoints:e", "endpoints:e"}));
}

}  // namespace
}  // namespace kiln::deploy
