// Decoding OTLP/HTTP trace exports (ExportTraceServiceRequest, protobuf or
// OTLP JSON) into the trace service's IncomingSpan values. Each span's stored
// payload is its own protobuf-JSON rendering, which is what GetTrace returns.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tracking/trace_service.h"

namespace kiln::api::mlflow {

enum class OtlpEncoding { kProtobuf, kJson };

// InvalidArgument for a body that is not a valid request, holds no spans,
// holds more than max_spans spans, or a span with a malformed id.
StatusOr<std::vector<tracking::IncomingSpan>> DecodeOtlpTraces(std::string_view body, OtlpEncoding encoding,
                                                               size_t max_spans);

// The serialized (protobuf) ExportTraceServiceResponse for a full success.
std::string OtlpSuccessResponse();

}  // namespace kiln::api::mlflow
