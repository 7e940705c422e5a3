// kiln's web UI data endpoints under /api/2.0/kiln/ui (see docs/tracking.md,
// "kiln UI data endpoints"): metric-buckets (a history reduced to min/max
// buckets over the visible x range, many runs per call), runs-table (one page
// with only the asked columns and last/min/max per metric), run-columns (the
// column chooser's keys) and runs-groups (runs grouped by a param or tag).
// JSON in and out, errors in MLflow's {"error_code", "message"} format;
// every handler runs on the worker pool.
//
// Each route carries its access decision (viewer on the experiments whose
// runs it reads), set here so ApplyMlflowAccess leaves it alone.
#pragma once

#include "net/router.h"
#include "registry/registry_service.h"
#include "tracking/run_analytics.h"
#include "tracking/tracking_service.h"

namespace kiln::api::ui_data {

// Borrows the services, which must outlive the router; the run -> experiment
// cache the access rules use is owned by the registered routes.
void AddUiDataRoutes(net::Router& router, tracking::RunAnalytics& analytics, tracking::TrackingService& tracking,
                     registry::RegistryService& registry);

}  // namespace kiln::api::ui_data
