#include "deploy/route_stats.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace kiln::deploy {
namespace {

TEST(RouteStats, WindowCountsRequestsErrorsAndQuantiles) {
  RouteStats s;
  const int64_t now = 1000;
  for (int i = 0; i < 98; ++i) s.Record(false, 0.001, now);
  s.Record(true, 0.5, now - 1);
  s.Record(true, 0.5, now - 2);
  WindowReading r = s.Read(60, now);
  EXPECT_EQ(r.requests, 100u);
  EXPECT_EQ(r.errors, 2u);
  EXPECT_DOUBLE_EQ(r.error_rate, 0.02);
  // Upper bounds of log-spaced buckets: >= the value, < 1.52x it.
  EXPECT_GE(r.p50_ms, 1.0);
  EXPECT_LT(r.p50_ms, 1.52);
  EXPECT_GE(r.p99_ms, 500.0);
  EXPECT_LT(r.p99_ms, 760.0);
  // A one-second window sees only the current second.
  WindowReading last = s.Read(1, now);
  EXPECT_EQ(last.requests, 98u);
  EXPECT_EQ(last.errors, 0u);
  EXPECT_EQ(s.total_requests(), 100u);
  EXPECT_EQ(s.total_errors(), 2u);
}

TEST(RouteStats, OldSecondsLeaveTheWindowAndBucketsAreReused) {
  RouteStats s;
  s.Record(true, 0.01, 5);
  EXPECT_EQ(s.Read(60, 64).requests, 1u);
  EXPECT_EQ(s.Read(60, 65).requests, 0u);
  // The same bucket a whole window later starts from zero.
  s.Record(false, 0.01, 5 + RouteStats::kWindowSeconds);
  WindowReading r = s.Read(RouteStats::kWindowSeconds, 5 + RouteStats::kWindowSeconds);
  EXPECT_EQ(r.requests, 1u);
  EXPECT_EQ(r.errors, 0u);
  // A stale reading older than the bucket's second adds nothing to it.
  s.Record(true, 0.01, 5);
  EXPECT_EQ(s.Read(60, 5 + RouteStats::kWindowSeconds).errors, 0u);
  EXPECT_EQ(s.total_requests(), 3u);
}

TEST(RouteStats, EmptyWindowReadsZeros) {
  RouteStats s;
  WindowReading r = s.Read(60, 100);
  EXPECT_EQ(r.requests, 0u);
  EXPECT_EQ(r.error_rate, 0);
  EXPECT_EQ(r.p99_ms, 0);
}

TEST(RouteStats, ConcurrentWritersWithinOneSecondAllCount) {
  RouteStats s;
  // The bucket is claimed first: racing the claim itself may lose that
  // second's first requests, which the header allows.
  s.Record(false, 0.0001, 42);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) s.Record(i % 10 == 0, 0.0001, 42);
    });
  }
  for (auto& t : threads) t.join();
  WindowReading r = s.Read(10, 42);
  EXPECT_EQ(r.requests, 40001u);
  EXPECT_EQ(r.errors, 4000u);
}

}  // namespace
}  // namespace kiln::deploy

namespace kiln::deploy {
namespace {

TEST(RouteStats, ObservesIntoAnAttachedHistogramFromThenOn) {
  RouteStats s;
  HistogramMetric h(LatencyBuckets());
  s.Record(false, 0.01, 1000);  // before attaching: only the window
  EXPECT_FALSE(s.observed());
  s.ObserveInto(&h);
  EXPECT_TRUE(s.observed());
  s.Record(false, 0.25, 1000);
  s.Record(true, 0.5, -1);  // a call without a clock reading still counts
  std::vector<uint64_t> cumulative;
  double sum = 0;
  uint64_t count = 0;
  h.Snapshot(&cumulative, &sum, &count);
  EXPECT_EQ(count, 2u);
  EXPECT_DOUBLE_EQ(sum, 0.75);
}

}  // namespace
}  // namespace kiln::deploy
