#include "storage/embedded/block_arena.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "core/log.h"

namespace kiln::storage::embedded {

namespace {

[[noreturn]] void OutOfMemory(const char* what) {
  log::Error(std::string("online store: out of memory (") + what + ")");
  std::abort();
}

}  // namespace

BlockArena::~BlockArena() {
  for (char* c : chunks_) ::munmap(c, kChunkBytes);
}

char* BlockArena::NewChunk() {
  // Map twice the size and trim, so the chunk is huge-page aligned.
  size_t span = 2 * kChunkBytes;
  void* p = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) OutOfMemory("mmap");
  auto base = reinterpret_cast<uintptr_t>(p);
  uintptr_t aligned = (base + kChunkBytes - 1) & ~(uintptr_t{kChunkBytes} - 1);
  if (aligned > base) ::munmap(p, aligned - base);
  uintptr_t end = base + span;
  if (end > aligned + kChunkBytes) ::munmap(reinterpret_cast<void*>(aligned + kChunkBytes), end - aligned - kChunkBytes);
  char* chunk = reinterpret_cast<char*>(aligned);
  (void)::madvise(chunk, kChunkBytes, MADV_HUGEPAGE);  // a hint: without THP the chunk still works
  chunks_.push_back(chunk);
  reserved_ += kChunkBytes;
  return chunk;
}

char* BlockArena::Allocate(size_t n) {
  char* b;
  if (n > kMaxArenaBlock) {
    b = static_cast<char*>(std::malloc(n));
    if (!b) OutOfMemory("malloc");
    reserved_ += n;
  } else {
    size_t cls = ClassOf(n);
    if (cls < free_.size() && free_[cls]) {
      b = free_[cls];
      std::memcpy(&free_[cls], b, sizeof(char*));
    } else {
      size_t bytes = cls * 8;
      if (static_cast<size_t>(bump_end_ - bump_) < bytes) {
        // The chunk's unusable tail (< 4 KB of 2 MB) is simply left.
        bump_ = NewChunk();
        bump_end_ = bump_ + kChunkBytes;
      }
      b = bump_;
      bump_ += bytes;
    }
  }
  // RowTable keeps a 16-bit tag above a 48-bit pointer.
  if ((reinterpret_cast<uint64_t>(b) >> 48) != 0) OutOfMemory("a heap address beyond 48 bits");
  return b;
}

void BlockArena::Free(char* block, size_t n) {
  if (n > kMaxArenaBlock) {
    std::free(block);
    reserved_ -= n;
    return;
  }
  size_t cls = ClassOf(n);
  if (cls >= free_.size()) free_.resize(cls + 1, nullptr);
  std::memcpy(block, &free_[cls], sizeof(char*));
  free_[cls] = block;
}

}  // namespace kiln::storage::embedded
