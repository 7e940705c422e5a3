#include "api/platform/platform_routes.h"

#include "api/platform/endpoint_json.h"
#include "api/platform/routes_internal.h"
#include "api/kiln_errors.h"

namespace kiln::api::platform {

net::HttpResponse JsonResponse(unsigned http_status, const nlohmann::json& body) {
  return KilnJsonResponse(http_status, body);
}

net::HttpResponse ErrorResponse(const Status& status) { return KilnErrorResponse(status); }

net::HttpResponse RenderError(unsigned http_status, std::string_view code, std::string_view message) {
  return KilnRenderError(http_status, code, message);
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
