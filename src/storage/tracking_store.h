// TrackingStore: the metadata store behind experiment tracking. The tracking
// service depends only on this interface; SQLite (embedded) implements it
// today and PostgreSQL can follow without touching the service.
//
// Contract for every implementation:
// - each call is one transaction: it applies completely or not at all;
// - thread-safe: any number of threads may call concurrently;
// - errors: NotFound for unknown ids (message names the id the way MLflow
//   does, e.g. "Run with id=abc not found"), AlreadyExists for a duplicate
//   experiment name, InvalidArgument for a param re-logged with a different
//   value, FailedPrecondition when writing to a deleted run or experiment,
//   Unavailable/Internal when the database fails.
// Validation of names, lengths and batch sizes is the service's job, not the
// store's; the store trusts its caller on those.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/search_query.h"
#include "storage/tracking_entities.h"

namespace kiln::storage {

template <typename T>
struct Page {
  std::vector<T> items;
  bool has_more = false;  // another page exists after this one
};

class TrackingStore {
 public:
  virtual ~TrackingStore() = default;

  // Cheap liveness probe used by /health.
  virtual Status Ping() = 0;

  // --- experiments ---
  // If artifact_location is empty it becomes default_artifact_root + "/" + id.
  virtual StatusOr<std::string> CreateExperiment(const std::string& name,
                                                 const std::string& artifact_location,
                                                 const std::string& default_artifact_root,
                                                 const std::vector<Tag>& tags, int64_t now_ms) = 0;
  virtual StatusOr<Experiment> GetExperiment(const std::string& experiment_id) = 0;
  virtual StatusOr<Experiment> GetExperimentByName(const std::string& name) = 0;
  virtual StatusOr<Page<Experiment>> SearchExperiments(const ExperimentQuery& query) = 0;
  virtual Status RenameExperiment(const std::string& experiment_id, const std::string& new_name,
                                  int64_t now_ms) = 0;
  // Deleting an experiment also marks its runs deleted; restoring restores them.
  virtual Status SetExperimentLifecycle(const std::string& experiment_id,
                                        const std::string& stage, int64_t now_ms) = 0;
  virtual Status SetExperimentTag(const std::string& experiment_id, const Tag& tag) = 0;
  virtual Status DeleteExperimentTag(const std::string& experiment_id, const std::string& key) = 0;

  // --- runs ---
  // info.run_id is chosen by the caller; artifact_uri is derived by the store
  // as <experiment artifact_location>/<run_id>/artifacts. The experiment must
  // exist and be active.
  virtual StatusOr<Run> CreateRun(const RunInfo& info, const std::vector<Tag>& tags) = 0;
  virtual StatusOr<Run> GetRun(const std::string& run_id) = 0;
  // Unset fields stay as they are. A new run_name also sets tag mlflow.runName.
  virtual StatusOr<RunInfo> UpdateRun(const std::string& run_id,
                                      const std::optional<std::string>& status,
                                      const std::optional<int64_t>& end_time,
                                      const std::optional<std::string>& run_name) = 0;
  virtual Status SetRunLifecycle(const std::string& run_id, const std::string& stage,
                                 int64_t now_ms) = 0;
  // Metrics are appended (an identical point is stored once) and update the
  // latest value per key (greatest step, then timestamp, then value). Params
  // are insert-once: the same value again is fine, a different value is
  // InvalidArgument. Tags are upserts; tag mlflow.runName also renames the run.
  virtual Status LogBatch(const std::string& run_id, const std::vector<Metric>& metrics,
                          const std::vector<Param>& params, const std::vector<Tag>& tags) = 0;
  virtual Status DeleteRunTag(const std::string& run_id, const std::string& key) = 0;
  virtual Status LogInputs(const std::string& run_id, const std::vector<DatasetInput>& datasets,
                           const std::vector<ModelInput>& models) = 0;
  virtual Status LogOutputs(const std::string& run_id, const std::vector<ModelOutput>& models) = 0;
  virtual StatusOr<Page<Run>> SearchRuns(const RunQuery& query) = 0;

  // All points of one metric of one run, ordered by step, timestamp, value;
  // paged by offset. Steps limit the range when given (inclusive).
  virtual StatusOr<Page<Metric>> GetMetricHistory(const std::string& run_id,
                                                  const std::string& key, int64_t offset,
                                                  int64_t max_results,
                                                  std::optional<int64_t> start_step = {},
                                                  std::optional<int64_t> end_step = {}) = 0;

  // --- logged models (MLflow 3) ---
  // model.model_id is chosen by the caller; artifact_uri derived by the store as
  // <experiment artifact_location>/models/<model_id>/artifacts.
  virtual StatusOr<LoggedModel> CreateLoggedModel(const LoggedModel& model) = 0;
  virtual StatusOr<LoggedModel> GetLoggedModel(const std::string& model_id) = 0;
  virtual StatusOr<LoggedModel> FinalizeLoggedModel(const std::string& model_id,
                                                    const std::string& status, int64_t now_ms) = 0;
  virtual Status DeleteLoggedModel(const std::string& model_id, int64_t now_ms) = 0;
  virtual Status SetLoggedModelTags(const std::string& model_id, const std::vector<Tag>& tags) = 0;
  virtual Status DeleteLoggedModelTag(const std::string& model_id, const std::string& key) = 0;
  virtual Status LogLoggedModelParams(const std::string& model_id,
                                      const std::vector<Param>& params) = 0;
  virtual StatusOr<Page<LoggedModel>> SearchLoggedModels(const LoggedModelQuery& query) = 0;
};

}  // namespace kiln::storage
