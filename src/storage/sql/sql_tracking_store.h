// SqlTrackingStore: MLflow tracking (experiments, runs, metrics, logged
// models) over any sql::Database (SQLite or PostgreSQL), in the portable SQL
// of storage/sql/sql_conn.h.
//
// Ownership: borrows the Database (whoever opened it owns it and destroys it
// after the store).
// Thread-safety: every method is thread-safe. Writes go through the
// Database's Write (SQLite: group commit), reads through Read (one consistent
// snapshot per call), in parallel with writes.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "storage/sql/sql_conn.h"
#include "storage/tracking_store.h"

namespace kiln::storage {

class SqlTrackingStore final : public TrackingStore {
 public:
  // Adds the "Default" experiment (id 0, artifacts under
  // <default_artifact_root>/0) to a database that has no experiment yet.
  static StatusOr<std::unique_ptr<SqlTrackingStore>> Create(
      sql::Database& db, const std::string& default_artifact_root = "mlflow-artifacts:");
  ~SqlTrackingStore() override;

  Status Ping() override;

  StatusOr<std::string> CreateExperiment(const std::string& name,
                                         const std::string& artifact_location,
                                         const std::string& default_artifact_root,
                                         const std::vector<Tag>& tags, int64_t now_ms) override;
  StatusOr<Experiment> GetExperiment(const std::string& experiment_id) override;
  StatusOr<Experiment> GetExperimentByName(const std::string& name) override;
  StatusOr<Page<Experiment>> SearchExperiments(const ExperimentQuery& query) override;
  Status RenameExperiment(const std::string& experiment_id, const std::string& new_name,
                          int64_t now_ms) override;
  Status SetExperimentLifecycle(const std::string& experiment_id, const std::string& stage,
                                int64_t now_ms) override;
  Status SetExperimentTag(const std::string& experiment_id, const Tag& tag) override;
  Status DeleteExperimentTag(const std::string& experiment_id, const std::string& key) override;

  StatusOr<Run> CreateRun(const RunInfo& info, const std::vector<Tag>& tags) override;
  StatusOr<Run> GetRun(const std::string& run_id) override;
  StatusOr<RunInfo> UpdateRun(const std::string& run_id, const std::optional<std::string>& status,
                              const std::optional<int64_t>& end_time,
                              const std::optional<std::string>& run_name) override;
  Status SetRunLifecycle(const std::string& run_id, const std::string& stage,
                         int64_t now_ms) override;
  Status LogBatch(const std::string& run_id, const std::vector<Metric>& metrics,
                  const std::vector<Param>& params, const std::vector<Tag>& tags) override;
  Status DeleteRunTag(const std::string& run_id, const std::string& key) override;
  Status LogInputs(const std::string& run_id, const std::vector<DatasetInput>& datasets,
                   const std::vector<ModelInput>& models) override;
  Status LogOutputs(const std::string& run_id, const std::vector<ModelOutput>& models) override;
  StatusOr<Page<Run>> SearchRuns(const RunQuery& query) override;
  StatusOr<Page<Metric>> GetMetricHistory(const std::string& run_id, const std::string& key,
                                          int64_t offset, int64_t max_results,
                                          std::optional<int64_t> start_step = {},
                                          std::optional<int64_t> end_step = {}) override;

  StatusOr<LoggedModel> CreateLoggedModel(const LoggedModel& model) override;
  StatusOr<LoggedModel> GetLoggedModel(const std::string& model_id) override;
  StatusOr<LoggedModel> FinalizeLoggedModel(const std::string& model_id, const std::string& status,
                                            int64_t now_ms) override;
  Status DeleteLoggedModel(const std::string& model_id, int64_t now_ms) override;
  Status SetLoggedModelTags(const std::string& model_id, const std::vector<Tag>& tags) override;
  Status DeleteLoggedModelTag(const std::string& model_id, const std::string& key) override;
  Status LogLoggedModelParams(const std::string& model_id,
                              const std::vector<Param>& params) override;
  StatusOr<Page<LoggedModel>> SearchLoggedModels(const LoggedModelQuery& query) override;

  // The database behind this store, shared with the other stores.
  sql::Database& database() { return db_; }

 private:
  using TxnFn = std::function<Status(sql::Conn&)>;

  explicit SqlTrackingStore(sql::Database& db) : db_(db) {}
  Status Write(const TxnFn& fn);
  // Database::WriteCommitted: for the run writes, whose duplicates the
  // constraints catch.
  Status WriteCommitted(const TxnFn& fn);
  Status Read(const TxnFn& fn);

  sql::Database& db_;
};

}  // namespace kiln::storage
