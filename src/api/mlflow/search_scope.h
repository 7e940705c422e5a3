// Authorization inside MLflow searches: the clause that restricts a search to
// the objects the caller may see, added to the query itself so that pages,
// page tokens and counts never include (or reveal) anything else.
//
// Pure function; safe to call concurrently.
#pragma once

#include <vector>

#include "core/access.h"
#include "net/http_message.h"
#include "storage/search_query.h"

namespace kiln::api::mlflow {

// Appends `attribute IN (visible ids)` to scope unless auth is off (null
// req.access) or every object of `kind` is visible to the caller. An empty
// visible set yields a clause that matches nothing.
void AddVisibilityScope(const net::HttpRequest& req, ObjectKind kind, const char* attribute,
                        std::vector<storage::FilterClause>* scope);

}  // namespace kiln::api::mlflow
