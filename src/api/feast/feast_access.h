// Who may call Feast's feature-server routes and kiln's feature routes over
// HTTP. Objects are feature views as "<project>/<view>" (a grant on the
// project covers its views), the project resolved as the handlers resolve it
// (explicit, else --feature-project, else the registry's only holder of the name):
//
//   POST /get-online-features        viewer on every view read (features or the feature service's views)
//   POST /write-to-online-store      editor on the view
//   POST /push                       editor on every view the push source feeds
//   POST /materialize[-incremental]  editor on every view named (on the project when none is named)
//   POST /api/v1/features/historical viewer on every view read; files on the server (entities.path,
//                                    entity_df, output.path) only for administrators
//   GET  /api/v1/features/materialize/jobs       authenticated; the jobs of projects the caller may view
//   GET  /api/v1/features/materialize/jobs/{id}  viewer on the job's project
//
// A name the locator cannot resolve is checked on its project (or the global
// scope when no project is known), so whoever may look is answered by the
// handler in Feast's words and nobody else learns whether it exists.
#pragma once

#include <string>
#include <vector>

#include "core/access.h"

#include "features/feature_registry.h"
#include "features/materializer.h"
#include "net/router.h"

namespace kiln::api::feast {

// Call after AddFeatureServerRoutes, AddHistoricalRoutes and
// AddMaterializeJobRoutes. Borrows the registry and materializer.
void ApplyFeastAccess(net::Router& router, features::FeatureRegistry& registry, features::Materializer& materializer,
                      std::string default_project);

// The feature views an online read touches ("view:feature" references or a
// feature service's views), as "<project>/<view>" objects; the project (or
// the global scope) when they cannot be resolved. Shared with the Feast
// serving gRPC service. Blocks on the registry: call it on the worker pool.
std::vector<ObjectRef> OnlineReadObjects(features::FeatureRegistry& registry, const std::string& default_project,
                                         const std::string& project, const std::string& feature_service,
                                         const std::vector<std::string>& features);

}  // namespace kiln::api::feast
