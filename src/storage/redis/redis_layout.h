// Feast's Redis online store layout (feast 0.67,
// sdk/python/feast/infra/online_stores/redis.py and helpers.py), as bytes:
//
// - One Redis hash per (entity key, project): the key is the serialized
//   entity key (v3, as OnlineStore callers pass it) followed by the project
//   name's UTF-8 bytes. Every feature view keyed by the same join keys shares
//   the hash.
// - A feature's field is murmur3_32 (x86, seed 0) of "<view>:<feature>" as 4
//   little-endian bytes; the field "_ts:<view>" holds the row's event time as
//   a serialized google.protobuf.Timestamp. Values are serialized
//   feast.types.Value messages (an unset Value is the empty string).
// - Feast stores no created timestamp.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace kiln::storage::redis {

uint32_t Murmur3_32(std::string_view data, uint32_t seed = 0);

// The hash key of one entity key in one project.
std::string HashKey(std::string_view entity_key, std::string_view project);
// The 4-byte field of a feature of a view.
std::string FeatureField(std::string_view view, std::string_view feature);
// "_ts:<view>".
std::string TimestampField(std::string_view view);

// google.protobuf.Timestamp bytes for a time in microseconds since the epoch,
// as Python's Timestamp.FromDatetime(...).SerializeToString() writes them
// (nanos in [0, 1e9), zero fields omitted).
std::string EncodeTimestamp(int64_t us);
struct ProtoTimestamp {
  int64_t seconds = 0;
  int32_t nanos = 0;
};
// Parses Timestamp bytes (unknown fields skipped); InvalidArgument when the
// bytes are not a Timestamp message.
StatusOr<ProtoTimestamp> DecodeTimestamp(std::string_view bytes);
// Microseconds since the epoch (nanos below a microsecond floored).
int64_t TimestampMicros(const ProtoTimestamp& ts);

}  // namespace kiln::storage::redis
