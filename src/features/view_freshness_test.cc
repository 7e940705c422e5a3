#include "features/view_freshness.h"

#include <gtest/gtest.h>

#include <map>

namespace kiln::features {
namespace {

constexpr int64_t kSec = 1000000;

// An online store that only knows each table's newest event time.
class NewestOnly final : public storage::OnlineStore {
 public:
  std::map<std::string, std::optional<int64_t>> newest;  // "project/view"
  bool tracks = true;

  StatusOr<storage::OnlineWriteResult> Write(const storage::OnlineTable&, const storage::OnlineWriteBatch&) override {
    return Unimplemented("read-only");
  }
  Status Read(const storage::OnlineTable&, const std::vector<std::string>&, const std::vector<std::string>&,
              const ReadFn&) override {
    return Unimplemented("read-only");
  }
  Status DropTable(const storage::OnlineTable&) override { return Status::Ok(); }
  std::vector<TableStats> Stats() override { return {}; }
  Status Ping() override { return Status::Ok(); }
  StatusOr<std::optional<int64_t>> NewestEventTs(const storage::OnlineTable& t) override {
    if (!tracks) return OnlineStore::NewestEventTs(t);
    auto it = newest.find(t.project + "/" + t.view);
    return it == newest.end() ? std::optional<int64_t>() : it->second;
  }
};

ViewSchema View(const std::string& name, int64_t ttl_us) {
  ViewSchema v;
  v.project = "p";
  v.name = name;
  v.ttl_us = ttl_us;
  return v;
}

TEST(ViewFreshness, AgeAgainstTtlAsOnlineReadsJudgeIt) {
  NewestOnly store;
  const int64_t now = 10000 * kSec;
  store.newest["p/fresh"] = now - 30 * kSec;
  store.newest["p/edge"] = now - 60 * kSec;   // exactly now - ttl: reads answer PRESENT
  store.newest["p/stale"] = now - 61 * kSec;  // older: OUTSIDE_MAX_AGE
  store.newest["p/no_ttl"] = 5 * kSec;

  ViewFreshness f = FreshnessOf(View("fresh", 60 * kSec), store, now);
  EXPECT_EQ(FreshnessStateName(f.state), "fresh");
  EXPECT_EQ(f.newest_event_us, now - 30 * kSec);
  EXPECT_EQ(f.age_us, 30 * kSec);
  EXPECT_EQ(f.ttl_us, 60 * kSec);
  EXPECT_EQ(f.checked_us, now);

  EXPECT_EQ(FreshnessOf(View("edge", 60 * kSec), store, now).state, FreshnessState::kFresh);
  f = FreshnessOf(View("stale", 60 * kSec), store, now);
  EXPECT_EQ(f.state, FreshnessState::kStale);
  EXPECT_EQ(f.age_us, 61 * kSec);
  // No ttl: values never expire.
  EXPECT_EQ(FreshnessOf(View("no_ttl", 0), store, now).state, FreshnessState::kFresh);
}

TEST(ViewFreshness, NoRowsOfflineOnDemandAndStoresThatCannotTell) {
  NewestOnly store;
  const int64_t now = 100 * kSec;
  ViewFreshness f = FreshnessOf(View("never_materialized", 60 * kSec), store, now);
  EXPECT_EQ(FreshnessStateName(f.state), "no_data");
  EXPECT_FALSE(f.newest_event_us.has_value());

  ViewSchema offline = View("offline", 60 * kSec);
  offline.online = false;
  store.newest["p/offline"] = now;
  EXPECT_EQ(FreshnessStateName(FreshnessOf(offline, store, now).state), "not_online");

  ViewSchema odfv = View("odfv", 0);
  odfv.kind = ViewKind::kOnDemand;
  EXPECT_EQ(FreshnessStateName(FreshnessOf(odfv, store, now).state), "on_demand");

  store.tracks = false;  // e.g. Redis: the default answer
  f = FreshnessOf(View("x", 60 * kSec), store, now);
  EXPECT_EQ(FreshnessStateName(f.state), "unknown");
  EXPECT_FALSE(f.newest_event_us.has_value());
  EXPECT_NE(f.reason.find("does not track"), std::string::npos);
}

}  // namespace
}  // namespace kiln::features
