// Maps Status to MLflow's error body {"error_code", "message"} and HTTP
// status, once, for every MLflow route.
#pragma once

#include <string_view>

#include "core/status.h"
#include "net/http_message.h"

namespace kiln::api::mlflow {

net::HttpResponse ErrorResponse(const Status& status);
// The renderer for errors raised by the HTTP layer itself (413, 503, ...).
net::HttpResponse RenderHttpLayerError(unsigned http_status, std::string_view code, std::string_view message);
net::HttpResponse JsonOk(const std::string& body);

}  // namespace kiln::api::mlflow
