#include "storage/embedded/row_table.h"

#include <cstdlib>
#include <functional>
#include <mutex>


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
  // The arena unmaps its chunks; only large blocks are individually allocated.
  for (Shard& s : shards_) {
    for (uint64_t v : s.slots) {
      if (!v) continue;
      size_t n = DecodeBlock(Ptr(v)).block_size;
      if (n > BlockArena::kMaxArenaBlock) arena_.Free(Ptr(v), n);
    }
  }
  delete prefix_.load(std::memory_order_relaxed);
}

bool RowTable::SetPrefix(std::string prefix) {
  if (this->prefix()) return false;
  prefix_.store(new std::string(std::move(prefix)), std::memory_order_release);
  return true;
}

const char* RowTable::Probe(const Shard& s, const KeyProbe& key, uint64_t hash) {
  if (s.slots.empty()) return nullptr;
  size_t mask = s.slots.size() - 1;
  uint64_t tag = Tag(hash);
  for (size_t i = Start(hash, s.bits);; i = (i + 1) & mask) {
    uint64_t v = s.slots[i];
    if (v == 0) return nullptr;
    if ((v >> kTagShift) == tag && key.Matches(Ptr(v))) return Ptr(v);
  }
}

void RowTable::ApplyShard(size_t shard, const NewBlock* blocks, size_t n) {
  Shard& s = shards_[shard];
  // Grow first, outside the lock: the writer is the only mutator, so the
  // current array can be read while readers use it too.
  size_t need = s.count + n;
  size_t cap = s.slots.size();
  std::vector<uint64_t> grown;
  int bits = s.bits;
  const std::string* prefix = this->prefix();
  std::string scratch;
  if (need * 8 > cap * 7) {
    if (cap == 0) bits = 4;
    while (need * 8 > (size_t{1} << bits) * 7) ++bits;
    grown.assign(size_t{1} << bits, 0);
    size_t mask = grown.size() - 1;
    for (uint64_t v : s.slots) {
      if (!v) continue;
      size_t j = bits <= 16 ? static_cast<size_t>((v >> kTagShift) >> (16 - bits))
                            : Start(HashKey(FullKey(Ptr(v), prefix, scratch)), bits);
      while (grown[j]) j = (j + 1) & mask;
      grown[j] = v;
    }
  }
  std::vector<char*> replaced;
  int64_t bytes_delta = 0;
  size_t inserted = 0;
  {
    std::unique_lock lock(s.mu);
    if (!grown.empty()) {
      slot_bytes_.fetch_add((grown.size() - cap) * sizeof(uint64_t), std::memory_order_relaxed);
      s.slots.swap(grown);
      s.bits = bits;
    }
    size_t mask = s.slots.size() - 1;
    for (size_t k = 0; k < n; ++k) {
      if (k + 8 < n) __builtin_prefetch(&s.slots[Start(blocks[k + 8].hash, s.bits)]);
      const NewBlock& b = blocks[k];
      KeyProbe key = KeyProbe::Make(FullKey(b.block, prefix, scratch), prefix);
      uint64_t tag = Tag(b.hash);
      uint64_t tagged = reinterpret_cast<uint64_t>(b.block) | (tag << kTagShift);
      for (size_t i = Start(b.hash, s.bits);; i = (i + 1) & mask) {
        uint64_t v = s.slots[i];
        if (v == 0) {
          s.slots[i] = tagged;
          ++s.count;
          ++inserted;
          break;
        }
        if ((v >> kTagShift) == tag && key.Matches(Ptr(v))) {
          replaced.push_back(Ptr(v));
          bytes_delta -= static_cast<int64_t>(DecodeBlock(Ptr(v)).block_size);
          s.slots[i] = tagged;
          break;
        }
      }
      bytes_delta += static_cast<int64_t>(DecodeBlock(b.block).block_size);
    }
  }
  for (char* p : replaced) arena_.Free(p, DecodeBlock(p).block_size);
  arena_bytes_.store(arena_.reserved_bytes(), std::memory_order_relaxed);
  rows_.fetch_add(inserted, std::memory_order_relaxed);
  block_bytes_.fetch_add(static_cast<uint64_t>(bytes_delta), std::memory_order_relaxed);
}

}  // namespace kiln::storage::embedded
