// The authorization decision of every MLflow route kiln serves (tracking,
// registry, proxied artifacts, traces, the UI's API calls and /graphql),
// following MLflow's own permission table mapped onto kiln's roles: reads
// need viewer, updates editor, deletes and restores manager (MLflow's
// can_delete = MANAGE); runs, logged models and traces are checked as their
// experiment, model versions as their registered model; creating an
// experiment or registered model needs editor on the global scope and makes
// the creator its manager. Searches are authenticated and filter inside
// their queries (see search_scope.h); searches that name experiments need
// viewer on each.
//
// Mutations carry an audit action "mlflow.<path>" and, except metric
// logging (whose body is the change), a snapshot of the object before and
// after.
#pragma once

#include <cstddef>
#include <string>

#include "core/status.h"
#include "net/router.h"
#include "registry/registry_service.h"
#include "tracking/trace_service.h"
#include "tracking/tracking_service.h"

namespace kiln::api::mlflow {

struct MlflowAccessOptions {
  // run/logged model/trace -> experiment entries kept (immutable relations).
  size_t owner_cache_entries = 200000;
  // The artifact-store folder of registered versions' copies (MlflowApiOptions::read_only_prefix).
  std::string registry_prefix = "_registry";
};

// Sets route.access on every MLflow route of `router` that has no decision
// yet (routes other modules already decided, such as MLflow's user
// endpoints, are left alone). FailedPrecondition listing any MLflow route
// this table does not know, so a new route is never fail-open. Borrows the
// services, which must outlive the router; the rules share a cache they own.
Status ApplyMlflowAccess(net::Router& router, tracking::TrackingService& tracking,
                         registry::RegistryService& registry, tracking::TraceService& traces,
                         const MlflowAccessOptions& options = {});

// Whether a route pattern is one of the MLflow adapter's (its prefixes, the
// UI's paths, /graphql, /v1/traces).
bool IsMlflowPattern(const std::string& pattern);

}  // namespace kiln::api::mlflow
