// TrackingService: experiment tracking's rules — validation, defaults, ids,
// paging tokens — on top of a TrackingStore. It knows nothing of HTTP or of
// any SQL dialect; API adapters translate their protocol into these calls.
//
// Thread-safe if the store is (every TrackingStore is). Borrows the store and
// clock, which must outlive it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "storage/tracking_store.h"
#include "tracking/search_filter_parser.h"

namespace kiln::tracking {

template <typename T>
struct PagedResult {
  std::vector<T> items;
  std::string next_page_token;  // empty on the last page
};

struct SearchRunsRequest {
  std::vector<std::string> experiment_ids;
  std::string filter;
  std::string view_type;  // ACTIVE_ONLY (default), DELETED_ONLY, ALL
  std::optional<int64_t> max_results;
  std::vector<std::string> order_by;
  std::string page_token;
};

struct SearchExperimentsRequest {
  std::string filter;
  std::string view_type;
  std::optional<int64_t> max_results;
  std::vector<std::string> order_by;
  std::string page_token;
  // ANDed to the parsed filter inside the query (authorization: only the
  // experiments the caller may see), so pages and tokens count only those.
  std::vector<storage::FilterClause> scope;
};

struct SearchLoggedModelsRequest {
  std::vector<std::string> experiment_ids;
  std::string filter;
  std::optional<int64_t> max_results;
  std::vector<LoggedModelOrderField> order_by;
  std::vector<storage::DatasetScope> datasets;
  std::string page_token;
};

struct BulkIntervalRequest {
  std::vector<std::string> run_ids;
  std::string metric_key;
  std::optional<int64_t> start_step;
  std::optional<int64_t> end_step;
  std::optional<int64_t> max_results;
};

class TrackingService {
 public:
  TrackingService(storage::TrackingStore& store, const Clock& clock);

  // Experiments.
  StatusOr<std::string> CreateExperiment(const std::string& name, const std::string& artifact_location,
                                         const std::vector<storage::Tag>& tags,
                                         const std::string& default_artifact_root);
  StatusOr<storage::Experiment> GetExperiment(const std::string& experiment_id);
  StatusOr<storage::Experiment> GetExperimentByName(const std::string& name);
  StatusOr<PagedResult<storage::Experiment>> SearchExperiments(const SearchExperimentsRequest& req);
  Status RenameExperiment(const std::string& experiment_id, const std::string& new_name);
  Status DeleteExperiment(const std::string& experiment_id);
  Status RestoreExperiment(const std::string& experiment_id);
  Status SetExperimentTag(const std::string& experiment_id, const storage::Tag& tag);
  Status DeleteExperimentTag(const std::string& experiment_id, const std::string& key);

  // Runs.
  StatusOr<storage::Run> CreateRun(const std::string& experiment_id, const std::string& user_id,
                                   const std::string& run_name, std::optional<int64_t> start_time,
                                   const std::vector<storage::Tag>& tags);
  StatusOr<storage::Run> GetRun(const std::string& run_id);
  StatusOr<storage::RunInfo> UpdateRun(const std::string& run_id, const std::optional<std::string>& status,
                                       std::optional<int64_t> end_time, const std::optional<std::string>& run_name);
  Status DeleteRun(const std::string& run_id);
  Status RestoreRun(const std::string& run_id);
  Status LogMetric(const std::string& run_id, const storage::Metric& metric);
  Status LogParam(const std::string& run_id, const storage::Param& param);
  Status SetTag(const std::string& run_id, const storage::Tag& tag);
  Status DeleteTag(const std::string& run_id, const std::string& key);
  Status LogBatch(const std::string& run_id, const std::vector<storage::Metric>& metrics,
                  const std::vector<storage::Param>& params, const std::vector<storage::Tag>& tags);
  Status LogInputs(const std::string& run_id, const std::vector<storage::DatasetInput>& datasets,
                   const std::vector<storage::ModelInput>& models);
  Status LogOutputs(const std::string& run_id, const std::vector<storage::ModelOutput>& models);
  StatusOr<PagedResult<storage::Run>> SearchRuns(const SearchRunsRequest& req);

  // Metric history: all points when max_results is unset, else pages.
  StatusOr<PagedResult<storage::Metric>> GetMetricHistory(const std::string& run_id, const std::string& key,
                                                          std::optional<int64_t> max_results,
                                                          const std::string& page_token);
  // Points of one metric across runs, sampled to at most max_results steps.
  StatusOr<std::vector<storage::Metric>> GetMetricHistoryBulkInterval(const BulkIntervalRequest& req);

  // Logged models (MLflow 3).
  StatusOr<storage::LoggedModel> CreateLoggedModel(const std::string& experiment_id, const std::string& name,
                                                   const std::string& model_type, const std::string& source_run_id,
                                                   const std::vector<storage::Tag>& tags,
                                                   const std::vector<storage::Param>& params);
  StatusOr<storage::LoggedModel> GetLoggedModel(const std::string& model_id, bool allow_deleted);
  StatusOr<storage::LoggedModel> FinalizeLoggedModel(const std::string& model_id, const std::string& status);
  Status DeleteLoggedModel(const std::string& model_id);
  Status SetLoggedModelTags(const std::string& model_id, const std::vector<storage::Tag>& tags);
  Status DeleteLoggedModelTag(const std::string& model_id, const std::string& key);
  Status LogLoggedModelParams(const std::string& model_id, const std::vector<storage::Param>& params);
  StatusOr<PagedResult<storage::LoggedModel>> SearchLoggedModels(const SearchLoggedModelsRequest& req);

 private:
  storage::TrackingStore& store_;
  const Clock& clock_;
};

// Opaque page tokens (base64 of {"offset": N}, as MLflow's own).
std::string EncodePageToken(int64_t offset);
StatusOr<int64_t> DecodePageToken(const std::string& token);

// A random readable run name such as "brave-heron-417".
std::string RandomRunName();

}  // namespace kiln::tracking
