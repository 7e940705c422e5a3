// The runbook's calls: POST /api/v1/models/deploy transitions a registered
// version to a stage and deploys it to that stage's endpoint; POST
// /api/v1/models/rollback takes the stage back. The domain does both
// (EndpointService::DeployModel / RollbackModel); they block on storage and
// model loading, so they run on the worker pool.
#include "api/platform/endpoint_json.h"
#include "api/platform/routes_internal.h"

namespace kiln::api::platform {

void AddModelRoutes(net::Router& router, deploy::EndpointService& endpoints) {
  deploy::EndpointService* svc = &endpoints;
  AddRoute(router, "POST", "/api/v1/models/deploy", [svc](net::HttpRequest& req) {
    auto request = ParseModelDeploy(req.body, /*need_version=*/true);
    if (!request.ok()) return ErrorResponse(request.status());
    auto outcome = svc->DeployModel(Actor(req), request->model_name, request->model_version, request->target_stage);
    if (!outcome.ok()) return ErrorResponse(outcome.status());
    return JsonResponse(200, DeployOutcomeJson(*outcome));
  });
  AddRoute(router, "POST", "/api/v1/models/rollback", [svc](net::HttpRequest& req) {
    auto request = ParseModelDeploy(req.body, /*need_version=*/false);
    if (!request.ok()) return ErrorResponse(request.status());
    auto outcome = svc->RollbackModel(Actor(req), request->model_name, request->target_stage);
    if (!outcome.ok()) return ErrorResponse(outcome.status());
    return JsonResponse(200, DeployOutcomeJson(*outcome));
  });
}

}  // namespace kiln::api::platform
