#include "api/mlflow/mlflow_errors.h"

#include <nlohmann/json.hpp>

namespace kiln::api::mlflow {
namespace {

struct Mapping {
  unsigned http;
  const char* code;
};

Mapping MapCode(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument: return {400, "INVALID_PARAMETER_VALUE"};
    case StatusCode::kNotFound: return {404, "RESOURCE_DOES_NOT_EXIST"};
    case StatusCode::kAlreadyExists: return {400, "RESOURCE_ALREADY_EXISTS"};
    case StatusCode::kFailedPrecondition: return {400, "INVALID_PARAMETER_VALUE"};
    case StatusCode::kResourceExhausted: return {429, "REQUEST_LIMIT_EXCEEDED"};
    case StatusCode::kUnavailable: return {503, "TEMPORARILY_UNAVAILABLE"};
    case StatusCode::kPermissionDenied: return {403, "PERMISSION_DENIED"};
    case StatusCode::kUnauthenticated: return {401, "UNAUTHENTICATED"};
    case StatusCode::kUnimplemented: return {501, "NOT_IMPLEMENTED"};
    case StatusCode::kAborted: return {409, "RESOURCE_CONFLICT"};
    default: return {500, "INTERNAL_ERROR"};
  }
}

net::HttpResponse Body(unsigned http, std::string_view code, std::string_view message) {
  nlohmann::json body = {{"error_code", code}, {"message", message}};
  return net::HttpResponse::Json(http, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

net::HttpResponse ErrorResponse(const Status& status) {
  Mapping m = MapCode(status.code());
  return Body(m.http, m.code, status.message());
}

net::HttpResponse RenderHttpLayerError(unsigned http_status, std::string_view code, std::string_view message) {
  std::string_view mlflow_code = code;
  if (http_status == 413 || http_status == 429) mlflow_code = "REQUEST_LIMIT_EXCEEDED";
  if (http_status == 503) mlflow_code = "TEMPORARILY_UNAVAILABLE";
  if (http_status == 500) mlflow_code = "INTERNAL_ERROR";
  if (http_status == 400 && code == "BAD_REQUEST") mlflow_code = "BAD_REQUEST";
  return Body(http_status, mlflow_code, message);
}

net::HttpResponse JsonOk(const std::string& body) { return net::HttpResponse::Json(200, body); }

}  // namespace kiln::api::mlflow
