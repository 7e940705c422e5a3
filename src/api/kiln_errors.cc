#include "api/kiln_errors.h"

namespace kiln::api {
namespace {

struct Mapping {
  unsigned http;
  const char* code;
};

Mapping MapCode(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument: return {400, "INVALID_PARAMETER_VALUE"};
    case StatusCode::kNotFound: return {404, "RESOURCE_DOES_NOT_EXIST"};
    case StatusCode::kAlreadyExists: return {409, "RESOURCE_ALREADY_EXISTS"};
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAborted: return {409, "RESOURCE_CONFLICT"};
    case StatusCode::kResourceExhausted: return {429, "REQUEST_LIMIT_EXCEEDED"};
    case StatusCode::kUnavailable: return {503, "TEMPORARILY_UNAVAILABLE"};
    case StatusCode::kPermissionDenied: return {403, "PERMISSION_DENIED"};
    case StatusCode::kUnauthenticated: return {401, "UNAUTHENTICATED"};
    case StatusCode::kUnimplemented: return {501, "NOT_IMPLEMENTED"};
    case StatusCode::kDeadlineExceeded: return {504, "DEADLINE_EXCEEDED"};
    default: return {500, "INTERNAL_ERROR"};
  }
}

}  // namespace

net::HttpResponse KilnJsonResponse(unsigned http_status, const nlohmann::json& body) {
  return net::HttpResponse::Json(http_status,
                                 body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

net::HttpResponse KilnErrorResponse(const Status& status) {
  const Mapping m = MapCode(status.code());
  return KilnJsonResponse(m.http, {{"error_code", m.code}, {"message", status.message()}});
}

net::HttpResponse KilnRenderError(unsigned http_status, std::string_view code, std::string_view message) {
  // The HTTP layer's own codes, in the documented set.
  std::string_view c = code;
  switch (http_status) {
    case 400: c = "INVALID_PARAMETER_VALUE"; break;
    case 413:
    case 429: c = "REQUEST_LIMIT_EXCEEDED"; break;
    case 503: c = "TEMPORARILY_UNAVAILABLE"; break;
    case 500: c = "INTERNAL_ERROR"; break;
    default: break;
  }
  return KilnJsonResponse(http_status, {{"error_code", c}, {"message", message}});
}

}  // namespace kiln::api
