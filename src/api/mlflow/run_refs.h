// The run and logged models a metric-logging request names, read without
// building the whole JSON document: log-batch bodies can hold thousands of
// metrics whose keys, values and steps the access check does not need.
//
// Pure function; safe to call concurrently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kiln::api::mlflow {

struct RunRefs {
  std::string run_id;                  // run_id, else run_uuid; empty when neither is set
  std::vector<std::string> model_ids;  // top-level model_id and metrics[].model_id, distinct
};

// InvalidArgument (MLflow's wording) for a body that is not a JSON object.
StatusOr<RunRefs> ParseRunRefs(std::string_view body);

}  // namespace kiln::api::mlflow
