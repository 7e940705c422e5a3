#include "storage/sql/search_sql_common.h"

#include <charconv>
#include <cstdlib>

namespace kiln::storage::sql {
namespace {

void AppendJsonString(const std::string& s, std::string* out) {
  static const char* kHex = "0123456789abcdef";
  out->push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xf]);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back('"');
}

bool ToDouble(const SearchValue& v, double* out) {
  if (auto* d = std::get_if<double>(&v)) {
    *out = *d;
    return true;
  }
  if (auto* s = std::get_if<std::string>(&v)) {
    if (s->empty()) return false;
    char* end = nullptr;
    *out = std::strtod(s->c_str(), &end);
    return end && *end == '\0';
  }
  return false;
}

const char* OpSql(CompareOp op) {
  switch (op) {
    case CompareOp::kEq: return " = ";
    case CompareOp::kNe: return " != ";
    case CompareOp::kLt: return " < ";
    case CompareOp::kLe: return " <= ";
    case CompareOp::kGt: return " > ";
    case CompareOp::kGe: return " >= ";
    default: return nullptr;
  }
}

}  // namespace

std::string JsonStringArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    AppendJsonString(items[i], &out);
  }
  out.push_back(']');
  return out;
}

std::string JsonIntArray(const std::vector<int64_t>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    out += std::to_string(items[i]);
  }
  out.push_back(']');
  return out;
}

bool ParseInt64(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

Status AppendComparison(Dialect d, const std::string& expr, CompareOp op, const SearchValue& value,
                        bool numeric, std::string* sql, std::vector<sql::Arg>* args) {
  if (op == CompareOp::kIn || op == CompareOp::kNotIn) {
    std::vector<std::string> items;
    if (auto* list = std::get_if<std::vector<std::string>>(&value)) {
      items = *list;
    } else if (auto* s = std::get_if<std::string>(&value)) {
      items = {*s};
    } else {
      return InvalidArgument("IN / NOT IN needs a list of strings for '" + expr + "'");
    }
    *sql += expr;
    *sql += op == CompareOp::kIn ? " IN " : " NOT IN ";
    *sql += JsonArrayValues(d, "?", /*integers=*/false);
    args->push_back(JsonStringArray(items));
    return Status::Ok();
  }
  if (op == CompareOp::kLike || op == CompareOp::kILike) {
    auto* s = std::get_if<std::string>(&value);
    if (!s || numeric) return InvalidArgument("LIKE / ILIKE needs a string value");
    if (op == CompareOp::kLike) {
      *sql += expr + " LIKE ?";
    } else {
      *sql += "lower(" + expr + ") LIKE lower(?)";
    }
    *sql += LikeNoEscape(d);
    args->push_back(*s);
    return Status::Ok();
  }
  const char* o = OpSql(op);
  if (!o) return InvalidArgument("unsupported comparator");
  if (numeric) {
    double d = 0;
    if (!ToDouble(value, &d)) return InvalidArgument("expected a numeric value for '" + expr + "'");
    args->push_back(d);
  } else {
    auto* s = std::get_if<std::string>(&value);
    if (!s) return InvalidArgument("expected a string value for '" + expr + "'");
    args->push_back(*s);
  }
  *sql += expr;
  *sql += o;
  *sql += "?";
  return Status::Ok();
}

const char* LikeNoEscape(Dialect d) { return d == Dialect::kPostgres ? " ESCAPE ''" : ""; }

std::string OrderTerm(const std::string& expr, bool ascending) {
  return "(" + expr + ") IS NULL, " + expr + (ascending ? " ASC" : " DESC");
}

}  // namespace kiln::storage::sql
