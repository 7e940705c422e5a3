// kiln Status -> grpc::Status, once for every gRPC service (Open Inference,
// Feast's registry and serving): the codes
// carry over one to one (INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED for a
// full model queue, UNAVAILABLE for a model that is not loaded, ...).
//
// Pure; safe to call concurrently.
#pragma once

#include <grpcpp/support/status.h>

#include "core/status.h"

namespace kiln::api::grpcv2 {

::grpc::StatusCode ToGrpcCode(StatusCode code);
::grpc::Status ToGrpcStatus(const Status& status);

}  // namespace kiln::api::grpcv2
