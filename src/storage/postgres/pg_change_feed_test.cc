#include "storage/postgres/pg_change_feed.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "storage/postgres/pg_test_util.h"

namespace kiln::storage::postgres {
namespace {

using testing::PgTest;
using testing::PgTestServer;

class Heard {
 public:
  ChangeFeed::Handler For(const std::string& topic) {
    return [this, topic](const std::string& key) {
      std::lock_guard lk(mu_);
      got_.push_back(topic + ":" + key);
      cv_.notify_all();
    };
  }
  std::vector<std::string> WaitFor(size_t n) {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, std::chrono::seconds(30), [&] { return got_.size() >= n; });
    return got_;
  }
  std::vector<std::string> Now() {
    std::lock_guard lk(mu_);
    return got_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> got_;
};

class PgChangeFeedTest : public PgTest {};

TEST_F(PgChangeFeedTest, OtherReplicasHearAnAnnouncementTheAnnouncerDoesNot) {
  auto db_a = Open();
  auto db_b = Open();
  ASSERT_NE(db_a, nullptr);
  ASSERT_NE(db_b, nullptr);
  auto a = PgChangeFeed::Create(*db_a, std::chrono::hours(1));
  auto b = PgChangeFeed::Create(*db_b, std::chrono::hours(1));
  ASSERT_TRUE(a.ok() && b.ok());
  Heard heard_a, heard_b;
  (*a)->Subscribe("endpoints", heard_a.For("endpoints"));
  (*b)->Subscribe("endpoints", heard_b.For("endpoints"));
  (*b)->Subscribe("grants", heard_b.For("grants"));

  (*a)->Announce("endpoints", "fraud-scorer");
  (*a)->Announce("grants", "");
  (*a)->Announce("features", "ignored: nobody subscribes");
  (*b)->Announce("endpoints", "from-b");
  EXPECT_EQ(heard_b.WaitFor(2), (std::vector<std::string>{"endpoints:fraud-scorer", "grants:"}));
  EXPECT_EQ(heard_a.WaitFor(1), (std::vector<std::string>{"endpoints:from-b"}));
  EXPECT_NE((*a)->origin(), (*b)->origin());
}

TEST_F(PgChangeFeedTest, EveryHandlerHearsEverythingAfterTheListenerReconnects) {
  auto db = Open();
  ASSERT_NE(db, nullptr);
  auto feed = PgChangeFeed::Create(*db, std::chrono::hours(1));
  ASSERT_TRUE(feed.ok());
  Heard heard;
  (*feed)->Subscribe("endpoints", heard.For("endpoints"));
  (*feed)->Subscribe("credentials", heard.For("credentials"));
  ASSERT_TRUE(
      PgTestServer::Get().AdminExec("SELECT pg_terminate_backend(" + std::to_string((*feed)->listener_pid()) + ")").ok());
  auto got = heard.WaitFor(2);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"credentials:", "endpoints:"}));
}

TEST_F(PgChangeFeedTest, ThePeriodicResyncTellsEveryHandlerThatAnythingMayHaveChanged) {
  auto db = Open();
  ASSERT_NE(db, nullptr);
  auto feed = PgChangeFeed::Create(*db, std::chrono::milliseconds(50));
  ASSERT_TRUE(feed.ok());
  Heard heard;
  (*feed)->Subscribe("endpoints", heard.For("endpoints"));
  (*feed)->Subscribe("grants", heard.For("grants"));
  auto got = heard.WaitFor(4);
  ASSERT_GE(got.size(), 4u);
  for (const auto& g : got) EXPECT_TRUE(g == "endpoints:" || g == "grants:") << g;
}

}  // namespace
}  // namespace kiln::storage::postgres
