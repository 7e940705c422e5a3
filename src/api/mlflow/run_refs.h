// The run and logged models a metric-logging request names (MLflow's
// validate_can_log_metrics checks each of them), read from the request's
// parsed body -- the same parse its handler then uses.
//
// Pure function; safe to call concurrently.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kiln::api::mlflow {

struct RunRefs {
  std::string run_id;                  // run_id, else run_uuid; empty when neither is set
  std::vector<std::string> model_ids;  // top-level model_id and metrics[].model_id, distinct
};

// `doc` is the request object (RequestFields::doc()); fields of the wrong type
// are ignored here and refused by the handler with MLflow's wording.
RunRefs RunRefsOf(const nlohmann::json& doc);

}  // namespace kiln::api::mlflow
