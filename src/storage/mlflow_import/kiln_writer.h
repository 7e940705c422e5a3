// Writes import records into kiln's metadata tables the way kiln's own stores
// would (see storage/sqlite/migrations.cc for the tables and
// sqlite_store_runs.cc for the derived ones): metric points with NaN as value
// 0 + is_nan and +-inf as real infinities, latest_metrics as the greatest
// (step, timestamp, value) per key, run names mirrored from mlflow.runName,
// registry versions as external references (kiln never deletes files it does
// not own), users without a password.
//
// Every function runs inside the caller's transaction and uses only portable
// SQL (sql_conn.h rules) with cached statements.
#pragma once

#include <string>
#include <vector>

#include "storage/mlflow_import/records.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage::mlflow_import {

// FailedPrecondition unless the target holds no runs, logged models,
// registered models, or experiments besides kiln's own untouched Default.
Status CheckTargetEmpty(sql::Conn& c);
// Removes kiln's Default experiment (id 0, no runs) so MLflow's own
// experiment 0 or one named "Default" can take its place.
Status DropKilnDefaultExperiment(sql::Conn& c, const std::vector<ExperimentRec>& incoming);

Status WriteExperiments(sql::Conn& c, const std::vector<ExperimentRec>& experiments,
                        const std::vector<DatasetRec>& datasets);
// Metrics of each run must be deduplicated and sorted (key, step, timestamp,
// value) first (see NormalizeMetrics).
Status WriteRuns(sql::Conn& c, const std::vector<RunRec>& runs);
Status WriteLoggedModels(sql::Conn& c, const std::vector<LoggedModelRec>& models);
// `next_versions[i]` is the next version number model i hands out (MLflow
// never reuses the number of a deleted version).
Status WriteRegistry(sql::Conn& c, const std::vector<RegisteredModelRec>& models,
                     const std::vector<int64_t>& next_versions);
// Users whose name already exists in kiln are skipped with their grants
// (importing would change an existing account); their names are returned.
StatusOr<std::vector<std::string>> WriteUsers(sql::Conn& c, const std::vector<UserRec>& users, int64_t now_ms);

// Sorts in kiln's primary-key order and drops exact duplicates (an mlruns
// metric file may repeat a point; kiln keeps one); returns how many it dropped.
int64_t NormalizeMetrics(std::vector<MetricRec>& metrics);

}  // namespace kiln::storage::mlflow_import
