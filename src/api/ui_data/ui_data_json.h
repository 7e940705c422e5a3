// JSON renderings of the UI data answers. Doubles follow MLflow's
// protobuf-JSON: NaN and +-Infinity are the strings "NaN", "Infinity",
// "-Infinity". Pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "storage/ui_query_store.h"
#include "tracking/run_analytics.h"

namespace kiln::api::ui_data {

nlohmann::json MetricBucketsJson(const storage::MetricBuckets& b, storage::MetricAxis axis);
nlohmann::json RunsTableJson(const tracking::RunsTablePage& page);
nlohmann::json RunColumnsJson(const storage::RunColumnKeys& keys);
nlohmann::json RunGroupsJson(const std::vector<tracking::RunGroup>& groups);

}  // namespace kiln::api::ui_data
