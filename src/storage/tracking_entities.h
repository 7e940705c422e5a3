// The tracking domain's records as the metadata store holds them. Field names
// follow MLflow's protocol so the API adapter maps them one to one. Times are
// milliseconds since the Unix epoch.
//
// Value types; not synchronised.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln::storage {

inline constexpr const char* kLifecycleActive = "active";
inline constexpr const char* kLifecycleDeleted = "deleted";

struct Tag {
  std::string key;
  std::string value;
};

struct Param {
  std::string key;
  std::string value;
};

struct Metric {
  std::string key;
  double value = 0;  // may be NaN or +-Inf
  int64_t timestamp = 0;
  int64_t step = 0;
  std::string run_id;  // filled by reads that span runs (bulk history)
  std::string model_id;  // optional MLflow 3 linkage, empty if none
  // The dataset the value was computed on (MLflow 3); kept for logged-model
  // metrics only, as MLflow does.
  std::string dataset_name = {};
  std::string dataset_digest = {};
};

struct Experiment {
  std::string experiment_id;
  std::string name;
  std::string artifact_location;
  std::string lifecycle_stage = kLifecycleActive;
  int64_t creation_time = 0;
  int64_t last_update_time = 0;
  std::vector<Tag> tags;
};

struct RunInfo {
  std::string run_id;
  std::string experiment_id;
  std::string run_name;
  std::string user_id;
  std::string status = "RUNNING";  // RUNNING|SCHEDULED|FINISHED|FAILED|KILLED
  int64_t start_time = 0;
  std::optional<int64_t> end_time;
  std::string artifact_uri;
  std::string lifecycle_stage = kLifecycleActive;
};

struct Dataset {
  std::string name;
  std::string digest;
  std::string source_type;
  std::string source;
  std::string schema;   // optional
  std::string profile;  // optional
};

struct DatasetInput {
  std::vector<Tag> tags;
  Dataset dataset;
};

struct ModelInput {
  std::string model_id;
};

struct ModelOutput {
  std::string model_id;
  int64_t step = 0;
};

struct Run {
  RunInfo info;
  std::vector<Metric> metrics;  // latest value per key
  std::vector<Param> params;
  std::vector<Tag> tags;
  std::vector<DatasetInput> dataset_inputs;
  std::vector<ModelInput> model_inputs;
  std::vector<ModelOutput> model_outputs;
};

// MLflow 3 logged model. status: LOGGED_MODEL_PENDING | LOGGED_MODEL_READY |
// LOGGED_MODEL_UPLOAD_FAILED.
struct LoggedModel {
  std::string model_id;
  std::string experiment_id;
  std::string name;
  std::string artifact_uri;
  int64_t creation_timestamp = 0;
  int64_t last_updated_timestamp = 0;
  std::string status = "LOGGED_MODEL_PENDING";
  std::string status_message;
  std::string lifecycle_stage = kLifecycleActive;
  std::string model_type;
  std::string source_run_id;
  std::vector<Tag> tags;
  std::vector<Param> params;
  std::vector<Metric> metrics;
};

}  // namespace kiln::storage
