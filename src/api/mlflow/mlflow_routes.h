// The MLflow REST adapter: registers every tracking, model-registry and
// proxied-artifact route under /api/2.0/mlflow (and the /ajax-api/2.0/mlflow alias used by
// MLflow's UI), decodes requests into TrackingService / ArtifactStore calls
// and encodes results and errors the way the `mlflow` client expects.
#pragma once

#include <string>

#include "net/router.h"
#include "storage/artifact_store.h"
#include "registry/registry_service.h"
#include "tracking/tracking_service.h"
#include "tracking/trace_service.h"

namespace kiln::api::mlflow {

struct MlflowApiOptions {
  std::string default_artifact_root = "mlflow-artifacts:";
  uint64_t max_upload_bytes = 64ull << 30;
  // Artifact-store folder owned by the model registry: readable through the
  // artifact API, never writable (registered versions are immutable).
  std::string read_only_prefix = "_registry";
};

// Borrows service and artifacts; both must outlive the router.
void AddMlflowRoutes(net::Router& router, tracking::TrackingService& service, storage::ArtifactStore& artifacts,
                     const MlflowApiOptions& options);

// MLflow's model registry protocol (registered-models/*, model-versions/*)
// under the same prefixes, plus kiln's registry extensions under
// /api/2.0/kiln (model-versions/get-package, registry/events). Borrows the
// service, which must outlive the router.
void AddRegistryRoutes(net::Router& router, registry::RegistryService& registry);

// MLflow 3 tracing (trace_routes.cc): /api/3.0/mlflow/traces... and the
// MLflow 2 trace routes under /api/2.0 and /ajax-api, the UI's
// get-trace-artifact, and the OTLP/HTTP span receiver at /v1/traces. Borrows
// the service and the artifact store, which must outlive the router.
void AddTraceRoutes(net::Router& router, tracking::TraceService& traces, storage::ArtifactStore& artifacts);

}  // namespace kiln::api::mlflow
