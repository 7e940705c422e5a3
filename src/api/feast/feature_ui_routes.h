// Read-only JSON routes for kiln's web UI feature pages (docs/ui.md). Feast's
// registry speaks gRPC, which a browser cannot call, so these answer the
// same registry objects as JSON, with what only kiln knows added: each
// view's freshness (features/view_freshness.h) and the materialization jobs.
//
//   GET /api/2.0/kiln/ui/features/projects
//       {"projects": [{"name", "description", "created", "updated",
//                      "counts": {"entities", "data_sources", "feature_views",
//                                 "on_demand_feature_views", "feature_services"}}]}
//   GET /api/2.0/kiln/ui/features/projects/{project}
//       {"project", "now", "entities", "data_sources", "feature_views"
//        (schema, ttl, online/offline, sources, intervals, freshness),
//        "feature_services", "lineage": {"direct", "indirect"}, "materializations"}
//   GET /api/2.0/kiln/ui/features/projects/{project}/materializations
//       {"now", "materializations": [job...], "running": n}   (cheap; the UI polls it)
//   GET /api/2.0/kiln/ui/features/projects/{project}/views/{view}/freshness
//       {"view", "state", "newest_event", "age_seconds", "ttl_seconds", "checked", "reason"}
//
// Times are RFC 3339 (UTC, "Z"); a missing time is null. Errors:
// {"error_code", "message"} with 404 for an unknown project or view.
//
// Access (issue 12), declared here on each route: the project list needs an
// authenticated caller and lists only the projects the caller may view; the
// project, its materializations and a view's freshness need viewer on the
// project (a view's freshness: viewer on the view, which a grant on its
// project covers). Jobs are memory-only (since this server started, as
// /api/v1/features/materialize/jobs); the windows recorded in the registry
// are durable and listed per view.
//
// Everything runs on the worker pool (registry reads may hit the metadata
// database). Borrows the registry, online store, materializer and clock.
#pragma once

#include "core/clock.h"
#include "features/feature_registry.h"
#include "features/materializer.h"
#include "net/router.h"
#include "storage/online_store.h"

namespace kiln::api::feast {

void AddFeatureUiRoutes(net::Router& router, features::FeatureRegistry& registry, storage::OnlineStore& online,
                        features::Materializer& materializer, const Clock& clock);

}  // namespace kiln::api::feast
