// Internal helpers of SqlTrackingStore: entity lookups with MLflow-style
// errors and set-based loaders that turn row ids into full entities.
//
// Free functions over a caller-provided connection (inside the caller's
// transaction); not synchronised themselves.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/sql/sql_conn.h"
#include "storage/tracking_entities.h"

namespace kiln::storage::sql {

inline constexpr const char* kRunNameTag = "mlflow.runName";

struct ExperimentRef {
  int64_t id = 0;
  std::string lifecycle_stage;
  std::string artifact_location;
};

struct RunRef {
  int64_t pk = 0;
  int64_t experiment_id = 0;
  std::string lifecycle_stage;
};

// NotFound "Experiment with id '<id>' does not exist."
StatusOr<ExperimentRef> FindExperiment(sql::Conn& c, const std::string& experiment_id);
// Same, plus FailedPrecondition when the experiment is not active.
StatusOr<ExperimentRef> FindActiveExperiment(sql::Conn& c, const std::string& experiment_id);
// NotFound "Run with id=<id> not found".
StatusOr<RunRef> FindRun(sql::Conn& c, const std::string& run_id);
// Same, plus FailedPrecondition "The run <id> must be in the 'active' state...".
StatusOr<RunRef> FindActiveRun(sql::Conn& c, const std::string& run_id);

// Loads complete entities for the given ids, preserving the input order.
StatusOr<std::vector<Experiment>> LoadExperiments(sql::Conn& c, const std::vector<int64_t>& ids);
StatusOr<std::vector<Run>> LoadRuns(sql::Conn& c, const std::vector<int64_t>& run_pks);
StatusOr<std::vector<LoggedModel>> LoadLoggedModels(sql::Conn& c,
                                                    const std::vector<std::string>& ids);
StatusOr<RunInfo> LoadRunInfo(sql::Conn& c, int64_t run_pk);

// Metric values: NaN is stored as value 0 with is_nan = 1.
inline double StoredMetricValue(double v) { return v != v ? 0.0 : v; }
double DecodeMetricValue(double stored, bool is_nan);

}  // namespace kiln::storage::sql
