// Translates ExperimentQuery and LoggedModelQuery into parameterised SELECTs
// returning the page's ids in order (LIMIT max_results + 1 for has_more).
//
// Stateless free functions; not synchronised (no shared state).
#pragma once

#include "core/status.h"
#include "storage/search_query.h"
#include "storage/sql/search_sql_common.h"

namespace kiln::storage::sql {

// Columns: experiments.experiment_id.
StatusOr<SqlQuery> BuildExperimentSearchSql(const ExperimentQuery& query, Dialect d);

// Columns: logged_models.model_id. Only active (not deleted) models.
StatusOr<SqlQuery> BuildLoggedModelSearchSql(const LoggedModelQuery& query, Dialect d);

}  // namespace kiln::storage::sql
