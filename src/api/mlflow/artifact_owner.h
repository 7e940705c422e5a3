// Which object a path in kiln's artifact store (as the proxied
// mlflow-artifacts API addresses it) belongs to, from kiln's own layout:
//   <experiment id>/...         an experiment at its default location
//                               (mlflow-artifacts:/<id>): its runs
//                               (<id>/<run>/artifacts), logged models
//                               (<id>/models/...) and traces (<id>/traces/...)
//   <registry prefix>/<copy>/... a registered model version's copy
// Anything else (the root, custom experiment locations, paths that are not
// plain relative paths) cannot be attributed and is ObjectRef::Global(), so
// only a role on everything opens it.
//
// Thread-safe (reads the services through ObjectOwners).
#pragma once

#include <string>

#include "api/mlflow/object_owners.h"
#include "core/access.h"

namespace kiln::api::mlflow {

StatusOr<ObjectRef> OwnerOfArtifactPath(ObjectOwners& owners, const std::string& path,
                                        const std::string& registry_prefix);

}  // namespace kiln::api::mlflow
