// Shared pieces for translating search ASTs (storage/search_query.h) into
// parameterised SQLite SQL. User values are only ever bound, never spliced.
//
// Stateless free functions and a value type; not synchronised.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/search_query.h"
#include "storage/sqlite/sqlite_db.h"

namespace kiln::storage::sqlite {

// SQL text plus the values for its '?' placeholders, in order.
struct SqlQuery {
  std::string sql;
  std::vector<SqlArg> args;
};

// A JSON array literal of the given strings / integers, for binding to
// `IN (SELECT value FROM json_each(?))` (keeps the SQL shape independent of
// the list length so the statement cache stays effective).
std::string JsonStringArray(const std::vector<std::string>& items);
std::string JsonIntArray(const std::vector<int64_t>& items);

// Parses a decimal int64 experiment id; false on anything else.
bool ParseInt64(const std::string& s, int64_t* out);

// Appends "<expr> <op> <placeholder>" (for numeric columns when `numeric`)
// to *sql and the bound value(s) to *args. LIKE is case-sensitive (the
// connection sets case_sensitive_like); ILIKE lower-cases both sides.
Status AppendComparison(const std::string& expr, CompareOp op, const SearchValue& value,
                        bool numeric, std::string* sql, std::vector<SqlArg>* args);

// "<expr> IS NULL, <expr> ASC|DESC": NULLs last in both directions.
std::string OrderTerm(const std::string& expr, bool ascending);

}  // namespace kiln::storage::sqlite
