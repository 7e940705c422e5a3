// `kiln validate URL`: the runbook's Phase 4 against any running kiln, over
// its public HTTP APIs only (what a user's own clients would call):
//
//   health       GET /health (status "healthy"), GET /version, GET /metrics
//   integration  tracking reachable (experiments/search), create an experiment,
//                feature retrieval (/get-online-features), model deployment
//                (a throwaway XGBoost model the command writes itself, logged
//                to a run as an MLflow model package through the artifact API,
//                registered, deployed to Staging by POST /api/v1/models/deploy),
//                model prediction (through the endpoint, checked against the
//                value the generated trees must give)
//   load         N threads for S seconds against the endpoint's predict, with
//                thresholds on average and p95 latency and the error rate
//
// Feature retrieval needs a feature view to read: kiln's feature definitions
// are applied with Feast's SDK (`feast apply`), which this command does not
// do. Pass --features view:feature[,...] and --entity key=value; without
// them the check fails and says so (a platform whose feature store was never
// exercised is not validated).
//
// Prints one summary row per check and exits 0 only when every check passed
// (1 otherwise, 2 for bad arguments). The throwaway model, endpoint and
// experiment are deleted afterwards unless --keep.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace kiln::cli {

struct ValidateOptions {
  std::string url;
  int threads = 4;
  double duration_s = 5;
  double max_avg_ms = 200;      // the runbook's thresholds
  double max_p95_ms = 500;
  double max_error_rate = 0.01;
  std::vector<std::string> features;  // "view:feature"
  std::string entity;                 // "join_key=value"
  double timeout_s = 30;
  bool keep = false;
};

void RegisterValidateCommand(CLI::App& app, ValidateOptions& options);
bool ValidateCommandChosen(const CLI::App& app);
int RunValidate(const ValidateOptions& options);

}  // namespace kiln::cli
