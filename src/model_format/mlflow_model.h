// Reader for MLflow's model package format: the `MLmodel` YAML file at the
// root of a logged or registered model (flavors, the python_function loader,
// the file each flavor loads, signature, creation metadata) plus
// requirements.txt. It decides which native kiln runtime can serve the model
// (xgboost, lightgbm, onnx) or says why none can. Serving loads models from
// what this reader reports; the registry shows it as version metadata.
//
// Pure functions of their inputs (no I/O); safe to call concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace kiln::model_format {

inline constexpr const char* kMlModelFile = "MLmodel";
inline constexpr const char* kRequirementsFile = "requirements.txt";

struct PackageFile {
  std::string path;  // relative to the model root, '/'-separated
  int64_t size = 0;
};

struct ModelPackage {
  std::vector<std::string> flavors;  // flavor names in MLmodel order
  std::string loader_module;         // python_function.loader_module, if any
  std::string runtime;               // "xgboost" | "lightgbm" | "onnx"; empty when not servable
  std::string model_file;            // the file `runtime` loads, relative to the model root
  std::string model_format;          // flavor-specific format hint (xgboost: xgb, json, ubj)
  bool servable = false;
  std::string reason;                // why not servable; empty when servable
  // The signature's parts as parsed JSON (MLflow stores them as JSON strings);
  // null when absent.
  nlohmann::json signature_inputs;
  nlohmann::json signature_outputs;
  nlohmann::json signature_params;
  std::vector<std::string> requirements;
  std::string mlflow_version;
  std::string model_uuid;
  std::string utc_time_created;
  std::string artifact_path;
  std::vector<PackageFile> files;  // every file of the package, sorted by path
};

// Reads an MLmodel document. `files` lists the package's files (used to check
// that the flavor's model file exists); `requirements` is the text of
// requirements.txt or empty. InvalidArgument when the YAML is malformed or
// is not a mapping.
StatusOr<ModelPackage> ReadMlflowModel(std::string_view mlmodel_yaml, std::vector<PackageFile> files,
                                       std::string_view requirements);

// A package without an MLmodel file: nothing kiln can serve, and says so.
ModelPackage PackageWithoutMlModel(std::vector<PackageFile> files);

// requirements.txt lines without comments, blank lines or pip options.
std::vector<std::string> ParseRequirements(std::string_view text);

}  // namespace kiln::model_format
