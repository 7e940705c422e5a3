// Small helpers shared by the MLflow handlers: turning a handler body that
// returns StatusOr<json> into an HTTP response, and decoding common shapes.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "api/mlflow/mlflow_errors.h"
#include "api/mlflow/request_fields.h"
#include "net/router.h"
#include "storage/tracking_entities.h"

namespace kiln::api::mlflow {

using JsonHandler = std::function<StatusOr<nlohmann::json>(const RequestFields&, net::HttpRequest&)>;

// Decodes the request fields, runs fn and renders the JSON or the error.
net::Handler Json(JsonHandler fn);
std::string Dump(const nlohmann::json& j);

StatusOr<std::vector<storage::Tag>> DecodeTags(const RequestFields& f, const std::string& key = "tags");
StatusOr<std::vector<storage::Param>> DecodeParams(const RequestFields& f, const std::string& key = "params");
StatusOr<std::vector<storage::Metric>> DecodeMetrics(const RequestFields& f, const std::string& key = "metrics");

}  // namespace kiln::api::mlflow
