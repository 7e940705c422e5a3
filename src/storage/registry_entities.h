// The model registry's records as the metadata store holds them. Field names
// follow MLflow's registry protocol so the API adapter maps them one to one.
// Times are milliseconds since the Unix epoch.
//
// Value types; not synchronised.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/search_query.h"
#include "storage/tracking_entities.h"

namespace kiln::storage {

inline constexpr const char* kStageNone = "None";
inline constexpr const char* kStageStaging = "Staging";
inline constexpr const char* kStageProduction = "Production";
inline constexpr const char* kStageArchived = "Archived";

struct ModelVersion {
  std::string name;
  int64_t version = 0;
  int64_t creation_timestamp = 0;
  int64_t last_updated_timestamp = 0;
  std::string user_id;
  std::string current_stage = kStageNone;
  std::string description;
  std::string source;   // what the client registered from, as given
  std::string run_id;
  std::string status = "READY";  // PENDING_REGISTRATION | FAILED_REGISTRATION | READY
  std::string status_message;
  std::string run_link;
  std::string model_id;  // MLflow 3 logged model the version was promoted from
  // Where the registry's own copy of the files lives, relative to the
  // artifact store root; never shown to MLflow clients except as a download URI.
  std::string storage_path;
  // Set for a version registered by reference (MLflow accepts sources such
  // as s3://... that kiln cannot read): where its files are, which is what
  // clients download from. storage_path is then empty and kiln holds nothing.
  std::string external_location;
  std::vector<Tag> tags;
  std::vector<std::string> aliases;
};

struct RegisteredModelAlias {
  std::string alias;
  int64_t version = 0;
};

struct RegisteredModel {
  std::string name;
  int64_t creation_timestamp = 0;
  int64_t last_updated_timestamp = 0;
  std::string user_id;
  std::string description;
  // Latest version per stage (MLflow's latest_versions), newest stage order.
  std::vector<ModelVersion> latest_versions;
  std::vector<Tag> tags;
  std::vector<RegisteredModelAlias> aliases;  // sorted by alias
};

// One registry mutation as the events recorder keeps it. before/after hold
// the entity's JSON (as the MLflow API renders it) or are empty when the
// entity did not exist on that side of the change.
struct RegistryEvent {
  int64_t id = 0;  // assigned by the store, increasing
  int64_t timestamp = 0;
  std::string actor;
  std::string action;
  std::string name;     // registered model name the event is about
  std::string version;  // model version, empty for model-level events
  std::string before_json;
  std::string after_json;
};

// Attributes (canonical): registered models: name, creation_timestamp,
// last_updated_timestamp; model versions: name, version_number, run_id,
// source_path, creation_timestamp, last_updated_timestamp. Tags via kTag.
struct RegisteredModelQuery {
  std::vector<FilterClause> filter;
  std::vector<OrderBy> order_by;  // then name ASC
  int64_t max_results = 100;
  int64_t offset = 0;
};

struct ModelVersionQuery {
  std::vector<FilterClause> filter;
  std::vector<OrderBy> order_by;  // then name ASC, version DESC
  int64_t max_results = 10000;
  int64_t offset = 0;
};

struct RegistryEventQuery {
  std::string name;  // empty: every model
  int64_t after_id = 0;  // events with id > after_id
  int64_t max_results = 100;
};

}  // namespace kiln::storage
