#include "storage/sql/sql_conn.h"

namespace kiln::storage::sql {

std::string JsonArrayValues(Dialect d, std::string_view placeholder, bool integers) {
  const std::string ph(placeholder);
  if (d == Dialect::kSqlite) return "(SELECT value FROM json_each(" + ph + "))";
  // PostgreSQL: the array arrives as text; elements come back as text.
  if (integers) return "(SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(" + ph + " AS json)))";
  return "(SELECT value FROM json_array_elements_text(CAST(" + ph + " AS json)))";
}

}  // namespace kiln::storage::sql
