// The MLflow REST adapter: registers every tracking and proxied-artifact
// route under /api/2.0/mlflow (and the /ajax-api/2.0/mlflow alias used by
// MLflow's UI), decodes requests into TrackingService / ArtifactStore calls
// and encodes results and errors the way the `mlflow` client expects.
#pragma once

#include <string>

#include "net/router.h"
#include "storage/artifact_store.h"
#include "tracking/tracking_service.h"

namespace kiln::api::mlflow {

struct MlflowApiOptions {
  std::string default_artifact_root = "mlflow-artifacts:";
  uint64_t max_upload_bytes = 64ull << 30;
};

// Borrows service and artifacts; both must outlive the router.
void AddMlflowRoutes(net::Router& router, tracking::TrackingService& service, storage::ArtifactStore& artifacts,
                     const MlflowApiOptions& options);

}  // namespace kiln::api::mlflow
