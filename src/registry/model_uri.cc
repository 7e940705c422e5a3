#include "registry/model_uri.h"

#include <charconv>

namespace kiln::registry {
namespace {

constexpr std::string_view kModels = "models:";
constexpr std::string_view kRuns = "runs:";
constexpr std::string_view kArtifacts = "mlflow-artifacts:";

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Status BadModelUri(std::string_view uri) {
  return InvalidArgument(
      "Not a proper models:/ URI: " + std::string(uri) +
      ". Models URIs must be of the form 'models:/model_name/suffix' or 'models:/model_name@alias' where suffix is a "
      "model version, stage, or the string 'latest' and where alias is a registered model alias. Only one of suffix "
      "or alias can be defined at a time.");
}

// Trims a trailing '/' and refuses segments that could escape a directory.
StatusOr<std::string> CleanPath(std::string_view path, std::string_view uri) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  size_t start = 0;
  while (start <= path.size() && !path.empty()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") {
      return InvalidArgument("Invalid model version source: '" + std::string(uri) +
                             "'. The path must not contain empty, '.' or '..' segments.");
    }
    start = end + 1;
  }
  if (path.find('\0') != std::string_view::npos || path.find('\\') != std::string_view::npos ||
      path.find('%') != std::string_view::npos) {
    return InvalidArgument("Invalid model version source: '" + std::string(uri) +
                           "'. The path must not contain NUL bytes, backslashes or percent-escapes.");
  }
  return std::string(path);
}

}  // namespace

bool IsModelsUri(std::string_view uri) { return uri.starts_with(kModels); }
bool IsRunsUri(std::string_view uri) { return uri.starts_with(kRuns); }

StatusOr<ModelUri> ParseModelsUri(std::string_view uri) {
  if (!IsModelsUri(uri)) return BadModelUri(uri);
  std::string_view rest = uri.substr(kModels.size());
  if (rest.starts_with("//") || !rest.starts_with("/")) return BadModelUri(uri);
  rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return BadModelUri(uri);
  ModelUri out;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    if (rest.find('/') != std::string_view::npos || at == 0 || at + 1 == rest.size()) return BadModelUri(uri);
    out.kind = ModelUri::Kind::kAlias;
    out.name = std::string(rest.substr(0, at));
    out.alias = std::string(rest.substr(at + 1));
    return out;
  }
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) {
    out.kind = ModelUri::Kind::kLoggedModel;
    out.model_id = std::string(rest);
    return out;
  }
  std::string_view name = rest.substr(0, slash);
  std::string_view suffix = rest.substr(slash + 1);
  if (name.empty() || suffix.empty() || suffix.find('/') != std::string_view::npos) return BadModelUri(uri);
  out.name = std::string(name);
  if (AllDigits(suffix)) {
    out.kind = ModelUri::Kind::kVersion;
    auto [p, ec] = std::from_chars(suffix.data(), suffix.data() + suffix.size(), out.version);
    if (ec != std::errc()) return BadModelUri(uri);
  } else if (suffix == "latest") {
    out.kind = ModelUri::Kind::kLatest;
  } else {
    out.kind = ModelUri::Kind::kStage;
    out.stage = std::string(suffix);
  }
  return out;
}

StatusOr<RunsUri> ParseRunsUri(std::string_view uri) {
  if (!IsRunsUri(uri)) return InvalidArgument("Not a runs:/ URI: " + std::string(uri));
  std::string_view rest = uri.substr(kRuns.size());
  if (rest.starts_with("//") || !rest.starts_with("/")) {
    return InvalidArgument("Not a proper runs:/ URI: " + std::string(uri) +
                           ". Runs URIs must be of the form 'runs:/<run_id>/run-relative/path/to/artifact'");
  }
  rest.remove_prefix(1);
  size_t slash = rest.find('/');
  RunsUri out;
  out.run_id = std::string(rest.substr(0, slash));
  if (out.run_id.empty()) return InvalidArgument("Not a proper runs:/ URI: " + std::string(uri));
  if (slash != std::string_view::npos) {
    KILN_ASSIGN_OR_RETURN(out.path, CleanPath(rest.substr(slash + 1), uri));
  }
  return out;
}

StatusOr<std::string> ArtifactStorePath(std::string_view uri) {
  if (!uri.starts_with(kArtifacts)) {
    return InvalidArgument("'" + std::string(uri) + "' is not in kiln's artifact store (not an mlflow-artifacts:/ URI)");
  }
  std::string_view rest = uri.substr(kArtifacts.size());
  if (rest.starts_with("//")) {
    size_t slash = rest.find('/', 2);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  return CleanPath(rest, uri);
}

}  // namespace kiln::registry
