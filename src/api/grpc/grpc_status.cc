#include "api/grpc/grpc_status.h"

namespace kiln::api::grpcv2 {

::grpc::StatusCode ToGrpcCode(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return ::grpc::StatusCode::OK;
    case StatusCode::kInvalidArgument: return ::grpc::StatusCode::INVALID_ARGUMENT;
    case StatusCode::kNotFound: return ::grpc::StatusCode::NOT_FOUND;
    case StatusCode::kAlreadyExists: return ::grpc::StatusCode::ALREADY_EXISTS;
    case StatusCode::kFailedPrecondition: return ::grpc::StatusCode::FAILED_PRECONDITION;
    case StatusCode::kResourceExhausted: return ::grpc::StatusCode::RESOURCE_EXHAUSTED;
    case StatusCode::kUnavailable: return ::grpc::StatusCode::UNAVAILABLE;
    case StatusCode::kPermissionDenied: return ::grpc::StatusCode::PERMISSION_DENIED;
    case StatusCode::kUnauthenticated: return ::grpc::StatusCode::UNAUTHENTICATED;
    case StatusCode::kUnimplemented: return ::grpc::StatusCode::UNIMPLEMENTED;
    case StatusCode::kDeadlineExceeded: return ::grpc::StatusCode::DEADLINE_EXCEEDED;
    case StatusCode::kAborted: return ::grpc::StatusCode::ABORTED;
    case StatusCode::kInternal: return ::grpc::StatusCode::INTERNAL;
  }
  return ::grpc::StatusCode::UNKNOWN;
}

::grpc::Status ToGrpcStatus(const Status& status) {
  if (status.ok()) return ::grpc::Status::OK;
  return ::grpc::Status(ToGrpcCode(status.code()), status.message());
}

}  // namespace kiln::api::grpcv2
