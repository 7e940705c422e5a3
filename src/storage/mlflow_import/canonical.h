// The canonical rows of every imported table, as the source records spell
// them (after URI mapping) and as kiln's tables spell them, so one digest
// definition serves both sides of the import report.
//
// Stateless functions.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>

#include "storage/mlflow_import/digest.h"
#include "storage/mlflow_import/records.h"
#include "storage/sql/sql_conn.h"

namespace kiln::storage::mlflow_import {

using Digests = std::map<std::string, TableDigest>;

// The table names, in report order.
const std::vector<std::string>& ReportTables();

void DigestExperiment(const ExperimentRec& e, Digests& d);
void DigestDataset(const DatasetRec& ds, Digests& d);
// `run` as it is written: effective name, mapped URI, metrics deduplicated.
void DigestRun(const RunRec& run, Digests& d);
void DigestLoggedModel(const LoggedModelRec& m, Digests& d);
// Versions kept (MLflow's Deleted_Internal ones already removed).
void DigestRegisteredModel(const RegisteredModelRec& m, Digests& d);
void DigestUser(const UserRec& u, Digests& d);

// Reads kiln's tables back into digests; users and grants only for names in
// `user_names` (a target may hold kiln users of its own).
Status DigestTarget(sql::Conn& c, const std::set<std::string>& user_names, Digests& d);

}  // namespace kiln::storage::mlflow_import
