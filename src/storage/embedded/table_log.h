// TableLog: the on-disk half of one embedded online table, an append-only
// file of CRC-framed records:
//
//   file   = "KILNOL1\n" record*
//   record = u32 magic | u32 len | u32 crc32c(len bytes + payload) | payload
//   payload = u8 type | body
//     kHeader: varint len, project, varint len, view   (first record, once)
//     kLayout: varint id, varint n, n x (varint len, feature name)
//     kRows:   row blocks (row_format.h) back to back
//     kKeyPrefix: the table's entity key prefix (at most once, before any
//              row that uses it)
//
// Durability: Append returns only after write + fdatasync of the whole
// buffer; a failed append is cut off again (ftruncate) so later records never
// follow garbage. A new log is written as <name>.tmp, synced and renamed (and
// the directory synced), so a log under its final name always has its header;
// compaction replaces a log the same way. Replay stops at the first bad
// record: when nothing valid follows it, it is the torn tail of a write that
// was never acknowledged and is truncated away; when a valid record follows,
// the file is corrupt in the middle and Open fails rather than silently
// dropping acknowledged rows.
//
// Ownership: owns its file descriptor. Thread-safety: none; the table's
// writer mutex serializes every call.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace kiln::storage::embedded {

enum class RecordType : uint8_t { kHeader = 1, kLayout = 2, kRows = 3, kKeyPrefix = 4 };

// Builds records in place in a caller's buffer (no second copy of the rows).
class RecordBuilder {
 public:
  explicit RecordBuilder(std::string& buf) : buf_(buf) {}
  void Begin(RecordType type);
  // Bytes of the open record's payload so far.
  size_t open_bytes() const { return open_ ? buf_.size() - start_ - kFrame : 0; }
  bool is_open() const { return open_; }
  void End();  // patches len and crc

  static constexpr size_t kFrame = 12;

 private:
  std::string& buf_;
  size_t start_ = 0;
  bool open_ = false;
};

class TableLog {
 public:
  struct ReplayHandler {
    std::function<Status(std::string_view project, std::string_view view)> header;
    std::function<Status(uint64_t id, std::vector<std::string> names)> layout;
    std::function<Status(std::string_view prefix)> key_prefix;
    // Row blocks [p, end) of one record; must validate them.
    std::function<Status(const char* p, const char* end)> rows;
  };
  struct ReplayInfo {
    uint64_t records = 0;
    uint64_t torn_bytes = 0;  // bytes of a torn tail that were dropped
  };

  // Creates dir/name with its header record, durably.
  static StatusOr<std::unique_ptr<TableLog>> Create(const std::string& dir, const std::string& name,
                                                    std::string_view project, std::string_view view);
  // Opens dir/name, replays every record through `handler` and drops a torn tail.
  static StatusOr<std::unique_ptr<TableLog>> Open(const std::string& dir, const std::string& name,
                                                  const ReplayHandler& handler, ReplayInfo* info);
  ~TableLog();
  TableLog(const TableLog&) = delete;
  TableLog& operator=(const TableLog&) = delete;

  // Appends complete records durably. On failure nothing of `bytes` remains
  // (or, if even that cannot be ensured, the log refuses further appends).
  Status Append(std::string_view bytes);

  // Replaces the whole log with the records `fill` hands to `sink` (header
  // included), durably and atomically; on failure the old log stays.
  using Sink = std::function<Status(std::string_view bytes)>;
  Status Rewrite(const std::function<Status(const Sink& sink)>& fill);

  // Removes the file durably (the table is dropped); the log is unusable after.
  Status Remove();

  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Encodes the header / layout records.
  static void AddHeader(std::string& buf, std::string_view project, std::string_view view);
  static void AddLayout(std::string& buf, uint64_t id, const std::vector<std::string>& names);
  static void AddKeyPrefix(std::string& buf, std::string_view prefix);

 private:
  TableLog(std::string dir, std::string name, int fd, uint64_t size);

  std::string dir_;
  std::string name_;
  std::string path_;
  int fd_;
  uint64_t size_;
  bool broken_ = false;
};

// fsync of a directory, so a create, rename or unlink in it is durable.
Status SyncDir(const std::string& dir);

}  // namespace kiln::storage::embedded
