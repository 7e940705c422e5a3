// Translates a RunQuery into one parameterised SELECT returning the internal
// row ids (runs.id) of the requested page, in order. The page is fetched with
// LIMIT max_results + 1 so the caller can tell whether more rows follow.
//
// Stateless free function; not synchronised (no shared state).
#pragma once

#include "core/status.h"
#include "storage/search_query.h"
#include "storage/sql/search_sql_common.h"

namespace kiln::storage::sql {

// Columns: runs.id. InvalidArgument for an unknown attribute or a value of the
// wrong type.
StatusOr<SqlQuery> BuildRunSearchSql(const RunQuery& query, Dialect d);

// Lifecycle condition for a view type on column `col` ("" for kAll).
std::string ViewTypeCondition(ViewType view, const std::string& col);

}  // namespace kiln::storage::sql
