// SQL text the DuckDB engine builds from user input: quoting, file readers,
// and the per-type expressions that turn source columns into the engine's
// column types. Every user string reaches SQL only through Ident() or
// Literal(); NUL bytes (which would end the C string early) are refused by
// CheckText() before any SQL is built. Stateless; thread-safe.
#pragma once

#include <duckdb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "storage/offline_engine.h"

namespace kiln::storage::duck {

std::string Ident(std::string_view name);    // "name" with " doubled
std::string Literal(std::string_view text);  // 'text' with ' doubled
Status CheckText(std::string_view text, std::string_view what);

// read_parquet(...)/read_csv(...)/read_json(...) over a file, directory
// (all *.parquet / *.csv / *.json below it) or glob. A "file://" prefix is dropped.
StatusOr<std::string> ReaderSql(const std::string& path, FileFormat format);

// One column of a source as DuckDB reads it, with its name after field_mapping.
struct SourceColumn {
  std::string file_name;
  std::string name;
  duckdb_type type = DUCKDB_TYPE_INVALID;
  duckdb_type element_type = DUCKDB_TYPE_INVALID;  // of a LIST column
  std::string type_name;  // for error messages
};

// The engine's type for a DuckDB column type; nullopt for types it does not
// read (lists, structs, maps, intervals, times).
std::optional<ColumnType> EngineType(duckdb_type t);

// `col` cast to the physical type the chunk reader expects for EngineType(t):
// BOOLEAN, INTEGER, BIGINT (timestamps as µs since the epoch), FLOAT,
// DOUBLE, VARCHAR or BLOB.
std::string NormalizedExpr(const std::string& quoted_col, duckdb_type t);

// The element type of a LIST column the engine reads, or InvalidArgument
// naming the column: nested lists, structs and the timestamp flavours whose
// Feast conversion goes wrong (nanoseconds, which Feast would
// store as if they were seconds; dates, on which Feast fails).
StatusOr<ColumnType> ListElementType(const SourceColumn& col);

// A LIST column with each element normalized like NormalizedExpr (NULL lists
// and NULL elements stay NULL).
std::string NormalizedListExpr(const std::string& quoted_col, duckdb_type element);

// Microseconds since the epoch (UTC) of a timestamp-like column: any
// TIMESTAMP flavour, DATE, or an ISO-8601 string (offsets honoured; naive
// strings are UTC because every connection runs in UTC). Other types are
// refused: an integer column might be seconds or milliseconds.
StatusOr<std::string> TimestampUsExpr(const SourceColumn& col);

// A predicate `col >= start AND col < end` (nullopt: no such bound; at least one is given)
// written against the raw column when its type stores µs (so Parquet row
// groups can be skipped), otherwise against TimestampUsExpr.
StatusOr<std::string> WindowPredicate(const SourceColumn& col, std::optional<int64_t> start_us,
                                      std::optional<int64_t> end_us);

std::string TypeName(duckdb_type t);

}  // namespace kiln::storage::duck
