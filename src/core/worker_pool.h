// WorkerPool: a fixed set of threads running blocking work (database calls,
// file I/O) off the I/O threads. Its queue is bounded: TrySubmit refuses when
// full so callers answer 503 instead of letting latency grow without bound.
//
// Thread-safe. Owns its threads; Shutdown() (or the destructor) runs every
// job already accepted, then joins.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln {

class WorkerPool {
 public:
  using Job = std::function<void()>;

  WorkerPool(size_t threads, size_t max_queue);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the queue is full or the pool is shutting down; the job is
  // then not run.
  bool TrySubmit(Job job);
  void Shutdown();

  size_t queue_depth() const;
  size_t busy() const;
  size_t threads() const { return threads_.size(); }
  size_t max_queue() const { return max_queue_; }

 private:
  void Loop();

  const size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;  // GUARDED_BY(mu_)
  size_t busy_ = 0;        // GUARDED_BY(mu_)
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace kiln
