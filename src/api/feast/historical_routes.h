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
#include "net/router.h"

namespace kiln::api::feast {

void AddHistoricalRoutes(net::Router& router, features::HistoricalService& historical);

}  // namespace kiln::api::feast
