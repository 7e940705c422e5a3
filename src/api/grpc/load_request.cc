#include "api/grpc/load_request.h"

namespace kiln::api::grpcv2 {

StatusOr<LoadRequest> DecodeLoadRequest(const inference::RepositoryModelLoadRequest& request) {
  using Param = inference::ModelRepositoryParameter;
  LoadRequest out;
  for (const auto& [key, value] : request.parameters()) {
    if (key == "model_uri") {
      if (value.parameter_choice_case() != Param::kStringParam) {
        return InvalidArgument("parameter model_uri must be a string");
      }
      out.model_uri = value.string_param();
    } else if (key == "config") {
      if (value.parameter_choice_case() != Param::kStringParam) {
        return InvalidArgument("parameter config must be a JSON model config (string)");
      }
      out.override.config = value.string_param();
    } else if (key.starts_with("file:")) {
      // tritonclient sends file contents as bytes; accept a string too.
      if (value.parameter_choice_case() == Param::kBytesParam) {
        out.override.files[key.substr(5)] = value.bytes_param();
      } else if (value.parameter_choice_case() == Param::kStringParam) {
        out.override.files[key.substr(5)] = value.string_param();
      } else {
        return InvalidArgument("parameter '" + key + "' must hold the file's bytes");
      }
    }
  }
  if (!out.model_uri.empty() && (!out.override.config.empty() || !out.override.files.empty())) {
    return InvalidArgument("parameter model_uri cannot be combined with config or files");
  }
  return out;
}

}  // namespace kiln::api::grpcv2
