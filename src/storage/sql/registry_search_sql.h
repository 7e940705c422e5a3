// Translates RegisteredModelQuery and ModelVersionQuery into parameterised
// SELECTs returning the page's keys in order (LIMIT max_results + 1 so the
// caller can tell whether another page exists).
//
// Stateless free functions; not synchronised.
#pragma once

#include "core/status.h"
#include "storage/registry_entities.h"
#include "storage/sql/search_sql_common.h"

namespace kiln::storage::sql {

// Columns: registered_models.id.
StatusOr<SqlQuery> BuildRegisteredModelSearchSql(const RegisteredModelQuery& query, Dialect d);

// Columns: model_versions.model_pk, model_versions.version, registered_models.name.
StatusOr<SqlQuery> BuildModelVersionSearchSql(const ModelVersionQuery& query, Dialect d);

}  // namespace kiln::storage::sql
