#include "features/value_json.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/base64.h"

namespace kiln::features {

namespace {

// --- protobuf wire format (only what feast.types.Value uses) ---
// Value's oneof field numbers equal the ValueType numbers for the types
// ViewSchema knows (bytes_val = 1 ... unix_timestamp_list_val = 18).
constexpr int kWireVarint = 0;
constexpr int kWireFixed64 = 1;
constexpr int kWireLen = 2;
constexpr int kWireFixed32 = 5;
constexpr int kNullValField = 19;

void PutVarint(uint64_t v, std::string* out) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

void PutTag(int field, int wire, std::string* out) { PutVarint((static_cast<uint64_t>(field) << 3) | wire, out); }

void PutFixed64(uint64_t v, std::string* out) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out->append(b, 8);
}

void PutFixed32(uint32_t v, std::string* out) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out->append(b, 4);
}

void PutLen(int field, std::string_view payload, std::string* out) {
  PutTag(field, kWireLen, out);
  PutVarint(payload.size(), out);
  out->append(payload);
}

struct Reader {
  const unsigned char* p;
  const unsigned char* end;

  bool Varint(uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64 && p < end; shift += 7) {
      const unsigned char b = *p++;
      r |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        *v = r;
        return true;
      }
    }
    return false;
  }
  bool Fixed64(uint64_t* v) {
    if (end - p < 8) return false;
    uint64_t r = 0;
    for (int i = 0; i < 8; ++i) r |= static_cast<uint64_t>(p[i]) << (8 * i);
    p += 8;
    *v = r;
    return true;
  }
  bool Fixed32(uint32_t* v) {
    if (end - p < 4) return false;
    uint32_t r = 0;
    for (int i = 0; i < 4; ++i) r |= static_cast<uint32_t>(p[i]) << (8 * i);
    p += 4;
    *v = r;
    return true;
  }
  bool Len(std::string_view* s) {
    uint64_t n = 0;
    if (!Varint(&n) || n > static_cast<uint64_t>(end - p)) return false;
    *s = std::string_view(reinterpret_cast<const char*>(p), n);
    p += n;
    return true;
  }
  bool Skip(int wire) {
    uint64_t v;
    uint32_t w;
    std::string_view s;
    switch (wire) {
      case kWireVarint: return Varint(&v);
      case kWireFixed64: return Fixed64(&v);
      case kWireFixed32: return Fixed32(&w);
      case kWireLen: return Len(&s);
      default: return false;
    }
  }
};

Reader ReaderOf(std::string_view s) {
  auto* b = reinterpret_cast<const unsigned char*>(s.data());
  return Reader{b, b + s.size()};
}

double BitsToDouble(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}

float BitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

// Python's float repr (json.dumps uses it): shortest round-trip digits, and
// integral values keep ".0" so the client reads a float back.
void AppendDouble(double d, std::string* out) {
  if (std::isnan(d)) return out->append("\"NaN\""), void();
  if (std::isinf(d)) return out->append(d > 0 ? "\"Infinity\"" : "\"-Infinity\""), void();
  char buf[40];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  out->append(buf, r.ptr);
  for (const char* c = buf; c < r.ptr; ++c) {
    if (*c == '.' || *c == 'e') return;
  }
  out->append(".0");
}

void AppendBase64(std::string_view raw, std::string* out) {
  out->push_back('"');
  out->append(Base64Encode(raw));
  out->push_back('"');
}

// Element renderers for list submessages (field 1 repeated).
enum class Elem { kBytes, kString, kInt32, kInt64, kDouble, kFloat, kBool };

bool ElemOfField(int field, Elem* e) {
  switch (field) {
    case 11: case 22: *e = Elem::kBytes; return true;
    case 12: case 23: case 33: case 38: case 39: case 40: case 41: case 45: case 46: *e = Elem::kString; return true;
    case 13: case 24: *e = Elem::kInt32; return true;
    case 14: case 25: case 18: case 29: *e = Elem::kInt64; return true;
    case 15: case 26: *e = Elem::kDouble; return true;
    case 16: case 27: *e = Elem::kFloat; return true;
    case 17: case 28: *e = Elem::kBool; return true;
    default: return false;
  }
}

bool AppendScalarElem(Elem e, Reader& r, std::string* out) {
  uint64_t v;
  uint32_t w;
  switch (e) {
    case Elem::kInt32:
      if (!r.Varint(&v)) return false;
      AppendInt(static_cast<int32_t>(static_cast<uint32_t>(v)), out);
      return true;
    case Elem::kInt64:
      if (!r.Varint(&v)) return false;
      AppendInt(static_cast<int64_t>(v), out);
      return true;
    case Elem::kBool:
      if (!r.Varint(&v)) return false;
      out->append(v ? "true" : "false");
      return true;
    case Elem::kDouble:
      if (!r.Fixed64(&v)) return false;
      AppendDouble(BitsToDouble(v), out);
      return true;
    case Elem::kFloat:
      if (!r.Fixed32(&w)) return false;
      AppendDouble(static_cast<double>(BitsToFloat(w)), out);
      return true;
    default:
      return false;
  }
}

bool AppendList(Elem e, std::string_view sub, std::string* out) {
  out->push_back('[');
  bool first = true;
  Reader r = ReaderOf(sub);
  while (r.p < r.end) {
    uint64_t tag;
    if (!r.Varint(&tag)) return false;
    const int field = static_cast<int>(tag >> 3);
    const int wire = static_cast<int>(tag & 7);
    if (field != 1) {
      if (!r.Skip(wire)) return false;
      continue;
    }
    if (e == Elem::kBytes || e == Elem::kString) {
      std::string_view s;
      if (wire != kWireLen || !r.Len(&s)) return false;
      if (!first) out->push_back(',');
      first = false;
      if (e == Elem::kBytes) AppendBase64(s, out); else AppendJsonString(s, out);
      continue;
    }
    if (wire == kWireLen) {  // packed
      std::string_view packed;
      if (!r.Len(&packed)) return false;
      Reader pr = ReaderOf(packed);
      while (pr.p < pr.end) {
        if (!first) out->push_back(',');
        first = false;
        if (!AppendScalarElem(e, pr, out)) return false;
      }
      continue;
    }
    if (!first) out->push_back(',');
    first = false;
    if (!AppendScalarElem(e, r, out)) return false;
  }
  out->push_back(']');
  return true;
}

// --- civil time (Howard Hinnant's algorithms; no locale, no gmtime) ---
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

void Put2(unsigned v, char* p) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

Status TypeError(std::string_view what, ValueType type, const nlohmann::json& got) {
  std::string shown = got.dump();
  if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
  return InvalidArgument(std::string(what) + ": expected a " + std::string(ValueTypeName(type)) + " value, got " +
                         std::string(got.type_name()) + " " + shown);
}

bool JsonInteger(const nlohmann::json& v, int64_t* out) {
  if (v.is_number_integer() && !v.is_number_unsigned()) {
    *out = v.get<int64_t>();
    return true;
  }
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    *out = static_cast<int64_t>(u);
    return true;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.2e18) return false;
    *out = static_cast<int64_t>(d);
    return true;
  }
  return false;
}

bool JsonDouble(const nlohmann::json& v, double* out) {
  if (v.is_number()) {
    *out = v.get<double>();
    return true;
  }
  if (v.is_string()) {  // the protobuf JSON spellings Feast answers with
    const auto& s = v.get_ref<const std::string&>();
    if (s == "NaN") return *out = std::numeric_limits<double>::quiet_NaN(), true;
    if (s == "Infinity") return *out = std::numeric_limits<double>::infinity(), true;
    if (s == "-Infinity") return *out = -std::numeric_limits<double>::infinity(), true;
  }
  return false;
}

bool JsonTimestampSeconds(const nlohmann::json& v, int64_t* out) {
  if (JsonInteger(v, out)) return true;
  if (v.is_string()) {
    auto us = ParseTimestampUs(v.get_ref<const std::string&>());
    if (!us.ok()) return false;
    // Feast keeps whole seconds (floor, also before 1970).
    *out = *us >= 0 ? *us / 1000000 : -((-*us + 999999) / 1000000);
    return true;
  }
  return false;
}

// One scalar of `type` (a scalar type) encoded into a list payload or a Value.
Status EncodeScalar(const nlohmann::json& v, ValueType type, std::string_view what, int field, bool packed,
                    std::string* out) {
  int64_t i = 0;
  double d = 0;
  switch (type) {
    case ValueType::kInt64:
    case ValueType::kInt32:
      if (!JsonInteger(v, &i)) return TypeError(what, type, v);
      if (type == ValueType::kInt32 && (i < std::numeric_limits<int32_t>::min() || i > std::numeric_limits<int32_t>::max())) {
        return InvalidArgument(std::string(what) + ": " + std::to_string(i) + " does not fit INT32");
      }
      if (!packed) PutTag(field, kWireVarint, out);
      PutVarint(static_cast<uint64_t>(i), out);
      return Status::Ok();
    case ValueType::kUnixTimestamp:
      if (!JsonTimestampSeconds(v, &i)) return TypeError(what, type, v);
      if (!packed) PutTag(field, kWireVarint, out);
      PutVarint(static_cast<uint64_t>(i), out);
      return Status::Ok();
    case ValueType::kDouble:
      if (!JsonDouble(v, &d)) return TypeError(what, type, v);
      if (!packed) PutTag(field, kWireFixed64, out);
      {
        uint64_t bits;
        std::memcpy(&bits, &d, 8);
        PutFixed64(bits, out);
      }
      return Status::Ok();
    case ValueType::kFloat:
      if (!JsonDouble(v, &d)) return TypeError(what, type, v);
      if (!packed) PutTag(field, kWireFixed32, out);
      {
        const float f = static_cast<float>(d);
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        PutFixed32(bits, out);
      }
      return Status::Ok();
    case ValueType::kBool:
      if (v.is_boolean()) {
        i = v.get<bool>() ? 1 : 0;
      } else if (!JsonInteger(v, &i) || (i != 0 && i != 1)) {
        return TypeError(what, type, v);
      }
      if (!packed) PutTag(field, kWireVarint, out);
      PutVarint(static_cast<uint64_t>(i), out);
      return Status::Ok();
    case ValueType::kString:
      if (!v.is_string()) return TypeError(what, type, v);
      PutLen(field, v.get_ref<const std::string&>(), out);
      return Status::Ok();
    case ValueType::kBytes: {
      if (!v.is_string()) return TypeError(what, type, v);
      auto raw = Base64Decode(v.get_ref<const std::string&>());
      if (!raw) return InvalidArgument(std::string(what) + ": BYTES values travel as base64 text");
      PutLen(field, *raw, out);
      return Status::Ok();
    }
    default:
      return InvalidArgument(std::string(what) + ": values of type " + std::string(ValueTypeName(type)) +
                             " are not supported");
  }
}

ValueType ElementType(ValueType list) {
  switch (list) {
    case ValueType::kBytesList: return ValueType::kBytes;
    case ValueType::kStringList: return ValueType::kString;
    case ValueType::kInt32List: return ValueType::kInt32;
    case ValueType::kInt64List: return ValueType::kInt64;
    case ValueType::kDoubleList: return ValueType::kDouble;
    case ValueType::kFloatList: return ValueType::kFloat;
    case ValueType::kBoolList: return ValueType::kBool;
    case ValueType::kUnixTimestampList: return ValueType::kUnixTimestamp;
    default: return ValueType::kInvalid;
  }
}

}  // namespace

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kInvalid: return "INVALID";
    case ValueType::kBytes: return "BYTES";
    case ValueType::kString: return "STRING";
    case ValueType::kInt32: return "INT32";
    case ValueType::kInt64: return "INT64";
    case ValueType::kDouble: return "DOUBLE";
    case ValueType::kFloat: return "FLOAT";
    case ValueType::kBool: return "BOOL";
    case ValueType::kUnixTimestamp: return "UNIX_TIMESTAMP";
    case ValueType::kBytesList: return "BYTES_LIST";
    case ValueType::kStringList: return "STRING_LIST";
    case ValueType::kInt32List: return "INT32_LIST";
    case ValueType::kInt64List: return "INT64_LIST";
    case ValueType::kDoubleList: return "DOUBLE_LIST";
    case ValueType::kFloatList: return "FLOAT_LIST";
    case ValueType::kBoolList: return "BOOL_LIST";
    case ValueType::kUnixTimestampList: return "UNIX_TIMESTAMP_LIST";
    case ValueType::kNull: return "NULL";
  }
  return "UNKNOWN";
}

StatusOr<RequestValue> RequestValueFromJson(const nlohmann::json& v, std::string_view what) {
  RequestValue r;
  switch (v.type()) {
    case nlohmann::json::value_t::null:
      return r;
    case nlohmann::json::value_t::boolean:
      r.kind = RequestValue::Kind::kBool;
      r.i = v.get<bool>() ? 1 : 0;
      return r;
    case nlohmann::json::value_t::number_integer:
      r.kind = RequestValue::Kind::kInt;
      r.i = v.get<int64_t>();
      return r;
    case nlohmann::json::value_t::number_unsigned: {
      const uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return InvalidArgument(std::string(what) + ": " + std::to_string(u) + " does not fit a 64-bit integer");
      }
      r.kind = RequestValue::Kind::kInt;
      r.i = static_cast<int64_t>(u);
      return r;
    }
    case nlohmann::json::value_t::number_float:
      r.kind = RequestValue::Kind::kDouble;
      r.d = v.get<double>();
      return r;
    case nlohmann::json::value_t::string:
      r.kind = RequestValue::Kind::kString;
      r.s = v.get<std::string>();
      return r;
    default:
      return InvalidArgument(std::string(what) + ": expected a scalar value, got " + std::string(v.type_name()));
  }
}

StatusOr<EntityKeyValue> ToEntityKeyValue(const RequestValue& v, const std::string& join_key, ValueType type) {
  EntityKeyValue e;
  e.join_key = join_key;
  e.type = type;
  auto mismatch = [&](std::string_view got) {
    return InvalidArgument("entity column '" + join_key + "' expects " + std::string(ValueTypeName(type)) +
                           " values, got " + std::string(got));
  };
  auto kind_name = [&]() -> std::string {
    switch (v.kind) {
      case RequestValue::Kind::kNull: return "null";
      case RequestValue::Kind::kBool: return v.i ? "boolean true" : "boolean false";
      case RequestValue::Kind::kInt: return "integer " + std::to_string(v.i);
      case RequestValue::Kind::kDouble: {
        std::string s;
        AppendDouble(v.d, &s);
        return "number " + s;
      }
      case RequestValue::Kind::kString: return "string \"" + v.s.substr(0, 40) + "\"";
      case RequestValue::Kind::kBytes: return "bytes";
    }
    return "?";
  };
  switch (type) {
    case ValueType::kInt64:
    case ValueType::kInt32:
    case ValueType::kUnixTimestamp:
      if (v.kind == RequestValue::Kind::kInt) {
        e.int_value = v.i;
      } else if (v.kind == RequestValue::Kind::kDouble && std::isfinite(v.d) && v.d == std::floor(v.d) &&
                 std::fabs(v.d) < 9.2e18) {
        e.int_value = static_cast<int64_t>(v.d);
      } else if (type == ValueType::kUnixTimestamp && v.kind == RequestValue::Kind::kString) {
        auto us = ParseTimestampUs(v.s);
        if (!us.ok()) return mismatch(kind_name());
        e.int_value = *us >= 0 ? *us / 1000000 : -((-*us + 999999) / 1000000);
      } else {
        return mismatch(kind_name());
      }
      if (type == ValueType::kInt32 &&
          (e.int_value < std::numeric_limits<int32_t>::min() || e.int_value > std::numeric_limits<int32_t>::max())) {
        return InvalidArgument("entity column '" + join_key + "': " + std::to_string(e.int_value) +
                               " does not fit INT32");
      }
      return e;
    case ValueType::kString:
      if (v.kind != RequestValue::Kind::kString) return mismatch(kind_name());
      e.bytes_value = v.s;
      return e;
    case ValueType::kBytes:
      if (v.kind == RequestValue::Kind::kBytes) {
        e.bytes_value = v.s;
        return e;
      }
      if (v.kind == RequestValue::Kind::kString) {
        auto raw = Base64Decode(v.s);
        if (!raw) return InvalidArgument("entity column '" + join_key + "' is BYTES: send base64 text");
        e.bytes_value = std::move(*raw);
        return e;
      }
      return mismatch(kind_name());
    default:
      return InvalidArgument("entity column '" + join_key + "' has type " + std::string(ValueTypeName(type)) +
                             ", which cannot be an entity key (INT64, INT32, STRING, BYTES, UNIX_TIMESTAMP)");
  }
}

void AppendEntityValueBytes(const EntityKeyValue& v, std::string* out) {
  switch (v.type) {
    case ValueType::kInt64:
    case ValueType::kInt32:
    case ValueType::kUnixTimestamp:
      PutTag(static_cast<int>(v.type), kWireVarint, out);
      PutVarint(static_cast<uint64_t>(v.int_value), out);
      return;
    case ValueType::kString:
    case ValueType::kBytes:
      PutLen(static_cast<int>(v.type), v.bytes_value, out);
      return;
    default:
      return;
  }
}

Status AppendJsonAsValueBytes(const nlohmann::json& v, ValueType type, std::string_view what, std::string* out) {
  if (v.is_null()) return Status::Ok();
  const int field = static_cast<int>(type);
  const ValueType elem = ElementType(type);
  if (elem == ValueType::kInvalid) {
    if (static_cast<int>(type) < 1 || static_cast<int>(type) > 8) {
      return InvalidArgument(std::string(what) + ": values of type " + std::string(ValueTypeName(type)) +
                             " are not supported");
    }
    return EncodeScalar(v, type, what, field, /*packed=*/false, out);
  }
  if (!v.is_array()) return TypeError(what, type, v);
  std::string payload;
  const bool packable = elem != ValueType::kString && elem != ValueType::kBytes;
  std::string packed;
  for (const auto& item : v) {
    if (item.is_null()) return InvalidArgument(std::string(what) + ": " + std::string(ValueTypeName(type)) +
                                               " values cannot hold null elements");
    KILN_RETURN_IF_ERROR(EncodeScalar(item, elem, what, 1, packable, packable ? &packed : &payload));
  }
  if (packable && !packed.empty()) PutLen(1, packed, &payload);
  PutLen(field, payload, out);
  return Status::Ok();
}

bool ValueBytesIsNull(std::string_view value_bytes) {
  if (value_bytes.empty()) return true;
  Reader r = ReaderOf(value_bytes);
  bool null = true;
  while (r.p < r.end) {
    uint64_t tag;
    if (!r.Varint(&tag)) return false;
    const int field = static_cast<int>(tag >> 3);
    null = field == kNullValField;
    if (!r.Skip(static_cast<int>(tag & 7))) return false;
  }
  return null;
}

Status AppendValueJson(std::string_view value_bytes, std::string* out) {
  // Value is a oneof: the last field on the wire wins.
  int field = 0;
  int wire = 0;
  uint64_t num = 0;
  std::string_view payload;
  Reader r = ReaderOf(value_bytes);
  while (r.p < r.end) {
    uint64_t tag;
    if (!r.Varint(&tag)) return InvalidArgument("stored value is not a feast.types.Value");
    field = static_cast<int>(tag >> 3);
    wire = static_cast<int>(tag & 7);
    bool ok = false;
    switch (wire) {
      case kWireVarint: ok = r.Varint(&num); break;
      case kWireFixed64: ok = r.Fixed64(&num); break;
      case kWireFixed32: {
        uint32_t w = 0;
        ok = r.Fixed32(&w);
        num = w;
        break;
      }
      case kWireLen: ok = r.Len(&payload); break;
      default: ok = false;
    }
    if (!ok) return InvalidArgument("stored value is not a feast.types.Value");
  }
  if (field == 0 || field == kNullValField) return out->append("null"), Status::Ok();
  auto bad = [&]() { return InvalidArgument("stored value field " + std::to_string(field) + " has the wrong wire type"); };
  switch (field) {
    case 1:
      if (wire != kWireLen) return bad();
      AppendBase64(payload, out);
      return Status::Ok();
    case 2: case 32: case 36: case 37: case 44:  // string, json, uuid, time uuid, decimal: text
      if (wire != kWireLen) return bad();
      AppendJsonString(payload, out);
      return Status::Ok();
    case 3:
      if (wire != kWireVarint) return bad();
      AppendInt(static_cast<int32_t>(static_cast<uint32_t>(num)), out);
      return Status::Ok();
    case 4: case 8:
      if (wire != kWireVarint) return bad();
      AppendInt(static_cast<int64_t>(num), out);
      return Status::Ok();
    case 5:
      if (wire != kWireFixed64) return bad();
      AppendDouble(BitsToDouble(num), out);
      return Status::Ok();
    case 6:
      if (wire != kWireFixed32) return bad();
      AppendDouble(static_cast<double>(BitsToFloat(static_cast<uint32_t>(num))), out);
      return Status::Ok();
    case 7:
      if (wire != kWireVarint) return bad();
      out->append(num ? "true" : "false");
      return Status::Ok();
    default:
      break;
  }
  Elem e;
  if (!ElemOfField(field, &e)) {
    return InvalidArgument("stored value kind (feast.types.Value field " + std::to_string(field) +
                           ") is not rendered by kiln (maps and structs are not supported)");
  }
  if (wire != kWireLen) return bad();
  if (!AppendList(e, payload, out)) return InvalidArgument("stored list value is malformed");
  return Status::Ok();
}

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->reserve(out->size() + s.size() + 2);
  out->push_back('"');
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out->append(esc, 6);
      }
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

void AppendRfc3339(int64_t us, std::string* out) {
  int64_t secs = us / 1000000;
  int64_t frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    secs -= 1;
  }
  int64_t days = secs / 86400;
  int64_t sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    days -= 1;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[40];
  char* p = buf;
  if (y < 0 || y > 9999) {
    auto r = std::to_chars(p, buf + 12, y);
    p = r.ptr;
  } else {
    Put2(static_cast<unsigned>(y / 100), p);
    Put2(static_cast<unsigned>(y % 100), p + 2);
    p += 4;
  }
  *p++ = '-';
  Put2(m, p);
  p += 2;
  *p++ = '-';
  Put2(d, p);
  p += 2;
  *p++ = 'T';
  Put2(static_cast<unsigned>(sod / 3600), p);
  p[2] = ':';
  Put2(static_cast<unsigned>(sod / 60 % 60), p + 3);
  p[5] = ':';
  Put2(static_cast<unsigned>(sod % 60), p + 6);
  p += 8;
  if (frac != 0) {
    *p++ = '.';
    const int digits = frac % 1000 == 0 ? 3 : 6;
    int64_t f = digits == 3 ? frac / 1000 : frac;
    for (int i = digits - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + f % 10);
      f /= 10;
    }
    p += digits;
  }
  *p++ = 'Z';
  out->append(buf, p);
}

StatusOr<int64_t> ParseTimestampUs(std::string_view t) {
  auto bad = [&]() {
    return InvalidArgument("'" + std::string(t.substr(0, 64)) +
                           "' is not an ISO 8601 timestamp (YYYY-MM-DD[THH:MM:SS[.ffffff]][Z|+HH:MM])");
  };
  size_t i = 0;
  auto digits = [&](int n, int* out) {
    if (i + n > t.size()) return false;
    int v = 0;
    for (int k = 0; k < n; ++k) {
      const char c = t[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i += n;
    *out = v;
    return true;
  };
  auto expect = [&](char c) {
    if (i < t.size() && t[i] == c) return ++i, true;
    return false;
  };
  int y, mo, d, h = 0, mi = 0, s = 0;
  if (!digits(4, &y) || !expect('-') || !digits(2, &mo) || !expect('-') || !digits(2, &d)) return bad();
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return bad();
  int64_t frac_us = 0;
  int64_t offset_s = 0;
  if (i < t.size() && (t[i] == 'T' || t[i] == 't' || t[i] == ' ')) {
    ++i;
    if (!digits(2, &h) || !expect(':') || !digits(2, &mi)) return bad();
    if (expect(':') && !digits(2, &s)) return bad();
    if (h > 23 || mi > 59 || s > 60) return bad();
    if (i < t.size() && (t[i] == '.' || t[i] == ',')) {
      ++i;
      int n = 0;
      int64_t scale = 100000;
      while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
        if (n < 6) frac_us += (t[i] - '0') * scale, scale /= 10;
        ++n;
        ++i;
      }
      if (n == 0) return bad();
    }
    if (i < t.size()) {
      if (t[i] == 'Z' || t[i] == 'z') {
        ++i;
      } else if (t[i] == '+' || t[i] == '-') {
        const int sign = t[i] == '-' ? -1 : 1;
        ++i;
        int oh, om = 0;
        if (!digits(2, &oh)) return bad();
        if (expect(':')) {
          if (!digits(2, &om)) return bad();
        } else if (i < t.size()) {
          if (!digits(2, &om)) return bad();
        }
        offset_s = sign * (oh * 3600 + om * 60);
      }
    }
  }
  if (i != t.size()) return bad();
  const int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + s - offset_s;
  return secs * 1000000 + frac_us;
}

}  // namespace kiln::features
