// kiln's HTTP API for point-in-time retrieval (Feast's
// get_historical_features has no HTTP route of its own, so this one is
// kiln's):
//
//   POST /api/v1/features/historical
//   {
//     "project": "p",                                  (optional)
//     "entities": {"path": "/abs/entities.parquet", "format": "parquet|csv|json"}
//               | {"rows": [{"driver_id": 1, "event_timestamp": "2024-01-01T00:00:00Z"}, ...]}
//               | {"columns": {"driver_id": [1, 2], "event_timestamp": [...]}},
//     "event_timestamp_column": "event_timestamp",      (optional)
//     "features": ["view:feature", ...] | "feature_service": "name",
//     "full_feature_names": false,
//     "output": {"path": "/abs/out.parquet", "format": "parquet|csv"}   (optional)
//   }
//   ("entity_df": PATH and "output": PATH with a top-level "format" are
//   accepted as shorthands.)
//
// With output.path the server writes the file there and answers
// {"project", "rows", "columns", "path"}; without it the file is the
// response body (application/vnd.apache.parquet or text/csv, streamed, with
// X-Kiln-Rows). Errors: {"error_code", "message"} with 400/404/409/413/500.
// Everything runs on the worker pool.
#pragma once

#include "features/historical.h"
#include "features/materializer.h"
#include "net/router.h"

namespace kiln::api::feast {

void AddHistoricalRoutes(net::Router& router, features::HistoricalService& historical);

// Progress of materialization jobs (Feast's ?async=true /materialize answers
// only 202; this is where its progress is seen):
//   GET /api/v1/features/materialize/jobs        -> {"jobs": [job, ...]} (oldest first)
//   GET /api/v1/features/materialize/jobs/{id}   -> job, 404 when unknown
// job = {"job_id", "state": running|succeeded|failed, "project", "views",
//        "view" (copying now), "rows_total", "rows_done", "rows_per_second",
//        "eta_seconds", "error", "skipped", "started", "finished"}
// Memory-only, answered on the I/O thread.
void AddMaterializeJobRoutes(net::Router& router, features::Materializer& materializer);

}  // namespace kiln::api::feast
