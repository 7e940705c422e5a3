// SqliteTrackingStore: the embedded (SQLite) implementation of TrackingStore.
//
// Ownership: owns one write connection and a pool of read connections to the
// database file; both are closed when the store is destroyed.
// Thread-safety: every method is thread-safe. Writes are serialised by a mutex
// around the write connection, each inside BEGIN IMMEDIATE ... COMMIT; reads
// take a pooled read connection for the duration of one call and run inside a
// read transaction (a consistent WAL snapshot), in parallel with writes.
#pragma once

#include <functional>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <string>

#include "core/status.h"
#include "storage/tracking_store.h"

namespace kiln::storage {

namespace sqlite {
class SqliteConn;
class ReadPool;
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

 private:
  using TxnFn = std::function<Status(sqlite::SqliteConn&)>;

  SqliteTrackingStore(std::unique_ptr<sqlite::SqliteConn> writer,
                      std::unique_ptr<sqlite::ReadPool> readers);
  // Applies fn atomically on the write connection and returns its status.
  // Group commit: concurrent writers queue up; whichever thread finds no
  // commit in progress becomes the leader and runs every queued fn in one
  // BEGIN IMMEDIATE ... COMMIT, each inside its own SAVEPOINT, so a failing
  // fn rolls back alone while the others share one commit. Catches exceptions.
  Status Write(const TxnFn& fn);
  // Runs fn inside a read transaction on a pooled read connection.
  Status Read(const TxnFn& fn);

  struct PendingWrite {
    const TxnFn* fn;
    Status result;
    bool done = false;
  };
  // Runs one group on the write connection; called by the leader only.
  void CommitGroup(const std::vector<PendingWrite*>& group);

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<PendingWrite*> queue_;  // guarded by queue_mu_
  bool leader_active_ = false;        // guarded by queue_mu_
  std::unique_ptr<sqlite::SqliteConn> writer_;  // used only by the current leader
  std::unique_ptr<sqlite::ReadPool> readers_;
};

}  // namespace kiln::storage
