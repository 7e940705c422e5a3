// kiln's identity API and MLflow's user endpoints.
//
// kiln (/api/v1, errors {"error_code", "message"}):
//   POST   /api/v1/users            {"name", "password" | "service_account": true, "admin", "groups"}   admin
//   GET    /api/v1/users                                                                               admin
//   GET    /api/v1/users/{name}                                                            self or admin
//   PATCH  /api/v1/users/{name}     {"password", "current_password"} self or admin; {"admin", "groups"} admin
//   DELETE /api/v1/users/{name}                                                                        admin
//   POST   /api/v1/tokens           {"name", "user", "expires_in_s" | "expires_ms"} -> the secret, once;
//                                   "user" other than oneself: admin
//   GET    /api/v1/tokens           own tokens; ?user=NAME or ?all=true: admin
//   DELETE /api/v1/tokens/{id}      own token, or any as admin (revokes; the record stays)
//   GET    /api/v1/whoami           the calling principal
//
// MLflow (/api/2.0/mlflow/users/... and /ajax-api/2.0/mlflow/users/..., its
// request and response shapes, mlflow 3.17.2): create, get, update-password
// (self-service re-asserts current_password), update-admin, delete (not
// oneself), current, list.
//
// These routes need auth: with auth off (no principal on the request) they
// answer 400 "auth is not enabled" instead of acting for an anonymous caller.
// So users cannot be prepared before auth is turned on; the first admin is
// created by the bootstrap (IdentityService::EnsureAdmin) at the first start
// with --auth.
//
// Every change that affects a credential (password, admin flag, deletion,
// token revocation) drops the user's cached credentials in the
// Authenticator, so the old password or token stops working at once.
//
// Ownership: borrows the service and the authenticator, which must outlive
// the router.
#pragma once

#include "auth/authenticator.h"
#include "auth/identity_service.h"
#include "net/router.h"

namespace kiln::api::admin {

void AddUserRoutes(net::Router& router, auth::IdentityService& identities, auth::Authenticator& authenticator);

}  // namespace kiln::api::admin
