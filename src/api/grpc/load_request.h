// RepositoryModelLoad's parameters -> what ModelRepository loads: Triton's
// "config" (a JSON model config as string_param) with "file:<version>/<name>"
// model files (bytes_param), or kiln's "model_uri" (string_param, e.g.
// models:/fraud@champion). The same rules as the REST load body.
//
// Pure; safe to call concurrently.
#pragma once

#include <string>

#include "core/status.h"
#include "inference/grpc_service.pb.h"
#include "serving/model_repository.h"

namespace kiln::api::grpcv2 {

struct LoadRequest {
  std::string model_uri;  // empty: load from the repository (or the override's files)
  serving::LoadOverride override;
};

// InvalidArgument for a parameter of the wrong type or model_uri combined
// with config or files. Unknown parameters are ignored, as over REST.
StatusOr<LoadRequest> DecodeLoadRequest(const inference::RepositoryModelLoadRequest& request);

}  // namespace kiln::api::grpcv2
