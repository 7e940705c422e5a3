// ModelInferRequest / ModelInferResponse (the V2 gRPC messages) <-> serving
// tensors. Inputs come either as raw_input_contents (row-major
// little-endian bytes, one entry per input; tritonclient's default) or as
// typed InferTensorContents (kserve's default); both are checked as strictly
// as the REST decoder checks JSON and binary tensors.
//
// Pure functions; safe to call concurrently.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "inference/grpc_service.pb.h"
#include "serving/tensor.h"

namespace kiln::api::grpcv2 {

struct DecodedInferRequest {
  std::string id;
  std::vector<serving::Tensor> inputs;
  std::vector<std::string> outputs;  // requested output names; empty: all
  bool raw = false;                  // inputs came as raw_input_contents
};

// InvalidArgument naming the input for: no inputs, an empty name, an unknown
// datatype, negative or too large shapes, raw_input_contents not one per
// input or mixed with typed contents, raw sizes not matching shape x element
// size, BYTES lengths that overrun or leave bytes over, typed contents in the
// wrong field for the datatype, element counts not matching the shape, and
// values out of range for INT8/INT16/UINT8/UINT16.
StatusOr<DecodedInferRequest> DecodeInferRequest(const inference::ModelInferRequest& request);

// Fills `response`. With `raw` (or when an output is FP16, which has no typed
// field) every output's bytes go to raw_output_contents, as Triton answers;
// otherwise into typed contents, as KServe answers a typed request.
void EncodeInferResponse(const std::string& model, const std::string& version, const std::string& id,
                         const std::vector<serving::Tensor>& outputs, bool raw,
                         inference::ModelInferResponse* response);

}  // namespace kiln::api::grpcv2
