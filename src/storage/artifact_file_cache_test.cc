#include "storage/artifact_file_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "storage/local/local_artifact_store.h"

namespace kiln::storage {
namespace {

namespace fs = std::filesystem;

// A store that is not local to ArtifactFiles (as S3 is not), counting reads:
// the cache, not the store, is under test.
class RemoteLike final : public ArtifactStore {
 public:
  explicit RemoteLike(ArtifactStore& inner) : inner_(inner) {}
  Status Ping() override { return inner_.Ping(); }
  StatusOr<std::unique_ptr<ArtifactWriter>> OpenWriter(const std::string& p) override { return inner_.OpenWriter(p); }
  StatusOr<std::unique_ptr<ArtifactReader>> OpenReader(const std::string& p) override {
    ++reads;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // widen the race window
    return inner_.OpenReader(p);
  }
  StatusOr<std::vector<ArtifactEntry>> List(const std::string& p) override { return inner_.List(p); }
  Status Delete(const std::string& p) override { return inner_.Delete(p); }
  std::atomic<int> reads{0};

 private:
  ArtifactStore& inner_;
};

class ArtifactFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln-afc-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    base_ = tmpl;
    auto local = LocalArtifactStore::Create((base_ / "store").string());
    ASSERT_TRUE(local.ok());
    local_ = std::move(*local);
    remote_ = std::make_unique<RemoteLike>(*local_);
  }
  void TearDown() override { fs::remove_all(base_); }
  void Put(const std::string& path, const std::string& data) {
    auto w = local_->OpenWriter(path);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(data).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  static std::string Slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  fs::path base_;
  std::unique_ptr<LocalArtifactStore> local_;
  std::unique_ptr<RemoteLike> remote_;
};

TEST_F(ArtifactFilesTest, LocalStoreIsUsedInPlace) {
  auto files = ArtifactFiles::Create(*local_, (base_ / "cache").string());
  ASSERT_TRUE(files.ok());
  auto dir = (*files)->LocalDir("_registry/abc");
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(*dir, local_->root() + "/_registry/abc");
  EXPECT_FALSE(fs::exists(base_ / "cache"));
}

TEST_F(ArtifactFilesTest, ConcurrentFetchesDownloadOnce) {
  Put("_registry/v1/MLmodel", "flavors: {}\n");
  Put("_registry/v1/model.xgb", std::string(300000, 'm'));
  Put("_registry/v1/sub/extra.txt", "x");
  auto files = ArtifactFiles::Create(*remote_, (base_ / "cache").string());
  ASSERT_TRUE(files.ok());
  std::vector<std::thread> threads;
  std::vector<std::string> dirs(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto d = (*files)->LocalDir("_registry/v1");
      dirs[i] = d.ok() ? *d : "error: " + d.status().ToString();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& d : dirs) EXPECT_EQ(d, dirs[0]);
  EXPECT_EQ((*files)->downloads(), 1);
  EXPECT_EQ(remote_->reads.load(), 3);  // one read per file, whatever the number of callers
  EXPECT_EQ(Slurp(fs::path(dirs[0]) / "model.xgb"), std::string(300000, 'm'));
  EXPECT_EQ(Slurp(fs::path(dirs[0]) / "sub/extra.txt"), "x");
  // No temporary folder is left next to the entry.
  for (const auto& de : fs::directory_iterator(base_ / "cache")) {
    EXPECT_EQ(de.path().filename().string().find(".download-"), std::string::npos);
  }
  auto again = (*files)->LocalDir("_registry/v1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*files)->downloads(), 1);
}

// Three caches on one folder: three replicas sharing a volume (flock locks
// open files, so instances in one process contend as processes do).
TEST_F(ArtifactFilesTest, CachesSharingAFolderDownloadOnceBetweenThem) {
  Put("_registry/v1/MLmodel", "flavors: {}\n");
  Put("_registry/v1/model.xgb", std::string(300000, 'm'));
  std::vector<std::unique_ptr<ArtifactFiles>> replicas;
  for (int i = 0; i < 3; ++i) {
    auto f = ArtifactFiles::Create(*remote_, (base_ / "shared").string());
    ASSERT_TRUE(f.ok());
    replicas.push_back(std::move(*f));
  }
  std::vector<std::thread> threads;
  std::vector<std::string> dirs(6);
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      auto d = replicas[i % 3]->LocalDir("_registry/v1");
      dirs[i] = d.ok() ? *d : "error: " + d.status().ToString();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& d : dirs) EXPECT_EQ(d, dirs[0]);
  int64_t downloads = 0;
  for (const auto& r : replicas) downloads += r->downloads();
  EXPECT_EQ(downloads, 1);
  EXPECT_EQ(remote_->reads.load(), 2);  // one read per file, whichever replica asked
  EXPECT_EQ(Slurp(fs::path(dirs[0]) / "model.xgb"), std::string(300000, 'm'));

  // A replica starting while another downloads leaves that download alone.
  const fs::path in_flight = base_ / "shared" / ".download-_registry%2Fv2-0123abcd";
  fs::create_directories(in_flight);
  {
    const std::string lock_path = (base_ / "shared" / ".lock-_registry%2Fv2").string();
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX), 0);
    auto starting = ArtifactFiles::Create(*remote_, (base_ / "shared").string());
    ASSERT_TRUE(starting.ok());
    EXPECT_TRUE(fs::exists(in_flight)) << "removed a download another process holds";
    ::close(fd);
  }
  auto after_crash = ArtifactFiles::Create(*remote_, (base_ / "shared").string());
  ASSERT_TRUE(after_crash.ok());
  EXPECT_FALSE(fs::exists(in_flight)) << "a crashed download (lock free) is cleaned up";
}

TEST_F(ArtifactFilesTest, EntriesSurviveARestartAndTheOldestIsEvicted) {
  Put("_registry/a/model.xgb", std::string(1000, 'a'));
  Put("_registry/b/model.xgb", std::string(1000, 'b'));
  const std::string cache = (base_ / "cache").string();
  std::string a_dir;
  {
    auto files = ArtifactFiles::Create(*remote_, cache, 1500);
    ASSERT_TRUE(files.ok());
    auto a = (*files)->LocalDir("_registry/a");
    ASSERT_TRUE(a.ok());
    a_dir = *a;
  }
  fs::create_directories(fs::path(cache) / ".download-leftover");  // a crashed download
  auto files = ArtifactFiles::Create(*remote_, cache, 1500);
  ASSERT_TRUE(files.ok());
  EXPECT_FALSE(fs::exists(fs::path(cache) / ".download-leftover"));
  auto a = (*files)->LocalDir("_registry/a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*files)->downloads(), 0);  // found on disk
  // "a" was just used: b does not push it out (the caller may still be loading it).
  auto b = (*files)->LocalDir("_registry/b");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(fs::exists(a_dir));
  EXPECT_EQ((*files)->downloads(), 1);
}

TEST_F(ArtifactFilesTest, OldEntriesAreEvictedBeyondTheBound) {
  Put("_registry/a/model.xgb", std::string(1000, 'a'));
  Put("_registry/b/model.xgb", std::string(1000, 'b'));
  const std::string cache = (base_ / "cache").string();
  std::string a_dir;
  {
    auto files = ArtifactFiles::Create(*remote_, cache, 1500);
    ASSERT_TRUE(files.ok());
    a_dir = *(*files)->LocalDir("_registry/a");
  }
  auto files = ArtifactFiles::Create(*remote_, cache, 1500);  // "a" is now an old entry
  ASSERT_TRUE(files.ok());
  ASSERT_TRUE((*files)->LocalDir("_registry/b").ok());
  EXPECT_FALSE(fs::exists(a_dir));
  EXPECT_FALSE((*files)->LocalDir("_registry/missing").ok());
}

}  // namespace
}  // namespace kiln::storage
