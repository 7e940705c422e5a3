// MLflow's protobuf-JSON shapes for traces: TraceInfoV3 (and MLflow 2's
// TraceInfo), assessments, spans as OpenTelemetry Span messages (GetTrace)
// and as MLflow span dicts (traces.json), plus the Timestamp / Duration
// string forms protobuf's JSON mapping uses.
//
// Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/trace_store.h"
#include "tracking/trace_service.h"

namespace kiln::api::mlflow {

// "2023-11-14T22:13:20.123Z" <-> epoch milliseconds.
std::string FormatTimestamp(int64_t ms);
StatusOr<int64_t> ParseTimestamp(const std::string& s, const std::string& field);
// "0.456s" <-> milliseconds.
std::string FormatDuration(int64_t ms);
StatusOr<int64_t> ParseDuration(const std::string& s, const std::string& field);

// TraceInfoV3 (the `trace_info` object of a StartTraceV3 request). Its
// assessments are appended to *assessments.
StatusOr<storage::TraceInfo> DecodeTraceInfoV3(const nlohmann::json& j, std::vector<storage::Assessment>* assessments);
nlohmann::json TraceInfoV3Json(const tracking::TraceRecord& r);
// MLflow 2's TraceInfo (request_id, timestamp_ms, status, key/value lists).
nlohmann::json TraceInfoV2Json(const tracking::TraceRecord& r);
// TraceStatus (v2) <-> TraceInfoV3.State names.
std::string StateFromV2Status(const std::string& status);

StatusOr<storage::Assessment> DecodeAssessment(const nlohmann::json& j, const std::string& context);
nlohmann::json AssessmentJson(const storage::Assessment& a);

// The stored span as an OpenTelemetry Span message (protobuf JSON).
nlohmann::json SpanProtoJson(const storage::TraceSpan& s);
// The stored span as MLflow's Span.to_dict() (traces.json), attributes
// JSON-encoded as MLflow stores them.
nlohmann::json SpanDict(const storage::TraceSpan& s);
// An OTLP AnyValue (protobuf JSON) as the plain value it carries.
nlohmann::json AnyValueToJson(const nlohmann::json& any);

}  // namespace kiln::api::mlflow
