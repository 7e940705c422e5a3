#include "serving/dynamic_batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <future>

namespace kiln::serving {
namespace {

// Doubles every value of its single FP32 input; records execution sizes and
// can be held to let a queue build up. (A collaborator of the batcher under
// test; the real runtimes have their own parity tests.)
class DoublingRuntime final : public Runtime {
 public:
  std::string backend() const override { return "test"; }
  const std::vector<TensorSpec>& inputs() const override { return specs_; }
  const std::vector<TensorSpec>& outputs() const override { return specs_; }
  StatusOr<std::vector<Tensor>> Execute(const std::vector<Tensor>& in) override {
    ++entered;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return !held_; });
      executions.push_back(in[0].shape[0]);
    }
    Tensor out = in[0];
    out.name = "y";
    for (size_t i = 0; i + 4 <= out.data.size(); i += 4) {
      float f;
      std::memcpy(&f, out.data.data() + i, 4);
      f *= 2;
      std::memcpy(out.data.data() + i, &f, 4);
    }
    return std::vector<Tensor>{out};
  }
  void Hold(bool held) {
    {
      std::lock_guard lock(mu_);
      held_ = held;
    }
    cv_.notify_all();
  }
  std::vector<int64_t> executions;  // guarded by mu_ while running
  std::atomic<int> entered{0};

 private:
  std::vector<TensorSpec> specs_{{"x", DataType::kFp32, {-1, 2}}};
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
};

Tensor Rows(std::vector<float> values, int64_t width = 2) {
  Tensor t;
  t.name = "x";
  t.dtype = DataType::kFp32;
  t.shape = {static_cast<int64_t>(values.size()) / width, width};
  t.data.resize(values.size() * 4);
  std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

std::vector<float> Floats(const Tensor& t) {
  std::vector<float> out(t.data.size() / 4);
  std::memcpy(out.data(), t.data.data(), t.data.size());
  return out;
}

TEST(DynamicBatcher, MergesQueuedRequestsAndSplitsTheirOutputs) {
  auto rt = std::make_shared<DoublingRuntime>();
  DynamicBatcher batcher(rt, {/*max_batch_rows=*/64, std::chrono::milliseconds(50), 100});
  rt->Hold(true);  // the first request blocks the runtime while the rest queue
  std::vector<std::promise<std::vector<float>>> results(10);
  std::vector<BatchTiming> timings(10);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(batcher
                    .Submit({Rows({float(i), float(i) + 0.5f})},
                            [&results, &timings, i](StatusOr<std::vector<Tensor>> out, const BatchTiming& t) {
                              timings[i] = t;
                              results[i].set_value(out.ok() ? Floats((*out)[0]) : std::vector<float>{});
                            })
                    .ok());
  }
  rt->Hold(false);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(results[i].get_future().get(), (std::vector<float>{2.0f * i, 2.0f * i + 1.0f})) << i;
  }
  int64_t total = 0;
  for (int64_t n : rt->executions) total += n;
  EXPECT_EQ(total, 10);
  EXPECT_LT(rt->executions.size(), 10u);  // at least some requests shared an execution
  EXPECT_GT(timings[9].batch_rows, 1);
}

// A 2 s window: the first lone request waits it out in vain; the lone
// requests after it must not (each gets 1 s, half the window), and requests
// that queue together still merge.
TEST(DynamicBatcher, LoneRequestsStopWaitingOnceNobodyCame) {
  auto rt = std::make_shared<DoublingRuntime>();
  DynamicBatcher batcher(rt, {/*max_batch_rows=*/64, std::chrono::seconds(2), 100});
  auto submit = [&batcher](float v) {
    auto p = std::make_shared<std::promise<std::vector<float>>>();
    EXPECT_TRUE(batcher.Submit({Rows({v, v})}, [p](StatusOr<std::vector<Tensor>> out, const BatchTiming&) {
      p->set_value(out.ok() ? Floats((*out)[0]) : std::vector<float>{});
    }).ok());
    return p->get_future();
  };
  EXPECT_EQ(submit(1).get(), (std::vector<float>{2, 2}));
  for (int i = 0; i < 5; ++i) {
    auto f = submit(float(i));
    ASSERT_EQ(f.wait_for(std::chrono::seconds(1)), std::future_status::ready) << i;
    EXPECT_EQ(f.get(), (std::vector<float>{2.0f * i, 2.0f * i})) << i;
  }
  rt->Hold(true);
  auto first = submit(10);  // runs at once and blocks in the runtime
  for (int i = 0; i < 1000 && rt->entered < 7; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto second = submit(11);
  auto third = submit(12);
  rt->Hold(false);
  EXPECT_EQ(first.get(), (std::vector<float>{20, 20}));
  EXPECT_EQ(second.get(), (std::vector<float>{22, 22}));
  EXPECT_EQ(third.get(), (std::vector<float>{24, 24}));
  EXPECT_EQ(rt->executions.back(), 2);  // the two that queued together ran as one
}

TEST(DynamicBatcher, FullQueueIsRefusedAndUnmergeableRunAlone) {
  auto rt = std::make_shared<DoublingRuntime>();
  DynamicBatcher batcher(rt, {/*max_batch_rows=*/64, std::chrono::microseconds(0), /*max_queue=*/2});
  rt->Hold(true);
  std::atomic<int> answered{0};
  auto done = [&](StatusOr<std::vector<Tensor>>, const BatchTiming&) { ++answered; };
  ASSERT_TRUE(batcher.Submit({Rows({1, 2})}, done).ok());
  // Wait until the batcher thread holds the first job in the runtime.
  for (int i = 0; i < 1000 && rt->entered == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(batcher.Submit({Rows({1, 2, 3}, 3)}, done).ok());  // another width
  ASSERT_TRUE(batcher.Submit({Rows({1, 2})}, done).ok());
  Status refused = batcher.Submit({Rows({1, 2})}, done);
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);
  rt->Hold(false);
  for (int i = 0; i < 2000 && answered < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(answered, 3);
}

TEST(DynamicBatcher, QueuedRequestsFailWhenTheBatcherGoes) {
  auto rt = std::make_shared<DoublingRuntime>();
  std::atomic<int> ok{0};
  std::atomic<int> unavailable{0};
  std::thread release;
  {
    DynamicBatcher batcher(rt, {64, std::chrono::microseconds(0), 10});
    rt->Hold(true);
    auto done = [&](StatusOr<std::vector<Tensor>> out, const BatchTiming&) {
      if (out.ok()) ++ok;
      if (!out.ok() && out.status().code() == StatusCode::kUnavailable) ++unavailable;
    };
    ASSERT_TRUE(batcher.Submit({Rows({1, 2})}, done).ok());
    for (int i = 0; i < 1000 && rt->entered == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_TRUE(batcher.Submit({Rows({3, 4})}, done).ok());
    release = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      rt->Hold(false);
    });
  }  // waits for the running execution, then fails what is still queued
  release.join();
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(unavailable, 1);
}

}  // namespace
}  // namespace kiln::serving
