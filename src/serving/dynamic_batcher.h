// DynamicBatcher: per-model request batching in front of a Runtime. Requests
// queue up; a dedicated thread takes the oldest, waits at most
// max_queue_delay for more rows (up to max_batch_rows), runs them as one
// execution and hands each request its own rows of the outputs. The queue is
// bounded: Submit refuses with ResourceExhausted when it is full, so latency
// cannot grow without limit.
//
// A request that finds the queue otherwise empty runs at once when the
// previous lone request waited its whole delay in vain (a single client is
// not slowed down); the first request that finds company brings the wait back.
//
// Requests merge when each has a single rank-2 input [rows, features] of the
// same name, datatype and width; anything else runs as its own execution.
//
// Ownership: shares the runtime; owns its thread, joined on destruction
// (pending requests are then failed with Unavailable).
// Thread-safety: Submit may be called from any thread. `done` callbacks run
// on the batcher's thread and must not block.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/status.h"
#include "serving/runtime.h"

namespace kiln::serving {

struct BatchingOptions {
  int64_t max_batch_rows = 64;  // 1 disables merging
  std::chrono::microseconds max_queue_delay{200};
  size_t max_queue = 256;  // requests waiting; more are refused
};

struct BatchTiming {
  double queue_seconds = 0;    // submit -> execution start
  double compute_seconds = 0;  // the execution this request was part of
  int64_t batch_rows = 0;      // rows in that execution
};

class DynamicBatcher {
 public:
  using Done = std::function<void(StatusOr<std::vector<Tensor>>, const BatchTiming&)>;

  DynamicBatcher(std::shared_ptr<Runtime> runtime, BatchingOptions options);
  ~DynamicBatcher();
  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  Status Submit(std::vector<Tensor> inputs, Done done);
  const BatchingOptions& options() const { return options_; }

 private:
  struct Job {
    std::vector<Tensor> inputs;
    Done done;
    std::chrono::steady_clock::time_point enqueued;
    int64_t rows = 0;  // > 0 when mergeable
  };

  void Loop();
  void Run(std::vector<Job>& batch);

  std::shared_ptr<Runtime> runtime_;
  const BatchingOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;  // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  // True after a request waited its whole max_queue_delay and nothing came:
  // the next lone request runs at once. Only the batcher thread touches it.
  bool alone_ = false;
  std::thread thread_;
};

}  // namespace kiln::serving
