#include "storage/embedded/row_table.h"

#include <cstdlib>
#include <functional>
#include <mutex>

#include "storage/embedded/row_format.h"

namespace kiln::storage::embedded {

namespace {

std::string Signature(const std::vector<std::string>& names) {
  std::string sig;
  for (const auto& n : names) {
    PutVarint(sig, n.size());
    sig += n;
  }
  return sig;
}

}  // namespace

// --- Layouts ---

Layouts::~Layouts() {
  uint32_t n = size();
  for (uint32_t i = 0; i < n; ++i) delete Get(i);
  for (auto& c : chunks_) delete c.load(std::memory_order_relaxed);
}

const Layout* Layouts::Get(uint32_t id) const {
  if (id >= size()) return nullptr;
  const Chunk* c = chunks_[id / kChunk].load(std::memory_order_acquire);
  return (*c)[id % kChunk].load(std::memory_order_acquire);
}

bool Layouts::Append(std::vector<std::string> names) {
  uint32_t id = size_.load(std::memory_order_relaxed);
  if (id >= kMaxLayouts) return false;
  auto layout = std::make_unique<Layout>();
  for (uint32_t i = 0; i < names.size(); ++i) layout->slot_of.emplace(names[i], i);
  by_signature_.emplace(Signature(names), id);
  layout->names = std::move(names);
  Chunk* c = chunks_[id / kChunk].load(std::memory_order_relaxed);
  if (!c) {
    c = new Chunk();
    chunks_[id / kChunk].store(c, std::memory_order_release);
  }
  (*c)[id % kChunk].store(layout.release(), std::memory_order_release);
  size_.store(id + 1, std::memory_order_release);
  return true;
}

int64_t Layouts::Find(const std::vector<std::string>& names) const {
  auto it = by_signature_.find(Signature(names));
  return it == by_signature_.end() ? int64_t{-1} : static_cast<int64_t>(it->second);
}

// --- RowTable ---

uint64_t HashKey(std::string_view key) { return std::hash<std::string_view>{}(key); }

RowTable::RowTable() = default;

RowTable::~RowTable() {
  for (Shard& s : shards_) {
    for (size_t i = 0; i < s.slots.size(); ++i) {
      if (s.ctrl[i]) std::free(s.slots[i]);
    }
  }
}

const char* RowTable::Probe(const Shard& s, std::string_view key, uint64_t hash) {
  size_t cap = s.slots.size();
  if (cap == 0) return nullptr;
  size_t mask = cap - 1;
  uint8_t tag = Tag(hash);
  for (size_t i = Start(hash, mask);; i = (i + 1) & mask) {
    uint8_t c = s.ctrl[i];
    if (c == 0) return nullptr;
    if (c == tag && BlockKey(s.slots[i]) == key) return s.slots[i];
  }
}

void RowTable::ApplyShard(size_t shard, const NewBlock* blocks, size_t n) {
  Shard& s = shards_[shard];
  // Grow first, outside the lock: the writer is the only mutator, so the
  // current arrays can be read while readers use them too.
  size_t need = s.count + n;
  size_t cap = s.slots.size();
  std::vector<uint8_t> new_ctrl;
  std::vector<char*> new_slots;
  if (need * 8 > cap * 7) {
    size_t new_cap = cap ? cap : 16;
    while (need * 8 > new_cap * 7) new_cap *= 2;
    new_ctrl.assign(new_cap, 0);
    new_slots.assign(new_cap, nullptr);
    size_t mask = new_cap - 1;
    for (size_t i = 0; i < cap; ++i) {
      if (!s.ctrl[i]) continue;
      uint64_t h = HashKey(BlockKey(s.slots[i]));
      size_t j = Start(h, mask);
      while (new_ctrl[j]) j = (j + 1) & mask;
      new_ctrl[j] = s.ctrl[i];
      new_slots[j] = s.slots[i];
    }
  }
  std::vector<char*> replaced;
  int64_t bytes_delta = 0;
  size_t inserted = 0;
  {
    std::unique_lock lock(s.mu);
    if (!new_slots.empty()) {
      slot_bytes_.fetch_add(new_slots.size() * (sizeof(char*) + 1) - cap * (sizeof(char*) + 1),
                            std::memory_order_relaxed);
      s.ctrl.swap(new_ctrl);
      s.slots.swap(new_slots);
    }
    size_t mask = s.slots.size() - 1;
    for (size_t k = 0; k < n; ++k) {
      const NewBlock& b = blocks[k];
      std::string_view key = BlockKey(b.block);
      uint8_t tag = Tag(b.hash);
      size_t i = Start(b.hash, mask);
      while (true) {
        uint8_t c = s.ctrl[i];
        if (c == 0) {
          s.ctrl[i] = tag;
          s.slots[i] = b.block;
          ++s.count;
          ++inserted;
          break;
        }
        if (c == tag && BlockKey(s.slots[i]) == key) {
          replaced.push_back(s.slots[i]);
          bytes_delta -= static_cast<int64_t>(DecodeBlock(s.slots[i]).block_size);
          s.slots[i] = b.block;
          break;
        }
        i = (i + 1) & mask;
      }
      bytes_delta += static_cast<int64_t>(DecodeBlock(b.block).block_size);
    }
  }
  for (char* p : replaced) std::free(p);
  rows_.fetch_add(inserted, std::memory_order_relaxed);
  block_bytes_.fetch_add(static_cast<uint64_t>(bytes_delta), std::memory_order_relaxed);
}

}  // namespace kiln::storage::embedded
