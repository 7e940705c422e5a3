#include "storage/redis/redis_layout.h"

#include <cstring>

namespace kiln::storage::redis {

namespace {

uint32_t Rotl(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view in, size_t* pos, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (*pos >= in.size()) return false;
    const uint8_t b = static_cast<uint8_t>(in[(*pos)++]);
    r |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *v = r;
      return true;
    }
  }
  return false;
}

}  // namespace

uint32_t Murmur3_32(std::string_view data, uint32_t seed) {
  constexpr uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
  const size_t n = data.size();
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  uint32_t h = seed;
  const size_t blocks = n / 4;
  for (size_t i = 0; i < blocks; ++i) {
    uint32_t k;
    std::memcpy(&k, p + i * 4, 4);  // little-endian host (x86-64, aarch64)
    k *= c1;
    k = Rotl(k, 15);
    k *= c2;
    h ^= k;
    h = Rotl(h, 13);
    h = h * 5 + 0xe6546b64;
  }
  const uint8_t* tail = p + blocks * 4;
  uint32_t k = 0;
  switch (n & 3) {
    case 3: k ^= static_cast<uint32_t>(tail[2]) << 16; [[fallthrough]];
    case 2: k ^= static_cast<uint32_t>(tail[1]) << 8; [[fallthrough]];
    case 1:
      k ^= tail[0];
      k *= c1;
      k = Rotl(k, 15);
      k *= c2;
      h ^= k;
  }
  h ^= static_cast<uint32_t>(n);
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

std::string HashKey(std::string_view entity_key, std::string_view project) {
  std::string k;
  k.reserve(entity_key.size() + project.size());
  k.append(entity_key);
  k.append(project);
  return k;
}

std::string FeatureField(std::string_view view, std::string_view feature) {
  std::string name;
  name.reserve(view.size() + 1 + feature.size());
  name.append(view);
  name.push_back(':');
  name.append(feature);
  const uint32_t h = Murmur3_32(name);
  std::string f(4, '\0');
  for (int i = 0; i < 4; ++i) f[i] = static_cast<char>((h >> (8 * i)) & 0xff);
  return f;
}

std::string TimestampField(std::string_view view) {
  std::string f = "_ts:";
  f.append(view);
  return f;
}

std::string EncodeTimestamp(int64_t us) {
  int64_t seconds = us / 1000000;
  int64_t micros = us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    seconds -= 1;
  }
  std::string out;
  if (seconds != 0) {
    out.push_back(0x08);
    PutVarint(static_cast<uint64_t>(seconds), &out);
  }
  if (micros != 0) {
    out.push_back(0x10);
    PutVarint(static_cast<uint64_t>(micros * 1000), &out);
  }
  return out;
}

StatusOr<ProtoTimestamp> DecodeTimestamp(std::string_view bytes) {
  ProtoTimestamp ts;
  size_t pos = 0;
  auto bad = [] { return InvalidArgument("stored event timestamp is not a google.protobuf.Timestamp"); };
  while (pos < bytes.size()) {
    uint64_t tag;
    if (!GetVarint(bytes, &pos, &tag)) return bad();
    const uint64_t field = tag >> 3;
    const unsigned wire = tag & 7;
    uint64_t v = 0;
    switch (wire) {
      case 0:
        if (!GetVarint(bytes, &pos, &v)) return bad();
        if (field == 1) ts.seconds = static_cast<int64_t>(v);
        if (field == 2) ts.nanos = static_cast<int32_t>(static_cast<int64_t>(v));
        break;
      case 1:
        if (bytes.size() - pos < 8) return bad();
        pos += 8;
        break;
      case 2:
        if (!GetVarint(bytes, &pos, &v) || v > bytes.size() - pos) return bad();
        pos += v;
        break;
      case 5:
        if (bytes.size() - pos < 4) return bad();
        pos += 4;
        break;
      default:
        return bad();
    }
  }
  return ts;
}

int64_t TimestampMicros(const ProtoTimestamp& ts) {
  int64_t nanos = ts.nanos;
  int64_t micros = nanos >= 0 ? nanos / 1000 : -((-nanos + 999) / 1000);
  return ts.seconds * 1000000 + micros;
}

}  // namespace kiln::storage::redis
