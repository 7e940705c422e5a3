// RequestFields: typed access to an MLflow request's fields, whether they came
// as a JSON body (POST/PATCH/DELETE) or as query parameters (GET). Type errors
// and missing required fields become InvalidArgument with MLflow's wording, so
// the adapter answers 400 INVALID_PARAMETER_VALUE like MLflow does.
//
// Value type; not synchronised.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "net/http_message.h"

namespace kiln::api::mlflow {

class RequestFields {
 public:
  // GET (and body-less DELETE) read the query string; others parse the JSON
  // body. A malformed body is InvalidArgument.
  static StatusOr<RequestFields> From(const net::HttpRequest& req);

  StatusOr<std::optional<std::string>> String(const std::string& key) const;
  StatusOr<std::string> RequiredString(const std::string& key) const;
  StatusOr<std::optional<int64_t>> Int64(const std::string& key) const;
  StatusOr<std::optional<double>> Double(const std::string& key) const;
  StatusOr<std::optional<bool>> Bool(const std::string& key) const;
  StatusOr<std::vector<std::string>> StringList(const std::string& key) const;
  // The array at key (empty when absent); InvalidArgument when not an array.
  StatusOr<std::vector<nlohmann::json>> Objects(const std::string& key) const;
  bool Has(const std::string& key) const;

  // Typed reads of a nested JSON object (an element of Objects()).
  static StatusOr<std::optional<std::string>> StringIn(const nlohmann::json& obj, const std::string& key,
                                                       const std::string& context);
  static StatusOr<std::optional<int64_t>> Int64In(const nlohmann::json& obj, const std::string& key,
                                                  const std::string& context);
  static StatusOr<std::optional<double>> DoubleIn(const nlohmann::json& obj, const std::string& key,
                                                  const std::string& context);

 private:
  nlohmann::json json_;  // an object; query parameters are folded into it
  bool from_query_ = false;
};

Status MissingParameter(const std::string& key);

}  // namespace kiln::api::mlflow
