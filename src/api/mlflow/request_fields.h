// RequestFields: typed access to an MLflow request's fields, whether they came
// as a JSON body (POST/PATCH/DELETE) or as query parameters (GET). Type errors
// and missing required fields become InvalidArgument with MLflow's wording, so
// the adapter answers 400 INVALID_PARAMETER_VALUE like MLflow does.
//
// Value type (cheap to copy: the parsed document is shared and immutable);
// not synchronised.
#pragma once

#include <memory>
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
  // body. A malformed body is InvalidArgument. The parsed body is kept in
  // req.parsed_body: the access check and the handler share one parse.
  static StatusOr<RequestFields> From(const net::HttpRequest& req);

  // The whole request as one JSON object (query parameters folded in).
  const nlohmann::json& doc() const { return *json_; }

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
  // An object; query parameters are folded into it. Shared, immutable: the
  // same parse may back the access check's fields and the handler's.
  std::shared_ptr<const nlohmann::json> json_;
  bool from_query_ = false;
};

Status MissingParameter(const std::string& key);

}  // namespace kiln::api::mlflow
