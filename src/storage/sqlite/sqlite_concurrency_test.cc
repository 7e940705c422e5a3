#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "storage/sql/sql_test_util.h"

namespace kiln::storage::testing {
namespace {

TEST_F(SqlStoreTest, ConcurrentWritersAndReaders) {
  std::string exp = NewExperiment("conc");
  NewRun(exp, "shared");
  constexpr int kThreads = 8, kBatches = 50, kPerBatch = 10;
  for (int t = 0; t < kThreads; ++t) NewRun(exp, "own" + std::to_string(t));

  std::atomic<int> failures{0};
  std::atomic<bool> writers_done{false};
  std::vector<std::string> errors(kThreads + 2);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<Metric> ms;
        for (int j = 0; j < kPerBatch; ++j) {
          ms.push_back(M("m", t * 1.0, 1000, t * 100000 + b * kPerBatch + j));
        }
        Status s1 = store_->LogBatch("shared", ms, {{"p" + std::to_string(t), "v"}},
                                     {{"t" + std::to_string(t), std::to_string(b)}});
        Status s2 = store_->LogBatch("own" + std::to_string(t), ms, {}, {});
        if (!s1.ok() || !s2.ok()) {
          ++failures;
          errors[t] = s1.ok() ? s2.ToString() : s1.ToString();
        }
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      RunQuery q;
      q.experiment_ids = {exp};
      q.order_by.push_back({SearchEntity::kMetric, "m", false});
      while (!writers_done) {
        auto p = store_->SearchRuns(q);
        auto g = store_->GetRun("shared");
        if (!p.ok() || !g.ok() || p->items.size() != kThreads + 1) {
          ++failures;
          errors[kThreads + r] = p.ok() ? g.status().ToString() : p.status().ToString();
        }
      }
    });
  }
  for (int t = 0; t < kThreads; ++t) threads[t].join();
  writers_done = true;
  for (size_t t = kThreads; t < threads.size(); ++t) threads[t].join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  EXPECT_EQ(failures.load(), 0);

  auto h = store_->GetMetricHistory("shared", "m", 0, 100000);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->items.size(), static_cast<size_t>(kThreads * kBatches * kPerBatch));
  auto shared = store_->GetRun("shared");
  EXPECT_EQ(shared->params.size(), static_cast<size_t>(kThreads));
  EXPECT_EQ(shared->tags.size(), static_cast<size_t>(kThreads));
  ASSERT_EQ(shared->metrics.size(), 1u);
  EXPECT_EQ(shared->metrics[0].step, (kThreads - 1) * 100000 + kBatches * kPerBatch - 1);
  for (int t = 0; t < kThreads; ++t) {
    auto own = store_->GetMetricHistory("own" + std::to_string(t), "m", 0, 100000);
    EXPECT_EQ(own->items.size(), static_cast<size_t>(kBatches * kPerBatch));
  }
}

TEST_F(SqlStoreTest, ConcurrentExperimentCreationGivesDistinctIds) {
  std::vector<std::thread> threads;
  std::vector<std::string> ids(16);
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      auto id = store_->CreateExperiment("e" + std::to_string(t), "", "r", {}, t);
      ids[t] = id.ok() ? *id : "";
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), 16u);
  EXPECT_EQ(unique.count(""), 0u);
  EXPECT_EQ(unique.count("16"), 1u);
}

}  // namespace
}  // namespace kiln::storage::testing
