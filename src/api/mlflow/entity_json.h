// Encodes tracking records as MLflow's protobuf-JSON: snake_case names,
// int64 as numbers, NaN/Infinity as the strings protobuf uses, empty
// repeated fields omitted. Pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include "storage/tracking_entities.h"

namespace kiln::api::mlflow {

nlohmann::json DoubleJson(double v);
nlohmann::json TagsJson(const std::vector<storage::Tag>& tags);
nlohmann::json ExperimentJson(const storage::Experiment& e);
nlohmann::json RunInfoJson(const storage::RunInfo& info);
nlohmann::json MetricJson(const storage::Metric& m, bool with_run_id = false);
nlohmann::json RunJson(const storage::Run& run);
nlohmann::json LoggedModelJson(const storage::LoggedModel& m);

}  // namespace kiln::api::mlflow
