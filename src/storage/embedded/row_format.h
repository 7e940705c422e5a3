// The byte layout of one online row, shared by the embedded store's memory
// and its log so that a write copies each row's bytes once into the log
// buffer and once into its memory block, and replay copies them straight
// back (no re-encoding):
//
//   varint size   bytes that follow (the row proper)
//   varint stored_len << 1 | prefixed, stored key bytes
//                                      (first, so probing compares it cheaply;
//                                      prefixed: the key is the table's key
//                                      prefix followed by the stored bytes)
//   fixed64 event_ts_us, fixed64 created_ts_us (little endian)
//   varint layout id                   (the table's interned feature list)
//   per layout slot: varint len, value bytes (len 0: no value)
//
// Feature names are not in the row: a layout (per table) lists them once.
// Nor, usually, is most of the entity key: keys of one view share Feast's
// serialized join-key names and types (29 of the 37 bytes of an int64 key),
// which the table stores once as its key prefix.
//
// Free functions over caller-owned bytes; thread-safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace kiln::storage::embedded {

inline void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Decodes a varint from [p, end); nullptr when truncated or overlong.
inline const char* GetVarint(const char* p, const char* end, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && p < end; shift += 7) {
    uint64_t b = static_cast<unsigned char>(*p++);
    result |= (b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = result;
      return p;
    }
  }
  return nullptr;
}

// Trusted variant for bytes this process validated already (memory blocks).
inline const char* GetVarintUnchecked(const char* p, uint64_t* v) {
  uint64_t result = 0;
  int shift = 0;
  while (true) {
    uint64_t b = static_cast<unsigned char>(*p++);
    result |= (b & 0x7f) << shift;
    if (!(b & 0x80)) break;
    shift += 7;
  }
  *v = result;
  return p;
}

inline void PutFixed64(std::string& out, int64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);  // x86-64 and aarch64 Linux are little endian
  out.append(b, 8);
}

inline int64_t GetFixed64(const char* p) {
  int64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline void PutU32(std::string& out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

inline uint32_t GetU32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The write rule of every online store: newer event time wins; at equal event
// times the strictly later created time wins; otherwise the stored row stays.
inline bool Supersedes(int64_t event, int64_t created, int64_t stored_event, int64_t stored_created) {
  return event > stored_event || (event == stored_event && created > stored_created);
}

// A decoded view of a validated row block (pointing at its `size` varint).
struct RowRef {
  std::string_view stored_key;
  bool prefixed = false;
  int64_t event_ts_us = 0;
  int64_t created_ts_us = 0;
  uint32_t layout = 0;
  const char* values = nullptr;  // first slot
  const char* end = nullptr;     // one past the row
  size_t block_size = 0;         // bytes of the whole block, size varint included
};

inline std::string_view BlockStoredKey(const char* block, bool* prefixed) {
  uint64_t size, key_field;
  const char* p = GetVarintUnchecked(block, &size);
  p = GetVarintUnchecked(p, &key_field);
  *prefixed = key_field & 1;
  return {p, static_cast<size_t>(key_field >> 1)};
}

inline RowRef DecodeBlock(const char* block) {
  RowRef r;
  uint64_t size, key_field, layout;
  const char* p = GetVarintUnchecked(block, &size);
  r.end = p + size;
  r.block_size = static_cast<size_t>(r.end - block);
  p = GetVarintUnchecked(p, &key_field);
  r.prefixed = key_field & 1;
  size_t key_len = static_cast<size_t>(key_field >> 1);
  r.stored_key = {p, key_len};
  p += key_len;
  r.event_ts_us = GetFixed64(p);
  r.created_ts_us = GetFixed64(p + 8);
  p = GetVarintUnchecked(p + 16, &layout);
  r.layout = static_cast<uint32_t>(layout);
  r.values = p;
  return r;
}

// An entity key as probes compare it: whole, and split after the table's key
// prefix when it starts with it.
struct KeyProbe {
  std::string_view full;
  std::string_view suffix;
  bool prefixed = false;

  static KeyProbe Make(std::string_view key, const std::string* prefix) {
    KeyProbe k;
    k.full = key;
    if (prefix && key.size() >= prefix->size() && key.compare(0, prefix->size(), *prefix) == 0) {
      k.prefixed = true;
      k.suffix = key.substr(prefix->size());
    }
    return k;
  }
  // Whether `block` holds this key. A block stored unprefixed may still start
  // with the prefix (written before the table had one): compare whole keys.
  bool Matches(const char* block) const {
    bool block_prefixed;
    std::string_view stored = BlockStoredKey(block, &block_prefixed);
    return block_prefixed ? prefixed && suffix == stored : full == stored;
  }
};

// The whole entity key of a block (into `scratch` when prefixed).
inline std::string_view FullKey(const char* block, const std::string* prefix, std::string& scratch) {
  bool prefixed;
  std::string_view stored = BlockStoredKey(block, &prefixed);
  if (!prefixed) return stored;
  scratch.assign(*prefix);
  scratch.append(stored);
  return scratch;
}

// Checks that [p, end) starts with a well-formed block whose layout has
// `slots(layout)` slots (-1: unknown layout); returns the block's end or nullptr. Used on bytes read
// back from disk before they become memory blocks.
// `has_prefix`: whether the table has a key prefix a block may use.
template <typename SlotsFn>
const char* ValidateBlock(const char* p, const char* end, bool has_prefix, const SlotsFn& slots) {
  uint64_t size, key_field, layout;
  p = GetVarint(p, end, &size);
  if (!p || size > static_cast<uint64_t>(end - p)) return nullptr;
  const char* row_end = p + size;
  p = GetVarint(p, row_end, &key_field);
  if (!p || ((key_field & 1) && !has_prefix)) return nullptr;
  uint64_t key_len = key_field >> 1;
  if (key_len > static_cast<uint64_t>(row_end - p) || row_end - p - key_len < 16) return nullptr;
  p = GetVarint(p + key_len + 16, row_end, &layout);
  if (!p || layout > UINT32_MAX) return nullptr;
  int64_t n = slots(static_cast<uint32_t>(layout));
  if (n < 0) return nullptr;
  for (int64_t i = 0; i < n; ++i) {
    uint64_t len;
    p = GetVarint(p, row_end, &len);
    if (!p || len > static_cast<uint64_t>(row_end - p)) return nullptr;
    p += len;
  }
  return p == row_end ? row_end : nullptr;
}

}  // namespace kiln::storage::embedded
