// GET /api/v1/routes (admins only): every HTTP route with the access decision
// it declares, so a test (and an operator) can enumerate the router and see
// that no route is without one.
//
// Registers a route that reads the router when called; the router must
// outlive the server (it does: it is built once and then read-only).
#pragma once

#include "net/router.h"

namespace kiln::api::gate {

void AddRouteListing(net::Router& router);

}  // namespace kiln::api::gate
