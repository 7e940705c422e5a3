// The routes MLflow's server adds for its own web UI, beside the REST API:
// the UI's files ("/" and "/static-files/..."), artifact downloads by run,
// model version and logged model, the bulk metric history, artifact upload,
// UI telemetry and /graphql. The UI's other calls use the REST routes under
// /ajax-api that AddMlflowRoutes and AddRegistryRoutes register.
#pragma once

#include <string>

#include "core/status.h"
#include "net/router.h"
#include "registry/registry_service.h"
#include "storage/artifact_store.h"
#include "tracking/tracking_service.h"

namespace kiln::api::mlflow {

// Registers the UI's API routes (not the files). Borrows the services and
// the artifact store, which must outlive the router; the GraphQL schema is
// owned by the registered handler.
void AddMlflowUiApiRoutes(net::Router& router, tracking::TrackingService& tracking,
                          registry::RegistryService& registry, storage::ArtifactStore& artifacts);

struct MlflowUiOptions {
  std::string build_dir;  // MLflow's mlflow/server/js/build (must hold index.html)
  // Answers GET / for clients that do not ask for HTML (KServe's liveness
  // probe shares the path); unset: every GET / gets index.html.
  net::Handler root_fallback;
};

// Registers GET / (index.html) and GET /static-files/{path...}; register
// before any other GET / route. Fails when build_dir holds no index.html.
Status AddMlflowUiStaticRoutes(net::Router& router, const MlflowUiOptions& options);

// Finds mlflow/server/js/build in the Python environment that `python` (an
// interpreter path such as .venv/bin/python, or an environment's folder)
// belongs to, by looking at its lib/python3.*/site-packages and
// dist-packages folders; runs nothing.
StatusOr<std::string> FindMlflowUiBuild(const std::string& python);

}  // namespace kiln::api::mlflow
