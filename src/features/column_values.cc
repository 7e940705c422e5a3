#include "features/column_values.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace kiln::features {
namespace {

using storage::Column;
using storage::ColumnType;

// feast.types.Value field tags (field number << 3 | wire type).
constexpr char kBytesTag = 0x0A;      // 1, length-delimited
constexpr char kStringTag = 0x12;     // 2, length-delimited
constexpr char kInt32Tag = 0x18;      // 3, varint
constexpr char kInt64Tag = 0x20;      // 4, varint
constexpr char kDoubleTag = 0x29;     // 5, fixed64
constexpr char kFloatTag = 0x35;      // 6, fixed32
constexpr char kBoolTag = 0x38;       // 7, varint
constexpr char kTimestampTag = 0x40;  // 8, varint

// Feast's NULL_TIMESTAMP_INT_VALUE: what a null timestamp cell becomes.
constexpr int64_t kNullTimestamp = std::numeric_limits<int64_t>::min();

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// int32/int64 fields both encode negative numbers sign-extended to 64 bits.
void PutVarintField(char tag, int64_t v, std::string* out) {
  out->clear();
  out->push_back(tag);
  AppendVarint(static_cast<uint64_t>(v), out);
}

void PutLengthField(char tag, std::string_view bytes, std::string* out) {
  out->clear();
  out->reserve(bytes.size() + 6);
  out->push_back(tag);
  AppendVarint(bytes.size(), out);
  out->append(bytes);
}

void PutDouble(double v, std::string* out) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  out->clear();
  out->push_back(kDoubleTag);
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
}

void PutFloat(float v, std::string* out) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  out->clear();
  out->push_back(kFloatTag);
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
}

// Value's list fields (11..18) as length-delimited tags; each list message
// holds its elements in field 1 (packed for numbers).
std::string_view ListTag(ValueType t) {
  switch (t) {
    case ValueType::kBytesList: return "\x5A";
    case ValueType::kStringList: return "\x62";
    case ValueType::kInt32List: return "\x6A";
    case ValueType::kInt64List: return "\x72";
    case ValueType::kDoubleList: return "\x7A";
    case ValueType::kFloatList: return "\x82\x01";
    case ValueType::kBoolList: return "\x8A\x01";
    default: return "\x92\x01";  // unix_timestamp_list_val
  }
}

void AppendFixed(uint64_t bits, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
}

bool IsInt(ColumnType t) { return t == ColumnType::kInt32 || t == ColumnType::kInt64; }
bool IsFloat(ColumnType t) { return t == ColumnType::kFloat || t == ColumnType::kDouble; }

Status Refuse(std::string_view column, ColumnType from, ValueType to, std::string_view why) {
  return InvalidArgument("column '" + std::string(column) + "' (" + std::string(ColumnTypeName(from)) +
                         ") cannot be stored as a " + std::string(DeclaredTypeName(to)) + " feature: " +
                         std::string(why));
}

// Shortest round-trip digits of v and its decimal exponent, as
// "d.ddd" -> digits "dddd", exponent e meaning d.ddd × 10^e.
template <typename T>
void ShortestDigits(T v, std::string* digits, int* exponent) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view s(buf, static_cast<size_t>(res.ptr - buf));
  size_t e = s.find('e');
  std::string_view mantissa = s.substr(0, e);
  digits->clear();
  for (char c : mantissa) {
    if (c >= '0' && c <= '9') digits->push_back(c);
  }
  while (digits->size() > 1 && digits->back() == '0') digits->pop_back();
  *exponent = 0;
  std::from_chars(s.data() + e + 1 + (s[e + 1] == '+' ? 1 : 0), s.data() + s.size(), *exponent);
}

std::string FormatFloat(bool negative, const std::string& digits, int exp, bool scientific) {
  std::string out = negative ? "-" : "";
  if (scientific) {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1, std::string::npos);
    }
    out += exp < 0 ? "e-" : "e+";
    std::string e = std::to_string(std::abs(exp));
    if (e.size() < 2) e = "0" + e;
    return out + e;
  }
  if (exp < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-exp - 1), '0');
    out += digits;
    return out;
  }
  const size_t int_digits = static_cast<size_t>(exp) + 1;
  if (digits.size() <= int_digits) {
    out += digits;
    out.append(int_digits - digits.size(), '0');
    return out + ".0";
  }
  out.append(digits, 0, int_digits);
  out += '.';
  out.append(digits, int_digits, std::string::npos);
  return out;
}

}  // namespace

std::string PythonFloatRepr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  std::string digits;
  int exp = 0;
  ShortestDigits(std::fabs(value), &digits, &exp);
  // repr() switches to exponent notation below 1e-4 and from 1e16 on.
  return FormatFloat(value < 0, digits, exp, exp < -4 || exp >= 16);
}

std::string NumpyFloat32Str(float value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  std::string digits;
  int exp = 0;
  ShortestDigits(std::fabs(value), &digits, &exp);
  // numpy prints a float32 positionally only for 1e-4 <= |x| < 1e7,
  // comparing the value itself (float32(0.0001) is just below 1e-4).
  const double a = std::fabs(static_cast<double>(value));
  return FormatFloat(value < 0, digits, exp, a < 1e-4 || a >= 1e7);
}

std::string_view DeclaredTypeName(ValueType type) {
  switch (type) {
    case ValueType::kBytes: return "Bytes";
    case ValueType::kString: return "String";
    case ValueType::kInt32: return "Int32";
    case ValueType::kInt64: return "Int64";
    case ValueType::kDouble: return "Float64";
    case ValueType::kFloat: return "Float32";
    case ValueType::kBool: return "Bool";
    case ValueType::kUnixTimestamp: return "UnixTimestamp";
    case ValueType::kBytesList: return "Array(Bytes)";
    case ValueType::kStringList: return "Array(String)";
    case ValueType::kInt32List: return "Array(Int32)";
    case ValueType::kInt64List: return "Array(Int64)";
    case ValueType::kDoubleList: return "Array(Float64)";
    case ValueType::kFloatList: return "Array(Float32)";
    case ValueType::kBoolList: return "Array(Bool)";
    case ValueType::kUnixTimestampList: return "Array(UnixTimestamp)";
    case ValueType::kNull: return "Null";
    case ValueType::kInvalid: break;
  }
  return "an unsupported type";
}

std::string_view ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kBool: return "bool";
    case ColumnType::kInt32: return "int32";
    case ColumnType::kInt64: return "int64";
    case ColumnType::kFloat: return "float32";
    case ColumnType::kDouble: return "float64";
    case ColumnType::kString: return "string";
    case ColumnType::kBytes: return "binary";
    case ColumnType::kTimestamp: return "timestamp";
    case ColumnType::kList: return "list";
  }
  return "unknown";
}

StatusOr<ValueEncoder> ValueEncoder::Create(const Column& column, ValueType to, std::string_view name) {
  if (column.type == ColumnType::kList) return CreateList(column.element, to, name);
  return Create(column.type, to, name);
}

StatusOr<ValueEncoder> ValueEncoder::CreateList(ColumnType element, ValueType to, std::string_view column) {
  const std::string name(column);
  auto ok = [&](Op op) -> StatusOr<ValueEncoder> { return ValueEncoder(op, name, to); };
  auto refuse = [&](std::string_view why) {
    return InvalidArgument("column '" + name + "' (list of " + std::string(ColumnTypeName(element)) +
                           ") cannot be stored as an " + std::string(DeclaredTypeName(to)) + " feature: " +
                           std::string(why));
  };
  switch (to) {
    case ValueType::kStringList:
      if (element == ColumnType::kString) return ok(Op::kStringList);
      return refuse("Feast accepts only string elements for Array(String)");
    case ValueType::kBytesList:
      if (element == ColumnType::kBytes) return ok(Op::kBytesList);
      return refuse("Feast accepts only binary elements for Array(Bytes)");
    case ValueType::kInt64List:
      if (IsInt(element)) return ok(Op::kIntToInt64List);
      return refuse("Feast accepts only integer elements for Array(Int64)");
    case ValueType::kInt32List:
      if (IsInt(element)) return ok(Op::kIntToInt32List);
      return refuse("Feast accepts only integer elements for Array(Int32)");
    case ValueType::kFloatList:
      if (IsFloat(element)) return ok(Op::kFloatToFloatList);
      return refuse("Feast accepts only float elements for Array(Float32)");
    case ValueType::kDoubleList:
      if (IsFloat(element)) return ok(Op::kFloatToDoubleList);
      return refuse("Feast accepts only float elements for Array(Float64)");
    case ValueType::kBoolList:
      if (element == ColumnType::kBool) return ok(Op::kBoolList);
      return refuse("Feast accepts only bool elements for Array(Bool)");
    case ValueType::kUnixTimestampList:
      if (element == ColumnType::kTimestamp) return ok(Op::kTimestampList);
      if (IsInt(element)) return ok(Op::kIntToUnixList);
      return refuse("Feast accepts only timestamp or integer elements for Array(UnixTimestamp)");
    default:
      return InvalidArgument("column '" + name + "' is a list; Feast would store a null for every row of the " +
                             std::string(DeclaredTypeName(to)) + " feature (declare an Array type)");
  }
}

StatusOr<ValueEncoder> ValueEncoder::Create(ColumnType from, ValueType to, std::string_view column) {
  const std::string name(column);
  if (from == ColumnType::kList) {
    if (to >= ValueType::kBytesList && to <= ValueType::kUnixTimestampList) {
      return InvalidArgument("column '" + name + "': a list encoder needs the column's element type");
    }
    return CreateList(ColumnType::kInt64, to, column);
  }
  auto ok = [&](Op op) -> StatusOr<ValueEncoder> { return ValueEncoder(op, name); };
  switch (to) {
    case ValueType::kInt64:
      if (IsInt(from) || from == ColumnType::kBool) return ok(Op::kIntToInt64);
      if (IsFloat(from)) return ok(Op::kFloatToInt64);
      break;
    case ValueType::kInt32:
      if (IsInt(from) || from == ColumnType::kBool) return ok(Op::kIntToInt32);
      if (IsFloat(from)) return ok(Op::kFloatToInt32);
      break;
    case ValueType::kFloat:
      if (IsInt(from) || from == ColumnType::kBool) return ok(Op::kIntToFloat);
      if (IsFloat(from)) return ok(Op::kFloatToFloat);
      break;
    case ValueType::kDouble:
      // Feast accepts only float64 and int64 values here (type_map.py's
      // DOUBLE check): float32, int32 and bool columns fail its assertion.
      if (from == ColumnType::kInt64) return ok(Op::kIntToDouble);
      if (from == ColumnType::kDouble) return ok(Op::kFloatToDouble);
      return Refuse(column, from, to, "Feast accepts only float64 or int64 values for Float64 features");
    case ValueType::kBool:
      if (from == ColumnType::kBool) return ok(Op::kBoolToBool);
      if (from == ColumnType::kInt64) return ok(Op::kIntToBool);
      return Refuse(column, from, to, "Feast accepts only bool or int64 values for Bool features");
    case ValueType::kString:
      if (from == ColumnType::kString) return ok(Op::kString);
      if (IsInt(from)) return ok(Op::kIntToString);
      if (from == ColumnType::kBool) return ok(Op::kBoolToString);
      if (from == ColumnType::kDouble) return ok(Op::kDoubleToString);
      if (from == ColumnType::kFloat) return ok(Op::kFloat32ToString);
      return Refuse(column, from, to,
                    "Feast would store Python's rendering of the value (b'..' or a resolution-dependent timestamp)");
    case ValueType::kBytes:
      if (from == ColumnType::kBytes) return ok(Op::kBytes);
      return Refuse(column, from, to, "Feast accepts only binary values for Bytes features");
    case ValueType::kUnixTimestamp:
      if (from == ColumnType::kTimestamp) return ok(Op::kTimestampToUnix);
      if (IsInt(from) || from == ColumnType::kBool) return ok(Op::kIntToUnix);
      if (IsFloat(from)) {
        return Refuse(column, from, to, "Feast would store the null timestamp for every float value");
      }
      break;
    case ValueType::kBytesList:
    case ValueType::kStringList:
    case ValueType::kInt32List:
    case ValueType::kInt64List:
    case ValueType::kDoubleList:
    case ValueType::kFloatList:
    case ValueType::kBoolList:
    case ValueType::kUnixTimestampList:
      return Refuse(column, from, to, "Feast cannot store a scalar column as a list feature");
    case ValueType::kNull:
    case ValueType::kInvalid:
      return Refuse(column, from, to, "kiln does not materialize features of this type");
  }
  return Refuse(column, from, to, "Feast cannot convert these values");
}

Status ValueEncoder::EncodeList(const Column& c, size_t row, std::string* out) const {
  out->clear();
  if (!c.valid[row]) return Status::Ok();  // Feast's ProtoValue() for a None list
  const size_t begin = c.offsets[row];
  const size_t end = c.offsets[row + 1];
  std::string inner;
  std::string payload;
  switch (op_) {
    case Op::kStringList:
    case Op::kBytesList:
      for (size_t j = begin; j < end; ++j) {
        // A NULL element holds "": Feast's default for a None string/bytes.
        inner.push_back(0x0A);
        AppendVarint(c.str[j].size(), &inner);
        inner.append(c.str[j]);
      }
      break;
    case Op::kIntToInt64List:
    case Op::kIntToInt32List:
    case Op::kIntToUnixList:
      for (size_t j = begin; j < end; ++j) {
        if (!c.element_valid[j]) {
          return InvalidArgument("column '" + column_ +
                                 "' holds a null element in an integer list; Feast fails on it (pyarrow turns "
                                 "the batch's integers into floats); fill or drop the nulls");
        }
        const int64_t v = c.i64[j];
        if (op_ == Op::kIntToInt32List &&
            (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())) {
          return InvalidArgument("column '" + column_ + "': element " + std::to_string(v) +
                                 " is out of range for an Array(Int32) feature");
        }
        AppendVarint(static_cast<uint64_t>(v), &payload);
      }
      break;
    case Op::kBoolList:
      // A NULL element is False (Feast's default), its slot already 0.
      for (size_t j = begin; j < end; ++j) payload.push_back(c.i64[j] != 0 ? 1 : 0);
      break;
    case Op::kTimestampList:
      for (size_t j = begin; j < end; ++j) {
        // Feast's int(datetime.timestamp()): truncation toward zero.
        const int64_t s = c.element_valid[j] ? c.i64[j] / 1000000 : kNullTimestamp;
        AppendVarint(static_cast<uint64_t>(s), &payload);
      }
      break;
    case Op::kFloatToFloatList:
      for (size_t j = begin; j < end; ++j) {
        // pyarrow's to_numpy turns a NULL element into NaN, which Feast keeps.
        const float f = c.element_valid[j] ? static_cast<float>(c.f64[j]) : std::numeric_limits<float>::quiet_NaN();
        uint32_t bits;
        std::memcpy(&bits, &f, sizeof bits);
        AppendFixed(bits, 4, &payload);
      }
      break;
    case Op::kFloatToDoubleList:
      for (size_t j = begin; j < end; ++j) {
        const double d = c.element_valid[j] ? c.f64[j] : std::numeric_limits<double>::quiet_NaN();
        uint64_t bits;
        std::memcpy(&bits, &d, sizeof bits);
        AppendFixed(bits, 8, &payload);
      }
      break;
    default:
      return Internal("not a list conversion");
  }
  if (!payload.empty()) {
    inner.push_back(0x0A);  // packed field 1
    AppendVarint(payload.size(), &inner);
    inner.append(payload);
  }
  out->append(ListTag(to_));
  AppendVarint(inner.size(), out);
  out->append(inner);
  return Status::Ok();
}

Status ValueEncoder::Encode(const Column& c, size_t row, std::string* out) const {
  if (op_ >= Op::kStringList) return EncodeList(c, row, out);
  if (!c.valid[row]) {
    // Feast's null for a timestamp cell is its NULL_TIMESTAMP_INT_VALUE, for
    // everything else an empty Value.
    if (op_ == Op::kTimestampToUnix) {
      PutVarintField(kTimestampTag, kNullTimestamp, out);
    } else {
      out->clear();
    }
    return Status::Ok();
  }
  switch (op_) {
    case Op::kIntToInt64:
      PutVarintField(kInt64Tag, c.i64[row], out);
      return Status::Ok();
    case Op::kIntToInt32: {
      const int64_t v = c.i64[row];
      if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
        return InvalidArgument("column '" + column_ + "': value " + std::to_string(v) +
                               " is out of range for an Int32 feature");
      }
      PutVarintField(kInt32Tag, v, out);
      return Status::Ok();
    }
    case Op::kFloatToInt64:
    case Op::kFloatToInt32: {
      const double d = c.f64[row];
      if (std::isnan(d)) {
        out->clear();  // pandas' NaN is Feast's null
        return Status::Ok();
      }
      const bool is32 = op_ == Op::kFloatToInt32;
      const double lo = is32 ? -2147483648.0 : -9223372036854775808.0;
      const double hi = is32 ? 2147483648.0 : 9223372036854775808.0;
      if (std::trunc(d) != d || !(d >= lo && d < hi)) {
        return InvalidArgument("column '" + column_ + "': value " + PythonFloatRepr(d) + " is not an " +
                               (is32 ? "Int32" : "Int64") +
                               " (Feast would truncate it; cast the column or declare a float type)");
      }
      PutVarintField(is32 ? kInt32Tag : kInt64Tag, static_cast<int64_t>(d), out);
      return Status::Ok();
    }
    case Op::kIntToFloat:
      PutFloat(static_cast<float>(c.i64[row]), out);
      return Status::Ok();
    case Op::kFloatToFloat:
      if (std::isnan(c.f64[row])) {
        out->clear();
      } else {
        PutFloat(static_cast<float>(c.f64[row]), out);
      }
      return Status::Ok();
    case Op::kIntToDouble:
      PutDouble(static_cast<double>(c.i64[row]), out);
      return Status::Ok();
    case Op::kFloatToDouble:
      if (std::isnan(c.f64[row])) {
        out->clear();
      } else {
        PutDouble(c.f64[row], out);
      }
      return Status::Ok();
    case Op::kBoolToBool:
    case Op::kIntToBool:
      PutVarintField(kBoolTag, c.i64[row] != 0 ? 1 : 0, out);
      return Status::Ok();
    case Op::kString:
      PutLengthField(kStringTag, c.str[row], out);
      return Status::Ok();
    case Op::kIntToString:
      PutLengthField(kStringTag, std::to_string(c.i64[row]), out);
      return Status::Ok();
    case Op::kBoolToString:
      PutLengthField(kStringTag, c.i64[row] != 0 ? "True" : "False", out);
      return Status::Ok();
    case Op::kDoubleToString:
      if (std::isnan(c.f64[row])) {
        out->clear();
      } else {
        PutLengthField(kStringTag, PythonFloatRepr(c.f64[row]), out);
      }
      return Status::Ok();
    case Op::kFloat32ToString:
      if (std::isnan(c.f64[row])) {
        out->clear();
      } else {
        PutLengthField(kStringTag, NumpyFloat32Str(static_cast<float>(c.f64[row])), out);
      }
      return Status::Ok();
    case Op::kBytes:
      PutLengthField(kBytesTag, c.str[row], out);
      return Status::Ok();
    case Op::kTimestampToUnix: {
      // numpy's datetime64[s] cast floors, also before 1970.
      const int64_t us = c.i64[row];
      int64_t s = us / 1000000;
      if (us % 1000000 < 0) --s;
      PutVarintField(kTimestampTag, s, out);
      return Status::Ok();
    }
    case Op::kIntToUnix:
      PutVarintField(kTimestampTag, c.i64[row], out);
      return Status::Ok();
    default:
      break;
  }
  return Internal("unknown value conversion");
}

Status CheckEntityColumn(ColumnType from, const EntityColumn& entity) {
  auto refuse = [&](std::string_view why) {
    return InvalidArgument("join key column '" + entity.join_key + "' (" + std::string(ColumnTypeName(from)) +
                           ") cannot key the " + std::string(DeclaredTypeName(entity.type)) + " entity '" +
                           entity.name + "': " + std::string(why));
  };
  switch (entity.type) {
    case ValueType::kInt64:
    case ValueType::kInt32:
      if (IsInt(from)) return Status::Ok();
      return refuse("expected an integer column");
    case ValueType::kString:
      if (from == ColumnType::kString) return Status::Ok();
      if (IsInt(from)) return Status::Ok();  // Feast's str(x)
      return refuse("expected a string column");
    case ValueType::kBytes:
      if (from == ColumnType::kBytes) return Status::Ok();
      return refuse("expected a binary column");
    default:
      return refuse("Feast serializes only Int64, Int32, String and Bytes entity keys");
  }
}

Status EntityValueFromColumn(const Column& c, size_t row, const EntityColumn& entity, EntityKeyValue* out) {
  if (!c.valid[row]) {
    return InvalidArgument("join key column '" + entity.join_key + "' holds a null value; Feast cannot key a row by it");
  }
  out->join_key = entity.join_key;
  out->type = entity.type;
  switch (entity.type) {
    case ValueType::kInt64:
      out->int_value = c.i64[row];
      return Status::Ok();
    case ValueType::kInt32:
      if (c.i64[row] < std::numeric_limits<int32_t>::min() || c.i64[row] > std::numeric_limits<int32_t>::max()) {
        return InvalidArgument("join key column '" + entity.join_key + "': value " + std::to_string(c.i64[row]) +
                               " is out of range for an Int32 entity");
      }
      out->int_value = c.i64[row];
      return Status::Ok();
    case ValueType::kString:
      out->bytes_value = c.type == storage::ColumnType::kString ? c.str[row] : std::to_string(c.i64[row]);
      return Status::Ok();
    case ValueType::kBytes:
      out->bytes_value = c.str[row];
      return Status::Ok();
    default:
      return InvalidArgument("entity '" + entity.name + "' has a type Feast cannot serialize as a key");
  }
}

}  // namespace kiln::features
