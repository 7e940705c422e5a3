// Open Inference Protocol (KServe V2) JSON bodies <-> serving tensors:
// infer requests with flat or nested `data`, infer responses, and the error
// body {"error": "..."} with its HTTP status.
//
// Pure functions; safe to call concurrently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "net/http_message.h"
#include "serving/tensor.h"

namespace kiln::api::v2 {

struct InferRequest {
  std::string id;
  std::vector<serving::Tensor> inputs;
  std::vector<std::string> outputs;  // requested output names; empty: all
};

// InvalidArgument with a message naming the field for anything malformed:
// missing name/shape/datatype/data, unknown datatype, negative dimensions,
// element count not matching the shape, values of the wrong type.
StatusOr<InferRequest> DecodeInferRequest(std::string_view body);

nlohmann::json EncodeInferResponse(const std::string& model, const std::string& version, const std::string& id,
                                   const std::vector<serving::Tensor>& outputs);

net::HttpResponse ErrorResponse(const Status& status);
net::HttpResponse ErrorResponse(unsigned http_status, std::string_view message);
net::HttpResponse JsonResponse(const nlohmann::json& body);

}  // namespace kiln::api::v2
