// Route registration shared by the MLflow adapter's files.
#pragma once

#include <string>

#include "api/mlflow/mlflow_routes.h"

namespace kiln::api::mlflow {

// Registers a pool-executed route with MLflow's error rendering.
net::Route& AddRoute(net::Router& r, const std::string& method, const std::string& path, net::Handler handler);

void AddExperimentRoutes(net::Router& r, const std::string& prefix, tracking::TrackingService& svc,
                         const MlflowApiOptions& opt);
void AddRunRoutes(net::Router& r, const std::string& prefix, tracking::TrackingService& svc);
void AddLoggedModelRoutes(net::Router& r, const std::string& prefix, tracking::TrackingService& svc);
void AddArtifactRoutes(net::Router& r, const std::string& prefix, const std::string& artifacts_prefix,
                       tracking::TrackingService& svc, storage::ArtifactStore& artifacts,
                       const MlflowApiOptions& opt);

}  // namespace kiln::api::mlflow
