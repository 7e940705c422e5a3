#include "storage/local/local_artifact_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <utility>

namespace kiln::storage {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTempMarker = ".kiln-tmp-";
// Bytes of the target name kept in the temp name so that it stays <= NAME_MAX.
constexpr size_t kTempNamePrefixMax = NAME_MAX - 1 /* '.' */ - kTempMarker.size() - 16;

// Owns one file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void Reset() {
    // close() on Linux releases the descriptor even when it reports EINTR, so
    // it must never be retried.
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::string ErrnoText(int err) { return std::system_category().message(err); }

// Maps an errno to a Status. `rel` is the store-relative path; absolute server
// paths are kept out of messages that may reach HTTP clients.
Status ErrnoStatus(int err, std::string_view op, const std::string& rel) {
  std::string msg = std::string(op) + " '" + rel + "': " + ErrnoText(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return NotFound(std::move(msg));
    case EACCES:
    case EPERM:
    case EROFS:
      return PermissionDenied(std::move(msg));
    case ELOOP:
      return PermissionDenied("path escapes the artifact root: " + msg);
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
      return ResourceExhausted(std::move(msg));
    case ENAMETOOLONG:
    case EISDIR:
    case EINVAL:
      return InvalidArgument(std::move(msg));
    case EEXIST:
      return AlreadyExists(std::move(msg));
    default:
      return Internal(std::move(msg));
  }
}

Status Escapes(const std::string& rel, std::string_view why) {
  return PermissionDenied("path escapes the artifact root: '" + rel + "' (" + std::string(why) + ")");
}

// True for names used by in-progress writers: ".<name>.kiln-tmp-<random>".
bool IsTempName(std::string_view name) {
  return name.size() > 1 && name[0] == '.' && name.find(kTempMarker, 1) != std::string_view::npos;
}

std::string JoinPath(const std::string& dir, std::string_view name) {
  std::string out = dir;
  if (out.empty() || out.back() != '/') out += '/';
  out += name;
  return out;
}

// `root` is canonical (no trailing '/', except for "/" itself).
bool IsUnderRoot(std::string_view p, const std::string& root) {
  if (root == "/") return !p.empty() && p[0] == '/';
  if (p.size() < root.size() || p.compare(0, root.size(), root) != 0) return false;
  return p.size() == root.size() || p[root.size()] == '/';
}

// Validates a store-relative path and splits it into segments. See the header
// for the rules. The empty path (the root) yields no segments.
StatusOr<std::vector<std::string>> SplitPath(const std::string& path, bool allow_root) {
  if (path.empty()) {
    if (allow_root) return std::vector<std::string>{};
    return InvalidArgument("artifact path must not be empty");
  }
  if (path.find('\0') != std::string::npos) {
    return InvalidArgument("artifact path contains a NUL byte");
  }
  if (path.find('\\') != std::string::npos) {
    return InvalidArgument("artifact path contains a backslash; use '/' as separator");
  }
  if (path[0] == '/') return Escapes(path, "absolute paths are not allowed");
  if (path.size() >= PATH_MAX) return InvalidArgument("artifact path is too long");

  std::vector<std::string> segments;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    size_t end = slash == std::string::npos ? path.size() : slash;
    segments.emplace_back(path, start, end - start);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  // Escape attempts are reported as such even when the path is also malformed.
  for (const auto& s : segments) {
    if (s == "..") return Escapes(path, "'..' segments are not allowed");
  }
  for (const auto& s : segments) {
    if (s.empty()) return InvalidArgument("artifact path '" + path + "' has an empty segment");
    if (s == ".") return InvalidArgument("artifact path '" + path + "' has a '.' segment");
    if (s.size() > NAME_MAX) return InvalidArgument("artifact path '" + path + "' has a segment longer than " + std::to_string(NAME_MAX) + " bytes");
    if (IsTempName(s)) return InvalidArgument("artifact path '" + path + "' uses a name reserved for in-progress writes");
  }
  return segments;
}

// Resolves root/segments to an absolute path whose existing part is canonical
// and under `root`: the deepest existing ancestor (found with lstat, so a
// dangling symlink counts as existing) goes through realpath(3); the missing
// remainder is appended verbatim (it cannot contain symlinks, "." or "..").
StatusOr<std::string> Resolve(const std::string& root, const std::vector<std::string>& segments,
                              const std::string& rel) {
  std::string existing = root;
  size_t n_existing = 0;
  for (const auto& seg : segments) {
    std::string candidate = JoinPath(existing, seg);
    struct stat st;
    if (::lstat(candidate.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) break;
      return ErrnoStatus(errno, "cannot inspect", rel);
    }
    existing = std::move(candidate);
    ++n_existing;
  }
  char* real = ::realpath(existing.c_str(), nullptr);
  if (real == nullptr) {
    int err = errno;
    if (err == ENOENT || err == ELOOP) return Escapes(rel, "dangling or looping symlink");
    return ErrnoStatus(err, "cannot resolve", rel);
  }
  std::string resolved(real);
  std::free(real);
  if (!IsUnderRoot(resolved, root)) return Escapes(rel, "symlink points outside the root");
  for (size_t i = n_existing; i < segments.size(); ++i) resolved = JoinPath(resolved, segments[i]);
  return resolved;
}

// Checks that an open descriptor really refers to something under `root`,
// closing the race between Resolve() and open(). Fails closed.
Status VerifyFd(int fd, const std::string& root, const std::string& rel) {
  char proc[64];
  std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  char target[PATH_MAX + 1];
  ssize_t n = ::readlink(proc, target, PATH_MAX);
  if (n < 0) {
    return Internal("cannot verify the location of '" + rel + "' (is /proc mounted?): " + ErrnoText(errno));
  }
  if (!IsUnderRoot(std::string_view(target, static_cast<size_t>(n)), root)) {
    return Escapes(rel, "opened file is outside the root");
  }
  return Status::Ok();
}

std::string JoinSegments(const std::vector<std::string>& segments) {
  std::string out;
  for (const auto& s : segments) {
    if (!out.empty()) out += '/';
    out += s;
  }
  return out;
}

std::string RandomHex() {
  static std::atomic<uint64_t> counter{0};
  uint64_t v = 0;
  if (::getrandom(&v, sizeof v, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof v)) {
    struct timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    v = (static_cast<uint64_t>(ts.tv_sec) << 32) ^ static_cast<uint64_t>(ts.tv_nsec) ^
        (static_cast<uint64_t>(::getpid()) << 48);
  }
  v ^= counter.fetch_add(1, std::memory_order_relaxed) * 0x9E3779B97F4A7C15ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// Splits a canonical absolute path into (parent dir, last component).
std::pair<std::string, std::string> SplitLast(const std::string& abs) {
  size_t slash = abs.rfind('/');
  std::string parent = slash == 0 ? "/" : abs.substr(0, slash);
  return {parent, abs.substr(slash + 1)};
}

// Opens the directory `abs_dir` (== root or under it, as returned by Resolve)
// by walking from the root with openat(O_NOFOLLOW) one component at a time,
// creating missing components when `create`. Since Resolve() returned a path
// with no symlinks, meeting one now means the tree changed underneath us: that
// fails with ELOOP instead of being followed. Returns -1 with errno set.
int OpenDirBeneath(const std::string& root, const std::string& abs_dir, bool create) {
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return -1;
  if (abs_dir.size() == root.size()) return fd.release();
  std::string_view rest(abs_dir);
  rest.remove_prefix(root == "/" ? 1 : root.size() + 1);
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string seg(rest.substr(0, slash));
    rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
    if (create && ::mkdirat(fd.get(), seg.c_str(), 0777) != 0 && errno != EEXIST) return -1;
    int next = ::openat(fd.get(), seg.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) {
      // O_NOFOLLOW|O_DIRECTORY on a symlink reports ENOTDIR on some kernels.
      int err = errno;
      struct stat st;
      if (err == ENOTDIR && ::fstatat(fd.get(), seg.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode)) {
        err = ELOOP;
      }
      errno = err;
      return -1;
    }
    fd = UniqueFd(next);
  }
  return fd.release();
}

// Removes `name` inside `dir_fd`: a file, a symlink (never followed) or a
// directory tree, using only *at() calls on descriptors so that a concurrent
// symlink swap cannot redirect it outside. Returns 0 or an errno.
int RemoveTreeAt(int dir_fd, const char* name) {
  struct stat st;
  if (::fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
  if (!S_ISDIR(st.st_mode)) return ::unlinkat(dir_fd, name, 0) == 0 ? 0 : errno;
  int fd = ::openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno;
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(fd);
    return err;
  }
  std::unique_ptr<DIR, int (*)(DIR*)> closer(dir, &::closedir);
  std::vector<std::string> children;
  while (true) {
    errno = 0;
    struct dirent* de = ::readdir(dir);
    if (de == nullptr) {
      if (errno != 0) return errno;
      break;
    }
    std::string_view child(de->d_name);
    if (child != "." && child != "..") children.emplace_back(child);
  }
  for (const auto& child : children) {
    int err = RemoveTreeAt(::dirfd(dir), child.c_str());
    if (err != 0 && err != ENOENT) return err;
  }
  closer.reset();
  return ::unlinkat(dir_fd, name, AT_REMOVEDIR) == 0 ? 0 : errno;
}

class LocalArtifactReader final : public ArtifactReader {
 public:
  LocalArtifactReader(UniqueFd fd, int64_t size, std::string rel)
      : fd_(std::move(fd)), size_(size), rel_(std::move(rel)) {}

  int64_t size() const override { return size_; }

  StatusOr<size_t> Read(char* buffer, size_t capacity) override {
    if (capacity == 0) return size_t{0};
    capacity = std::min<size_t>(capacity, size_t{1} << 30);
    while (true) {
      ssize_t n = ::read(fd_.get(), buffer, capacity);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot read", rel_);
    }
  }

 private:
  UniqueFd fd_;
  int64_t size_;
  std::string rel_;
};

class LocalArtifactWriter final : public ArtifactWriter {
 public:
  LocalArtifactWriter(UniqueFd dir_fd, UniqueFd fd, std::string tmp_name, std::string name, std::string rel)
      : dir_fd_(std::move(dir_fd)),
        fd_(std::move(fd)),
        tmp_name_(std::move(tmp_name)),
        name_(std::move(name)),
        rel_(std::move(rel)) {}

  ~LocalArtifactWriter() override {
    fd_.Reset();
    if (state_ != State::kCommitted) ::unlinkat(dir_fd_.get(), tmp_name_.c_str(), 0);
  }

  Status Write(std::string_view chunk) override {
    if (state_ != State::kOpen) return FailedPrecondition("writer for '" + rel_ + "' is no longer open");
    const char* p = chunk.data();
    size_t left = chunk.size();
    while (left > 0) {
      ssize_t n = ::write(fd_.get(), p, std::min<size_t>(left, size_t{1} << 30));
      if (n < 0) {
        if (errno == EINTR) continue;
        state_ = State::kFailed;
        return ErrnoStatus(errno, "cannot write", rel_);
      }
      if (n == 0) {
        state_ = State::kFailed;
        return Internal("cannot write '" + rel_ + "': write() made no progress");
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  Status Commit() override {
    if (state_ != State::kOpen) return FailedPrecondition("writer for '" + rel_ + "' is no longer open");
    state_ = State::kFailed;  // until the rename succeeds
    int rc;
    do {
      rc = ::fdatasync(fd_.get());
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return ErrnoStatus(errno, "cannot sync", rel_);
    if (::close(fd_.release()) != 0 && errno != EINTR) return ErrnoStatus(errno, "cannot close", rel_);
    if (::renameat(dir_fd_.get(), tmp_name_.c_str(), dir_fd_.get(), name_.c_str()) != 0) {
      return ErrnoStatus(errno, "cannot commit", rel_);
    }
    state_ = State::kCommitted;
    // Make the rename durable. Some filesystems refuse fsync on directories.
    if (::fsync(dir_fd_.get()) != 0 && errno != EINVAL && errno != EINTR) {
      return ErrnoStatus(errno, "committed but cannot sync directory of", rel_);
    }
    return Status::Ok();
  }

 private:
  enum class State { kOpen, kFailed, kCommitted };
  UniqueFd dir_fd_;
  UniqueFd fd_;
  std::string tmp_name_;
  std::string name_;
  std::string rel_;
  State state_ = State::kOpen;
};

}  // namespace

StatusOr<std::unique_ptr<LocalArtifactStore>> LocalArtifactStore::Create(const std::string& root_dir) {
  if (root_dir.empty()) return InvalidArgument("artifact root directory must not be empty");
  if (root_dir.find('\0') != std::string::npos) return InvalidArgument("artifact root contains a NUL byte");
  std::error_code ec;
  fs::create_directories(root_dir, ec);
  if (ec) return Unavailable("cannot create artifact root '" + root_dir + "': " + ec.message());
  char* real = ::realpath(root_dir.c_str(), nullptr);
  if (real == nullptr) return Unavailable("cannot resolve artifact root '" + root_dir + "': " + ErrnoText(errno));
  std::string canonical(real);
  std::free(real);
  struct stat st;
  if (::stat(canonical.c_str(), &st) != 0) {
    return Unavailable("cannot stat artifact root '" + canonical + "': " + ErrnoText(errno));
  }
  if (!S_ISDIR(st.st_mode)) return InvalidArgument("artifact root '" + canonical + "' is not a directory");
  return std::unique_ptr<LocalArtifactStore>(new LocalArtifactStore(std::move(canonical)));
}

Status LocalArtifactStore::Ping() {
  struct stat st;
  if (::stat(root_.c_str(), &st) != 0) return Unavailable("artifact root is not accessible: " + ErrnoText(errno));
  if (!S_ISDIR(st.st_mode)) return Unavailable("artifact root is not a directory");
  if (::faccessat(AT_FDCWD, root_.c_str(), W_OK | X_OK, AT_EACCESS) != 0) {
    return Unavailable("artifact root is not writable: " + ErrnoText(errno));
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<ArtifactWriter>> LocalArtifactStore::OpenWriter(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(auto segments, SplitPath(path, /*allow_root=*/false));
  const std::string rel = JoinSegments(segments);
  KILN_ASSIGN_OR_RETURN(std::string resolved, Resolve(root_, segments, rel));
  if (resolved == root_) return InvalidArgument("cannot write '" + rel + "': it is the artifact root");
  auto [parent, name] = SplitLast(resolved);
  if (IsTempName(name)) return InvalidArgument("cannot write '" + rel + "': reserved name");

  UniqueFd dir_fd(OpenDirBeneath(root_, parent, /*create=*/true));
  if (!dir_fd.valid()) {
    if (errno == ENOTDIR || errno == EEXIST) {
      return InvalidArgument("cannot write '" + rel + "': a parent is not a directory");
    }
    return ErrnoStatus(errno, "cannot create or open parent directory of", rel);
  }
  KILN_RETURN_IF_ERROR(VerifyFd(dir_fd.get(), root_, rel));

  struct stat st;
  if (::fstatat(dir_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
    return InvalidArgument("cannot write '" + rel + "': it is a directory");
  }

  const std::string name_prefix = name.substr(0, kTempNamePrefixMax);
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string tmp = "." + name_prefix + std::string(kTempMarker) + RandomHex();
    UniqueFd fd(::openat(dir_fd.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd.valid()) {
      if (errno == EEXIST) continue;
      return ErrnoStatus(errno, "cannot create temporary file for", rel);
    }
    return std::unique_ptr<ArtifactWriter>(
        new LocalArtifactWriter(std::move(dir_fd), std::move(fd), std::move(tmp), name, rel));
  }
  return Internal("cannot create a unique temporary file for '" + rel + "'");
}

StatusOr<std::unique_ptr<ArtifactReader>> LocalArtifactStore::OpenReader(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(auto segments, SplitPath(path, /*allow_root=*/false));
  const std::string rel = JoinSegments(segments);
  KILN_ASSIGN_OR_RETURN(std::string resolved, Resolve(root_, segments, rel));
  if (resolved == root_) return InvalidArgument("cannot read '" + rel + "': it is a directory");

  auto [parent, name] = SplitLast(resolved);
  UniqueFd dir_fd(OpenDirBeneath(root_, parent, /*create=*/false));
  if (!dir_fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return NotFound("artifact not found: '" + rel + "'");
    return ErrnoStatus(errno, "cannot open", rel);
  }
  // O_NONBLOCK: opening a FIFO must not hang; it is refused below.
  UniqueFd fd(::openat(dir_fd.get(), name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return NotFound("artifact not found: '" + rel + "'");
    return ErrnoStatus(errno, "cannot open", rel);
  }
  KILN_RETURN_IF_ERROR(VerifyFd(fd.get(), root_, rel));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "cannot stat", rel);
  if (S_ISDIR(st.st_mode)) return InvalidArgument("cannot read '" + rel + "': it is a directory");
  if (!S_ISREG(st.st_mode)) return InvalidArgument("cannot read '" + rel + "': not a regular file");
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return ErrnoStatus(errno, "cannot configure", rel);
  }
  return std::unique_ptr<ArtifactReader>(
      new LocalArtifactReader(std::move(fd), static_cast<int64_t>(st.st_size), rel));
}

StatusOr<std::vector<ArtifactEntry>> LocalArtifactStore::List(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(auto segments, SplitPath(path, /*allow_root=*/true));
  const std::string rel = JoinSegments(segments);
  KILN_ASSIGN_OR_RETURN(std::string resolved, Resolve(root_, segments, rel));

  std::vector<ArtifactEntry> entries;
  UniqueFd fd(OpenDirBeneath(root_, resolved, /*create=*/false));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return entries;  // missing or a file
    return ErrnoStatus(errno, "cannot list", rel);
  }
  KILN_RETURN_IF_ERROR(VerifyFd(fd.get(), root_, rel));
  DIR* dir = ::fdopendir(fd.get());
  if (dir == nullptr) return ErrnoStatus(errno, "cannot list", rel);
  fd.release();  // now owned by `dir`
  std::unique_ptr<DIR, int (*)(DIR*)> dir_closer(dir, &::closedir);

  while (true) {
    errno = 0;
    struct dirent* de = ::readdir(dir);
    if (de == nullptr) {
      if (errno != 0) return ErrnoStatus(errno, "cannot list", rel);
      break;
    }
    std::string_view name(de->d_name);
    if (name == "." || name == ".." || IsTempName(name)) continue;
    struct stat st;
    if (::fstatat(::dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // raced away
    if (S_ISLNK(st.st_mode)) {
      // Show an in-root symlink as its target; hide one that escapes or dangles.
      char* real = ::realpath(JoinPath(resolved, name).c_str(), nullptr);
      if (real == nullptr) continue;
      std::string target(real);
      std::free(real);
      if (!IsUnderRoot(target, root_) || ::stat(target.c_str(), &st) != 0) continue;
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) continue;
    ArtifactEntry e;
    e.path = rel.empty() ? std::string(name) : rel + "/" + std::string(name);
    e.is_dir = S_ISDIR(st.st_mode);
    e.size = e.is_dir ? 0 : static_cast<int64_t>(st.st_size);
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(),
            [](const ArtifactEntry& a, const ArtifactEntry& b) { return a.path < b.path; });
  return entries;
}

Status LocalArtifactStore::Delete(const std::string& path) {
  if (path.empty()) return PermissionDenied("refusing to delete the artifact root");
  KILN_ASSIGN_OR_RETURN(auto segments, SplitPath(path, /*allow_root=*/false));
  const std::string rel = JoinSegments(segments);
  // The full path must not escape (also refuses a final symlink pointing out)...
  KILN_RETURN_IF_ERROR(Resolve(root_, segments, rel).status());
  // ...but what is removed is the entry itself inside its canonical parent, so
  // deleting an in-root symlink removes the link, not its target.
  std::vector<std::string> parent_segments(segments.begin(), segments.end() - 1);
  KILN_ASSIGN_OR_RETURN(std::string parent, Resolve(root_, parent_segments, rel));
  UniqueFd parent_fd(OpenDirBeneath(root_, parent, /*create=*/false));
  if (!parent_fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return NotFound("artifact not found: '" + rel + "'");
    return ErrnoStatus(errno, "cannot delete", rel);
  }
  KILN_RETURN_IF_ERROR(VerifyFd(parent_fd.get(), root_, rel));
  // Not std::filesystem::remove_all: that re-resolves full paths while it
  // recurses, so a concurrent symlink swap could redirect it outside the root.
  int err = RemoveTreeAt(parent_fd.get(), segments.back().c_str());
  if (err == ENOENT) return NotFound("artifact not found: '" + rel + "'");
  if (err != 0) return ErrnoStatus(err, "cannot delete", rel);
  return Status::Ok();
}

}  // namespace kiln::storage
