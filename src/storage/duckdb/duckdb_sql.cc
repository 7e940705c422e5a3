#include "storage/duckdb/duckdb_sql.h"

#include <filesystem>
#include <system_error>

namespace kiln::storage::duck {
namespace {

std::string Doubled(std::string_view s, char q) {
  std::string out;
  out.reserve(s.size() + 2);
  out += q;
  for (char c : s) {
    out += c;
    if (c == q) out += q;
  }
  out += q;
  return out;
}

}  // namespace

std::string Ident(std::string_view name) { return Doubled(name, '"'); }
std::string Literal(std::string_view text) { return Doubled(text, '\''); }

Status CheckText(std::string_view text, std::string_view what) {
  if (text.find('\0') != std::string_view::npos) {
    return InvalidArgument(std::string(what) + " contains a NUL byte");
  }
  return Status::Ok();
}

StatusOr<std::string> ReaderSql(const std::string& raw_path, FileFormat format) {
  KILN_RETURN_IF_ERROR(CheckText(raw_path, "path"));
  std::string path = raw_path.rfind("file://", 0) == 0 ? raw_path.substr(7) : raw_path;
  if (path.empty()) return InvalidArgument("empty source path");
  std::error_code ec;
  bool is_dir = std::filesystem::is_directory(path, ec);
  const char* ext = format == FileFormat::kParquet ? "parquet" : format == FileFormat::kCsv ? "csv" : "json";
  if (is_dir) path += std::string("/**/*.") + ext;
  switch (format) {
    case FileFormat::kParquet:
      return "read_parquet(" + Literal(path) + ")";
    case FileFormat::kCsv:
      // Sources always carry a header; the sniffer picks the types, and
      // timestamps with an offset come back as TIMESTAMP WITH TIME ZONE.
      return "read_csv(" + Literal(path) + ", header = true, auto_detect = true)";
    case FileFormat::kJson:
      return "read_json(" + Literal(path) + ", format = 'auto')";
  }
  return InvalidArgument("unknown file format");
}

std::optional<ColumnType> EngineType(duckdb_type t) {
  switch (t) {
    case DUCKDB_TYPE_BOOLEAN:
      return ColumnType::kBool;
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
      return ColumnType::kInt32;
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:   // cast to BIGINT: DuckDB errors on overflow
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
      return ColumnType::kInt64;
    case DUCKDB_TYPE_FLOAT:
      return ColumnType::kFloat;
    case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_DECIMAL:
      return ColumnType::kDouble;
    case DUCKDB_TYPE_VARCHAR:
    case DUCKDB_TYPE_ENUM:
    case DUCKDB_TYPE_UUID:
      return ColumnType::kString;
    case DUCKDB_TYPE_BLOB:
      return ColumnType::kBytes;
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS:
    case DUCKDB_TYPE_TIMESTAMP_NS:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
    case DUCKDB_TYPE_DATE:
      return ColumnType::kTimestamp;
    default:
      return std::nullopt;
  }
}

std::string NormalizedExpr(const std::string& q, duckdb_type t) {
  switch (t) {
    case DUCKDB_TYPE_BOOLEAN:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_VARCHAR:
    case DUCKDB_TYPE_BLOB:
      return q;
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
      return "CAST(" + q + " AS INTEGER)";
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
      return "CAST(" + q + " AS BIGINT)";
    case DUCKDB_TYPE_DECIMAL:
      return "CAST(" + q + " AS DOUBLE)";
    case DUCKDB_TYPE_ENUM:
    case DUCKDB_TYPE_UUID:
      return "CAST(" + q + " AS VARCHAR)";
    case DUCKDB_TYPE_DATE:
      return "epoch_us(CAST(" + q + " AS TIMESTAMP))";
    default:  // the timestamp flavours
      return "epoch_us(" + q + ")";
  }
}

StatusOr<ColumnType> ListElementType(const SourceColumn& col) {
  auto refuse = [&](std::string_view why) {
    return InvalidArgument("list column '" + col.name + "' has type " + col.type_name + ", which the offline engine " +
                           "does not read: " + std::string(why));
  };
  switch (col.element_type) {
    case DUCKDB_TYPE_TIMESTAMP_NS:
      return refuse("Feast would store its nanoseconds as if they were seconds; cast the elements to microseconds");
    case DUCKDB_TYPE_DATE:
      return refuse("Feast fails on date elements; store them as timestamps");
    default:
      break;
  }
  std::optional<ColumnType> t = EngineType(col.element_type);
  if (!t) return refuse("its elements are not scalars");
  return *t;
}

std::string NormalizedListExpr(const std::string& q, duckdb_type element) {
  std::string x = NormalizedExpr("__kiln_x", element);
  if (x == "__kiln_x") return q;
  return "list_transform(" + q + ", __kiln_x -> " + x + ")";
}

StatusOr<std::string> TimestampUsExpr(const SourceColumn& col) {
  std::string q = Ident(col.file_name);
  switch (col.type) {
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS:
    case DUCKDB_TYPE_TIMESTAMP_NS:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      return "epoch_us(" + q + ")";
    case DUCKDB_TYPE_DATE:
      return "epoch_us(CAST(" + q + " AS TIMESTAMP))";
    case DUCKDB_TYPE_VARCHAR:
      return "epoch_us(CAST(" + q + " AS TIMESTAMP WITH TIME ZONE))";
    default:
      return InvalidArgument("timestamp column '" + col.name + "' has type " + col.type_name +
                             "; a timestamp, a date or an ISO-8601 string is needed");
  }
}

StatusOr<std::string> WindowPredicate(const SourceColumn& col, std::optional<int64_t> start_us,
                                      std::optional<int64_t> end_us) {
  // Plain locals: GCC 12 reports optional<int64_t> copies as maybe-uninitialized.
  bool has_lo = start_us.has_value(), has_hi = end_us.has_value();
  int64_t lo = start_us.value_or(0), hi = end_us.value_or(0);
  std::string lhs;
  std::string mk;
  if (col.type == DUCKDB_TYPE_TIMESTAMP || col.type == DUCKDB_TYPE_TIMESTAMP_TZ) {
    // Both store µs, so comparing with a µs literal is exact and lets the
    // Parquet reader skip row groups by their min/max statistics.
    mk = col.type == DUCKDB_TYPE_TIMESTAMP ? "make_timestamp" : "make_timestamptz";
    lhs = Ident(col.file_name);
    // make_timestamp rejects values near the int64 limits (callers pass
    // INT64_MAX for "no end"); no stored timestamp lies beyond them, so such
    // a bound excludes nothing and is left out.
    constexpr int64_t kFar = 9000000000000000000;  // ~285,000 years from 1970
    if (has_lo && lo < -kFar) has_lo = false;
    if (has_hi && hi > kFar) has_hi = false;
  } else {
    KILN_ASSIGN_OR_RETURN(lhs, TimestampUsExpr(col));
  }
  auto lit = [&](int64_t us) {
    return mk.empty() ? std::to_string(us) : mk + "(CAST(" + std::to_string(us) + " AS BIGINT))";
  };
  std::string p;
  if (has_lo) p = lhs + " >= " + lit(lo);
  if (has_hi) p += (p.empty() ? "" : " AND ") + lhs + " < " + lit(hi);
  return p.empty() ? std::string("true") : p;
}

std::string TypeName(duckdb_type t) {
  switch (t) {
    case DUCKDB_TYPE_LIST:
      return "LIST";
    case DUCKDB_TYPE_ARRAY:
      return "ARRAY";
    case DUCKDB_TYPE_STRUCT:
      return "STRUCT";
    case DUCKDB_TYPE_MAP:
      return "MAP";
    case DUCKDB_TYPE_INTERVAL:
      return "INTERVAL";
    case DUCKDB_TYPE_TIME:
      return "TIME";
    case DUCKDB_TYPE_BIGINT:
      return "BIGINT";
    case DUCKDB_TYPE_INTEGER:
      return "INTEGER";
    case DUCKDB_TYPE_DOUBLE:
      return "DOUBLE";
    case DUCKDB_TYPE_VARCHAR:
      return "VARCHAR";
    default:
      return "DuckDB type #" + std::to_string(static_cast<int>(t));
  }
}

}  // namespace kiln::storage::duck
