// kiln's platform API over HTTP/JSON, documented by the OpenAPI 3 document
// it serves at GET /api/v1/openapi.json (src/api/platform/openapi.json):
//
//   POST/GET        /api/v1/endpoints                 create, list
//   GET/PATCH/DELETE /api/v1/endpoints/{name}         one endpoint; PATCH makes a new revision
//   POST            /api/v1/endpoints/{name}:rollback | :promote
//   GET             /api/v1/endpoints/{name}/events
//   POST            /api/v1/endpoints/{name}/predict
//   GET             /api/v1/endpoints/{name}/predictions  (?format=jsonl)
//   POST            /api/v1/models/deploy | /api/v1/models/rollback  (the runbook's calls)
//
// Errors are {"error_code", "message"} with MLflow's codes: 400
// INVALID_PARAMETER_VALUE, 404 RESOURCE_DOES_NOT_EXIST, 409
// RESOURCE_ALREADY_EXISTS / RESOURCE_CONFLICT (a change during a rollout),
// 429 REQUEST_LIMIT_EXCEEDED, 503 TEMPORARILY_UNAVAILABLE. The caller is the
// X-Kiln-Actor header, else "anonymous". Everything that touches storage runs
// on the worker pool; predict is deferred (answered from the model batcher's
// thread), like the V2 infer route.
#pragma once

#include "deploy/endpoint_service.h"
#include "deploy/live_endpoint.h"
#include "deploy/predict_service.h"
#include "net/router.h"

namespace kiln::api::platform {

// Borrows all arguments; they must outlive the router. `routes` is the table
// the endpoint service publishes to: predict reads the endpoint's sticky
// header and capture share from it without touching storage.
void AddPlatformRoutes(net::Router& router, deploy::EndpointService& endpoints, const deploy::PredictService& predict,
                       const deploy::RouteTable& routes);

}  // namespace kiln::api::platform
