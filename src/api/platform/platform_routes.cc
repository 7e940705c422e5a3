#include "api/platform/platform_routes.h"

#include "api/platform/endpoint_json.h"
#include "api/platform/routes_internal.h"

namespace kiln::api::platform {
namespace {

struct Mapping {
  unsigned http;
  const char* code;
};

// MLflow's codes, so one client-side error handler serves both APIs; a
// change refused because another is in progress is 409, as Databricks does.
Mapping MapCode(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument: return {400, "INVALID_PARAMETER_VALUE"};
    case StatusCode::kNotFound: return {404, "RESOURCE_DOES_NOT_EXIST"};
    case StatusCode::kAlreadyExists: return {409, "RESOURCE_ALREADY_EXISTS"};
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAborted: return {409, "RESOURCE_CONFLICT"};
    case StatusCode::kResourceExhausted: return {429, "REQUEST_LIMIT_EXCEEDED"};
    case StatusCode::kUnavailable: return {503, "TEMPORARILY_UNAVAILABLE"};
    case StatusCode::kPermissionDenied: return {403, "PERMISSION_DENIED"};
    case StatusCode::kUnauthenticated: return {401, "UNAUTHENTICATED"};
    case StatusCode::kUnimplemented: return {501, "NOT_IMPLEMENTED"};
    case StatusCode::kDeadlineExceeded: return {504, "DEADLINE_EXCEEDED"};
    default: return {500, "INTERNAL_ERROR"};
  }
}

}  // namespace

net::HttpResponse JsonResponse(unsigned http_status, const nlohmann::json& body) {
  return net::HttpResponse::Json(http_status, Dump(body));
}

net::HttpResponse ErrorResponse(const Status& status) {
  const Mapping m = MapCode(status.code());
  return JsonResponse(m.http, {{"error_code", m.code}, {"message", status.message()}});
}

net::HttpResponse RenderError(unsigned http_status, std::string_view code, std::string_view message) {
  // The HTTP layer's own codes, in the documented set.
  std::string_view c = code;
  switch (http_status) {
    case 400: c = "INVALID_PARAMETER_VALUE"; break;
    case 413:
    case 429: c = "REQUEST_LIMIT_EXCEEDED"; break;
    case 503: c = "TEMPORARILY_UNAVAILABLE"; break;
    case 500: c = "INTERNAL_ERROR"; break;
    default: break;
  }
  return JsonResponse(http_status, {{"error_code", c}, {"message", message}});
}

std::string Actor(const net::HttpRequest& req) {
  // With auth on, who authenticated; X-Kiln-Actor only names the caller when auth is off.
  if (req.access) return req.access->principal().name;
  std::string_view a = req.Header("x-kiln-actor");
  if (a.empty()) return "anonymous";
  return std::string(a.substr(0, 256));
}

net::Route& AddRoute(net::Router& router, const std::string& method, const std::string& pattern, net::Handler handler,
                     net::Execution execution) {
  net::Route& r = router.Add(method, pattern, std::move(handler), execution);
  r.render_error = RenderError;
  return r;
}

void AddPlatformRoutes(net::Router& router, deploy::EndpointService& endpoints, const deploy::PredictService& predict,
                       const deploy::RouteTable& routes) {
  AddEndpointRoutes(router, endpoints);
  AddPredictRoutes(router, endpoints, predict, routes);
  AddModelRoutes(router, endpoints);
  AddOpenApiRoute(router);
}

}  // namespace kiln::api::platform
