// Who may call each platform route (AccessRule per route, enforced by the
// request gate):
//
//   POST   /api/v1/endpoints                editor on global and on every model it routes to (creator: manager)
//   GET    /api/v1/endpoints                authenticated; the list holds the endpoints the caller may view
//   GET    /api/v1/endpoints/{name}         viewer on the endpoint (also /events, /predictions, /predict)
//   PATCH  /api/v1/endpoints/{name}         editor on the endpoint and on every model the patch routes to
//   DELETE /api/v1/endpoints/{name}         manager on the endpoint (its grants go with it)
//   POST   /api/v1/endpoints/{name}:rollback|:promote   editor on the endpoint
//   POST   /api/v1/models/deploy            editor on the model and on "<model>-<stage>" (global when it does
//                                           not exist yet: the call creates it, and the caller manages it)
//   POST   /api/v1/models/rollback          editor on the model and on its stage endpoint
//   GET    /api/v1/openapi.json             public
//
// Mutations are audited with the endpoint's JSON before and after.
#pragma once

#include "deploy/endpoint_service.h"
#include "net/router.h"

namespace kiln::api::platform {

// Call after AddPlatformRoutes, before the gate is installed. Borrows
// `endpoints` (snapshots and the deploy locator read it).
void ApplyPlatformAccess(net::Router& router, deploy::EndpointService& endpoints);

}  // namespace kiln::api::platform
