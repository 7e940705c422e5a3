#include "api/grpc/grpc_status.h"

namespace kiln::api::grpcv2 {

::grpc::Status ToGrpcStatus(const Status& status) {
  ::grpc::StatusCode code = ::grpc::StatusCode::UNKNOWN;
  switch (status.code()) {
    case StatusCode::kOk: return ::grpc::Status::OK;
    case StatusCode::kInvalidArgument: code = ::grpc::StatusCode::INVALID_ARGUMENT; break;
    case StatusCode::kNotFound: code = ::grpc::StatusCode::NOT_FOUND; break;
    case StatusCode::kAlreadyExists: code = ::grpc::StatusCode::ALREADY_EXISTS; break;
    case StatusCode::kFailedPrecondition: code = ::grpc::StatusCode::FAILED_PRECONDITION; break;
    case StatusCode::kResourceExhausted: code = ::grpc::StatusCode::RESOURCE_EXHAUSTED; break;
    case StatusCode::kUnavailable: code = ::grpc::StatusCode::UNAVAILABLE; break;
    case StatusCode::kPermissionDenied: code = ::grpc::StatusCode::PERMISSION_DENIED; break;
    case StatusCode::kUnauthenticated: code = ::grpc::StatusCode::UNAUTHENTICATED; break;
    case StatusCode::kUnimplemented: code = ::grpc::StatusCode::UNIMPLEMENTED; break;
    case StatusCode::kDeadlineExceeded: code = ::grpc::StatusCode::DEADLINE_EXCEEDED; break;
    case StatusCode::kAborted: code = ::grpc::StatusCode::ABORTED; break;
    case StatusCode::kInternal: code = ::grpc::StatusCode::INTERNAL; break;
  }
  return ::grpc::Status(code, status.message());
}

}  // namespace kiln::api::grpcv2
