#include "features/entity_key.h"

#include <algorithm>
#include <limits>

namespace kiln::features {

namespace {

void PutU32(std::string& out, uint32_t v) {
  char b[4] = {static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff), static_cast<char>((v >> 16) & 0xff),
               static_cast<char>((v >> 24) & 0xff)};
  out.append(b, 4);
}

void PutU64(std::string& out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.append(b, 8);
}

Status CheckSerializable(const EntityKeyValue& v) {
  switch (v.type) {
    case ValueType::kInt64:
    case ValueType::kString:
    case ValueType::kBytes:
    case ValueType::kUnixTimestamp:
      return Status::Ok();
    case ValueType::kInt32:
      if (v.int_value < std::numeric_limits<int32_t>::min() || v.int_value > std::numeric_limits<int32_t>::max()) {
        return InvalidArgument("entity key '" + v.join_key + "' value " + std::to_string(v.int_value) +
                               " does not fit INT32");
      }
      return Status::Ok();
    default:
      return InvalidArgument("entity key '" + v.join_key + "' has value type " +
                             std::to_string(static_cast<int>(v.type)) +
                             ", which Feast cannot serialize (INT64, INT32, STRING, BYTES or UNIX_TIMESTAMP only)");
  }
}

void AppendValue(std::string& out, const EntityKeyValue& v) {
  PutU32(out, static_cast<uint32_t>(v.type));
  switch (v.type) {
    case ValueType::kInt32:
      PutU32(out, 4);
      PutU32(out, static_cast<uint32_t>(static_cast<int32_t>(v.int_value)));
      break;
    case ValueType::kInt64:
    case ValueType::kUnixTimestamp:
      PutU32(out, 8);
      PutU64(out, static_cast<uint64_t>(v.int_value));
      break;
    default:  // string, bytes: raw payload
      PutU32(out, static_cast<uint32_t>(v.bytes_value.size()));
      out.append(v.bytes_value);
      break;
  }
}

}  // namespace

StatusOr<std::string> SerializeEntityKey(std::vector<EntityKeyValue> values) {
  for (const auto& v : values) KILN_RETURN_IF_ERROR(CheckSerializable(v));
  // Feast sorts (join_key, value) pairs; join keys are unique within a key,
  // so ordering by name alone is the same order. std::string compares bytes
  // as unsigned, which for UTF-8 is Python's code-point order.
  if (values.size() > 1) {
    std::sort(values.begin(), values.end(),
              [](const EntityKeyValue& a, const EntityKeyValue& b) { return a.join_key < b.join_key; });
    for (size_t i = 1; i < values.size(); ++i) {
      if (values[i].join_key == values[i - 1].join_key) {
        return InvalidArgument("entity key names join key '" + values[i].join_key + "' twice");
      }
    }
  }
  size_t size = 4;
  for (const auto& v : values) size += 16 + v.join_key.size() + std::max<size_t>(v.bytes_value.size(), 8);
  std::string out;
  out.reserve(size);
  PutU32(out, static_cast<uint32_t>(values.size()));
  for (const auto& v : values) {
    PutU32(out, static_cast<uint32_t>(ValueType::kString));
    PutU32(out, static_cast<uint32_t>(v.join_key.size()));
    out.append(v.join_key);
  }
  for (const auto& v : values) AppendValue(out, v);
  return out;
}

}  // namespace kiln::features
