#include "storage/embedded/table_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "storage/embedded/crc32c.h"
#include "storage/embedded/row_format.h"

namespace kiln::storage::embedded {
namespace {

constexpr char kFileMagic[8] = {'K', 'I', 'L', 'N', 'O', 'L', '1', '\n'};
constexpr uint32_t kRecordMagic = 0x4c4f4b52;  // "RKOL"
// A record bigger than this is garbage, not a batch (writers split at ~1 MB;
// a single row can be bigger, but not this big).
constexpr uint32_t kMaxRecord = 1u << 30;

Status Errno(const std::string& what, const std::string& path) {
  int e = errno;
  return Unavailable(what + " " + path + ": " + std::strerror(e));
}

Status WriteAll(int fd, const char* p, size_t n, uint64_t offset, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    p += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return Status::Ok();
}

Status ReadAll(int fd, char* p, size_t n, uint64_t offset, const std::string& path) {
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Errno("read", path);
    }
    if (r == 0) return Internal("unexpected end of " + path);
    p += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return Status::Ok();
}

uint32_t RecordCrc(const char* frame) {
  // Covers the length field too, so a damaged length cannot pass as valid.
  uint32_t len = GetU32(frame + 4);
  uint32_t crc = Crc32c(0, frame + 4, 4);
  return Crc32c(crc, frame + RecordBuilder::kFrame, len);
}

// True when a complete, valid record starts at data[pos].
bool ValidRecordAt(const std::string& data, size_t pos) {
  if (data.size() - pos < RecordBuilder::kFrame) return false;
  const char* f = data.data() + pos;
  if (GetU32(f) != kRecordMagic) return false;
  uint32_t len = GetU32(f + 4);
  if (len == 0 || len > kMaxRecord || len > data.size() - pos - RecordBuilder::kFrame) return false;
  return RecordCrc(f) == GetU32(f + 8);
}

const char* GetString(const char* p, const char* end, std::string_view* out) {
  uint64_t len;
  p = GetVarint(p, end, &len);
  if (!p || len > static_cast<uint64_t>(end - p)) return nullptr;
  *out = {p, static_cast<size_t>(len)};
  return p + len;
}

void PutString(std::string& out, std::string_view s) {
  PutVarint(out, s.size());
  out.append(s);
}

// Sequential reader over [offset, size) with a window that grows to fit the
// largest record.
class Window {
 public:
  Window(int fd, const std::string& path) : fd_(fd), path_(path) {}
  // Makes [off, off + n) available; returns a pointer to it.
  StatusOr<const char*> Get(uint64_t off, size_t n) {
    if (off < start_ || off + n > start_ + buf_.size()) {
      size_t chunk = std::max<size_t>(n, 8u << 20);
      buf_.resize(chunk);
      KILN_RETURN_IF_ERROR(ReadAll(fd_, buf_.data(), n, off, path_));
      // Read ahead opportunistically; a short read past n is fine.
      size_t have = n;
      while (have < chunk) {
        ssize_t r = ::pread(fd_, buf_.data() + have, chunk - have, static_cast<off_t>(off + have));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        have += static_cast<size_t>(r);
      }
      buf_.resize(have);
      start_ = off;
    }
    return buf_.data() + (off - start_);
  }

 private:
  int fd_;
  const std::string& path_;
  std::string buf_;
  uint64_t start_ = 0;
};

}  // namespace

// --- RecordBuilder ---

void RecordBuilder::Begin(RecordType type) {
  start_ = buf_.size();
  buf_.append(kFrame, '\0');
  buf_.push_back(static_cast<char>(type));
  open_ = true;
}

void RecordBuilder::End() {
  uint32_t len = static_cast<uint32_t>(buf_.size() - start_ - kFrame);
  char* f = buf_.data() + start_;
  std::memcpy(f, &kRecordMagic, 4);
  std::memcpy(f + 4, &len, 4);
  uint32_t crc = RecordCrc(f);
  std::memcpy(f + 8, &crc, 4);
  open_ = false;
}

// --- TableLog ---

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open directory", dir);
  int rc = ::fsync(fd);
  Status s = rc == 0 ? Status::Ok() : Errno("fsync directory", dir);
  ::close(fd);
  return s;
}

TableLog::TableLog(std::string dir, std::string name, int fd, uint64_t size)
    : dir_(std::move(dir)), name_(std::move(name)), path_(dir_ + "/" + name_), fd_(fd), size_(size) {}

TableLog::~TableLog() {
  if (fd_ >= 0) ::close(fd_);
}

void TableLog::AddHeader(std::string& buf, std::string_view project, std::string_view view) {
  RecordBuilder b(buf);
  b.Begin(RecordType::kHeader);
  PutString(buf, project);
  PutString(buf, view);
  b.End();
}

void TableLog::AddLayout(std::string& buf, uint64_t id, const std::vector<std::string>& names) {
  RecordBuilder b(buf);
  b.Begin(RecordType::kLayout);
  PutVarint(buf, id);
  PutVarint(buf, names.size());
  for (const auto& n : names) PutString(buf, n);
  b.End();
}

void TableLog::AddKeyPrefix(std::string& buf, std::string_view prefix) {
  RecordBuilder b(buf);
  b.Begin(RecordType::kKeyPrefix);
  PutString(buf, prefix);
  b.End();
}

StatusOr<std::unique_ptr<TableLog>> TableLog::Create(const std::string& dir, const std::string& name,
                                                     std::string_view project, std::string_view view) {
  std::string path = dir + "/" + name;
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", tmp);
  std::string buf(kFileMagic, sizeof(kFileMagic));
  AddHeader(buf, project, view);
  Status s = WriteAll(fd, buf.data(), buf.size(), 0, tmp);
  if (s.ok() && ::fdatasync(fd) != 0) s = Errno("fdatasync", tmp);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = Errno("rename", tmp);
  if (s.ok()) s = SyncDir(dir);
  if (!s.ok()) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  return std::unique_ptr<TableLog>(new TableLog(dir, name, fd, buf.size()));
}

StatusOr<std::unique_ptr<TableLog>> TableLog::Open(const std::string& dir, const std::string& name,
                                                   const ReplayHandler& handler, ReplayInfo* info) {
  std::string path = dir + "/" + name;
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  std::unique_ptr<TableLog> log(new TableLog(dir, name, fd, 0));
  struct stat st;
  if (::fstat(fd, &st) != 0) return Errno("stat", path);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  char magic[sizeof(kFileMagic)];
  if (size < sizeof(magic) || !ReadAll(fd, magic, sizeof(magic), 0, path).ok() ||
      std::memcmp(magic, kFileMagic, sizeof(magic)) != 0) {
    return Internal(path + " is not a kiln online store log");
  }
  Window window(fd, path);
  uint64_t off = sizeof(kFileMagic);
  uint64_t records = 0;
  bool bad = false;
  while (off < size) {
    if (size - off < RecordBuilder::kFrame) {
      bad = true;
      break;
    }
    KILN_ASSIGN_OR_RETURN(const char* f, window.Get(off, RecordBuilder::kFrame));
    uint32_t len = GetU32(f + 4);
    if (GetU32(f) != kRecordMagic || len == 0 || len > kMaxRecord || len > size - off - RecordBuilder::kFrame) {
      bad = true;
      break;
    }
    KILN_ASSIGN_OR_RETURN(f, window.Get(off, RecordBuilder::kFrame + len));
    if (RecordCrc(f) != GetU32(f + 8)) {
      bad = true;
      break;
    }
    const char* p = f + RecordBuilder::kFrame;
    const char* end = p + len;
    auto type = static_cast<RecordType>(*p++);
    Status s;
    if (records == 0 && type != RecordType::kHeader) {
      s = Internal("first record is not the table header");
    } else if (type == RecordType::kHeader) {
      std::string_view project, view;
      p = GetString(p, end, &project);
      if (p) p = GetString(p, end, &view);
      s = (p == end && records == 0) ? handler.header(project, view) : Internal("malformed header record");
    } else if (type == RecordType::kLayout) {
      uint64_t id, n;
      p = GetVarint(p, end, &id);
      if (p) p = GetVarint(p, end, &n);
      std::vector<std::string> names;
      for (uint64_t i = 0; p && i < n; ++i) {
        std::string_view nm;
        p = GetString(p, end, &nm);
        if (p) names.emplace_back(nm);
      }
      s = p == end ? handler.layout(id, std::move(names)) : Internal("malformed layout record");
    } else if (type == RecordType::kKeyPrefix) {
      std::string_view prefix;
      p = GetString(p, end, &prefix);
      s = p == end ? handler.key_prefix(prefix) : Internal("malformed key prefix record");
    } else if (type == RecordType::kRows) {
      s = handler.rows(p, end);
    } else {
      s = Internal("unknown record type " + std::to_string(static_cast<int>(type)));
    }
    if (!s.ok()) {
      return Status(s.code(), path + " at offset " + std::to_string(off) + ": " + s.message());
    }
    ++records;
    off += RecordBuilder::kFrame + len;
  }
  if (bad) {
    // Torn tail or corruption? Torn only when nothing valid follows.
    std::string rest(size - off, '\0');
    KILN_RETURN_IF_ERROR(ReadAll(fd, rest.data(), rest.size(), off, path));
    for (size_t pos = 1; pos + RecordBuilder::kFrame <= rest.size(); ++pos) {
      if (ValidRecordAt(rest, pos)) {
        return Internal(path + " is corrupt at offset " + std::to_string(off) +
                        " with valid records after it; refusing to open (restore it or remove the file)");
      }
    }
    if (records == 0) return Internal(path + " has no valid header record");
    if (::ftruncate(fd, static_cast<off_t>(off)) != 0) return Errno("truncate torn tail of", path);
    if (::fdatasync(fd) != 0) return Errno("fdatasync", path);
    if (info) info->torn_bytes += size - off;
    size = off;
  }
  if (records == 0) return Internal(path + " has no header record");
  if (info) info->records += records;
  log->size_ = size;
  return log;
}

Status TableLog::Append(std::string_view bytes) {
  if (broken_) return Unavailable("online store log " + path_ + " refuses writes after an earlier I/O failure");
  Status s = WriteAll(fd_, bytes.data(), bytes.size(), size_, path_);
  if (s.ok() && ::fdatasync(fd_) != 0) s = Errno("fdatasync", path_);
  if (!s.ok()) {
    // Cut the partial append off so a later record never follows garbage.
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0 || ::fdatasync(fd_) != 0) broken_ = true;
    return s;
  }
  size_ += bytes.size();
  return Status::Ok();
}

Status TableLog::Rewrite(const std::function<Status(const Sink& sink)>& fill) {
  if (broken_) return Unavailable("online store log " + path_ + " refuses writes after an earlier I/O failure");
  std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", tmp);
  uint64_t size = 0;
  Sink sink = [&](std::string_view bytes) -> Status {
    KILN_RETURN_IF_ERROR(WriteAll(fd, bytes.data(), bytes.size(), size, tmp));
    size += bytes.size();
    return Status::Ok();
  };
  Status s = sink(std::string_view(kFileMagic, sizeof(kFileMagic)));
  if (s.ok()) s = fill(sink);
  if (s.ok() && ::fdatasync(fd) != 0) s = Errno("fdatasync", tmp);
  if (s.ok() && ::rename(tmp.c_str(), path_.c_str()) != 0) s = Errno("rename", tmp);
  if (!s.ok()) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  // The rename is in place; only its directory entry may still be volatile,
  // and either name holds every acknowledged row.
  Status dir = SyncDir(dir_);
  ::close(fd_);
  fd_ = fd;
  size_ = size;
  return dir;
}

Status TableLog::Remove() {
  if (::unlink(path_.c_str()) != 0) return Errno("remove", path_);
  ::close(fd_);
  fd_ = -1;
  broken_ = true;
  return SyncDir(dir_);
}

}  // namespace kiln::storage::embedded
