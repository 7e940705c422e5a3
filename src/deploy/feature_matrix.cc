#include "deploy/feature_matrix.h"

#include <cstring>
#include <unordered_set>

namespace kiln::deploy {

namespace {

using features::FieldStatus;
using features::RequestValue;

// feast.types.Value field numbers (Value.proto) of the kinds a model input
// can be; wire types as protobuf encodes them.
constexpr int kInt32Val = 3, kInt64Val = 4, kDoubleVal = 5, kFloatVal = 6, kBoolVal = 7, kNullVal = 19;

bool ReadVarint(const unsigned char*& p, const unsigned char* end, uint64_t* v) {
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

std::string_view KindName(int field) {
  switch (field) {
    case 1: return "BYTES";
    case 2: return "STRING";
    case 8: return "UNIX_TIMESTAMP";
    default: return field >= 11 && field <= 18 ? "a list" : "an unsupported kind";
  }
}

std::string Describe(const RequestValue& v) {
  switch (v.kind) {
    case RequestValue::Kind::kNull: return "null";
    case RequestValue::Kind::kBool: return v.i ? "true" : "false";
    case RequestValue::Kind::kInt: return std::to_string(v.i);
    case RequestValue::Kind::kDouble: return std::to_string(v.d);
    case RequestValue::Kind::kString: return "'" + v.s + "'";
    case RequestValue::Kind::kBytes: return "<bytes>";
  }
  return "?";
}

std::string RowName(const std::vector<std::pair<std::string, std::vector<RequestValue>>>& entities, size_t row) {
  std::string out = "entity row " + std::to_string(row);
  std::string keys;
  for (const auto& [name, values] : entities) {
    if (row >= values.size()) continue;
    keys += (keys.empty() ? "" : ", ") + name + "=" + Describe(values[row]);
  }
  return keys.empty() ? out : out + " (" + keys + ")";
}

bool EndsWithShortName(const std::string& full, const std::string& column) {
  return full.size() > column.size() + 2 && full.compare(full.size() - column.size(), column.size(), column) == 0 &&
         full.compare(full.size() - column.size() - 2, 2, "__") == 0;
}

}  // namespace

Status NumericFeatureValue(std::string_view value_bytes, double* out, bool* is_null) {
  *is_null = false;
  const auto* p = reinterpret_cast<const unsigned char*>(value_bytes.data());
  const auto* end = p + value_bytes.size();
  if (p == end) return *is_null = true, Status::Ok();
  // A Value is one oneof field; protobuf lets the last occurrence win.
  bool seen = false;
  while (p < end) {
    uint64_t tag;
    if (!ReadVarint(p, end, &tag)) return InvalidArgument("malformed feature value");
    const int field = static_cast<int>(tag >> 3);
    const int wire = static_cast<int>(tag & 7);
    uint64_t v = 0;
    switch (field) {
      case kInt32Val:
      case kInt64Val:
      case kBoolVal:
      case kNullVal:
        if (wire != 0 || !ReadVarint(p, end, &v)) return InvalidArgument("malformed feature value");
        if (field == kNullVal) {
          *is_null = true;
        } else {
          *is_null = false;
          *out = field == kInt32Val ? static_cast<double>(static_cast<int32_t>(static_cast<uint32_t>(v)))
                 : field == kInt64Val ? static_cast<double>(static_cast<int64_t>(v))
                                      : (v ? 1.0 : 0.0);
        }
        break;
      case kDoubleVal: {
        if (wire != 1 || end - p < 8) return InvalidArgument("malformed feature value");
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits |= static_cast<uint64_t>(p[i]) << (8 * i);
        p += 8;
        std::memcpy(out, &bits, 8);
        *is_null = false;
        break;
      }
      case kFloatVal: {
        if (wire != 5 || end - p < 4) return InvalidArgument("malformed feature value");
        uint32_t bits = 0;
        for (int i = 0; i < 4; ++i) bits |= static_cast<uint32_t>(p[i]) << (8 * i);
        p += 4;
        float f;
        std::memcpy(&f, &bits, 4);
        *out = f;
        *is_null = false;
        break;
      }
      default:
        return InvalidArgument("the feature holds " + std::string(KindName(field)) +
                               ", but a model input must be a number (int32, int64, float, double or bool)");
    }
    seen = true;
  }
  if (!seen) *is_null = true;
  return Status::Ok();
}

StatusOr<std::vector<int>> MapFeatureColumns(const std::vector<std::string>& feature_names,
                                             const std::vector<std::string>& input_columns,
                                             const storage::FeatureBinding& binding) {
  std::vector<int> map(input_columns.size(), -1);
  for (size_t c = 0; c < input_columns.size(); ++c) {
    const std::string& col = input_columns[c];
    std::vector<int> by_short;
    for (size_t f = 0; f < feature_names.size(); ++f) {
      if (feature_names[f] == col) {
        map[c] = static_cast<int>(f);
        break;
      }
      if (EndsWithShortName(feature_names[f], col)) by_short.push_back(static_cast<int>(f));
    }
    if (map[c] >= 0) continue;
    if (by_short.size() > 1) {
      return InvalidArgument("model input column '" + col + "' matches the features '" + feature_names[by_short[0]] +
                             "' and '" + feature_names[by_short[1]] +
                             "'; name the column by the full feature name (view__feature)");
    }
    if (by_short.size() == 1) {
      map[c] = by_short[0];
      continue;
    }
    if (!binding.defaults.count(col)) {
      return InvalidArgument("model input column '" + col +
                             "' is none of the bound features and has no declared default");
    }
  }
  return map;
}

StatusOr<std::vector<double>> BuildFeatureMatrix(
    const features::OnlineResult& result, const std::vector<std::string>& input_columns,
    const storage::FeatureBinding& binding,
    const std::vector<std::pair<std::string, std::vector<RequestValue>>>& entities) {
  // The join-key columns come first (the request's entity columns, in
  // request order); the features follow under their full names.
  std::unordered_set<std::string> entity_names;
  for (const auto& e : entities) entity_names.insert(e.first);
  size_t first_feature = 0;
  while (first_feature < result.columns.size() && entity_names.count(result.columns[first_feature].name)) {
    ++first_feature;
  }
  std::vector<std::string> names;
  for (size_t i = first_feature; i < result.columns.size(); ++i) names.push_back(result.columns[i].name);
  KILN_ASSIGN_OR_RETURN(std::vector<int> map, MapFeatureColumns(names, input_columns, binding));

  const size_t width = input_columns.size();
  std::vector<double> values(result.rows * width);
  for (size_t c = 0; c < width; ++c) {
    const std::string& col = input_columns[c];
    auto def = binding.defaults.find(col);
    const bool has_default = def != binding.defaults.end();
    if (map[c] < 0) {
      for (size_t r = 0; r < result.rows; ++r) values[r * width + c] = def->second;
      continue;
    }
    const features::OnlineColumn& fc = result.columns[first_feature + static_cast<size_t>(map[c])];
    for (size_t r = 0; r < result.rows; ++r) {
      FieldStatus st = fc.statuses[r];
      double v = 0;
      bool is_null = true;
      if (st == FieldStatus::kPresent || st == FieldStatus::kOutsideMaxAge) {
        Status s = NumericFeatureValue(result.ValueBytes(fc, r), &v, &is_null);
        if (!s.ok()) return InvalidArgument(RowName(entities, r) + ": feature '" + fc.name + "': " + s.message());
        if (is_null) st = FieldStatus::kNullValue;
      }
      if (st == FieldStatus::kPresent || (st == FieldStatus::kOutsideMaxAge && binding.allow_stale)) {
        values[r * width + c] = v;
        continue;
      }
      if (has_default) {
        values[r * width + c] = def->second;
        continue;
      }
      std::string why;
      switch (st) {
        case FieldStatus::kNotFound: why = "has no online value (NOT_FOUND)"; break;
        case FieldStatus::kNullValue: why = "is null (NULL_VALUE)"; break;
        case FieldStatus::kOutsideMaxAge:
          why = "is older than its view's ttl (OUTSIDE_MAX_AGE) and the binding does not allow stale values";
          break;
        default: why = "has no valid value"; break;
      }
      return InvalidArgument(RowName(entities, r) + ": feature '" + fc.name + "' " + why +
                             ", and no default is declared for model input '" + col + "'");
    }
  }
  return values;
}

}  // namespace kiln::deploy
