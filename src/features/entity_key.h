// Entity keys as Feast serializes them (entity_key_serialization_version 3):
// join keys sorted by name; u32le(count); per key u32le(type) u32le(len)
// utf8 name; per value u32le(type) u32le(len) payload (int64: 8 bytes LE,
// int32: 4 bytes LE, string: utf8, bytes: raw). The online store's keys and
// the Redis layout both use these bytes, so they must match Feast exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "features/view_schema.h"

namespace kiln::features {

struct EntityKeyValue {
  std::string join_key;
  ValueType type = ValueType::kInvalid;  // kInt64, kInt32, kString or kBytes
  int64_t int_value = 0;
  std::string bytes_value;  // string or bytes
};

// InvalidArgument for a type Feast cannot use as a key.
StatusOr<std::string> SerializeEntityKey(std::vector<EntityKeyValue> values);

}  // namespace kiln::features
