// Group commit: concurrent writes share commits, yet each stays atomic and
// independent — a failing write rolls back alone.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "storage/sql/sql_test_util.h"

namespace kiln::storage::testing {
namespace {

TEST_F(SqlStoreTest, FailingWritesInAGroupRollBackAloneAndOthersCommit) {
  std::string exp = NewExperiment("group");
  NewRun(exp, "r");
  ASSERT_TRUE(store_->LogBatch("r", {}, {{"fixed", "original"}}, {}).ok());

  constexpr int kThreads = 8, kRounds = 60;
  std::atomic<int> ok_count{0}, refused_count{0}, unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const int64_t step = t * 1000 + i;
        if ((t + i) % 3 == 0) {
          // Changes a param value: must be refused, and its metric must not land.
          Status s = store_->LogBatch("r", {M("poison", 1.0, 1, step)}, {{"fixed", "changed"}}, {});
          if (s.code() == StatusCode::kInvalidArgument) ++refused_count; else ++unexpected;
        } else {
          Status s = store_->LogBatch("r", {M("good", 1.0, 1, step)}, {}, {});
          if (s.ok()) ++ok_count; else ++unexpected;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(unexpected.load(), 0);
  auto good = store_->GetMetricHistory("r", "good", 0, 100000);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(static_cast<int>(good->items.size()), ok_count.load());
  auto poison = store_->GetMetricHistory("r", "poison", 0, 100000);
  ASSERT_TRUE(poison.ok());
  EXPECT_TRUE(poison->items.empty());
  EXPECT_GT(refused_count.load(), 0);
  auto run = store_->GetRun("r");
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->params.size(), 1u);
  EXPECT_EQ(run->params[0].value, "original");
}

}  // namespace
}  // namespace kiln::storage::testing
