// GET /api/v1/openapi.json: the platform API's OpenAPI 3 document, embedded
// at build time from openapi.json (CMakeLists.txt); memory only, inline.
#include "api/platform/routes_internal.h"

namespace kiln::api::platform {

void AddOpenApiRoute(net::Router& router) {
  AddRoute(
      router, "GET", "/api/v1/openapi.json",
      [](net::HttpRequest&) { return net::HttpResponse::Json(200, std::string(OpenApiText())); },
      net::Execution::kInline);
}

}  // namespace kiln::api::platform
