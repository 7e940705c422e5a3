// RowTable: the in-memory half of one embedded online table: the rows (one
// malloc'd block per row in row_format.h's layout) in 256 hash shards, and the
// table's layouts (interned feature-name lists, so a row carries a small
// layout id instead of its feature names).
//
// Why this shape: reads must never wait for disk and barely for writers, and
// 10 M rows must fit in a few GB. Each shard is an open-addressing table of
// tagged block pointers (8 bytes a slot, 9-18 bytes per row at the load
// factors used; see Shard); a reader takes one shard's shared lock per key. A
// writer prepares everything (new blocks, a grown slot array) outside the
// lock and holds a shard's exclusive lock only to swap pointers, so a 100k-row
// batch blocks any one reader for microseconds, never for a rehash of the
// whole table.
//
// Concurrency contract: any number of readers (WithRow, layouts().Get) run
// concurrently with ONE writer at a time (the caller serializes the *Writer*
// methods, which read the shards without locking because nothing else
// mutates them).
// Ownership: owns every block (in its BlockArena) and layout; blocks handed
// to ApplyShard are adopted (recycled when replaced, freed with the table).
#pragma once

#include <array>
#include <cstring>
#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/embedded/block_arena.h"
#include "storage/embedded/row_format.h"
#include "storage/embedded/shared_mutex.h"

namespace kiln::storage::embedded {

struct Layout {
  std::vector<std::string> names;
  std::unordered_map<std::string, uint32_t> slot_of;
  // -1 when the layout has no such feature.
  int SlotOf(const std::string& name) const {
    auto it = slot_of.find(name);
    return it == slot_of.end() ? -1 : static_cast<int>(it->second);
  }
};

// Append-only list of layouts; Get is lock-free so readers never contend with
// a writer adding one.
class Layouts {
 public:
  static constexpr uint32_t kChunk = 256;
  static constexpr uint32_t kMaxLayouts = kChunk * 256;

  Layouts() = default;
  ~Layouts();
  Layouts(const Layouts&) = delete;
  Layouts& operator=(const Layouts&) = delete;

  const Layout* Get(uint32_t id) const;
  uint32_t size() const { return size_.load(std::memory_order_acquire); }
  // Writer only: publishes layout `size()`; false when full.
  bool Append(std::vector<std::string> names);
  // Writer only: the id of this exact feature list, or -1.
  int64_t Find(const std::vector<std::string>& names) const;

 private:
  using Chunk = std::array<std::atomic<const Layout*>, kChunk>;
  std::array<std::atomic<Chunk*>, kMaxLayouts / kChunk> chunks_{};
  std::atomic<uint32_t> size_{0};
  std::unordered_map<std::string, uint32_t> by_signature_;  // writer only
};

uint64_t HashKey(std::string_view key);

class RowTable {
 public:
  static constexpr int kShardBits = 8;
  static constexpr size_t kShards = size_t{1} << kShardBits;

  RowTable();
  ~RowTable();
  RowTable(const RowTable&) = delete;
  RowTable& operator=(const RowTable&) = delete;

  static size_t ShardOf(uint64_t hash) { return hash & (kShards - 1); }

  // Reader: calls fn(block or nullptr) under the key's shard shared lock.
  // `hash` is HashKey of the whole key.
  template <typename Fn>
  void WithRow(std::string_view key, uint64_t hash, const Fn& fn) const {
    KeyProbe probe = KeyProbe::Make(key, prefix());
    const Shard& s = shards_[ShardOf(hash)];
    std::shared_lock lock(s.mu);
    fn(Probe(s, probe, hash));
  }

  // Writer: the stored block for key, or nullptr (no lock: see class comment).
  const char* FindForWriter(std::string_view key, uint64_t hash) const {
    return Probe(shards_[ShardOf(hash)], KeyProbe::Make(key, prefix()), hash);
  }

  // The table's entity key prefix (set at most once), or nullptr.
  const std::string* prefix() const { return prefix_.load(std::memory_order_acquire); }
  // Writer: sets the prefix; false when it is set already. Must precede any
  // ApplyShard of blocks that use it.
  bool SetPrefix(std::string prefix);

  struct NewBlock {
    uint64_t hash;
    char* block;  // from MakeBlock, adopted
  };
  // Writer: a copy of the n block bytes at p in the table's arena.
  char* MakeBlock(const char* p, size_t n) {
    char* b = arena_.Allocate(n);
    std::memcpy(b, p, n);
    return b;
  }
  // Writer: inserts or replaces each block (all of shard `shard`, in order, so
  // a later block of the same key replaces an earlier one); frees the
  // replaced blocks. The caller decided already that each block wins.
  void ApplyShard(size_t shard, const NewBlock* blocks, size_t n);

  // Writer: visits every stored block (compaction).
  template <typename Fn>
  void ForEachForWriter(const Fn& fn) const {
    for (const Shard& s : shards_) {
      for (uint64_t v : s.slots) {
        if (v) fn(Ptr(v));
      }
    }
  }

  // Writer: starts loading the cache line a probe for `hash` reads first.
  void PrefetchForWriter(uint64_t hash) const {
    const Shard& s = shards_[ShardOf(hash)];
    if (!s.slots.empty()) __builtin_prefetch(&s.slots[Start(hash, s.bits)]);
  }

  Layouts& layouts() { return layouts_; }
  const Layouts& layouts() const { return layouts_; }

  uint64_t rows() const { return rows_.load(std::memory_order_relaxed); }
  // Sum of the row blocks' sizes (also their size in a compacted log).
  uint64_t block_bytes() const { return block_bytes_.load(std::memory_order_relaxed); }
  // Bytes of the shards' slot arrays.
  uint64_t slot_bytes() const { return slot_bytes_.load(std::memory_order_relaxed); }
  // Bytes the block arena holds (blocks, free blocks, unused chunk space).
  uint64_t arena_bytes() const { return arena_bytes_.load(std::memory_order_relaxed); }

 private:
  // A slot is 0 (empty) or a block pointer with the hash's top 16 bits in
  // its own top 16 bits (user-space pointers on x86-64 and aarch64 Linux fit
  // in 48 bits). Probing starts at the hash's top `bits` bits, so while a
  // shard has at most 2^16 slots a rehash places every slot from its tag
  // alone, without touching (cache-missing) the row blocks.
  struct alignas(64) Shard {
    mutable SharedMutex mu;
    std::vector<uint64_t> slots;  // size 0 or 1 << bits
    int bits = 0;
    size_t count = 0;
  };

  static constexpr int kTagShift = 48;
  static constexpr uint64_t kPtrMask = (uint64_t{1} << kTagShift) - 1;
  static uint64_t Tag(uint64_t hash) { return hash >> kTagShift; }
  static char* Ptr(uint64_t slot) { return reinterpret_cast<char*>(slot & kPtrMask); }
  static size_t Start(uint64_t hash, int bits) { return bits == 0 ? 0 : static_cast<size_t>(hash >> (64 - bits)); }
  static const char* Probe(const Shard& s, const KeyProbe& key, uint64_t hash);

  std::array<Shard, kShards> shards_;
  Layouts layouts_;
  std::atomic<const std::string*> prefix_{nullptr};  // owned; set once
  std::atomic<uint64_t> rows_{0};
  std::atomic<uint64_t> block_bytes_{0};
  std::atomic<uint64_t> slot_bytes_{0};
  std::atomic<uint64_t> arena_bytes_{0};
  BlockArena arena_;  // writer only
};

}  // namespace kiln::storage::embedded
