// TraceStore: persistence for MLflow 3 traces — trace infos (with tags and
// request metadata), their spans and their assessments. The trace service
// (tracking/trace_service.h) owns the rules; a store only keeps rows and
// answers queries, in whatever dialect it speaks.
//
// Entities are plain value types. Span payloads travel as opaque JSON text
// that the API adapter produced (the store never interprets it), plus the few
// columns searches need.
//
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/status.h"

namespace kiln::storage {

// MLflow's TraceInfoV3.State names.
inline constexpr const char* kTraceStateUnspecified = "STATE_UNSPECIFIED";
inline constexpr const char* kTraceStateOk = "OK";
inline constexpr const char* kTraceStateError = "ERROR";
inline constexpr const char* kTraceStateInProgress = "IN_PROGRESS";

struct TraceInfo {
  std::string trace_id;  // "tr-<32 hex>" for OTel-derived ids
  std::string experiment_id;
  std::string client_request_id;           // empty = unset
  int64_t request_time_ms = 0;
  std::optional<int64_t> execution_duration_ms;
  std::string state = kTraceStateUnspecified;
  std::optional<std::string> request_preview;
  std::optional<std::string> response_preview;
  std::map<std::string, std::string> tags;
  std::map<std::string, std::string> metadata;
};

// One span as stored. Ids are lower-case hex (32 chars for the trace, 16 for
// spans), as OpenTelemetry prints them.
struct TraceSpan {
  std::string trace_id;      // MLflow trace id ("tr-...") the span belongs to
  std::string span_id;
  std::string parent_span_id;  // empty for a root span
  std::string name;
  std::string span_type;     // MLflow's mlflow.spanType attribute, unquoted; may be empty
  std::string status_code;   // UNSET | OK | ERROR (MLflow's SpanStatusCode names)
  int64_t start_time_ns = 0;
  int64_t end_time_ns = 0;   // 0 = not ended
  std::string content;       // the API adapter's encoding of the whole span
};

struct Assessment {
  std::string assessment_id;
  std::string trace_id;
  std::string name;
  std::string kind;          // "feedback" | "expectation"
  std::string span_id;
  std::string source_type;   // HUMAN | LLM_JUDGE | CODE | SOURCE_TYPE_UNSPECIFIED
  std::string source_id;
  int64_t create_time_ms = 0;
  int64_t last_update_time_ms = 0;
  std::string value_json;    // the feedback / expectation object, as the client sent it
  std::optional<std::string> rationale;
  std::map<std::string, std::string> metadata;
  std::string overrides;     // id of the assessment this one replaces; empty = none
  bool valid = true;
};

// ---- search ----

enum class TraceFieldKind {
  kAttribute,  // keys: trace_id, request_time, execution_duration, end_time, state, client_request_id,
               //       experiment_id (ordering only)
  kTag,
  kMetadata,
  kSpan,       // keys: name, span_type, status_code (a trace matches when any of its spans does)
};

enum class TraceOp { kEq, kNe, kLt, kLe, kGt, kGe, kLike, kILike, kIn, kNotIn, kIsNull, kIsNotNull };

struct TraceFilterClause {
  TraceFieldKind kind = TraceFieldKind::kAttribute;
  std::string key;
  TraceOp op = TraceOp::kEq;
  std::variant<std::monostate, int64_t, std::string, std::vector<std::string>> value;
};

struct TraceOrderBy {
  TraceFieldKind kind = TraceFieldKind::kAttribute;  // attribute, tag or metadata
  std::string key;
  bool ascending = true;
};

struct TraceQuery {
  std::vector<std::string> experiment_ids;
  std::vector<TraceFilterClause> filter;  // AND
  std::vector<TraceOrderBy> order_by;     // then request_time DESC, trace_id ASC
  int64_t max_results = 100;
  int64_t offset = 0;
};

struct TracePage {
  std::vector<TraceInfo> items;
  bool has_more = false;
};

// Which traces DeleteTraces removes: either explicit ids, or the oldest
// traces up to a timestamp (optionally at most max_traces of them).
struct TraceDeletion {
  std::string experiment_id;
  std::vector<std::string> trace_ids;
  std::optional<int64_t> max_timestamp_ms;
  std::optional<int64_t> max_traces;
};

// What LogSpans knows about a trace beyond its spans.
struct SpanBatchDefaults {
  std::string experiment_id;
  std::string artifact_location;  // for the mlflow.artifactLocation tag of a trace first seen here
};

class TraceStore {
 public:
  virtual ~TraceStore() = default;

  // Inserts the trace or, when LogSpans created it first, merges into it:
  // the given fields win, tags and metadata are upserted key by key. Returns
  // the stored trace info.
  virtual StatusOr<TraceInfo> UpsertTraceInfo(const TraceInfo& info) = 0;

  // Upserts spans (grouped by trace) in one transaction; a trace seen for the
  // first time is created from its spans. `derived` holds, per trace id, the
  // fields computed from this batch (see TraceService::LogSpans).
  struct DerivedTrace {
    TraceInfo from_spans;        // used when the trace does not exist yet
    bool has_root = false;       // the batch carries the root span
    std::string root_state;      // OK / ERROR from the root span
    std::map<std::string, std::string> tags;      // always upserted
    std::map<std::string, std::string> metadata_if_absent;  // kept when the key exists already
  };
  virtual Status LogSpans(const std::vector<TraceSpan>& spans, const std::map<std::string, DerivedTrace>& derived) = 0;

  virtual StatusOr<TraceInfo> GetTraceInfo(const std::string& trace_id) = 0;
  // Infos for the ids that exist (missing ids are skipped), in the given order.
  virtual StatusOr<std::vector<TraceInfo>> GetTraceInfos(const std::vector<std::string>& trace_ids) = 0;
  // Spans of one trace: root spans first, then by start time.
  virtual StatusOr<std::vector<TraceSpan>> GetSpans(const std::string& trace_id) = 0;
  virtual StatusOr<TracePage> SearchTraces(const TraceQuery& query) = 0;
  virtual StatusOr<int64_t> DeleteTraces(const TraceDeletion& deletion) = 0;

  virtual Status SetTraceTag(const std::string& trace_id, const std::string& key, const std::string& value) = 0;
  // NotFound when the trace or the tag does not exist.
  virtual Status DeleteTraceTag(const std::string& trace_id, const std::string& key) = 0;

  // Assessments. Create marks the overridden assessment invalid (NotFound when
  // it does not exist); Delete makes it valid again.
  virtual Status CreateAssessment(const Assessment& assessment) = 0;
  virtual StatusOr<Assessment> GetAssessment(const std::string& trace_id, const std::string& assessment_id) = 0;
  virtual StatusOr<std::vector<Assessment>> ListAssessments(const std::string& trace_id) = 0;
  virtual Status UpdateAssessment(const Assessment& assessment) = 0;
  // OK when the assessment is already gone (as MLflow); NotFound when the trace is.
  virtual Status DeleteAssessment(const std::string& trace_id, const std::string& assessment_id) = 0;
};

}  // namespace kiln::storage
