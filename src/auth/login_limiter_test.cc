#include "auth/login_limiter.h"

#include <gtest/gtest.h>

namespace kiln::auth {
namespace {

class StepClock final : public Clock {
 public:
  int64_t NowMillis() const override { return now; }
  int64_t now = 1000;
};

TEST(LoginLimiterTest, BlocksAUserAfterMaxFailuresUntilTheWindowEnds) {
  StepClock clock;
  LoginLimiter limiter(clock, 3, 60000);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.Check("alice", "10.0.0.1:" + std::to_string(4000 + i)).ok());
    limiter.RecordFailure("alice", "10.0.0.1:" + std::to_string(4000 + i));
  }
  Status s = limiter.Check("alice", "10.0.0.9:1");  // another source: the user is blocked
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("retry in 60 s"), std::string::npos) << s.message();
  EXPECT_TRUE(limiter.Check("bob", "10.0.0.1:5000").ok());  // the source has more room
  clock.now += 60000;
  EXPECT_TRUE(limiter.Check("alice", "10.0.0.1:1").ok());
}

TEST(LoginLimiterTest, ASourceIsBlockedAfterFactorTimesMoreFailures) {
  StepClock clock;
  LoginLimiter limiter(clock, 2, 60000);
  for (int i = 0; i < 2 * LoginLimiter::kSourceFactor; ++i) {
    EXPECT_TRUE(limiter.Check("", "10.0.0.1:1").ok()) << i;
    limiter.RecordFailure("user" + std::to_string(i), "10.0.0.1:" + std::to_string(i));
  }
  EXPECT_EQ(limiter.Check("carol", "10.0.0.1:3").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(limiter.Check("", "10.0.0.1:3").code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(limiter.Check("carol", "10.0.0.2:3").ok());
}

TEST(LoginLimiterTest, SuccessClearsTheUserButNotTheSource) {
  StepClock clock;
  LoginLimiter limiter(clock, 2, 60000);
  limiter.RecordFailure("alice", "10.0.0.1:1");
  limiter.RecordSuccess("alice");
  limiter.RecordFailure("alice", "10.0.0.2:1");
  EXPECT_TRUE(limiter.Check("alice", "10.0.0.3:1").ok());
  for (int i = 0; i < 2 * LoginLimiter::kSourceFactor - 1; ++i) limiter.RecordFailure("bob", "10.0.0.1:2");
  limiter.RecordSuccess("bob");
  EXPECT_EQ(limiter.Check("carol", "10.0.0.1:3").code(), StatusCode::kResourceExhausted);
}

TEST(LoginLimiterTest, SourceHostDropsThePort) {
  EXPECT_EQ(LoginLimiter::SourceHost("10.0.0.7:53122"), "10.0.0.7");
  EXPECT_EQ(LoginLimiter::SourceHost("ipv4:10.0.0.7:53122"), "10.0.0.7");
  EXPECT_EQ(LoginLimiter::SourceHost("ipv6:[::1]:5000"), "::1");
  EXPECT_EQ(LoginLimiter::SourceHost("[fe80::1]:80"), "fe80::1");
  EXPECT_EQ(LoginLimiter::SourceHost("::1"), "::1");
  EXPECT_EQ(LoginLimiter::SourceHost("host"), "host");
}

TEST(LoginLimiterTest, MemoryIsBounded) {
  StepClock clock;
  LoginLimiter limiter(clock, 1, 60000, 16);
  for (int i = 0; i < 100; ++i) {
    clock.now += 1;
    limiter.RecordFailure("u" + std::to_string(i), "10.0.0.1:1");
  }
  // The newest stay blocked; old counters were dropped to make room.
  EXPECT_EQ(limiter.Check("u99", "10.9.9.9:1").code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(limiter.Check("u0", "10.9.9.9:1").ok());
}

}  // namespace
}  // namespace kiln::auth
