// Shared pieces for translating search ASTs (storage/search_query.h) into
// parameterised portable SQL. User values are only ever bound, never spliced.
//
// Stateless free functions and a value type; not synchronised.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/search_query.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage::sql {

// SQL text plus the values for its '?' placeholders, in order.
struct SqlQuery {
  std::string sql;
  std::vector<sql::Arg> args;
};

// A JSON array literal of the given strings / integers, for binding to
// `IN <JsonArrayValues(...)>` (keeps the SQL shape independent of
// the list length so the statement cache stays effective).
std::string JsonStringArray(const std::vector<std::string>& items);
std::string JsonIntArray(const std::vector<int64_t>& items);

// Parses a decimal int64 experiment id; false on anything else.
bool ParseInt64(const std::string& s, int64_t* out);

// Appends "<expr> <op> <placeholder>" (for numeric columns when `numeric`)
// to *sql and the bound value(s) to *args. LIKE is case-sensitive (the
// connection sets case_sensitive_like); ILIKE lower-cases both sides.
Status AppendComparison(Dialect d, const std::string& expr, CompareOp op, const SearchValue& value,
                        bool numeric, std::string* sql, std::vector<sql::Arg>* args);

// What follows `LIKE ?` so that a backslash in the pattern is an ordinary
// character on both engines (SQLite's LIKE has no escape character,
// PostgreSQL's defaults to backslash).
const char* LikeNoEscape(Dialect d);

// "<expr> IS NULL, <expr> ASC|DESC": NULLs last in both directions.
std::string OrderTerm(const std::string& expr, bool ascending);

}  // namespace kiln::storage::sql
