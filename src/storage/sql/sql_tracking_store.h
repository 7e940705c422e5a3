// SqliteTrackingStore: the embedded (SQLite) implementation of TrackingStore.
//
// Ownership: owns the sqlite::Database (one write connection with group commit
// and a pool of read connections); both are closed when the store is destroyed.
// Thread-safety: every method is thread-safe. Writes go through the
// Database's group commit; reads take a pooled read connection for one call
// and run inside a read transaction (a consistent WAL snapshot), in parallel
// with writes.
#pragma once

#include <functional>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <string>

#include "core/status.h"
#include "storage/sql/sql_conn.h"
#include "storage/tracking_store.h"

namespace kiln::storage {

namespace sqlite {
class SqliteConn;
class ReadPool;
class Database;
}  // namespace sqlite

struct SqliteOptions {
  // Upgrade an older schema when opening; if false an older schema is
  // FailedPrecondition (the operator runs `kiln migrate`).
  bool migrate_on_open = true;
  int read_connections = 4;
  // Root for the "Default" experiment (id 0) of a new database: <root>/0.
  std::string default_artifact_root = "mlflow-artifacts:";
};

// Highest schema version this build creates.
int LatestSqliteSchemaVersion();
// Schema version of the database file at `db_path` (0 if never migrated or
// the file does not exist; the probe never creates the file).
StatusOr<int> SqliteSchemaVersion(const std::string& db_path);
// Upgrades the database at `db_path` to LatestSqliteSchemaVersion().
Status MigrateSqlite(const std::string& db_path);

class SqliteTrackingStore final : public TrackingStore {
 public:
  static StatusOr<std::unique_ptr<SqliteTrackingStore>> Create(const std::string& db_path,
                                                               const SqliteOptions& opts);
  ~SqliteTrackingStore() override;

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

 // The database file behind this store, shared with the registry store
  // (which must be destroyed first).
  sqlite::Database& database() { return *db_; }

 private:
  using TxnFn = std::function<Status(sql::Conn&)>;

  explicit SqliteTrackingStore(std::unique_ptr<sqlite::Database> db);
  Status Write(const TxnFn& fn);
  Status Read(const TxnFn& fn);

  std::unique_ptr<sqlite::Database> db_;
};

}  // namespace kiln::storage
