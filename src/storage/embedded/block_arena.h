// BlockArena: where one table's row blocks live. Blocks are carved from
// 2 MB chunks mapped with transparent huge pages requested (10 M rows span
// about 2 GB: with 4 KB pages nearly every probe of a read would also miss
// the TLB) and recycled through per-size free lists, in 8-byte size steps,
// so a block costs its size rounded up to 8 instead of malloc's 16-byte
// header and rounding. Blocks larger than kMaxArenaBlock use malloc.
//
// Blocks are byte strings (row_format.h reads them bytewise), so they need
// no alignment. Memory goes back to the system when the arena is destroyed
// (the table is dropped or the store closed), not before: a freed block is
// reused by the next block of its size class.
//
// Thread-safety: none. Only the table's writer allocates and frees (readers
// never see a block after it was replaced: it is freed only once the shard's
// exclusive lock that unlinked it was released, see RowTable::ApplyShard).
// Ownership: owns its chunks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kiln::storage::embedded {

class BlockArena {
 public:
  static constexpr size_t kMaxArenaBlock = 4096;
  static constexpr size_t kChunkBytes = size_t{2} << 20;

  BlockArena() = default;
  ~BlockArena();
  BlockArena(const BlockArena&) = delete;
  BlockArena& operator=(const BlockArena&) = delete;

  // A block of n bytes (n >= 8); aborts when out of memory, as operator new
  // would (an exception must not cross the module).
  char* Allocate(size_t n);
  // Returns a block of n bytes (the n it was allocated with).
  void Free(char* block, size_t n);

  // Bytes mapped for chunks plus bytes of malloc'd large blocks.
  uint64_t reserved_bytes() const { return reserved_; }

 private:
  static size_t ClassOf(size_t n) { return (n + 7) / 8; }
  char* NewChunk();

  std::vector<char*> chunks_;
  char* bump_ = nullptr;
  char* bump_end_ = nullptr;
  std::vector<char*> free_;  // per size class: head of an intrusive list
  uint64_t reserved_ = 0;
};

}  // namespace kiln::storage::embedded
