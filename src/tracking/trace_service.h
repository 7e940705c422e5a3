// TraceService: MLflow 3 tracing's rules on top of a TraceStore — trace
// creation and merging (spans may arrive before or after the trace's info,
// as MLflow's client sends both concurrently), span ingestion limits, trace
// search paging, deletion, tags, and assessments (feedback / expectations,
// overrides). No HTTP, no SQL: API adapters translate their protocol (MLflow
// REST JSON, OTLP protobuf) into these calls.
//
// Thread-safe if the store is. Borrows the store, the tracking service (for
// experiments) and the clock, which must outlive it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "storage/trace_store.h"
#include "tracking/tracking_service.h"

namespace kiln::tracking {

// Tag and metadata keys MLflow's client and server agree on.
inline constexpr const char* kArtifactLocationTag = "mlflow.artifactLocation";
inline constexpr const char* kSpansLocationTag = "mlflow.trace.spansLocation";
inline constexpr const char* kSpansInTrackingStore = "TRACKING_STORE";
inline constexpr const char* kTraceNameTag = "mlflow.traceName";
inline constexpr const char* kSizeStatsMetadata = "mlflow.trace.sizeStats";
inline constexpr const char* kSourceRunMetadata = "mlflow.sourceRun";

struct TraceLimits {
  size_t max_spans_per_request = 10000;
  // One attribute's encoded value (span inputs / outputs are attributes).
  size_t max_attribute_bytes = 16u << 20;
  size_t max_tag_key_chars = 250;
  size_t max_tag_value_chars = 8000;
  size_t max_metadata_value_chars = 8000;
  int64_t max_search_results = 500;
  int64_t default_search_results = 100;
  size_t max_batch_get = 100;
};

// A trace info with the assessments attached to it.
struct TraceRecord {
  storage::TraceInfo info;
  std::vector<storage::Assessment> assessments;
};

struct FullTrace {
  TraceRecord record;
  std::vector<storage::TraceSpan> spans;
};

// A span as an OTLP receiver decoded it, plus what MLflow derives from it.
struct IncomingSpan {
  storage::TraceSpan span;          // trace_id already in MLflow's "tr-<hex>" form
  size_t largest_attribute_bytes = 0;
  // mlflow.traceTag.<key> attributes of a root span (OtelSpanProcessor's way
  // of carrying trace tags over OTLP).
  std::map<std::string, std::string> trace_tags;
};

struct SearchTracesRequest {
  std::vector<std::string> experiment_ids;
  std::string filter;
  std::optional<int64_t> max_results;
  std::vector<std::string> order_by;
  std::string page_token;
};

struct DeleteTracesRequest {
  std::string experiment_id;
  std::vector<std::string> trace_ids;
  std::optional<int64_t> max_timestamp_ms;
  std::optional<int64_t> max_traces;
};

// The fields an UpdateAssessment's mask names; unset = keep.
struct AssessmentUpdate {
  std::optional<std::string> name;
  std::optional<std::string> feedback_json;     // replaces a feedback's value object
  std::optional<std::string> expectation_json;  // replaces an expectation's value object
  std::optional<std::string> rationale;
  std::optional<std::map<std::string, std::string>> metadata;  // merged into the existing metadata
  std::optional<bool> valid;
};

class TraceService {
 public:
  TraceService(storage::TraceStore& store, TrackingService& tracking, const Clock& clock, TraceLimits limits = {});

  const TraceLimits& limits() const { return limits_; }

  // StartTraceV3: records the client's complete trace info (called when the
  // trace has ended), merging with spans already received.
  StatusOr<TraceRecord> StartTrace(storage::TraceInfo info, std::vector<storage::Assessment> assessments);
  // MLflow 2's StartTrace / EndTrace: the server assigns the id.
  StatusOr<TraceRecord> StartTraceV2(const std::string& experiment_id, int64_t timestamp_ms,
                                     const std::map<std::string, std::string>& metadata,
                                     const std::map<std::string, std::string>& tags);
  StatusOr<TraceRecord> EndTraceV2(const std::string& trace_id, int64_t timestamp_ms, const std::string& state,
                                   const std::map<std::string, std::string>& metadata,
                                   const std::map<std::string, std::string>& tags);

  // OTLP span ingestion into experiment `experiment_id`; traces first seen
  // here are created from their spans.
  // A non-empty run_id (OTLP's X-MLflow-Run-Id) links the batch's traces to
  // that run, as mlflow.sourceRun metadata unless the trace has one already;
  // the run must exist in the experiment.
  Status LogSpans(const std::string& experiment_id, std::vector<IncomingSpan> spans, const std::string& run_id = "");

  StatusOr<TraceRecord> GetTraceInfo(const std::string& trace_id);
  // With spans. Unless allow_partial, a trace whose size stats announce more
  // spans than have arrived is NotFound ("not fully exported yet"), as MLflow.
  StatusOr<FullTrace> GetTrace(const std::string& trace_id, bool allow_partial);
  // Complete traces among the ids (missing or incomplete ones are skipped).
  StatusOr<std::vector<FullTrace>> BatchGetTraces(const std::vector<std::string>& trace_ids);
  StatusOr<std::vector<TraceRecord>> BatchGetTraceInfos(const std::vector<std::string>& trace_ids);
  StatusOr<PagedResult<TraceRecord>> SearchTraces(const SearchTracesRequest& req);
  StatusOr<int64_t> DeleteTraces(const DeleteTracesRequest& req);

  Status SetTraceTag(const std::string& trace_id, const std::string& key, const std::string& value);
  Status DeleteTraceTag(const std::string& trace_id, const std::string& key);

  // The assessment's id, times and validity are assigned here.
  StatusOr<storage::Assessment> CreateAssessment(storage::Assessment assessment);
  StatusOr<storage::Assessment> GetAssessment(const std::string& trace_id, const std::string& assessment_id);
  StatusOr<storage::Assessment> UpdateAssessment(const std::string& trace_id, const std::string& assessment_id,
                                                 const AssessmentUpdate& update);
  Status DeleteAssessment(const std::string& trace_id, const std::string& assessment_id);

 private:
  StatusOr<storage::Experiment> ActiveExperiment(const std::string& experiment_id);
  Status ValidateTags(const std::map<std::string, std::string>& tags) const;
  Status ValidateMetadata(const std::map<std::string, std::string>& metadata) const;
  StatusOr<TraceRecord> WithAssessments(storage::TraceInfo info);

  storage::TraceStore& store_;
  TrackingService& tracking_;
  const Clock& clock_;
  TraceLimits limits_;
};

}  // namespace kiln::tracking
