// Registry entities as JSON objects in MLflow's protocol shape (what
// registered-models/get and model-versions/get return). The API adapter
// answers with these and the events recorder stores them as before/after
// snapshots, so an event shows exactly what a client would have read.
//
// Pure functions; safe to call concurrently.
#pragma once

#include <nlohmann/json.hpp>

#include "model_format/mlflow_model.h"
#include "storage/registry_entities.h"

namespace kiln::registry {

nlohmann::json ModelVersionJson(const storage::ModelVersion& v);
nlohmann::json RegisteredModelJson(const storage::RegisteredModel& m);
nlohmann::json RegistryEventJson(const storage::RegistryEvent& e);
// kiln's package description of a version (see docs/registry.md).
// `external`: the version is a reference kiln could not read; only where it
// is and why it cannot be served are rendered.
nlohmann::json ModelPackageJson(const model_format::ModelPackage& p, const std::string& artifact_uri,
                                bool external = false);

}  // namespace kiln::registry
