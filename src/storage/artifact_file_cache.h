// ArtifactFiles: artifact directories as files on this machine, for code that
// can only open local paths (the serving runtimes). A LocalArtifactStore's
// directories are used where they are; a remote store's (S3) are downloaded
// once into a cache directory and reused.
//
// Cache rules: an entry is keyed by the store directory's path, which must
// name immutable content (the registry's version copies are: each version
// gets a fresh random folder). A download goes to a hidden temporary folder
// that is renamed into place only when every file arrived with its listed
// size, so a crash never leaves a partial entry. Concurrent Fetch() calls for
// the same directory share one download (single flight). When the cache
// grows beyond `max_bytes`, the least recently used entries are removed,
// never one used in the last minute (the caller may still be loading it).
//
// Ownership: borrows the store (must outlive this); owns the cache folder's
// bookkeeping. Thread-safety: every method is thread-safe. Blocking I/O:
// call from the worker pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/status.h"
#include "storage/artifact_store.h"

namespace kiln::storage {

class ArtifactFiles {
 public:
  // `cache_dir` is created if missing (unused for a local store); leftover
  // temporary folders of an earlier process are removed.
  static StatusOr<std::unique_ptr<ArtifactFiles>> Create(ArtifactStore& store, const std::string& cache_dir,
                                                         int64_t max_bytes = int64_t{10} << 30);

  // A local directory holding every file under `store_dir`.
  StatusOr<std::string> LocalDir(const std::string& store_dir);

  // Downloads so far (not cache hits): for tests and logs.
  int64_t downloads() const;

 private:
  struct Entry {
    int64_t bytes = 0;
    std::chrono::steady_clock::time_point last_used;
  };
  ArtifactFiles(ArtifactStore& store, std::string local_root, std::string cache_dir, int64_t max_bytes)
      : store_(store), local_root_(std::move(local_root)), cache_dir_(std::move(cache_dir)), max_bytes_(max_bytes) {}
  StatusOr<std::string> Download(const std::string& store_dir, const std::string& entry, const std::string& final_dir);
  void EvictLocked(const std::string& keep);

  ArtifactStore& store_;
  const std::string local_root_;  // non-empty: the store is local
  const std::string cache_dir_;
  const int64_t max_bytes_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_future<StatusOr<std::string>>> flights_;  // by entry name
  std::map<std::string, Entry> entries_;                                     // by entry name
  int64_t total_bytes_ = 0;
  int64_t downloads_ = 0;
};

}  // namespace kiln::storage
