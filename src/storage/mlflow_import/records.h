// What the importer carries from an MLflow store to kiln's tables: MLflow's
// entities with their values already decoded (NaN and +-inf restored, lifecycle
// and status as text), independent of whether they came from MLflow's SQL
// schema or from an mlruns folder. Artifact URIs are still MLflow's; the
// importer rewrites them.
//
// Value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln::storage::mlflow_import {

struct Kv {
  std::string key;
  std::string value;
};

struct ExperimentRec {
  int64_t id = 0;
  std::string name;
  std::string artifact_location;
  std::string lifecycle_stage = "active";
  int64_t creation_time = 0;
  int64_t last_update_time = 0;
  std::vector<Kv> tags;
};

struct MetricRec {
  std::string key;
  double value = 0;
  int64_t timestamp = 0;
  int64_t step = 0;
};

struct DatasetRec {
  int64_t experiment_id = 0;
  std::string name;
  std::string digest;
  std::string source_type;
  std::string source;
  std::string schema;
  std::string profile;
};

struct DatasetInputRec {
  std::string name;  // the dataset in the run's experiment
  std::string digest;
  std::vector<Kv> tags;
};

struct ModelOutputRec {
  std::string model_id;
  int64_t step = 0;
};

struct RunRec {
  std::string run_uuid;
  int64_t experiment_id = 0;
  std::string name;
  std::string user_id;
  std::string status;
  int64_t start_time = 0;
  std::optional<int64_t> end_time;
  std::optional<int64_t> deleted_time;
  std::string artifact_uri;
  std::string lifecycle_stage = "active";
  std::vector<Kv> params;
  std::vector<Kv> tags;
  std::vector<MetricRec> metrics;  // full history
  std::vector<DatasetInputRec> inputs;
  std::vector<std::string> model_inputs;
  std::vector<ModelOutputRec> model_outputs;
};

struct ModelMetricRec {
  std::string key;
  double value = 0;
  int64_t timestamp = 0;
  int64_t step = 0;
  std::string run_id;
  std::string dataset_name;
  std::string dataset_digest;
};

struct LoggedModelRec {
  std::string model_id;
  int64_t experiment_id = 0;
  std::string name;
  std::string artifact_location;
  int64_t creation_timestamp = 0;
  int64_t last_updated_timestamp = 0;
  std::string status;  // kiln's spelling: LOGGED_MODEL_READY, ...
  std::string status_message;
  std::string lifecycle_stage = "active";
  std::string model_type;
  std::string source_run_id;
  std::vector<Kv> params;
  std::vector<Kv> tags;
  std::vector<ModelMetricRec> metrics;
};

struct ModelVersionRec {
  int64_t version = 0;
  int64_t creation_time = 0;
  int64_t last_updated_time = 0;
  std::string description;
  std::string user_id;
  std::string current_stage = "None";
  std::string source;
  std::string run_id;
  std::string status = "READY";
  std::string status_message;
  std::string run_link;
  std::string storage_location;  // where MLflow clients download it from
  std::string model_id;
  std::vector<Kv> tags;
};

struct RegisteredModelRec {
  std::string name;
  int64_t creation_time = 0;
  int64_t last_updated_time = 0;
  std::string description;
  std::vector<Kv> tags;
  std::vector<Kv> aliases;  // alias -> version number as text
  std::vector<ModelVersionRec> versions;
};

// An MLflow basic-auth user and its permissions as kiln grants.
struct GrantRec {
  std::string object_kind;  // "experiment" or "registered_model"
  std::string object_id;
  std::string role;  // kiln's role name
};

struct UserRec {
  std::string name;
  bool admin = false;
  std::vector<GrantRec> grants;
};

}  // namespace kiln::storage::mlflow_import
