// Conversions between request values, serialized feast.types.Value bytes and
// the JSON Feast's feature server answers with.
//
// Values live in the online store as serialized feast.types.Value messages.
// The read path renders them to JSON straight from those bytes (a small
// hand-written wire decoder: no message object per value), exactly as Feast's
// feature_server_utils.convert_response_to_dict does: int64/int32/unix
// timestamps as JSON integers, doubles and floats as Python's shortest repr
// of the (widened) double with ".0" kept on integral values (so the SDK reads
// a float back, not an int), NaN/Infinity as the strings "NaN", "Infinity",
// "-Infinity", bytes base64, lists as arrays, unset/null as null.
//
// The write path goes the other way: a JSON value (or a gRPC Value) checked
// against the feature's declared ValueType and encoded as Value bytes; a
// mismatch is InvalidArgument naming the column and the expected type.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "features/entity_key.h"
#include "features/view_schema.h"

namespace kiln::features {

// "INT64", "STRING_LIST", ... (Feast's ValueType names).
std::string_view ValueTypeName(ValueType type);

// One value as a request carried it, before the declared type is known.
struct RequestValue {
  enum class Kind { kNull, kBool, kInt, kDouble, kString, kBytes };
  Kind kind = Kind::kNull;
  int64_t i = 0;
  double d = 0;
  std::string s;  // string (kString) or raw bytes (kBytes)
};

// JSON scalar -> RequestValue; arrays/objects and integers beyond int64 are
// InvalidArgument (`what` names the column in the message).
StatusOr<RequestValue> RequestValueFromJson(const nlohmann::json& v, std::string_view what);

// Entity key value of the declared join-key type. Accepts what Feast's
// server accepts for that type: integers (or integral numbers) for
// INT64/INT32/UNIX_TIMESTAMP (UNIX_TIMESTAMP also RFC 3339 text), strings for
// STRING, raw bytes (gRPC) or base64 text (JSON) for BYTES.
StatusOr<EntityKeyValue> ToEntityKeyValue(const RequestValue& v, const std::string& join_key, ValueType type);

// Serialized feast.types.Value of an entity key value (echoed in responses).
void AppendEntityValueBytes(const EntityKeyValue& v, std::string* out);

// JSON value of a feature's declared type -> serialized feast.types.Value
// appended to *out (nothing for null: the online store's "no value").
Status AppendJsonAsValueBytes(const nlohmann::json& v, ValueType type, std::string_view what, std::string* out);

// Serialized feast.types.Value -> its JSON rendering appended to *out.
// InvalidArgument for bytes that are not a Value or a kind kiln does not
// render (maps, structs).
Status AppendValueJson(std::string_view value_bytes, std::string* out);

// True when the bytes hold no value (empty, or only null_val).
bool ValueBytesIsNull(std::string_view value_bytes);

// JSON string literal (quotes included), UTF-8 passed through as Starlette's
// JSONResponse does (ensure_ascii=False).
void AppendJsonString(std::string_view s, std::string* out);

// RFC 3339 UTC with Feast's adaptive precision: no fraction, or 3 or 6
// digits; 0 renders as "1970-01-01T00:00:00Z".
void AppendRfc3339(int64_t us, std::string* out);

// ISO 8601 / RFC 3339 text ("2024-01-02", "2024-01-02T03:04:05",
// "... .123456", "...Z", "...+02:00", space instead of T) -> µs since the
// epoch; no zone means UTC (Feast's naive timestamps are UTC).
StatusOr<int64_t> ParseTimestampUs(std::string_view text);

}  // namespace kiln::features
