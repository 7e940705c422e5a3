#include "deploy/capture_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace kiln::deploy {
namespace {

CapturedPrediction Record(const std::string& request, const std::string& response = "{}") {
  CapturedPrediction r;
  r.timestamp_ms = 1;
  r.revision = 2;
  r.model = "m";
  r.version = 3;
  r.latency_ms = 0.5;
  r.request_json = request;
  r.response_json = response;
  return r;
}

// What one record of this shape costs, measured through the store itself.
size_t CostOf(const CapturedPrediction& r) {
  CaptureStore probe(1 << 20);
  probe.Add(r);
  return probe.bytes();
}

TEST(CaptureStore, AssignsIncreasingIdsAndListsAfterAnId) {
  CaptureStore store(1 << 20);
  for (int i = 0; i < 5; ++i) store.Add(Record("{\"i\":" + std::to_string(i) + "}"));
  auto all = store.List(0, 100);
  ASSERT_EQ(all.size(), 5u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].id, static_cast<int64_t>(i + 1));
    EXPECT_EQ(all[i].request_json, "{\"i\":" + std::to_string(i) + "}");
    EXPECT_EQ(all[i].model, "m");
    EXPECT_EQ(all[i].version, 3);
    EXPECT_EQ(all[i].revision, 2);
  }
  auto page = store.List(2, 2);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].id, 3);
  EXPECT_EQ(page[1].id, 4);
  EXPECT_TRUE(store.List(5, 10).empty());
  EXPECT_TRUE(store.List(0, 0).empty());
  EXPECT_EQ(store.size(), 5u);
}

TEST(CaptureStore, EvictsOldestToStayWithinBytes) {
  const CapturedPrediction r = Record(std::string(100, 'x'));
  const size_t one = CostOf(r);
  ASSERT_GT(one, 100u);
  CaptureStore store(3 * one + one / 2);  // room for three
  for (int i = 0; i < 5; ++i) store.Add(r);
  EXPECT_EQ(store.size(), 3u);
  EXPECT_EQ(store.bytes(), 3 * one);
  EXPECT_EQ(store.evicted(), 2u);
  auto kept = store.List(0, 10);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept.front().id, 3) << "the oldest went first";
  EXPECT_EQ(kept.back().id, 5);

  // A bigger record evicts as many as it needs.
  CapturedPrediction big = Record(std::string(2 * one, 'y'));
  store.Add(big);
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(store.List(0, 10).front().id, 6);
  EXPECT_LE(store.bytes(), 3 * one + one / 2);
}

TEST(CaptureStore, RecordLargerThanTheBudgetIsDroppedAndCounted) {
  CaptureStore store(1000);
  store.Add(Record("small"));
  store.Add(Record(std::string(2000, 'z')));
  EXPECT_EQ(store.dropped(), 1u);
  EXPECT_EQ(store.evicted(), 0u) << "a dropped record evicts nothing";
  ASSERT_EQ(store.size(), 1u);
  store.Add(Record("next"));
  auto all = store.List(0, 10);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].request_json, "small");
  EXPECT_EQ(all[1].request_json, "next");
  EXPECT_LT(all[0].id, all[1].id);
}

TEST(CaptureStore, SampleExtremesAreExactAndTheMiddleIsAShare) {
  int never = 0, always = 0, half = 0;
  for (int i = 0; i < 20000; ++i) {
    never += CaptureStore::Sample(0);
    always += CaptureStore::Sample(100);
    half += CaptureStore::Sample(50);
  }
  EXPECT_EQ(never, 0);
  EXPECT_EQ(always, 20000);
  // 50 % of 20000 has a standard deviation of ~71: 9000..11000 is 14 sigma wide.
  EXPECT_GT(half, 9000);
  EXPECT_LT(half, 11000);
  EXPECT_FALSE(CaptureStore::Sample(-5));
  EXPECT_TRUE(CaptureStore::Sample(250));
}

TEST(CaptureStore, ConcurrentAddsGetDistinctIdsAndListStaysOrdered) {
  constexpr int kThreads = 4, kPerThread = 2000;
  const size_t one = CostOf(Record("r"));
  CaptureStore store(500 * one);
  std::vector<std::thread> threads;
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop.load()) {
      auto page = store.List(0, 1000);
      for (size_t i = 1; i < page.size(); ++i) ASSERT_LT(page[i - 1].id, page[i].id);
    }
  });
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) store.Add(Record("r"));
    });
  }
  for (auto& th : threads) th.join();
  stop.store(true);
  reader.join();
  EXPECT_EQ(store.size(), 500u);
  EXPECT_EQ(store.evicted(), static_cast<uint64_t>(kThreads * kPerThread - 500));
  auto all = store.List(0, 1000);
  ASSERT_EQ(all.size(), 500u);
  EXPECT_EQ(all.back().id, kThreads * kPerThread) << "every Add got its own id";
  EXPECT_EQ(all.front().id, kThreads * kPerThread - 499);
}

}  // namespace
}  // namespace kiln::deploy
