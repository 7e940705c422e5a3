// kiln's grant API:
//
//   POST   /api/v1/grants       {"subject_kind": "user"|"group", "subject", "object_kind", "object_id", "role"}
//                               creates or replaces the role of (subject, object); role "none" removes it
//   GET    /api/v1/grants       ?subject_kind=&subject=&object_kind=&object_id=&max_results=&page_token=
//   DELETE /api/v1/grants/{id}
//
// Who may: a manager of an object grants viewer, editor or manager on it (a
// project's manager also on its views) and removes grants on it; grants on
// the global scope and the admin role only by administrators. A list shows an
// administrator every grant, anyone else the grants on objects they manage
// and those naming them or their groups, filtered before paging so counts and
// page tokens reveal nothing else. With auth off (no scope on the request)
// every call is allowed, as everywhere else.
//
// Errors are {"error_code", "message"} like the rest of /api/v1.
// Ownership: borrows the authorizer, which must outlive the router.
#pragma once

#include "auth/authorizer.h"
#include "net/router.h"

namespace kiln::api::admin {

void AddGrantRoutes(net::Router& router, auth::Authorizer& authorizer);

}  // namespace kiln::api::admin
