// SqlSource: MLflow's SQLAlchemy schema (MLflow 2.x and 3.x; SQLite or
// PostgreSQL behind sql::Database) read as import records. Optional tables
// and columns (datasets, logged models, aliases, inputs.step, workspaces) are
// detected, not assumed from a revision list.
//
// Value decoding follows MLflow's SqlAlchemyStore: a metric with is_nan is
// NaN; +-1.7976931348623157e308 is how it stores +-inf (so a logged +-DBL_MAX
// also comes back as +-inf: MLflow itself cannot tell them apart); a NULL
// logged-model metric value is NaN (MLflow writes NaN there as 0, which no
// reader can undo).
//
// Metric points are read by one sequential scan of `metrics` (MetricScan)
// on the first Runs() call, not per chunk.
//
// Ownership: borrows the database, which must outlive it.
// Thread-safety: none.
#pragma once

#include <memory>

#include "storage/mlflow_import/metric_scan.h"
#include "storage/mlflow_import/mlflow_source.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage::mlflow_import {

class SqlSource final : public MlflowSource {
 public:
  // FailedPrecondition when it is not an MLflow tracking database, or when it
  // holds several MLflow workspaces (kiln has one namespace).
  static StatusOr<std::unique_ptr<SqlSource>> Create(sql::Database& db);

  std::string Describe() const override;
  StatusOr<std::vector<ExperimentRec>> Experiments() override;
  StatusOr<std::vector<DatasetRec>> Datasets() override;
  StatusOr<std::vector<std::string>> RunIds() override;
  StatusOr<std::vector<RunRec>> Runs(const std::vector<std::string>& ids) override;
  StatusOr<std::vector<std::string>> LoggedModelIds() override;
  StatusOr<std::vector<LoggedModelRec>> LoggedModels(const std::vector<std::string>& ids) override;
  StatusOr<std::vector<RegisteredModelRec>> RegisteredModels() override;

  // Metric points held in memory at once while bucketing the metrics table
  // by run (32 bytes each; see MetricScan). Set before the first Runs().
  void set_metric_scan_budget(int64_t points) { scan_budget_ = points; }
  // How long the metrics scans took, and how many there were.
  double metric_scan_seconds() const { return scan_ ? scan_->scan_seconds() : 0; }
  int64_t metric_scans() const { return scan_ ? scan_->scans() : 0; }

 private:
  struct Schema {
    std::string revision;
    bool datasets = false;
    bool inputs_step = false;
    bool logged_models = false;
    bool aliases = false;
    bool registry = false;
    bool experiment_times = false;
    bool run_deleted_time = false;
  };
  SqlSource(sql::Database& db, Schema schema) : db_(db), schema_(std::move(schema)) {}

  sql::Database& db_;
  Schema schema_;
  int64_t scan_budget_ = int64_t{128} << 20;
  std::vector<std::string> run_ids_;   // as RunIds() returned them
  std::unique_ptr<MetricScan> scan_;  // made by the first Runs()
};

// Users of MLflow's basic-auth database (`basic_auth.db`) with their
// experiment and registered-model permissions as kiln grants (READ viewer,
// EDIT editor, MANAGE manager, NO_PERMISSIONS none): the per-user tables of
// MLflow 2 and the role permissions of MLflow 3 (copied to each user of the
// role; the strongest grant per object wins). Permissions kiln cannot express
// are listed in `notes`. Password hashes are not read: they are werkzeug
// hashes kiln does not verify.
StatusOr<std::vector<UserRec>> ReadMlflowAuthUsers(sql::Database& db, std::vector<std::string>* notes);

// true when `table` exists (and has `column`, when given).
StatusOr<bool> HasTable(sql::Conn& c, const std::string& table, const std::string& column = "");

}  // namespace kiln::storage::mlflow_import
