#include "storage/artifact_file_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>

#include "core/ids.h"
#include "storage/artifact_copy.h"
#include "storage/artifact_store_uri.h"

namespace kiln::storage {
namespace {

namespace fs = std::filesystem;
constexpr size_t kChunk = 1 << 20;
constexpr auto kRecentUse = std::chrono::minutes(1);
constexpr std::string_view kTempPrefix = ".download-";
constexpr std::string_view kLockPrefix = ".lock-";

// An flock on <cache>/.lock-<entry>: held by the process downloading that
// entry, so processes sharing the cache folder (replicas on one machine or
// volume) download each model once; the others wait, then find it in place.
class EntryLock {
 public:
  // Blocks until held (blocking=false: tries once). !held() when the lock
  // file cannot be opened or the lock is taken (non-blocking).
  EntryLock(const fs::path& cache_dir, const std::string& entry, bool blocking) {
    const std::string path = (cache_dir / (std::string(kLockPrefix) + entry)).string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return;
    int rc;
    do {
      rc = ::flock(fd_, LOCK_EX | (blocking ? 0 : LOCK_NB));
    } while (rc != 0 && errno == EINTR);
    held_ = rc == 0;
  }
  ~EntryLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  EntryLock(const EntryLock&) = delete;
  EntryLock& operator=(const EntryLock&) = delete;
  bool held() const { return held_; }

 private:
  int fd_ = -1;
  bool held_ = false;
};

// One folder name per store directory, reversible and free of '/'.
std::string EntryName(const std::string& store_dir) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : store_dir) {
    if (std::isalnum(c) || c == '-' || c == '_' || (c == '.' && !out.empty())) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

int64_t TreeBytes(const fs::path& dir) {
  int64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) total += static_cast<int64_t>(it->file_size(ec));
  }
  return total;
}

}  // namespace

StatusOr<std::unique_ptr<ArtifactFiles>> ArtifactFiles::Create(ArtifactStore& store, const std::string& cache_dir,
                                                              int64_t max_bytes) {
  std::string local_root = LocalArtifactRoot(store);
  std::unique_ptr<ArtifactFiles> files(new ArtifactFiles(store, local_root, cache_dir, max_bytes));
  if (!local_root.empty()) return files;
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (ec) return Unavailable("cannot create the model file cache '" + cache_dir + "': " + ec.message());
  for (const auto& de : fs::directory_iterator(cache_dir, ec)) {
    const std::string name = de.path().filename().string();
    if (name.starts_with(kLockPrefix)) continue;
    if (name.starts_with(kTempPrefix)) {
      // A crashed download -- unless a process sharing the folder is still
      // downloading that entry (it holds the entry's lock).
      const std::string entry = name.substr(kTempPrefix.size(), name.rfind('-') - kTempPrefix.size());
      EntryLock lock(cache_dir, entry, /*blocking=*/false);
      if (lock.held()) fs::remove_all(de.path(), ec);
      continue;
    }
    if (!de.is_directory()) continue;
    int64_t bytes = TreeBytes(de.path());
    // Entries found at startup count as used long ago: the first to go.
    files->entries_[name] = {bytes, std::chrono::steady_clock::time_point{}};
    files->total_bytes_ += bytes;
  }
  if (ec) return Unavailable("cannot read the model file cache '" + cache_dir + "': " + ec.message());
  return files;
}

int64_t ArtifactFiles::downloads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return downloads_;
}

StatusOr<std::string> ArtifactFiles::LocalDir(const std::string& store_dir) {
  if (!local_root_.empty()) return store_dir.empty() ? local_root_ : local_root_ + "/" + store_dir;
  if (store_dir.empty()) return InvalidArgument("cannot cache the whole artifact store");
  const std::string name = EntryName(store_dir);
  const std::string final_dir = (fs::path(cache_dir_) / name).string();
  std::shared_future<StatusOr<std::string>> flight;
  std::promise<StatusOr<std::string>> promise;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto e = entries_.find(name); e != entries_.end()) {
      std::error_code ec;
      if (fs::is_directory(final_dir, ec)) {
        e->second.last_used = std::chrono::steady_clock::now();
        return final_dir;
      }
      total_bytes_ -= e->second.bytes;  // removed behind our back
      entries_.erase(e);
    }
    if (auto f = flights_.find(name); f != flights_.end()) {
      flight = f->second;
    } else {
      flights_[name] = promise.get_future().share();
    }
  }
  if (flight.valid()) return flight.get();  // another caller is downloading it

  StatusOr<std::string> result = Unavailable("cannot lock the model file cache entry of '" + store_dir + "'");
  bool downloaded = false;
  {
    EntryLock entry_lock(cache_dir_, name, /*blocking=*/true);
    std::error_code ec;
    if (entry_lock.held() && fs::is_directory(final_dir, ec)) {
      result = final_dir;  // another process sharing the folder downloaded it
    } else if (entry_lock.held()) {
      result = Download(store_dir, name, final_dir);
      downloaded = result.ok();
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    flights_.erase(name);
    if (result.ok()) {
      int64_t bytes = TreeBytes(final_dir);
      entries_[name] = {bytes, std::chrono::steady_clock::now()};
      total_bytes_ += bytes;
      if (downloaded) ++downloads_;
      EvictLocked(name);
    }
  }
  promise.set_value(result);
  return result;
}

StatusOr<std::string> ArtifactFiles::Download(const std::string& store_dir, const std::string& entry,
                                              const std::string& final_dir) {
  KILN_ASSIGN_OR_RETURN(std::vector<ArtifactEntry> files, ListArtifactTree(store_, store_dir));
  if (files.empty()) return NotFound("no artifacts under '" + store_dir + "'");
  const fs::path tmp = fs::path(cache_dir_) / (std::string(kTempPrefix) + entry + "-" + NewHexId());
  std::error_code ec;
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code e;
      if (!p.empty()) fs::remove_all(p, e);
    }
  } cleanup{tmp};
  std::unique_ptr<char[]> buf(new char[kChunk]);
  for (const ArtifactEntry& f : files) {
    const fs::path dest = tmp / f.path;
    fs::create_directories(dest.parent_path(), ec);
    if (ec) return Unavailable("cannot create '" + dest.parent_path().string() + "': " + ec.message());
    KILN_ASSIGN_OR_RETURN(auto reader, store_.OpenReader(store_dir + "/" + f.path));
    std::ofstream out(dest, std::ios::binary | std::ios::trunc);
    if (!out) return Unavailable("cannot write '" + dest.string() + "'");
    int64_t got = 0;
    while (true) {
      KILN_ASSIGN_OR_RETURN(size_t n, reader->Read(buf.get(), kChunk));
      if (n == 0) break;
      out.write(buf.get(), static_cast<std::streamsize>(n));
      if (!out) return Unavailable("cannot write '" + dest.string() + "' (disk full?)");
      got += static_cast<int64_t>(n);
    }
    out.close();
    if (!out) return Unavailable("cannot write '" + dest.string() + "'");
    if (got != reader->size()) {
      return Unavailable("download of '" + store_dir + "/" + f.path + "' ended after " + std::to_string(got) + " of " +
                         std::to_string(reader->size()) + " bytes");
    }
  }
  fs::rename(tmp, final_dir, ec);
  if (ec) {
    // Another process sharing the cache may have put the same entry in place.
    std::error_code ec2;
    if (fs::is_directory(final_dir, ec2)) return final_dir;
    return Unavailable("cannot move the download of '" + store_dir + "' into the cache: " + ec.message());
  }
  cleanup.p.clear();
  return final_dir;
}

void ArtifactFiles::EvictLocked(const std::string& keep) {
  const auto recent = std::chrono::steady_clock::now() - kRecentUse;
  while (total_bytes_ > max_bytes_) {
    auto victim = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->first == keep || it->second.last_used > recent) continue;
      if (victim == entries_.end() || it->second.last_used < victim->second.last_used) victim = it;
    }
    if (victim == entries_.end()) return;
    std::error_code ec;
    // Not while a process sharing the folder (re)downloads it.
    EntryLock lock(cache_dir_, victim->first, /*blocking=*/false);
    if (lock.held()) fs::remove_all(fs::path(cache_dir_) / victim->first, ec);
    total_bytes_ -= victim->second.bytes;
    entries_.erase(victim);
  }
}

}  // namespace kiln::storage
