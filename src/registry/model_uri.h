// Parsing of the URIs a model version can be registered from or resolved by:
// `models:/<name>/<version>`, `models:/<name>/<stage>`, `models:/<name>/latest`,
// `models:/<name>@<alias>`, `models:/<model_id>` (an MLflow 3 logged model),
// `runs:/<run_id>/<path>` and `mlflow-artifacts:/<path>`.
//
// Pure functions; safe to call concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace kiln::registry {

struct ModelUri {
  enum class Kind { kLoggedModel, kVersion, kStage, kLatest, kAlias };
  Kind kind = Kind::kVersion;
  std::string model_id;  // kLoggedModel
  std::string name;      // every other kind
  int64_t version = 0;   // kVersion
  std::string stage;     // kStage, as written
  std::string alias;     // kAlias
};

bool IsModelsUri(std::string_view uri);
// InvalidArgument for anything that is not one of the models:/ forms above
// (including a host part, e.g. models://profile/...).
StatusOr<ModelUri> ParseModelsUri(std::string_view uri);

struct RunsUri {
  std::string run_id;
  std::string path;  // may be empty
};
bool IsRunsUri(std::string_view uri);
StatusOr<RunsUri> ParseRunsUri(std::string_view uri);

// `mlflow-artifacts:/a/b` or `mlflow-artifacts://host:port/a/b` -> "a/b".
// InvalidArgument when not such a URI or when it has "..", "." or empty
// segments, NUL bytes, backslashes or percent-escapes.
StatusOr<std::string> ArtifactStorePath(std::string_view uri);

}  // namespace kiln::registry
