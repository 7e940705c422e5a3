// Errors of kiln's own JSON API (/api/v1/...): {"error_code", "message"}
// with MLflow's codes, so one client-side error handler serves both APIs; a
// change refused because another is in progress is 409, as Databricks does.
// Shared by the platform routes and the security routes.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "net/http_message.h"

namespace kiln::api {

net::HttpResponse KilnJsonResponse(unsigned http_status, const nlohmann::json& body);
// The HTTP status and code for `status`.
net::HttpResponse KilnErrorResponse(const Status& status);
// The same shape for errors the HTTP layer and the request gate raise (401, 403, 413, 503, ...).
net::HttpResponse KilnRenderError(unsigned http_status, std::string_view code, std::string_view message);

}  // namespace kiln::api
