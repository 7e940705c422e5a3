#include "storage/local/local_artifact_store.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace kiln::storage {
namespace {

namespace fs = std::filesystem;

// A fresh scratch directory with `root/` (the store) and `outside/` (a sibling
// the store must never touch).
class LocalArtifactStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln-las-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    base_ = tmpl;
    root_ = base_ / "root";
    outside_ = base_ / "outside";
    fs::create_directories(outside_);
    WriteRaw(outside_ / "secret", "top secret");
    auto store = LocalArtifactStore::Create(root_.string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  static void WriteRaw(const fs::path& p, const std::string& content) {
    std::ofstream out(p, std::ios::binary);
    out << content;
  }
  static std::string ReadRaw(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  Status Put(const std::string& path, const std::string& content) {
    auto w = store_->OpenWriter(path);
    if (!w.ok()) return w.status();
    KILN_RETURN_IF_ERROR((*w)->Write(content));
    return (*w)->Commit();
  }
  StatusOr<std::string> Get(const std::string& path) {
    auto r = store_->OpenReader(path);
    if (!r.ok()) return r.status();
    std::string out;
    char buf[7];  // deliberately small and odd
    while (true) {
      auto n = (*r)->Read(buf, sizeof buf);
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      out.append(buf, *n);
    }
    EXPECT_EQ(static_cast<int64_t>(out.size()), (*r)->size());
    return out;
  }
  std::vector<std::string> ListPaths(const std::string& path) {
    auto l = store_->List(path);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    std::vector<std::string> out;
    if (l.ok()) {
      for (const auto& e : *l) out.push_back(e.path);
    }
    return out;
  }
  // Every file and directory under `dir`, relative, sorted; for "nothing else
  // appeared" checks (includes temp files, which List hides).
  static std::vector<std::string> RawTree(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir)) out.push_back(fs::relative(e.path(), dir).string());
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path base_, root_, outside_;
  std::unique_ptr<LocalArtifactStore> store_;
};

// Deterministic byte pattern that differs per position and per chunk.
char PatternByte(uint64_t i) { return static_cast<char>((i * 2654435761u) >> 13); }

TEST_F(LocalArtifactStoreTest, CreateMakesMissingRootAndCanonicalises) {
  fs::path nested = base_ / "a" / "b" / "c";
  auto s = LocalArtifactStore::Create((base_ / "a" / "." / "x" / ".." / "b" / "c").string());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(fs::is_directory(nested));
  EXPECT_EQ((*s)->root(), fs::canonical(nested).string());
  EXPECT_TRUE((*s)->Ping().ok());
}

TEST_F(LocalArtifactStoreTest, CreateRefusesFileAndEmpty) {
  EXPECT_FALSE(LocalArtifactStore::Create("").ok());
  EXPECT_FALSE(LocalArtifactStore::Create((outside_ / "secret").string()).ok());
}

TEST_F(LocalArtifactStoreTest, PingFailsWhenRootIsGone) {
  EXPECT_TRUE(store_->Ping().ok());
  fs::remove_all(root_);
  Status st = store_->Ping();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
}

TEST_F(LocalArtifactStoreTest, PingFailsWhenRootIsReplacedByAFile) {
  // Permission bits cannot be tested here (CI runs as root, which bypasses
  // them); a root that stopped being a directory is the failure we can make.
  fs::remove_all(root_);
  { std::ofstream(root_) << "not a directory"; }
  EXPECT_EQ(store_->Ping().code(), StatusCode::kUnavailable);
  fs::remove(root_);
}

TEST_F(LocalArtifactStoreTest, StreamsLargeArtifactInChunks) {
  constexpr uint64_t kChunk = 1 << 20;
  constexpr uint64_t kChunks = 64;
  {
    auto w = store_->OpenWriter("1/abc/artifacts/model/weights.bin");
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    std::string chunk(kChunk, '\0');
    for (uint64_t c = 0; c < kChunks; ++c) {
      for (uint64_t i = 0; i < kChunk; ++i) chunk[i] = PatternByte(c * kChunk + i);
      ASSERT_TRUE((*w)->Write(chunk).ok());
    }
    // Not visible before Commit.
    EXPECT_FALSE(fs::exists(root_ / "1/abc/artifacts/model/weights.bin"));
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto r = store_->OpenReader("1/abc/artifacts/model/weights.bin");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->size(), static_cast<int64_t>(kChunk * kChunks));
  std::vector<char> buf(777 * 1024 + 3);  // not a divisor of the chunk size
  uint64_t pos = 0;
  uint64_t mismatches = 0;
  while (true) {
    auto n = (*r)->Read(buf.data(), buf.size());
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    for (size_t i = 0; i < *n; ++i) mismatches += buf[i] != PatternByte(pos + i);
    pos += *n;
  }
  EXPECT_EQ(pos, kChunk * kChunks);
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(RawTree(root_ / "1/abc/artifacts/model"), std::vector<std::string>{"weights.bin"});
}

TEST_F(LocalArtifactStoreTest, RoundTripSmallAndEmpty) {
  ASSERT_TRUE(Put("a.txt", "hello world").ok());
  EXPECT_EQ(*Get("a.txt"), "hello world");
  ASSERT_TRUE(Put("empty", "").ok());
  EXPECT_EQ(*Get("empty"), "");
  std::string binary("\0\x01\xff\n\r", 5);
  ASSERT_TRUE(Put("bin", binary).ok());
  EXPECT_EQ(*Get("bin"), binary);
}

TEST_F(LocalArtifactStoreTest, UncommittedWriterLeavesNothing) {
  {
    auto w = store_->OpenWriter("runs/1/model.pkl");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write("partial").ok());
    // The temp file exists in the target directory but is hidden from List.
    EXPECT_EQ(RawTree(root_ / "runs/1").size(), 1u);
    EXPECT_TRUE(ListPaths("runs/1").empty());
    EXPECT_EQ(Get("runs/1/model.pkl").status().code(), StatusCode::kNotFound);
  }
  EXPECT_TRUE(RawTree(root_ / "runs/1").empty());
  EXPECT_EQ(Get("runs/1/model.pkl").status().code(), StatusCode::kNotFound);
}

TEST_F(LocalArtifactStoreTest, UncommittedOverwriteKeepsOldContent) {
  ASSERT_TRUE(Put("f", "old").ok());
  {
    auto w = store_->OpenWriter("f");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write("new").ok());
  }
  EXPECT_EQ(*Get("f"), "old");
  EXPECT_EQ(RawTree(root_), std::vector<std::string>{"f"});
}

TEST_F(LocalArtifactStoreTest, OverwriteReplacesAtomically) {
  ASSERT_TRUE(Put("dir/f", "first version").ok());
  auto old_reader = store_->OpenReader("dir/f");
  ASSERT_TRUE(old_reader.ok());
  ASSERT_TRUE(Put("dir/f", "v2").ok());
  EXPECT_EQ(*Get("dir/f"), "v2");
  // A reader opened before the overwrite still sees the old bytes.
  char buf[64];
  auto n = (*old_reader)->Read(buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "first version");
  EXPECT_EQ(RawTree(root_ / "dir"), std::vector<std::string>{"f"});
}

TEST_F(LocalArtifactStoreTest, WriterIsSingleUse) {
  auto w = store_->OpenWriter("f");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("x").ok());
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_EQ((*w)->Commit().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*w)->Write("y").code(), StatusCode::kFailedPrecondition);
  w.value().reset();  // destroying a committed writer must not remove the file
  EXPECT_EQ(*Get("f"), "x");
}

TEST_F(LocalArtifactStoreTest, ConcurrentWritersToSamePathEachCommitWhole) {
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::vector<Status> results(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string body(100000, static_cast<char>('a' + t));
      results[t] = Put("shared/f", body);
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  std::string got = *Get("shared/f");
  ASSERT_EQ(got.size(), 100000u);
  EXPECT_EQ(got.find_first_not_of(got[0]), std::string::npos) << "interleaved content";
  EXPECT_EQ(RawTree(root_ / "shared"), std::vector<std::string>{"f"});
}

TEST_F(LocalArtifactStoreTest, ReaderErrors) {
  EXPECT_EQ(store_->OpenReader("missing").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->OpenReader("no/such/dir/file").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(Put("d/f", "x").ok());
  EXPECT_EQ(store_->OpenReader("d").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->OpenReader("d/f/below-a-file").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->OpenReader("").status().code(), StatusCode::kInvalidArgument);
  ASSERT_EQ(::mkfifo((root_ / "fifo").c_str(), 0644), 0);
  EXPECT_EQ(store_->OpenReader("fifo").status().code(), StatusCode::kInvalidArgument);  // must not block
  EXPECT_TRUE(ListPaths("").size() == 1 && ListPaths("")[0] == "d") << "fifo should be hidden";
}

TEST_F(LocalArtifactStoreTest, WriterErrors) {
  ASSERT_TRUE(Put("d/f", "x").ok());
  EXPECT_EQ(store_->OpenWriter("d").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->OpenWriter("d/f/g").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->OpenWriter("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*Get("d/f"), "x");
}

TEST_F(LocalArtifactStoreTest, LongNamesWork) {
  std::string name(255, 'n');
  ASSERT_TRUE(Put("d/" + name, "long").ok());
  EXPECT_EQ(*Get("d/" + name), "long");
  EXPECT_EQ(store_->OpenWriter("d/" + std::string(256, 'n')).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(LocalArtifactStoreTest, ListDirectChildrenSortedWithRelativePaths) {
  ASSERT_TRUE(Put("1/abc/artifacts/model/MLmodel", "yaml").ok());
  ASSERT_TRUE(Put("1/abc/artifacts/model/data/x.bin", "12345").ok());
  ASSERT_TRUE(Put("1/abc/artifacts/b.txt", "bb").ok());
  ASSERT_TRUE(Put("1/abc/artifacts/a.txt", "a").ok());
  ASSERT_TRUE(Put("1/abc/artifacts/Z.txt", "").ok());

  auto l = store_->List("1/abc/artifacts");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  ASSERT_EQ(l->size(), 4u);
  EXPECT_EQ((*l)[0].path, "1/abc/artifacts/Z.txt");
  EXPECT_EQ((*l)[1].path, "1/abc/artifacts/a.txt");
  EXPECT_EQ((*l)[1].size, 1);
  EXPECT_FALSE((*l)[1].is_dir);
  EXPECT_EQ((*l)[2].path, "1/abc/artifacts/b.txt");
  EXPECT_EQ((*l)[2].size, 2);
  EXPECT_EQ((*l)[3].path, "1/abc/artifacts/model");
  EXPECT_TRUE((*l)[3].is_dir);

  EXPECT_EQ(ListPaths("1/abc/artifacts/model"),
            (std::vector<std::string>{"1/abc/artifacts/model/MLmodel", "1/abc/artifacts/model/data"}));
  EXPECT_EQ(ListPaths(""), std::vector<std::string>{"1"});
  EXPECT_TRUE(ListPaths("nope").empty());
  EXPECT_TRUE(ListPaths("nope/deeper").empty());
  EXPECT_TRUE(ListPaths("1/abc/artifacts/a.txt").empty());
}

TEST_F(LocalArtifactStoreTest, DeleteFilesAndTrees) {
  ASSERT_TRUE(Put("r/a/x", "1").ok());
  ASSERT_TRUE(Put("r/a/y/z", "2").ok());
  ASSERT_TRUE(Put("r/b", "3").ok());
  ASSERT_TRUE(store_->Delete("r/b").ok());
  EXPECT_EQ(Get("r/b").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->Delete("r/a").ok());
  EXPECT_FALSE(fs::exists(root_ / "r/a"));
  EXPECT_TRUE(fs::is_directory(root_ / "r"));
  EXPECT_EQ(store_->Delete("r/a").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete("never").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete("").code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(fs::is_directory(root_));
  EXPECT_TRUE(store_->Ping().ok());
}

TEST_F(LocalArtifactStoreTest, PercentEncodedNamesAreLiteral) {
  ASSERT_TRUE(Put("%2e%2e/%2E%2E%2fx", "literal").ok());
  EXPECT_TRUE(fs::is_regular_file(root_ / "%2e%2e" / "%2E%2E%2fx"));
  EXPECT_EQ(*Get("%2e%2e/%2E%2E%2fx"), "literal");
  EXPECT_EQ(ListPaths("%2e%2e"), std::vector<std::string>{"%2e%2e/%2E%2E%2fx"});
  // Names that merely start with dots are fine too.
  ASSERT_TRUE(Put("...", "3").ok());
  ASSERT_TRUE(Put(".hidden", "h").ok());
  EXPECT_EQ(*Get("..."), "3");
}

struct BadPath {
  std::string path;
  StatusCode code;
};
void PrintTo(const BadPath& p, std::ostream* os) {
  *os << ::testing::PrintToString(p.path) << " -> " << StatusCodeName(p.code);
}

class LocalArtifactStoreBadPathTest : public LocalArtifactStoreTest,
                                      public ::testing::WithParamInterface<BadPath> {};

TEST_P(LocalArtifactStoreBadPathTest, RefusedByEveryOperation) {
  // Give the traversal something to find if it were followed.
  ASSERT_TRUE(Put("a/b", "inside").ok());
  const BadPath& p = GetParam();
  auto before_outside = RawTree(base_);

  auto w = store_->OpenWriter(p.path);
  EXPECT_EQ(w.status().code(), p.code) << w.status().ToString();
  auto r = store_->OpenReader(p.path);
  EXPECT_EQ(r.status().code(), p.code) << r.status().ToString();
  auto l = store_->List(p.path);
  EXPECT_EQ(l.status().code(), p.code) << l.status().ToString();
  Status d = store_->Delete(p.path);
  EXPECT_EQ(d.code(), p.code) << d.ToString();
  if (p.code == StatusCode::kPermissionDenied) {
    EXPECT_NE(d.message().find("escapes the artifact root"), std::string::npos) << d.message();
  }
  EXPECT_EQ(RawTree(base_), before_outside) << "filesystem changed";
  EXPECT_EQ(ReadRaw(outside_ / "secret"), "top secret");
}

INSTANTIATE_TEST_SUITE_P(
    LocalArtifactStoreEscapes, LocalArtifactStoreBadPathTest,
    ::testing::Values(BadPath{"../x", StatusCode::kPermissionDenied},
                      BadPath{"..", StatusCode::kPermissionDenied},
                      BadPath{"../outside/secret", StatusCode::kPermissionDenied},
                      BadPath{"a/../../x", StatusCode::kPermissionDenied},
                      BadPath{"a/..", StatusCode::kPermissionDenied},
                      BadPath{"a/b/../../../outside/secret", StatusCode::kPermissionDenied},
                      BadPath{"a//../x", StatusCode::kPermissionDenied},
                      BadPath{"/etc/passwd", StatusCode::kPermissionDenied},
                      BadPath{"/", StatusCode::kPermissionDenied},
                      BadPath{"//etc/passwd", StatusCode::kPermissionDenied},
                      BadPath{"a\\..\\b", StatusCode::kInvalidArgument},
                      BadPath{"..\\outside\\secret", StatusCode::kInvalidArgument},
                      BadPath{std::string("a\0b", 3), StatusCode::kInvalidArgument},
                      BadPath{std::string("a/b\0/../../x", 12), StatusCode::kInvalidArgument},
                      BadPath{"a/./b", StatusCode::kInvalidArgument},
                      BadPath{".", StatusCode::kInvalidArgument},
                      BadPath{"./a", StatusCode::kInvalidArgument},
                      BadPath{"a//b", StatusCode::kInvalidArgument},
                      BadPath{"a/", StatusCode::kInvalidArgument},
                      BadPath{"a/.b.kiln-tmp-0123456789abcdef", StatusCode::kInvalidArgument},
                      BadPath{std::string(5000, 'x'), StatusCode::kInvalidArgument}));

// Symlink inside the root pointing outside it: nothing may go through it.
TEST_F(LocalArtifactStoreTest, SymlinkToOutsideIsRefusedEverywhere) {
  fs::create_directory_symlink(outside_, root_ / "out");                 // absolute target
  fs::create_directories(root_ / "d");
  fs::create_directory_symlink("../../outside", root_ / "d" / "rel");    // relative target
  fs::create_symlink(outside_ / "secret", root_ / "secretlink");         // file link
  fs::create_symlink(outside_ / "not-yet", root_ / "dangling");          // dangling, outside
  fs::create_symlink("loop", root_ / "loop");                            // self loop
  auto before = RawTree(outside_);

  for (std::string p : {"out", "out/secret", "out/newdir/new", "d/rel", "d/rel/secret", "secretlink",
                        "dangling", "dangling/x", "loop", "loop/x"}) {
    SCOPED_TRACE(p);
    auto w = store_->OpenWriter(p);
    EXPECT_EQ(w.status().code(), StatusCode::kPermissionDenied) << w.status().ToString();
    auto r = store_->OpenReader(p);
    EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << r.status().ToString();
    auto l = store_->List(p);
    EXPECT_EQ(l.status().code(), StatusCode::kPermissionDenied) << l.status().ToString();
    Status d = store_->Delete(p);
    EXPECT_EQ(d.code(), StatusCode::kPermissionDenied) << d.ToString();
    EXPECT_NE(d.message().find("escapes the artifact root"), std::string::npos);
  }
  EXPECT_EQ(RawTree(outside_), before);
  EXPECT_EQ(ReadRaw(outside_ / "secret"), "top secret");
  EXPECT_FALSE(fs::exists(outside_ / "not-yet"));
  // Escaping links are hidden from listings; the links themselves survive.
  EXPECT_EQ(ListPaths(""), std::vector<std::string>{"d"});
  EXPECT_TRUE(ListPaths("d").empty());
  EXPECT_TRUE(fs::is_symlink(root_ / "out"));
}

// A symlink that escapes only via the root itself being reached through "..".
TEST_F(LocalArtifactStoreTest, SymlinkToRootParentIsRefused) {
  fs::create_directory_symlink("..", root_ / "up");
  EXPECT_EQ(store_->OpenReader("up/outside/secret").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(store_->OpenWriter("up/x").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(store_->List("up").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(store_->Delete("up/outside").code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(fs::exists(outside_ / "secret"));
  EXPECT_FALSE(fs::exists(base_ / "x"));
}

// Decision: a symlink inside the root that resolves inside the root is
// allowed and followed for read/write/list; Delete removes the link only.
TEST_F(LocalArtifactStoreTest, SymlinkWithinRootIsFollowed) {
  ASSERT_TRUE(Put("real/f", "data").ok());
  fs::create_directory_symlink("real", root_ / "alias");
  fs::create_symlink("real/f", root_ / "flink");
  fs::create_directory_symlink(".", root_ / "self");

  EXPECT_EQ(*Get("alias/f"), "data");
  EXPECT_EQ(*Get("flink"), "data");
  EXPECT_EQ(*Get("self/real/f"), "data");
  ASSERT_TRUE(Put("alias/g", "via alias").ok());
  EXPECT_EQ(ReadRaw(root_ / "real" / "g"), "via alias");
  ASSERT_TRUE(Put("flink", "through file link").ok());
  EXPECT_EQ(ReadRaw(root_ / "real" / "f"), "through file link");
  EXPECT_TRUE(fs::is_symlink(root_ / "flink"));
  EXPECT_EQ(ListPaths("alias"), (std::vector<std::string>{"alias/f", "alias/g"}));

  auto root_list = store_->List("");
  ASSERT_TRUE(root_list.ok());
  ASSERT_EQ(root_list->size(), 4u);  // alias, flink, real, self
  EXPECT_EQ((*root_list)[0].path, "alias");
  EXPECT_TRUE((*root_list)[0].is_dir);
  EXPECT_EQ((*root_list)[1].path, "flink");
  EXPECT_EQ((*root_list)[1].size, static_cast<int64_t>(std::string("through file link").size()));

  // Writing to a path that resolves to the root itself is refused.
  EXPECT_EQ(store_->OpenWriter("self").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->OpenReader("self").status().code(), StatusCode::kInvalidArgument);

  ASSERT_TRUE(store_->Delete("alias").ok());
  ASSERT_TRUE(store_->Delete("self").ok());
  EXPECT_FALSE(fs::exists(root_ / "alias"));
  EXPECT_TRUE(fs::is_directory(root_));
  EXPECT_EQ(ReadRaw(root_ / "real" / "g"), "via alias");
  ASSERT_TRUE(store_->Delete("flink").ok());
  EXPECT_TRUE(fs::exists(root_ / "real" / "f"));
}

// Race: a directory on the resolved path is swapped for a symlink to the
// outside between path resolution and open(). The descriptor re-check must
// catch it, so nothing outside is ever read, created or listed. (Detection
// of a regression here is probabilistic; a pass proves nothing by itself.)
TEST_F(LocalArtifactStoreTest, SymlinkSwapRaceNeverEscapes) {
  ASSERT_TRUE(Put("sw/secret", "inside").ok());
  fs::create_directories(outside_ / "victim");
  WriteRaw(outside_ / "victim" / "keep", "k");
  std::atomic<bool> stop{false};
  // "sw" atomically alternates between the real directory and a symlink to
  // the outside (RENAME_EXCHANGE), so it always exists.
  fs::create_directory_symlink(outside_, root_ / "swap");
  const std::string sw = (root_ / "sw").string(), swap = (root_ / "swap").string();
  std::thread flipper([&] {
    while (!stop.load()) {
      if (::renameat2(AT_FDCWD, sw.c_str(), AT_FDCWD, swap.c_str(), RENAME_EXCHANGE) != 0) break;
    }
  });
  int escaped = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1000);
  for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
    auto got = Get("sw/secret");
    if (got.ok() && *got != "inside") ++escaped;
    // Not committed (fdatasync would slow the loop): creating "sub" and the
    // temp file is what must not happen outside.
    auto w = store_->OpenWriter("sw/sub/planted-" + std::to_string(i));
    // Recreates sw/victim (inside) and deletes it; outside/victim must survive.
    auto v = store_->OpenWriter("sw/victim/tmp");
    v = Status(StatusCode::kAborted, "drop");
    (void)store_->Delete("sw/victim");
    auto l = store_->List("sw");
    if (l.ok()) {
      for (const auto& e : *l) escaped += e.path == "sw/secret" && e.size != 6;
    }
  }
  stop = true;
  flipper.join();
  EXPECT_EQ(escaped, 0);
  EXPECT_EQ(RawTree(outside_), (std::vector<std::string>{"secret", "victim", "victim/keep"}));
}

// The root itself may be reached through a symlink; Create canonicalises it
// and paths under it keep working.
TEST_F(LocalArtifactStoreTest, RootBehindSymlink) {
  fs::create_directory_symlink(root_, base_ / "root-link");
  auto s = LocalArtifactStore::Create((base_ / "root-link").string());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->root(), fs::canonical(root_).string());
  auto w = (*s)->OpenWriter("x/y");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE((*w)->Write("z").ok());
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_EQ(ReadRaw(root_ / "x" / "y"), "z");
}

}  // namespace
}  // namespace kiln::storage
