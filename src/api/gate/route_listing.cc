#include "api/gate/route_listing.h"

#include <nlohmann/json.hpp>

namespace kiln::api::gate {

void AddRouteListing(net::Router& router) {
  net::Router* r = &router;
  auto& route = router.Add("GET", "/api/v1/routes", [r](net::HttpRequest&) {
    nlohmann::json routes = nlohmann::json::array();
    for (const net::Route* each : r->routes()) {
      routes.push_back({{"method", each->method},
                        {"pattern", each->pattern},
                        {"access", each->access.Describe()},
                        {"mutation", each->access.mutation},
                        {"action", each->access.action.empty() ? each->method + " " + each->pattern
                                                               : each->access.action}});
    }
    return net::HttpResponse::Json(200, nlohmann::json{{"routes", routes}}.dump());
  });
  route.access = net::AdminAccess(false);
}

}  // namespace kiln::api::gate
