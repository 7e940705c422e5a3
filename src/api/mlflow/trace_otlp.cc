#include "api/mlflow/trace_otlp.h"

#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include "core/base64.h"
#include "otlp/trace.pb.h"

namespace kiln::api::mlflow {
namespace {

constexpr const char* kSpanTypeAttribute = "mlflow.spanType";
constexpr const char* kTraceTagPrefix = "mlflow.traceTag.";

std::string Hex(const std::string& bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::optional<std::string> Unhex(const std::string& hex) {
  if (hex.size() % 2) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

// MLflow's exporter writes string attributes as they are; other producers may
// JSON-encode them. Either way the plain text is what searches compare.
std::string PlainString(const kiln::otlp::AnyValue& v) {
  if (v.value_case() != kiln::otlp::AnyValue::kStringValue) return "";
  const std::string& s = v.string_value();
  if (s.size() >= 2 && s.front() == '"') {
    auto parsed = nlohmann::json::parse(s, nullptr, false);
    if (parsed.is_string()) return parsed.get<std::string>();
  }
  return s;
}

// OTLP JSON carries ids as hex; protobuf's JSON mapping wants base64 for bytes.
Status HexIdsToBase64(nlohmann::json& span) {
  for (const char* field : {"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"}) {
    auto it = span.find(field);
    if (it == span.end() || !it->is_string() || it->get<std::string>().empty()) continue;
    auto raw = Unhex(it->get<std::string>());
    if (!raw) return InvalidArgument(std::string("Invalid OpenTelemetry format: ") + field + " is not hex");
    *it = Base64Encode(*raw);
  }
  return Status::Ok();
}

StatusOr<std::string> JsonToProtobufJson(std::string_view body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return InvalidArgument("Invalid OpenTelemetry format");
  for (const char* rs_key : {"resourceSpans", "resource_spans"}) {
    if (!doc.contains(rs_key) || !doc[rs_key].is_array()) continue;
    for (auto& rs : doc[rs_key]) {
      for (const char* ss_key : {"scopeSpans", "scope_spans"}) {
        if (!rs.is_object() || !rs.contains(ss_key) || !rs[ss_key].is_array()) continue;
        for (auto& ss : rs[ss_key]) {
          if (!ss.is_object() || !ss.contains("spans") || !ss["spans"].is_array()) continue;
          for (auto& span : ss["spans"]) {
            if (!span.is_object()) continue;
            KILN_RETURN_IF_ERROR(HexIdsToBase64(span));
            for (const char* links_key : {"links"}) {
              if (!span.contains(links_key) || !span[links_key].is_array()) continue;
              for (auto& link : span[links_key]) {
                if (link.is_object()) KILN_RETURN_IF_ERROR(HexIdsToBase64(link));
              }
            }
          }
        }
      }
    }
  }
  return doc.dump();
}

std::string StatusName(kiln::otlp::Status::StatusCode code) {
  switch (code) {
    case kiln::otlp::Status::STATUS_CODE_OK: return "OK";
    case kiln::otlp::Status::STATUS_CODE_ERROR: return "ERROR";
    default: return "UNSET";
  }
}

}  // namespace

StatusOr<std::vector<tracking::IncomingSpan>> DecodeOtlpTraces(std::string_view body, OtlpEncoding encoding,
                                                               size_t max_spans) {
  kiln::otlp::ExportTraceServiceRequest request;
  if (encoding == OtlpEncoding::kJson) {
    KILN_ASSIGN_OR_RETURN(std::string pb_json, JsonToProtobufJson(body));
    google::protobuf::util::JsonParseOptions opts;
    opts.ignore_unknown_fields = true;
    auto st = google::protobuf::util::JsonStringToMessage(pb_json, &request, opts);
    if (!st.ok()) return InvalidArgument("Invalid OpenTelemetry format: " + std::string(st.message()));
  } else if (!request.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return InvalidArgument("Invalid OpenTelemetry format");
  }
  size_t total = 0;
  for (const auto& rs : request.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) total += static_cast<size_t>(ss.spans_size());
  }
  if (total == 0) return InvalidArgument("Invalid OpenTelemetry format - no spans found");
  if (total > max_spans) {
    return InvalidArgument("Too many spans in one request: " + std::to_string(total) + " (at most " +
                           std::to_string(max_spans) + ")");
  }
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  std::vector<tracking::IncomingSpan> out;
  out.reserve(total);
  for (const auto& rs : request.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& span : ss.spans()) {
        if (span.trace_id().empty()) return InvalidArgument("trace_id is required but was empty");
        if (span.span_id().empty()) return InvalidArgument("span_id is required but was empty");
        if (span.trace_id().size() != 16 || span.span_id().size() != 8 ||
            (!span.parent_span_id().empty() && span.parent_span_id().size() != 8)) {
          return InvalidArgument("Invalid OpenTelemetry span ids in span '" + span.name() +
                                 "': trace ids are 16 bytes, span ids 8 bytes");
        }
        tracking::IncomingSpan in;
        storage::TraceSpan& s = in.span;
        s.trace_id = "tr-" + Hex(span.trace_id());
        s.span_id = Hex(span.span_id());
        s.parent_span_id = Hex(span.parent_span_id());
        s.name = span.name();
        s.status_code = StatusName(span.status().code());
        s.start_time_ns = static_cast<int64_t>(span.start_time_unix_nano());
        s.end_time_ns = static_cast<int64_t>(span.end_time_unix_nano());
        for (const auto& kv : span.attributes()) {
          in.largest_attribute_bytes = std::max(in.largest_attribute_bytes, kv.ByteSizeLong());
          if (kv.key() == kSpanTypeAttribute) s.span_type = PlainString(kv.value());
          if (s.parent_span_id.empty() && kv.key().rfind(kTraceTagPrefix, 0) == 0) {
            in.trace_tags[kv.key().substr(std::string_view(kTraceTagPrefix).size())] = PlainString(kv.value());
          }
        }
        auto st = google::protobuf::util::MessageToJsonString(span, &s.content, print);
        if (!st.ok()) return InvalidArgument("Cannot convert OpenTelemetry span: " + std::string(st.message()));
        out.push_back(std::move(in));
      }
    }
  }
  return out;
}

std::string OtlpSuccessResponse() {
  kiln::otlp::ExportTraceServiceResponse response;
  return response.SerializeAsString();
}

}  // namespace kiln::api::mlflow
