// EmbeddedOnlineStore: kiln's built-in OnlineStore, rows in memory for reads
// and an append-only log per table on disk for durability.
//
// Design (why):
// - Reads never touch disk: every row lives in memory (row_table.h), found by
//   hash under one shard's shared lock. A read of 100 keys takes 100 short
//   shared locks and copies nothing (the callback gets views into the rows).
// - Durability by an append-only, CRC-framed log per table (table_log.h),
//   not a B-tree: materialization writes 10k-100k rows per batch, and
//   appending them as one write plus one fdatasync is what the disk does
//   fastest. Write returns only after that fdatasync; the rows become
//   visible to readers after it, so a reader never sees a row that a crash
//   could take back. Replaying the logs at Open rebuilds memory; a torn tail
//   (a crash mid-append: the write was never acknowledged) fails its CRC and
//   is dropped, while damage followed by valid records fails Open instead of
//   losing acknowledged rows silently.
// - Only winning rows are logged (older event time, or equal event time and
//   not-later created time, is skipped before anything is written), so
//   re-running a materialization writes nothing. Replaced rows leave dead
//   bytes in the log; when dead bytes exceed both compact_dead_ratio × live
//   bytes and compact_min_dead_bytes, the writer rewrites the log from memory
//   (live rows only) into a new file and renames it over the old one.
//   Compaction runs inside the Write that triggers it and holds only that
//   table's writer mutex: readers are never blocked by it.
// - Memory per row: one block (in a per-table arena of 2 MB huge-page
//   chunks, block_arena.h) holding the entity key minus the bytes all keys
//   of the view share (kept once per table), both timestamps, a layout id
//   and the length-prefixed serialized values (feature names are interned
//   once per table per distinct feature list), plus an 8-byte hash slot at
//   44-87 % load. Measured by embedded_online_store_perf_test for 1 M rows x
//   20 features (10 int64 + 10 double feast Values, one int64 join key):
//   198 bytes/row RSS (176 block + 4 arena rounding + 17 hash slots); at
//   10 M rows 192 bytes/row (fuller hash slots). About 30 bytes of a row are
//   the values' own protobuf tags and lengths.
// - One file per table (t<seq>.log, the table's identity in its header
//   record) makes DropTable an unlink and lets tables compact independently.
//   A LOCK file (flock) keeps a second process off the directory.
//
// Writes to one table commit in groups: concurrent Writes (e.g. many /push
// requests) queue up and the first one commits them all with one append and
// one fdatasync, deciding them exactly as if they ran one after another.
// Different tables commit in parallel. A Write of more than 131072 rows
// commits in slices of that size (each durable before the next; a failure
// leaves earlier slices written).
//
// Ownership: owns its tables and their files; Open's caller owns the store.
// Thread-safety: every method is thread-safe; Read takes only shared locks
// and does no I/O, so it may run on an I/O thread. Read's callback must not
// call back into the store (the locks are not recursive).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/embedded/shared_mutex.h"
#include "storage/online_store.h"

namespace kiln::storage {

namespace embedded {
struct Table;
struct WriteRequest;
}  // namespace embedded

struct EmbeddedOnlineOptions {
  // Compaction threshold (see the header comment).
  double compact_dead_ratio = 1.0;
  uint64_t compact_min_dead_bytes = uint64_t{64} << 20;
  // Target size of one log record (a batch is split into records of about
  // this size; a crash can lose only unacknowledged records).
  size_t record_bytes = size_t{1} << 20;
};

class EmbeddedOnlineStore final : public OnlineStore {
 public:
  // Opens (creating) the store in `dir` and replays its logs.
  static StatusOr<std::unique_ptr<OnlineStore>> Open(const std::string& dir, EmbeddedOnlineOptions options = {});
  // The same, typed (tests, tools that need Compact/Memory).
  static StatusOr<std::unique_ptr<EmbeddedOnlineStore>> OpenEmbedded(const std::string& dir,
                                                                     EmbeddedOnlineOptions options = {});
  ~EmbeddedOnlineStore() override;

  StatusOr<OnlineWriteResult> Write(const OnlineTable& table, const OnlineWriteBatch& batch) override;
  Status Read(const OnlineTable& table, const std::vector<std::string>& entity_keys,
              const std::vector<std::string>& features, const ReadFn& fn) override;
  Status DropTable(const OnlineTable& table) override;
  std::vector<TableStats> Stats() override;
  // Kept per table as rows are applied (and rebuilt by replay at Open): O(1).
  StatusOr<std::optional<int64_t>> NewestEventTs(const OnlineTable& table) override;
  Status Ping() override;

  // Rewrites a table's log from its live rows now (OK when unknown).
  Status Compact(const OnlineTable& table);

  struct MemoryStats {
    uint64_t rows = 0;
    uint64_t row_bytes = 0;   // the rows' blocks (payload, before malloc overhead)
    uint64_t slot_bytes = 0;  // hash slots
    uint64_t arena_bytes = 0; // memory the row blocks occupy (incl. free and unused arena space)
    uint64_t log_bytes = 0;   // on disk
  };
  MemoryStats Memory();

 private:
  EmbeddedOnlineStore(std::string dir, EmbeddedOnlineOptions options, int lock_fd);
  Status Load();
  StatusOr<std::shared_ptr<embedded::Table>> GetOrCreate(const OnlineTable& table);
  std::shared_ptr<embedded::Table> Find(const OnlineTable& table);
  void CommitGroup(embedded::Table& t, std::vector<embedded::WriteRequest*>& group);
  Status CommitLocked(embedded::Table& t, std::vector<embedded::WriteRequest*>& group);
  Status CompactLocked(embedded::Table& t);
  Status MaybeCompactLocked(embedded::Table& t);

  // Rows of one Write committed together at most (bounds the log buffer).
  static constexpr size_t kMaxRowsPerCommit = 1 << 17;

  const std::string dir_;
  const EmbeddedOnlineOptions options_;
  int lock_fd_;
  embedded::SharedMutex tables_mu_;  // held shared for a whole Read
  std::map<std::string, std::shared_ptr<embedded::Table>> tables_;  // guarded by tables_mu_
  std::mutex create_mu_;  // serializes table creation (file sequence numbers)
  uint64_t next_seq_ = 1;  // guarded by create_mu_
};

}  // namespace kiln::storage
