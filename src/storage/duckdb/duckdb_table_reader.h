// Numeric columns of a CSV or Parquet file as doubles, read through DuckDB
// (the offline engine's SQL engine) — for small reference tables such as a
// deployment's drift baseline. Each call opens a private in-memory DuckDB
// (one thread, bounded memory, no extension downloads), reads and closes it:
// meant for occasional reads, not the request path.
//
// Rules:
// - The format follows the extension (case-insensitive): .csv (header row,
//   DuckDB's type sniffer) or .parquet; a "file://" prefix is dropped.
// - A numeric column is any integer, floating-point or DECIMAL column;
//   values become doubles, NULL becomes NaN. BOOLEAN, strings, timestamps
//   and nested types are not numeric.
// - `columns` empty: every numeric column of the file. A named column that
//   is absent or not numeric is InvalidArgument naming the file and column.
// - A file with more than max_rows rows is refused (InvalidArgument), not
//   truncated: a prefix of the data is a different distribution.
// - Every failure (missing file, unreadable content) is InvalidArgument with
//   the path in its message: the path comes from the caller's request.
//
// Free function; thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace kiln::storage {

StatusOr<std::map<std::string, std::vector<double>>> ReadNumericColumns(const std::string& path,
                                                                        const std::vector<std::string>& columns,
                                                                        int64_t max_rows = 1'000'000);

}  // namespace kiln::storage
