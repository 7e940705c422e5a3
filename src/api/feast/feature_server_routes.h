// Feast's feature server HTTP routes on kiln's HTTP port, as Feast 0.67's
// `feast serve` answers them (feature_server.py):
//
//   POST /get-online-features     {entities: {col: [..]}, features: ["view:f"] | feature_service,
//                                  full_feature_names} -> {"results": [{"values", "statuses",
//                                  "event_timestamps"}...], "metadata": {"feature_names": [...]}}
//   POST /push                    {push_source_name, df, to: online} -> 200, empty body
//   POST /write-to-online-store   {feature_view_name, df} -> 200 null
//   POST /materialize             {start_ts, end_ts, feature_views?, disable_event_timestamp}
//   POST /materialize-incremental {end_ts, feature_views?}
//        synchronous -> 200 null; ?async=true -> 202 {"status": "accepted",
//        "feature_views": [...]}, 409 {"error", "feature_views"} while one is materializing
//
// Every body may carry "project" (kiln extension; else the registry infers
// it). GET /health is kiln's own ops route.
//
// Errors are what Feast's SDK parses: the body is a JSON string holding
// {"module": "feast.errors", "class": ..., "message": ...}, so the SDK
// re-raises the named Feast exception (FeatureViewNotFoundException 404,
// FeatureServiceNotFoundException 404, PushSourceNotFoundException 422,
// FeastObjectNotFoundException 404 for an unknown feature or view to write,
// FeastError 400 for malformed input, 501 for what kiln does not do). Bad
// input never answers 500.
//
// All routes run on the worker pool (registry lookups may read the metadata
// store; writes wait for the online store's durability). Responses are
// built as text, no JSON DOM.
//
// Ownership: the routes borrow the service and materializer (they outlive
// the router). Thread-safety: as the borrowed services.
#pragma once

#include <string>

#include "core/status.h"
#include "features/materializer.h"
#include "features/online_service.h"
#include "net/router.h"

namespace kiln::api::feast {

void AddFeatureServerRoutes(net::Router& router, features::OnlineService& online,
                            features::Materializer& materializer);

// The JSON body of a GetOnlineFeatures answer, as Feast's server renders it.
Status RenderOnlineResponse(const features::OnlineResult& result, std::string* out);

// Feast's error body for a kiln Status (HTTP status and JSON text).
net::HttpResponse FeastErrorResponse(const Status& status);

}  // namespace kiln::api::feast
