// SharedMutex: a reader-writer lock that prefers writers. std::shared_mutex
// on glibc prefers readers, so a steady stream of overlapping reads (the
// online read path under load) could starve a table creation, a drop or a
// batch being applied. Meets the SharedMutex requirements (std::shared_lock,
// std::unique_lock). Not recursive: a thread holding it shared must not take
// it shared again (a waiting writer would deadlock both).
#pragma once

#include <pthread.h>

namespace kiln::storage::embedded {

class SharedMutex {
 public:
  SharedMutex() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~SharedMutex() { pthread_rwlock_destroy(&lock_); }
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void lock() { pthread_rwlock_wrlock(&lock_); }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  void lock_shared() { pthread_rwlock_rdlock(&lock_); }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

}  // namespace kiln::storage::embedded
