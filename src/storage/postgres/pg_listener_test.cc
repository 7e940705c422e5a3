#include "storage/postgres/pg_listener.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "storage/postgres/pg_test_util.h"

namespace kiln::storage::postgres {
namespace {

using testing::PgTest;
using testing::PgTestServer;

class Inbox {
 public:
  void Put(const std::string& ch, const std::string& payload) {
    std::lock_guard<std::mutex> lk(mu_);
    got_.push_back(ch + "=" + payload);
    cv_.notify_all();
  }
  void Reconnected() {
    std::lock_guard<std::mutex> lk(mu_);
    ++reconnects_;
    cv_.notify_all();
  }
  // Waits (bounded, generously) until `n` notifications arrived.
  std::vector<std::string> WaitFor(size_t n) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait_for(lk, std::chrono::seconds(30), [&] { return got_.size() >= n; });
    return got_;
  }
  int WaitReconnect() {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait_for(lk, std::chrono::seconds(30), [&] { return reconnects_ > 0; });
    return reconnects_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> got_;
  int reconnects_ = 0;
};

class PgListenerTest : public PgTest {};

TEST_F(PgListenerTest, DeliversCommittedNotificationsOnly) {
  auto db = Open();
  ASSERT_NE(db, nullptr);
  Inbox inbox;
  auto listener = PgListener::Create(
      db->conn_params(), {"kiln_registry", "Odd Channel"},
      [&](const std::string& ch, const std::string& p) { inbox.Put(ch, p); });
  ASSERT_TRUE(listener.ok()) << listener.status().ToString();

  ASSERT_TRUE(db->Notify("kiln_registry", "model:a").ok());
  // Inside a transaction: nothing arrives if it rolls back.
  EXPECT_EQ(db->Write([](sql::Conn& c) -> Status {
                KILN_RETURN_IF_ERROR(NotifyIn(c, "kiln_registry", "rolled-back"));
                return Status(StatusCode::kAborted, "no");
              }).code(),
            StatusCode::kAborted);
  ASSERT_TRUE(db->Write([](sql::Conn& c) { return NotifyIn(c, "Odd Channel", "it's ☃"); }).ok());
  auto got = inbox.WaitFor(2);
  EXPECT_EQ(got, (std::vector<std::string>{"kiln_registry=model:a", "Odd Channel=it's ☃"}));
}

TEST_F(PgListenerTest, ReconnectsAfterItsConnectionIsKilled) {
  auto db = Open();
  ASSERT_NE(db, nullptr);
  Inbox inbox;
  auto listener = PgListener::Create(
      db->conn_params(), {"kiln_endpoints"}, [&](const std::string& ch, const std::string& p) { inbox.Put(ch, p); },
      [&] { inbox.Reconnected(); });
  ASSERT_TRUE(listener.ok()) << listener.status().ToString();
  const int pid = (*listener)->backend_pid();
  ASSERT_TRUE(PgTestServer::Get().AdminExec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")").ok());
  EXPECT_EQ(inbox.WaitReconnect(), 1);
  EXPECT_NE((*listener)->backend_pid(), pid);
  ASSERT_TRUE(db->Notify("kiln_endpoints", "after").ok());
  EXPECT_EQ(inbox.WaitFor(1), (std::vector<std::string>{"kiln_endpoints=after"}));
}

}  // namespace
}  // namespace kiln::storage::postgres
