#include "tracking/tracking_service.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "core/base64.h"
#include "core/ids.h"
#include "tracking/validation.h"

namespace kiln::tracking {
namespace {

constexpr const char* kRunNameTag = "mlflow.runName";
constexpr int64_t kBulkIntervalMaxResults = 2500;
constexpr size_t kBulkIntervalMaxRuns = 100;

Status RequireId(const std::string& value, const char* field) {
  if (value.empty()) {
    return InvalidArgument(std::string("Missing value for required parameter '") + field +
                           "'. See the API docs for more information about request parameters.");
  }
  return Status::Ok();
}

template <typename T>
PagedResult<T> ToPaged(storage::Page<T>&& page, int64_t offset) {
  PagedResult<T> out;
  out.items = std::move(page.items);
  if (page.has_more) out.next_page_token = EncodePageToken(offset + static_cast<int64_t>(out.items.size()));
  return out;
}

StatusOr<int64_t> OffsetOf(const std::string& token) {
  if (token.empty()) return int64_t{0};
  return DecodePageToken(token);
}

}  // namespace

std::string EncodePageToken(int64_t offset) {
  return Base64Encode(nlohmann::json({{"offset", offset}}).dump());
}

StatusOr<int64_t> DecodePageToken(const std::string& token) {
  auto raw = Base64Decode(token);
  if (!raw) return InvalidArgument("Invalid page token, could not base64-decode");
  auto parsed = nlohmann::json::parse(*raw, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return InvalidArgument("Invalid page token, decoded value=" + *raw);
  auto it = parsed.find("offset");
  if (it == parsed.end() || !it->is_number_integer() || it->get<int64_t>() < 0) {
    return InvalidArgument("Invalid page token, parsed value=" + *raw);
  }
  return it->get<int64_t>();
}

std::string RandomRunName() {
  static const char* kAdjectives[] = {"brave", "calm", "eager", "gentle", "bold", "bright", "clever", "merry",
                                      "quiet", "swift", "wise", "keen", "lucky", "proud", "sunny", "vivid"};
  static const char* kNouns[] = {"heron", "otter", "lynx", "finch", "panda", "koala", "whale", "fox",
                                 "owl", "bison", "crane", "gecko", "hare", "ibis", "moth", "seal"};
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> pick(0, 15), num(0, 999);
  return std::string(kAdjectives[pick(rng)]) + "-" + kNouns[pick(rng)] + "-" + std::to_string(num(rng));
}

TrackingService::TrackingService(storage::TrackingStore& store, const Clock& clock) : store_(store), clock_(clock) {}

// ---------------------------------------------------------------- experiments

StatusOr<std::string> TrackingService::CreateExperiment(const std::string& name, const std::string& artifact_location,
                                                        const std::vector<storage::Tag>& tags,
                                                        const std::string& default_artifact_root) {
  KILN_RETURN_IF_ERROR(ValidateExperimentName(name));
  for (const auto& t : tags) KILN_RETURN_IF_ERROR(ValidateExperimentTag(t.key, t.value));
  KILN_RETURN_IF_ERROR(ValidateArtifactLocation(artifact_location));
  std::string location = artifact_location;
  if (!location.empty()) {
    // As MLflow: a relative local location is relative to the server's working directory.
    std::error_code ec;
    std::string cwd = std::filesystem::current_path(ec).string();
    if (!ec) location = ResolveLocalArtifactLocation(location, cwd);
  }
  return store_.CreateExperiment(name, location, default_artifact_root, tags, clock_.NowMillis());
}

StatusOr<storage::Experiment> TrackingService::GetExperiment(const std::string& experiment_id) {
  KILN_RETURN_IF_ERROR(RequireId(experiment_id, "experiment_id"));
  KILN_RETURN_IF_ERROR(ValidateExperimentId(experiment_id));
  // Experiment ids are integers; anything else is a malformed id, not a missing one.
  if (experiment_id.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument("Invalid value '" + experiment_id + "' for parameter 'experiment_id': expected an integer id.");
  }
  return store_.GetExperiment(experiment_id);
}

StatusOr<storage::Experiment> TrackingService::GetExperimentByName(const std::string& name) {
  KILN_RETURN_IF_ERROR(RequireId(name, "experiment_name"));
  return store_.GetExperimentByName(name);
}

StatusOr<PagedResult<storage::Experiment>> TrackingService::SearchExperiments(const SearchExperimentsRequest& req) {
  storage::ExperimentQuery q;
  if (!req.view_type.empty()) {
    KILN_ASSIGN_OR_RETURN(q.view, ParseViewType(req.view_type));
  }
  q.max_results = req.max_results.value_or(kSearchMaxResultsDefault);
  KILN_RETURN_IF_ERROR(ValidateMaxResults(q.max_results));
  KILN_ASSIGN_OR_RETURN(q.filter, ParseExperimentFilter(req.filter));
  q.filter.insert(q.filter.end(), req.scope.begin(), req.scope.end());
  KILN_ASSIGN_OR_RETURN(q.order_by, ParseExperimentOrderBy(req.order_by));
  KILN_ASSIGN_OR_RETURN(q.offset, OffsetOf(req.page_token));
  KILN_ASSIGN_OR_RETURN(auto page, store_.SearchExperiments(q));
  return ToPaged(std::move(page), q.offset);
}

Status TrackingService::RenameExperiment(const std::string& experiment_id, const std::string& new_name) {
  KILN_RETURN_IF_ERROR(RequireId(experiment_id, "experiment_id"));
  KILN_RETURN_IF_ERROR(ValidateExperimentName(new_name));
  KILN_ASSIGN_OR_RETURN(auto exp, store_.GetExperiment(experiment_id));
  if (exp.lifecycle_stage != storage::kLifecycleActive) {
    return FailedPrecondition("Cannot rename a non-active experiment.");
  }
  return store_.RenameExperiment(experiment_id, new_name, clock_.NowMillis());
}

Status TrackingService::DeleteExperiment(const std::string& experiment_id) {
  KILN_RETURN_IF_ERROR(RequireId(experiment_id, "experiment_id"));
  return store_.SetExperimentLifecycle(experiment_id, storage::kLifecycleDeleted, clock_.NowMillis());
}

Status TrackingService::RestoreExperiment(const std::string& experiment_id) {
  KILN_RETURN_IF_ERROR(RequireId(experiment_id, "experiment_id"));
  return store_.SetExperimentLifecycle(experiment_id, storage::kLifecycleActive, clock_.NowMillis());
}

Status TrackingService::SetExperimentTag(const std::string& experiment_id, const storage::Tag& tag) {
  KILN_RETURN_IF_ERROR(RequireId(experiment_id, "experiment_id"));
  KILN_RETURN_IF_ERROR(RequireId(tag.key, "key"));
  KILN_RETURN_IF_ERROR(ValidateExperimentTag(tag.key, tag.value));
  return store_.SetExperimentTag(experiment_id, tag);
}

Status TrackingService::DeleteExperimentTag(const std::string& experiment_id, const std::string& key) {
  KILN_RETURN_IF_ERROR(RequireId(experiment_id, "experiment_id"));
  KILN_RETURN_IF_ERROR(RequireId(key, "key"));
  return store_.DeleteExperimentTag(experiment_id, key);
}

// ----------------------------------------------------------------------- runs

StatusOr<storage::Run> TrackingService::CreateRun(const std::string& experiment_id, const std::string& user_id,
                                                  const std::string& run_name, std::optional<int64_t> start_time,
                                                  const std::vector<storage::Tag>& tags) {
  std::string exp_id = experiment_id.empty() ? "0" : experiment_id;
  KILN_RETURN_IF_ERROR(ValidateExperimentId(exp_id));
  for (const auto& t : tags) KILN_RETURN_IF_ERROR(ValidateTag(t.key, t.value));
  storage::RunInfo info;
  info.run_id = NewHexId();
  info.experiment_id = exp_id;
  info.user_id = user_id;
  info.start_time = start_time.value_or(clock_.NowMillis());
  info.status = "RUNNING";
  std::string name = run_name;
  std::string tag_name;
  for (const auto& t : tags) {
    if (t.key == kRunNameTag) tag_name = t.value;
  }
  if (!name.empty() && !tag_name.empty() && name != tag_name) {
    return InvalidArgument("Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different "
                           "values (run_name='" + name + "', mlflow.runName='" + tag_name + "').");
  }
  if (name.empty()) name = tag_name.empty() ? RandomRunName() : tag_name;
  info.run_name = name;
  std::vector<storage::Tag> all_tags = tags;
  if (tag_name.empty()) all_tags.push_back({kRunNameTag, name});
  return store_.CreateRun(info, all_tags);
}

StatusOr<storage::Run> TrackingService::GetRun(const std::string& run_id) {
  KILN_RETURN_IF_ERROR(RequireId(run_id, "run_id"));
  KILN_RETURN_IF_ERROR(ValidateRunId(run_id));
  return store_.GetRun(run_id);
}

StatusOr<storage::RunInfo> TrackingService::UpdateRun(const std::string& run_id,
                                                      const std::optional<std::string>& status,
                                                      std::optional<int64_t> end_time,
                                                      const std::optional<std::string>& run_name) {
  KILN_RETURN_IF_ERROR(RequireId(run_id, "run_id"));
  KILN_RETURN_IF_ERROR(ValidateRunId(run_id));
  std::optional<std::string> normalized;
  if (status) {
    KILN_ASSIGN_OR_RETURN(normalized, NormalizeRunStatus(*status));
  }
  std::optional<std::string> name = run_name;
  if (name && name->empty()) name.reset();
  return store_.UpdateRun(run_id, normalized, end_time, name);
}

Status TrackingService::DeleteRun(const std::string& run_id) {
  KILN_RETURN_IF_ERROR(RequireId(run_id, "run_id"));
  return store_.SetRunLifecycle(run_id, storage::kLifecycleDeleted, clock_.NowMillis());
}

Status TrackingService::RestoreRun(const std::string& run_id) {
  KILN_RETURN_IF_ERROR(RequireId(run_id, "run_id"));
  return store_.SetRunLifecycle(run_id, storage::kLifecycleActive, clock_.NowMillis());
}

Status TrackingService::LogMetric(const std::string& run_id, const storage::Metric& metric) {
  return LogBatch(run_id, {metric}, {}, {});
}

Status TrackingService::LogParam(const std::string& run_id, const storage::Param& param) {
  return LogBatch(run_id, {}, {param}, {});
}

Status TrackingService::SetTag(const std::string& run_id, const storage::Tag& tag) {
  return LogBatch(run_id, {}, {}, {tag});
}

Status TrackingService::DeleteTag(const std::string& run_id, const std::string& key) {
  KILN_RETURN_IF_ERROR(RequireId(run_id, "run_id"));
  KILN_RETURN_IF_ERROR(RequireId(key, "key"));
  return store_.DeleteRunTag(run_id, key);
}

Status TrackingService::LogBatch(const std::string& run_id, const std::vector<storage::Metric>& metrics,
                                 const std::vector<storage::Param>& params, const std::vector<storage::Tag>& tags) {
  KILN_RETURN_IF_ERROR(RequireId(run_id, "run_id"));
  KILN_RETURN_IF_ERROR(ValidateRunId(run_id));
  KILN_RETURN_IF_ERROR(ValidateBatchLimits(metrics.size(), params.size(), tags.size()));
  for (size_t i = 0; i < metrics.size(); ++i) {
    const auto& m = metrics[i];
    KILN_RETURN_IF_ERROR(ValidateMetric(m.key, m.value, m.timestamp, m.step, "metrics[" + std::to_string(i) + "]"));
  }
  for (size_t i = 0; i < params.size(); ++i) {
    KILN_RETURN_IF_ERROR(ValidateParam(params[i].key, params[i].value, "params[" + std::to_string(i) + "]"));
  }
  KILN_RETURN_IF_ERROR(ValidateDuplicateParamKeys(params));
  for (size_t i = 0; i < tags.size(); ++i) {
    KILN_RETURN_IF_ERROR(ValidateTag(tags[i].key, tags[i].value, "tags[" + std::to_string(i) + "]"));
  }
  return store_.LogBatch(run_id, metrics, params, tags);
}

Status TrackingService::LogInputs(const std::string& run_id, const std::vector<storage::DatasetInput>& datasets,
                                  const std::vector<storage::ModelInput>& models) {
  KILN_RETURN_IF_ERROR(RequireId(run_id, "run_id"));
  KILN_RETURN_IF_ERROR(ValidateRunId(run_id));
  if (datasets.size() > kMaxDatasetsPerBatch) {
    return InvalidArgument("A batch logging request can contain at most " + std::to_string(kMaxDatasetsPerBatch) +
                           " datasets. Got " + std::to_string(datasets.size()) + " datasets.");
  }
  for (const auto& d : datasets) {
    if (d.dataset.name.empty() || d.dataset.digest.empty() || d.dataset.source_type.empty() ||
        d.dataset.source.empty()) {
      return InvalidArgument("Dataset name, digest, source_type and source are required.");
    }
  }
  return store_.LogInputs(run_id, datasets, models);
}

Status TrackingService::LogOutputs(const std::string& run_id, const std::vector<storage::ModelOutput>& models) {
  KILN_RETURN_IF_ERROR(RequireId(run_id, "run_id"));
  for (const auto& m : models) KILN_RETURN_IF_ERROR(RequireId(m.model_id, "models.model_id"));
  return store_.LogOutputs(run_id, models);
}

StatusOr<PagedResult<storage::Run>> TrackingService::SearchRuns(const SearchRunsRequest& req) {
  storage::RunQuery q;
  q.experiment_ids = req.experiment_ids;
  for (const auto& id : q.experiment_ids) KILN_RETURN_IF_ERROR(ValidateExperimentId(id));
  if (!req.view_type.empty()) {
    KILN_ASSIGN_OR_RETURN(q.view, ParseViewType(req.view_type));
  }
  q.max_results = req.max_results.value_or(kSearchMaxResultsDefault);
  KILN_RETURN_IF_ERROR(ValidateMaxResults(q.max_results));
  KILN_ASSIGN_OR_RETURN(q.filter, ParseRunFilter(req.filter));
  KILN_ASSIGN_OR_RETURN(q.order_by, ParseRunOrderBy(req.order_by));
  KILN_ASSIGN_OR_RETURN(q.offset, OffsetOf(req.page_token));
  if (q.experiment_ids.empty()) return PagedResult<storage::Run>{};
  KILN_ASSIGN_OR_RETURN(auto page, store_.SearchRuns(q));
  return ToPaged(std::move(page), q.offset);
}

StatusOr<PagedResult<storage::Metric>> TrackingService::GetMetricHistory(const std::string& run_id,
                                                                         const std::string& key,
                                                                         std::optional<int64_t> max_results,
                                                                         const std::string& page_token) {
  KILN_RETURN_IF_ERROR(RequireId(run_id, "run_id"));
  KILN_RETURN_IF_ERROR(RequireId(key, "metric_key"));
  KILN_RETURN_IF_ERROR(ValidateRunId(run_id));
  KILN_ASSIGN_OR_RETURN(int64_t offset, OffsetOf(page_token));
  if (max_results && (*max_results < 1)) {
    return InvalidArgument("Invalid value " + std::to_string(*max_results) +
                           " for parameter 'max_results' supplied. It must be a positive integer.");
  }
  int64_t limit = max_results.value_or(std::numeric_limits<int64_t>::max() / 2);
  auto page = store_.GetMetricHistory(run_id, key, offset, limit);
  // MLflow answers the history of an unknown run with an empty list, not 404.
  if (!page.ok() && page.status().code() == StatusCode::kNotFound) return PagedResult<storage::Metric>{};
  if (!page.ok()) return page.status();
  return ToPaged(std::move(page).value(), offset);
}

StatusOr<std::vector<storage::Metric>> TrackingService::GetMetricHistoryBulkInterval(const BulkIntervalRequest& req) {
  if (req.run_ids.empty()) {
    return InvalidArgument(
        "Missing value for required parameter 'run_ids'. See the API docs for more information about request "
        "parameters.");
  }
  if (req.run_ids.size() > kBulkIntervalMaxRuns) {
    return InvalidArgument("GetMetricHistoryBulkInterval request must specify at most " +
                           std::to_string(kBulkIntervalMaxRuns) + " run_ids. Received " +
                           std::to_string(req.run_ids.size()) + " run_ids.");
  }
  KILN_RETURN_IF_ERROR(RequireId(req.metric_key, "metric_key"));
  int64_t max_results = req.max_results.value_or(kBulkIntervalMaxResults);
  if (max_results < 1 || max_results > kBulkIntervalMaxResults) {
    return InvalidArgument("max_results must be between 1 and " + std::to_string(kBulkIntervalMaxResults) + ".");
  }
  if (req.start_step && req.end_step && *req.start_step > *req.end_step) {
    return InvalidArgument("end_step must be greater than start_step. Found start_step=" +
                           std::to_string(*req.start_step) + " and end_step=" + std::to_string(*req.end_step) + ".");
  }
  if (req.start_step.has_value() != req.end_step.has_value()) {
    return InvalidArgument("If either start step or end step are specified, both must be specified.");
  }
  std::vector<storage::Metric> out;
  for (const auto& run_id : req.run_ids) {
    KILN_RETURN_IF_ERROR(ValidateRunId(run_id));
    KILN_RETURN_IF_ERROR(store_.GetRun(run_id).status());
    KILN_ASSIGN_OR_RETURN(auto page, store_.GetMetricHistory(run_id, req.metric_key, 0,
                                                             std::numeric_limits<int64_t>::max() / 2,
                                                             req.start_step, req.end_step));
    // Sample each run's steps evenly, always keeping its first and last.
    std::set<int64_t> steps;
    for (const auto& m : page.items) steps.insert(m.step);
    std::vector<int64_t> all(steps.begin(), steps.end());
    std::set<int64_t> chosen;
    if (static_cast<int64_t>(all.size()) <= max_results) {
      chosen = std::move(steps);
    } else if (max_results == 1) {
      chosen.insert(all.front());
    } else {
      const double stride = static_cast<double>(all.size() - 1) / static_cast<double>(max_results - 1);
      for (int64_t i = 0; i < max_results; ++i) {
        size_t idx = static_cast<size_t>(static_cast<double>(i) * stride + 0.5);
        chosen.insert(all[std::min(idx, all.size() - 1)]);
      }
      chosen.insert(all.back());
    }
    for (auto& m : page.items) {
      if (!chosen.count(m.step)) continue;
      m.run_id = run_id;
      out.push_back(std::move(m));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const storage::Metric& a, const storage::Metric& b) {
    if (a.run_id != b.run_id) return a.run_id < b.run_id;
    return a.step < b.step;
  });
  return out;
}

// -------------------------------------------------------------- logged models

StatusOr<storage::LoggedModel> TrackingService::CreateLoggedModel(const std::string& experiment_id,
                                                                  const std::string& name,
                                                                  const std::string& model_type,
                                                                  const std::string& source_run_id,
                                                                  const std::vector<storage::Tag>& tags,
                                                                  const std::vector<storage::Param>& params) {
  KILN_RETURN_IF_ERROR(RequireId(experiment_id, "experiment_id"));
  KILN_RETURN_IF_ERROR(ValidateExperimentId(experiment_id));
  for (const auto& t : tags) KILN_RETURN_IF_ERROR(ValidateTag(t.key, t.value));
  for (const auto& p : params) KILN_RETURN_IF_ERROR(ValidateParam(p.key, p.value));
  storage::LoggedModel m;
  m.model_id = "m-" + NewHexId();
  m.experiment_id = experiment_id;
  m.name = name.empty() ? RandomRunName() : name;
  m.model_type = model_type;
  m.source_run_id = source_run_id;
  m.creation_timestamp = m.last_updated_timestamp = clock_.NowMillis();
  m.status = "LOGGED_MODEL_PENDING";
  m.tags = tags;
  m.params = params;
  return store_.CreateLoggedModel(m);
}

StatusOr<storage::LoggedModel> TrackingService::GetLoggedModel(const std::string& model_id, bool allow_deleted) {
  KILN_RETURN_IF_ERROR(RequireId(model_id, "model_id"));
  KILN_ASSIGN_OR_RETURN(auto m, store_.GetLoggedModel(model_id));
  if (!allow_deleted && m.lifecycle_stage == storage::kLifecycleDeleted) {
    return NotFound("Logged model with ID '" + model_id + "' not found.");
  }
  return m;
}

StatusOr<storage::LoggedModel> TrackingService::FinalizeLoggedModel(const std::string& model_id,
                                                                    const std::string& status) {
  KILN_RETURN_IF_ERROR(RequireId(model_id, "model_id"));
  std::string s = status;
  if (s == "2" || s == "READY") s = "LOGGED_MODEL_READY";
  if (s == "3" || s == "UPLOAD_FAILED") s = "LOGGED_MODEL_UPLOAD_FAILED";
  if (s != "LOGGED_MODEL_READY" && s != "LOGGED_MODEL_UPLOAD_FAILED") {
    return InvalidArgument("Invalid model status '" + status +
                           "'. Expected LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED.");
  }
  return store_.FinalizeLoggedModel(model_id, s, clock_.NowMillis());
}

Status TrackingService::DeleteLoggedModel(const std::string& model_id) {
  KILN_RETURN_IF_ERROR(RequireId(model_id, "model_id"));
  return store_.DeleteLoggedModel(model_id, clock_.NowMillis());
}

Status TrackingService::SetLoggedModelTags(const std::string& model_id, const std::vector<storage::Tag>& tags) {
  KILN_RETURN_IF_ERROR(RequireId(model_id, "model_id"));
  // MLflow limits logged-model tag names but not their values: the registry's
  // mlflow.modelVersions tag grows with every version registered from the model.
  for (const auto& t : tags) KILN_RETURN_IF_ERROR(ValidateTagName(t.key));
  return store_.SetLoggedModelTags(model_id, tags);
}

Status TrackingService::DeleteLoggedModelTag(const std::string& model_id, const std::string& key) {
  KILN_RETURN_IF_ERROR(RequireId(model_id, "model_id"));
  KILN_RETURN_IF_ERROR(RequireId(key, "tag_key"));
  return store_.DeleteLoggedModelTag(model_id, key);
}

Status TrackingService::LogLoggedModelParams(const std::string& model_id, const std::vector<storage::Param>& params) {
  KILN_RETURN_IF_ERROR(RequireId(model_id, "model_id"));
  for (const auto& p : params) KILN_RETURN_IF_ERROR(ValidateParam(p.key, p.value));
  return store_.LogLoggedModelParams(model_id, params);
}

StatusOr<PagedResult<storage::LoggedModel>> TrackingService::SearchLoggedModels(const SearchLoggedModelsRequest& req) {
  storage::LoggedModelQuery q;
  q.experiment_ids = req.experiment_ids;
  if (q.experiment_ids.empty()) return InvalidArgument("experiment_ids must be specified.");
  q.max_results = req.max_results.value_or(kSearchLoggedModelMaxResultsDefault);
  KILN_RETURN_IF_ERROR(ValidateMaxResults(q.max_results));
  for (const auto& d : req.datasets) {
    if (d.name.empty()) return InvalidArgument("`dataset_name` in the `datasets` clause must be specified.");
  }
  q.datasets = req.datasets;
  KILN_ASSIGN_OR_RETURN(q.filter, ParseLoggedModelFilter(req.filter));
  KILN_ASSIGN_OR_RETURN(q.order_by, ParseLoggedModelOrderBy(req.order_by));
  KILN_ASSIGN_OR_RETURN(q.offset, OffsetOf(req.page_token));
  KILN_ASSIGN_OR_RETURN(auto page, store_.SearchLoggedModels(q));
  return ToPaged(std::move(page), q.offset);
}

}  // namespace kiln::tracking
