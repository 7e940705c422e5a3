// The part of MLflow's GraphQL schema (mlflow/server/graphql) that MLflow's
// web UI queries: mlflowGetRun, mlflowSearchRuns, mlflowGetExperiment,
// mlflowGetMetricHistoryBulkInterval and mlflowSearchModelVersions, with the
// run's `experiment` and `modelVersions` extensions, resolved against kiln's
// services and answered with MLflow's shapes. Fields of MLflow's schema that
// kiln does not answer (mlflowListArtifacts, mlflowSearchDatasets) are
// refused by name.
#pragma once

#include <memory>

#include "api/mlflow/graphql_executor.h"
#include "registry/registry_service.h"
#include "tracking/tracking_service.h"

namespace kiln::api::mlflow {

// The schema's resolvers borrow both services, which must outlive it.
std::unique_ptr<graphql::Schema> MakeMlflowGraphqlSchema(tracking::TrackingService& tracking,
                                                         registry::RegistryService& registry);

}  // namespace kiln::api::mlflow
