// Shared by the platform API's route files: error rendering, the actor, and
// the per-area registration functions AddPlatformRoutes calls.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "deploy/endpoint_service.h"
#include "deploy/live_endpoint.h"
#include "deploy/predict_service.h"
#include "net/router.h"

namespace kiln::api::platform {

// {"error_code", "message"} with the HTTP status and code for `status`.
net::HttpResponse ErrorResponse(const Status& status);
// The same shape for errors the HTTP layer raises (413, 503, ...).
net::HttpResponse RenderError(unsigned http_status, std::string_view code, std::string_view message);
net::HttpResponse JsonResponse(unsigned http_status, const nlohmann::json& body);
// Who asks: the authenticated principal; with auth off X-Kiln-Actor, else "anonymous".
std::string Actor(const net::HttpRequest& req);

// Registers a pool route that renders HTTP-layer errors in the platform shape.
net::Route& AddRoute(net::Router& router, const std::string& method, const std::string& pattern, net::Handler handler,
                     net::Execution execution = net::Execution::kPool);

void AddEndpointRoutes(net::Router& router, deploy::EndpointService& endpoints);
void AddModelRoutes(net::Router& router, deploy::EndpointService& endpoints);
void AddPredictRoutes(net::Router& router, deploy::EndpointService& endpoints, const deploy::PredictService& predict,
                      const deploy::RouteTable& routes);
void AddOpenApiRoute(net::Router& router);

// The OpenAPI document's text (generated from openapi.json at build time).
std::string_view OpenApiText();

}  // namespace kiln::api::platform
