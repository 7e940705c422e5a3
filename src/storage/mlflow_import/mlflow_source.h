// MlflowSource: an MLflow tracking store read as import records. Two
// implementations: SqlSource (MLflow's SQLAlchemy schema, 2.x or 3.x, in
// SQLite or PostgreSQL) and FileStoreSource (an mlruns folder).
//
// Runs and logged models are listed by id first and then read in id-ordered
// chunks, so an import can commit chunk by chunk and resume after the last
// committed id.
//
// Thread-safety: none; the importer is one thread.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "storage/mlflow_import/records.h"

namespace kiln::storage::mlflow_import {

class MlflowSource {
 public:
  virtual ~MlflowSource() = default;
  // "MLflow SQL schema <alembic revision>" or "mlruns file store".
  virtual std::string Describe() const = 0;
  // Every experiment (deleted ones included), ordered by id.
  virtual StatusOr<std::vector<ExperimentRec>> Experiments() = 0;
  virtual StatusOr<std::vector<DatasetRec>> Datasets() = 0;
  // Ascending (bytewise).
  virtual StatusOr<std::vector<std::string>> RunIds() = 0;
  // The runs `ids` (a contiguous slice of RunIds()), in that order.
  virtual StatusOr<std::vector<RunRec>> Runs(const std::vector<std::string>& ids) = 0;
  virtual StatusOr<std::vector<std::string>> LoggedModelIds() = 0;
  virtual StatusOr<std::vector<LoggedModelRec>> LoggedModels(const std::vector<std::string>& ids) = 0;
  // Ordered by name, versions ascending.
  virtual StatusOr<std::vector<RegisteredModelRec>> RegisteredModels() = 0;
};

}  // namespace kiln::storage::mlflow_import
