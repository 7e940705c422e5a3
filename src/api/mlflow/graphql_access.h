// The objects an MLflow /graphql request reads, found by parsing its query
// (the same parser the executor uses) before it runs: each root field's
// experiment ids and run ids, literal or from variables. What cannot be
// pinned to named objects -- registered model versions (a run's
// modelVersions, mlflowSearchModelVersions), fields kiln does not know --
// is ObjectRef::Global(), so it needs a role on everything. A query that
// names no object at all (only `test` or introspection) is checked against
// the global scope too (an empty list).
//
// Thread-safe.
#pragma once

#include <vector>

#include "api/mlflow/object_owners.h"
#include "core/access.h"
#include "net/http_message.h"

namespace kiln::api::mlflow {

StatusOr<std::vector<ObjectRef>> LocateGraphqlObjects(ObjectOwners& owners, const net::HttpRequest& req);

}  // namespace kiln::api::mlflow
