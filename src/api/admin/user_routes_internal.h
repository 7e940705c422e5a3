// Shared by user_routes.cc (kiln's /api/v1) and mlflow_user_routes.cc
// (MLflow's /api/2.0/mlflow/users/*): the caller, the auth-off refusal, and
// the access rules both sets of routes declare.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "auth/authenticator.h"
#include "auth/identity_service.h"
#include "core/status.h"
#include "net/router.h"

namespace kiln::api::admin::users {

// The authenticated caller, or FailedPrecondition when auth is off.
StatusOr<const Principal*> Caller(const net::HttpRequest& req);
// Ok when the caller is `name` or an admin; PermissionDenied otherwise.
Status SelfOrAdmin(const Principal& caller, const std::string& name);
Status AdminOnly(const Principal& caller);

// The request body as a JSON object ({} when empty); InvalidArgument otherwise.
StatusOr<nlohmann::json> BodyObject(const std::string& body);

// The user as the audit log sees it (no password hash), or "" when absent.
std::string UserSnapshot(auth::IdentityService& identities, const std::string& name);

// Declares a mutation's audit fields on `route`.
void Audited(net::Route& route, std::string action, net::ObjectSnapshot snapshot);

void AddMlflowUserRoutes(net::Router& router, auth::IdentityService& identities, auth::Authenticator& authenticator);

}  // namespace kiln::api::admin::users
