#include "tracking/trace_service.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/ids.h"
#include "tracking/trace_filter.h"

namespace kiln::tracking {
namespace {

Status Required(const std::string& value, const char* field) {
  if (value.empty()) {
    return InvalidArgument(std::string("Missing value for required parameter '") + field +
                           "'. See the API docs for more information about request parameters.");
  }
  return Status::Ok();
}

bool ValidState(const std::string& s) {
  return s == storage::kTraceStateUnspecified || s == storage::kTraceStateOk || s == storage::kTraceStateError ||
         s == storage::kTraceStateInProgress;
}

// The span count the client announced in the trace's size stats, if any.
std::optional<int64_t> AnnouncedSpans(const storage::TraceInfo& info) {
  auto it = info.metadata.find(kSizeStatsMetadata);
  if (it == info.metadata.end()) return std::nullopt;
  auto stats = nlohmann::json::parse(it->second, nullptr, false);
  if (!stats.is_object()) return std::nullopt;
  auto n = stats.find("num_spans");
  if (n == stats.end() || !n->is_number_integer()) return std::nullopt;
  return n->get<int64_t>();
}

bool Complete(const storage::TraceInfo& info, size_t spans) {
  auto announced = AnnouncedSpans(info);
  return !announced || static_cast<int64_t>(spans) >= *announced;
}

// System-managed tags a client may neither set nor delete (as MLflow's handlers).
bool Immutable(const std::string& key) {
  return key == kArtifactLocationTag || key == kSpansLocationTag || key == "mlflow.trace.archiveLocation" ||
         key == "mlflow.trace.archivalFailure";
}

std::string ArtifactLocationFor(const storage::Experiment& exp, const std::string& trace_id) {
  std::string root = exp.artifact_location;
  while (!root.empty() && root.back() == '/') root.pop_back();
  return root + "/traces/" + trace_id + "/artifacts";
}

}  // namespace

TraceService::TraceService(storage::TraceStore& store, TrackingService& tracking, const Clock& clock,
                           TraceLimits limits)
    : store_(store), tracking_(tracking), clock_(clock), limits_(limits) {}

StatusOr<storage::Experiment> TraceService::ActiveExperiment(const std::string& experiment_id) {
  KILN_ASSIGN_OR_RETURN(storage::Experiment exp, tracking_.GetExperiment(experiment_id));
  if (exp.lifecycle_stage != storage::kLifecycleActive) {
    return InvalidArgument("The experiment " + experiment_id + " must be in the 'active' state. Current state is " +
                           exp.lifecycle_stage + ".");
  }
  return exp;
}

Status TraceService::ValidateTags(const std::map<std::string, std::string>& tags) const {
  for (const auto& [k, v] : tags) {
    if (k.empty()) return InvalidArgument("Trace tag keys must not be empty");
    if (k.size() > limits_.max_tag_key_chars) {
      return InvalidArgument("Trace tag key '" + k.substr(0, 50) + "...' has length " + std::to_string(k.size()) +
                             ", which exceeds the maximum of " + std::to_string(limits_.max_tag_key_chars));
    }
    if (v.size() > limits_.max_tag_value_chars) {
      return InvalidArgument("Trace tag '" + k + "' has a value of length " + std::to_string(v.size()) +
                             ", which exceeds the maximum of " + std::to_string(limits_.max_tag_value_chars));
    }
  }
  return Status::Ok();
}

Status TraceService::ValidateMetadata(const std::map<std::string, std::string>& metadata) const {
  for (const auto& [k, v] : metadata) {
    if (k.empty()) return InvalidArgument("Trace request metadata keys must not be empty");
    if (k.size() > limits_.max_tag_key_chars) {
      return InvalidArgument("Trace request metadata key '" + k.substr(0, 50) + "...' exceeds the maximum of " +
                             std::to_string(limits_.max_tag_key_chars) + " characters");
    }
    if (v.size() > limits_.max_metadata_value_chars) {
      return InvalidArgument("Trace request metadata '" + k + "' has a value of length " + std::to_string(v.size()) +
                             ", which exceeds the maximum of " + std::to_string(limits_.max_metadata_value_chars));
    }
  }
  return Status::Ok();
}

StatusOr<TraceRecord> TraceService::WithAssessments(storage::TraceInfo info) {
  TraceRecord r;
  KILN_ASSIGN_OR_RETURN(r.assessments, store_.ListAssessments(info.trace_id));
  r.info = std::move(info);
  return r;
}

StatusOr<TraceRecord> TraceService::StartTrace(storage::TraceInfo info, std::vector<storage::Assessment> assessments) {
  KILN_RETURN_IF_ERROR(Required(info.trace_id, "trace.trace_info.trace_id"));
  KILN_RETURN_IF_ERROR(Required(info.experiment_id, "trace.trace_info.trace_location.mlflow_experiment.experiment_id"));
  if (info.state.empty()) info.state = storage::kTraceStateUnspecified;
  if (!ValidState(info.state)) return InvalidArgument("Invalid trace state '" + info.state + "'");
  if (info.execution_duration_ms && *info.execution_duration_ms < 0) {
    return InvalidArgument("Trace execution_duration must not be negative");
  }
  KILN_RETURN_IF_ERROR(ValidateTags(info.tags));
  KILN_RETURN_IF_ERROR(ValidateMetadata(info.metadata));
  KILN_ASSIGN_OR_RETURN(storage::Experiment exp, ActiveExperiment(info.experiment_id));
  for (auto it = info.tags.begin(); it != info.tags.end();) it = Immutable(it->first) ? info.tags.erase(it) : std::next(it);
  // Where the client puts traces.json when the spans did not reach the store.
  info.tags[kArtifactLocationTag] = ArtifactLocationFor(exp, info.trace_id);
  KILN_ASSIGN_OR_RETURN(storage::TraceInfo stored, store_.UpsertTraceInfo(info));
  for (auto& a : assessments) {
    a.trace_id = stored.trace_id;
    auto created = CreateAssessment(a);
    if (!created.ok() && created.status().code() != StatusCode::kAlreadyExists) return created.status();
  }
  return WithAssessments(std::move(stored));
}

StatusOr<TraceRecord> TraceService::StartTraceV2(const std::string& experiment_id, int64_t timestamp_ms,
                                                 const std::map<std::string, std::string>& metadata,
                                                 const std::map<std::string, std::string>& tags) {
  KILN_RETURN_IF_ERROR(Required(experiment_id, "experiment_id"));
  storage::TraceInfo info;
  info.trace_id = "tr-" + NewHexId();
  info.experiment_id = experiment_id;
  info.request_time_ms = timestamp_ms;
  info.state = storage::kTraceStateInProgress;
  info.metadata = metadata;
  info.tags = tags;
  return StartTrace(std::move(info), {});
}

StatusOr<TraceRecord> TraceService::EndTraceV2(const std::string& trace_id, int64_t timestamp_ms,
                                               const std::string& state,
                                               const std::map<std::string, std::string>& metadata,
                                               const std::map<std::string, std::string>& tags) {
  KILN_RETURN_IF_ERROR(Required(trace_id, "request_id"));
  KILN_ASSIGN_OR_RETURN(storage::TraceInfo info, store_.GetTraceInfo(trace_id));
  info.execution_duration_ms = std::max<int64_t>(0, timestamp_ms - info.request_time_ms);
  if (!state.empty()) info.state = state;
  for (const auto& [k, v] : metadata) info.metadata[k] = v;
  for (const auto& [k, v] : tags) info.tags[k] = v;
  return StartTrace(std::move(info), {});
}

Status TraceService::LogSpans(const std::string& experiment_id, std::vector<IncomingSpan> spans,
                              const std::string& run_id) {
  KILN_RETURN_IF_ERROR(Required(experiment_id, "X-MLflow-Experiment-Id"));
  if (spans.empty()) return InvalidArgument("Invalid OpenTelemetry format - no spans found");
  if (spans.size() > limits_.max_spans_per_request) {
    return InvalidArgument("Too many spans in one request: " + std::to_string(spans.size()) + " (at most " +
                           std::to_string(limits_.max_spans_per_request) + ")");
  }
  std::map<std::string, storage::TraceStore::DerivedTrace> derived;
  std::vector<storage::TraceSpan> rows;
  rows.reserve(spans.size());
  for (auto& in : spans) {
    storage::TraceSpan& s = in.span;
    if (s.span_id.empty()) return InvalidArgument("span_id is required but was empty");
    if (s.trace_id.empty()) return InvalidArgument("trace_id is required but was empty");
    if (in.largest_attribute_bytes > limits_.max_attribute_bytes) {
      return InvalidArgument("Span '" + s.name + "' has an attribute of " + std::to_string(in.largest_attribute_bytes) +
                             " bytes, more than the limit of " + std::to_string(limits_.max_attribute_bytes));
    }
    auto [it, fresh] = derived.try_emplace(s.trace_id);
    auto& d = it->second;
    const int64_t start_ms = s.start_time_ns / 1000000;
    const int64_t end_ms = s.end_time_ns / 1000000;
    if (fresh) {
      d.from_spans.experiment_id = experiment_id;
      d.from_spans.request_time_ms = start_ms;
      d.from_spans.state = storage::kTraceStateInProgress;
      if (s.end_time_ns > 0) d.from_spans.execution_duration_ms = end_ms - start_ms;
      d.tags[kSpansLocationTag] = kSpansInTrackingStore;
    } else {
      int64_t old_end = d.from_spans.request_time_ms + d.from_spans.execution_duration_ms.value_or(0);
      int64_t new_start = std::min(d.from_spans.request_time_ms, start_ms);
      int64_t new_end = std::max(old_end, end_ms);
      d.from_spans.request_time_ms = new_start;
      if (s.end_time_ns > 0 || d.from_spans.execution_duration_ms) d.from_spans.execution_duration_ms = new_end - new_start;
    }
    if (s.parent_span_id.empty()) {
      d.has_root = true;
      d.root_state = s.status_code == "ERROR" ? storage::kTraceStateError : storage::kTraceStateOk;
      for (auto& [k, v] : in.trace_tags) {
        if (k.empty() || k.size() > limits_.max_tag_key_chars || v.size() > limits_.max_tag_value_chars) continue;
        if (Immutable(k)) continue;
        d.tags[k] = v;
      }
    }
    rows.push_back(std::move(s));
  }
  KILN_ASSIGN_OR_RETURN(storage::Experiment exp, ActiveExperiment(experiment_id));
  if (!run_id.empty()) {
    KILN_ASSIGN_OR_RETURN(storage::Run run, tracking_.GetRun(run_id));
    if (run.info.experiment_id != experiment_id) {
      return InvalidArgument("Run " + run_id + " belongs to experiment " + run.info.experiment_id + ", not " +
                             experiment_id);
    }
  }
  for (auto& [trace_id, d] : derived) {
    d.tags[kArtifactLocationTag] = ArtifactLocationFor(exp, trace_id);
    if (!run_id.empty()) d.metadata_if_absent[kSourceRunMetadata] = run_id;
  }
  return store_.LogSpans(rows, derived);
}

StatusOr<TraceRecord> TraceService::GetTraceInfo(const std::string& trace_id) {
  KILN_RETURN_IF_ERROR(Required(trace_id, "trace_id"));
  KILN_ASSIGN_OR_RETURN(storage::TraceInfo info, store_.GetTraceInfo(trace_id));
  return WithAssessments(std::move(info));
}

StatusOr<FullTrace> TraceService::GetTrace(const std::string& trace_id, bool allow_partial) {
  KILN_ASSIGN_OR_RETURN(TraceRecord record, GetTraceInfo(trace_id));
  auto loc = record.info.tags.find(kSpansLocationTag);
  if (loc == record.info.tags.end() || loc->second != kSpansInTrackingStore) {
    return FailedPrecondition("The spans of trace '" + trace_id +
                              "' are not stored in the tracking store; read them from the trace's artifact "
                              "location (traces.json)");
  }
  FullTrace out;
  KILN_ASSIGN_OR_RETURN(out.spans, store_.GetSpans(trace_id));
  if (!allow_partial && !Complete(record.info, out.spans.size())) {
    return NotFound("Trace with ID " + trace_id + " is not fully exported yet, please try again later.");
  }
  out.record = std::move(record);
  return out;
}

StatusOr<std::vector<FullTrace>> TraceService::BatchGetTraces(const std::vector<std::string>& trace_ids) {
  if (trace_ids.size() > limits_.max_batch_get) {
    return InvalidArgument("At most " + std::to_string(limits_.max_batch_get) + " trace ids per batch request");
  }
  KILN_ASSIGN_OR_RETURN(auto infos, store_.GetTraceInfos(trace_ids));
  std::vector<FullTrace> out;
  for (auto& info : infos) {
    auto loc = info.tags.find(kSpansLocationTag);
    if (loc == info.tags.end() || loc->second != kSpansInTrackingStore) continue;
    FullTrace t;
    KILN_ASSIGN_OR_RETURN(t.spans, store_.GetSpans(info.trace_id));
    if (t.spans.empty() || !Complete(info, t.spans.size())) continue;
    KILN_ASSIGN_OR_RETURN(t.record, WithAssessments(std::move(info)));
    out.push_back(std::move(t));
  }
  return out;
}

StatusOr<std::vector<TraceRecord>> TraceService::BatchGetTraceInfos(const std::vector<std::string>& trace_ids) {
  if (trace_ids.size() > limits_.max_batch_get) {
    return InvalidArgument("At most " + std::to_string(limits_.max_batch_get) + " trace ids per batch request");
  }
  KILN_ASSIGN_OR_RETURN(auto infos, store_.GetTraceInfos(trace_ids));
  std::vector<TraceRecord> out;
  for (auto& info : infos) {
    KILN_ASSIGN_OR_RETURN(auto r, WithAssessments(std::move(info)));
    out.push_back(std::move(r));
  }
  return out;
}

StatusOr<PagedResult<TraceRecord>> TraceService::SearchTraces(const SearchTracesRequest& req) {
  if (req.experiment_ids.empty()) return InvalidArgument("At least one experiment (trace location) is required");
  storage::TraceQuery q;
  q.experiment_ids = req.experiment_ids;
  q.max_results = req.max_results.value_or(limits_.default_search_results);
  if (q.max_results <= 0 || q.max_results > limits_.max_search_results) {
    return InvalidArgument("Invalid value " + std::to_string(q.max_results) +
                           " for parameter 'max_results' supplied. It must be between 1 and " +
                           std::to_string(limits_.max_search_results) + ".");
  }
  KILN_ASSIGN_OR_RETURN(q.filter, ParseTraceFilter(req.filter));
  KILN_ASSIGN_OR_RETURN(q.order_by, ParseTraceOrderBy(req.order_by));
  if (!req.page_token.empty()) {
    KILN_ASSIGN_OR_RETURN(q.offset, DecodePageToken(req.page_token));
  }
  KILN_ASSIGN_OR_RETURN(storage::TracePage page, store_.SearchTraces(q));
  PagedResult<TraceRecord> out;
  for (auto& info : page.items) {
    KILN_ASSIGN_OR_RETURN(auto r, WithAssessments(std::move(info)));
    out.items.push_back(std::move(r));
  }
  if (page.has_more) out.next_page_token = EncodePageToken(q.offset + static_cast<int64_t>(out.items.size()));
  return out;
}

StatusOr<int64_t> TraceService::DeleteTraces(const DeleteTracesRequest& req) {
  KILN_RETURN_IF_ERROR(Required(req.experiment_id, "experiment_id"));
  if (!req.max_timestamp_ms && req.trace_ids.empty()) {
    return InvalidArgument("Either `max_timestamp_millis` or `trace_ids` must be specified.");
  }
  if (req.max_timestamp_ms && !req.trace_ids.empty()) {
    return InvalidArgument("Only one of `max_timestamp_millis` and `trace_ids` can be specified.");
  }
  if (!req.trace_ids.empty() && req.max_traces) {
    return InvalidArgument("`max_traces` can't be specified if `trace_ids` is specified.");
  }
  if (req.max_traces && *req.max_traces <= 0) {
    return InvalidArgument("`max_traces` must be a positive integer, received " + std::to_string(*req.max_traces) +
                           ".");
  }
  KILN_RETURN_IF_ERROR(tracking_.GetExperiment(req.experiment_id).status());
  storage::TraceDeletion d{req.experiment_id, req.trace_ids, req.max_timestamp_ms, req.max_traces};
  return store_.DeleteTraces(d);
}

Status TraceService::SetTraceTag(const std::string& trace_id, const std::string& key, const std::string& value) {
  KILN_RETURN_IF_ERROR(Required(key, "key"));
  if (Immutable(key)) return InvalidArgument("Tag '" + key + "' is immutable and cannot be set on a trace.");
  KILN_RETURN_IF_ERROR(ValidateTags({{key, value}}));
  return store_.SetTraceTag(trace_id, key, value);
}

Status TraceService::DeleteTraceTag(const std::string& trace_id, const std::string& key) {
  KILN_RETURN_IF_ERROR(Required(key, "key"));
  if (Immutable(key)) return InvalidArgument("Tag '" + key + "' is immutable and cannot be deleted on a trace.");
  return store_.DeleteTraceTag(trace_id, key);
}

StatusOr<storage::Assessment> TraceService::CreateAssessment(storage::Assessment a) {
  KILN_RETURN_IF_ERROR(Required(a.trace_id, "assessment.trace_id"));
  KILN_RETURN_IF_ERROR(Required(a.name, "assessment.assessment_name"));
  if (a.kind != "feedback" && a.kind != "expectation") {
    return InvalidArgument("An assessment needs exactly one of 'feedback' or 'expectation'");
  }
  if (a.source_type.empty()) a.source_type = "SOURCE_TYPE_UNSPECIFIED";
  if (a.assessment_id.empty()) a.assessment_id = "a-" + NewHexId();
  const int64_t now = clock_.NowMillis();
  if (a.create_time_ms <= 0) a.create_time_ms = now;
  if (a.last_update_time_ms <= 0) a.last_update_time_ms = a.create_time_ms;
  a.valid = true;
  KILN_RETURN_IF_ERROR(ValidateMetadata(a.metadata));
  KILN_RETURN_IF_ERROR(store_.CreateAssessment(a));
  return a;
}

StatusOr<storage::Assessment> TraceService::GetAssessment(const std::string& trace_id,
                                                          const std::string& assessment_id) {
  return store_.GetAssessment(trace_id, assessment_id);
}

StatusOr<storage::Assessment> TraceService::UpdateAssessment(const std::string& trace_id,
                                                             const std::string& assessment_id,
                                                             const AssessmentUpdate& u) {
  if (u.feedback_json && u.expectation_json) {
    return InvalidArgument("Cannot specify both `expectation` and `feedback` parameters.");
  }
  KILN_ASSIGN_OR_RETURN(storage::Assessment a, store_.GetAssessment(trace_id, assessment_id));
  if (u.expectation_json && a.kind != "expectation") {
    return InvalidArgument("Cannot update expectation value on a Feedback assessment.");
  }
  if (u.feedback_json && a.kind != "feedback") {
    return InvalidArgument("Cannot update feedback value on an Expectation assessment.");
  }
  if (u.name) {
    if (u.name->empty()) return InvalidArgument("Assessment name must not be empty");
    a.name = *u.name;
  }
  if (u.feedback_json) a.value_json = *u.feedback_json;
  if (u.expectation_json) a.value_json = *u.expectation_json;
  // Rationale belongs to feedback (MLflow drops it on expectations).
  if (u.rationale && a.kind == "feedback") a.rationale = *u.rationale;
  if (u.metadata) {
    for (const auto& [k, v] : *u.metadata) a.metadata[k] = v;
    KILN_RETURN_IF_ERROR(ValidateMetadata(a.metadata));
  }
  if (u.valid) a.valid = *u.valid;
  a.last_update_time_ms = clock_.NowMillis();
  KILN_RETURN_IF_ERROR(store_.UpdateAssessment(a));
  return a;
}

Status TraceService::DeleteAssessment(const std::string& trace_id, const std::string& assessment_id) {
  return store_.DeleteAssessment(trace_id, assessment_id);
}

}  // namespace kiln::tracking
