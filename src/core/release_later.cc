#include "core/release_later.h"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln {
namespace {

class Releaser {
 public:
  Releaser() : thread_([this] { Loop(); }) {}
  ~Releaser() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  Releaser(const Releaser&) = delete;
  Releaser& operator=(const Releaser&) = delete;

  void Add(std::shared_ptr<const void> ref) {
    bool wake;
    {
      std::lock_guard lock(mu_);
      wake = pending_.empty();
      pending_.push_back(std::move(ref));
    }
    if (wake) cv_.notify_one();
  }

 private:
  void Loop() {
    std::vector<std::shared_ptr<const void>> batch;
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      batch.swap(pending_);
      const bool stop = stopping_;
      lock.unlock();
      batch.clear();  // destructors run here, outside the lock
      if (stop) return;
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<const void>> pending_;  // guarded by mu_
  bool stopping_ = false;                             // guarded by mu_
  std::thread thread_;
};

}  // namespace

void ReleaseLater(std::shared_ptr<const void> ref) {
  if (!ref) return;
  static Releaser releaser;
  releaser.Add(std::move(ref));
}

}  // namespace kiln
