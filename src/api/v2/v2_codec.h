// Open Inference Protocol (KServe V2) JSON bodies <-> serving tensors:
// infer requests with flat or nested `data`, infer responses, and the error
// body {"error": "..."} with its HTTP status.
//
// Pure functions; safe to call concurrently.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "net/http_message.h"
#include "serving/tensor.h"

namespace kiln::api::v2 {

struct RequestedOutput {
  std::string name;
  bool binary = false;  // parameters.binary_data
};

struct InferRequest {
  std::string id;
  std::vector<serving::Tensor> inputs;
  std::vector<RequestedOutput> outputs;  // requested outputs; empty: all
  bool binary_outputs = false;           // parameters.binary_data_output
};

// `body` is the whole request body. With Triton's binary tensor extension
// the JSON header is the first `json_length` bytes (the
// Inference-Header-Content-Length header) and inputs carrying
// parameters.binary_data_size take their raw little-endian bytes, in order,
// from the rest; pass nullopt for a plain JSON body.
// InvalidArgument with a message naming the field for anything malformed:
// missing name/shape/datatype/data, unknown datatype, negative dimensions,
// element count not matching the shape, values of the wrong type, a JSON
// length past the body, binary sizes that overrun or leave bytes over, BYTES
// element lengths that lie.
StatusOr<InferRequest> DecodeInferRequest(std::string_view body, std::optional<size_t> json_length = std::nullopt);

// The response body. Outputs named in `binary` (or all when
// binary_all) are sent raw after the JSON header; then *json_length is set to
// the header's size (send it as Inference-Header-Content-Length), else it is
// left empty.
std::string EncodeInferResponse(const std::string& model, const std::string& version, const std::string& id,
                                const std::vector<serving::Tensor>& outputs, const std::vector<std::string>& binary,
                                bool binary_all, std::optional<size_t>* json_length);

net::HttpResponse ErrorResponse(const Status& status);
net::HttpResponse ErrorResponse(unsigned http_status, std::string_view message);
net::HttpResponse JsonResponse(const nlohmann::json& body);

}  // namespace kiln::api::v2
