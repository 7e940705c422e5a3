#include "model_format/mlflow_model.h"

#include <algorithm>
#include <exception>

#include <yaml-cpp/yaml.h>

namespace kiln::model_format {
namespace {

std::string Scalar(const YAML::Node& n, const char* key) {
  const YAML::Node v = n[key];
  if (!v || !v.IsScalar()) return "";
  return v.as<std::string>();
}

nlohmann::json JsonField(const YAML::Node& n, const char* key) {
  const YAML::Node v = n[key];
  if (!v || !v.IsScalar()) return nullptr;
  nlohmann::json parsed = nlohmann::json::parse(v.as<std::string>(), nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? nlohmann::json(nullptr) : parsed;
}

bool HasFile(const std::vector<PackageFile>& files, const std::string& path) {
  return std::any_of(files.begin(), files.end(), [&](const PackageFile& f) { return f.path == path; });
}

bool HasFlavor(const ModelPackage& p, std::string_view name) {
  return std::find(p.flavors.begin(), p.flavors.end(), name) != p.flavors.end();
}

// The native runtimes, in preference order when a package has several.
struct RuntimeFlavor {
  const char* flavor;
  const char* runtime;
  const char* default_file;
};
constexpr RuntimeFlavor kRuntimes[] = {
    {"xgboost", "xgboost", "model.xgb"},
    {"lightgbm", "lightgbm", "model.lgb"},
    {"onnx", "onnx", "model.onnx"},
};

std::string Joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

void DecideRuntime(const YAML::Node& flavors, ModelPackage& p) {
  for (const RuntimeFlavor& rf : kRuntimes) {
    const YAML::Node f = flavors[rf.flavor];
    if (!f) continue;
    std::string data = f.IsMap() ? Scalar(f, "data") : "";
    if (data.empty()) data = rf.default_file;
    if (f.IsMap()) p.model_format = Scalar(f, "model_format");
    if (!HasFile(p.files, data)) {
      p.reason = "the " + std::string(rf.flavor) + " flavor names model file '" + data +
                 "', which is not in the package";
      return;
    }
    p.runtime = rf.runtime;
    p.model_file = data;
    p.servable = true;
    return;
  }
  if (HasFlavor(p, "sklearn")) {
    p.reason =
        "the sklearn flavor stores a Python pickle, which kiln does not execute; convert the model to ONNX "
        "(skl2onnx) and log it with mlflow.onnx";
    return;
  }
  p.reason = "no flavor kiln can serve natively (found: " + Joined(p.flavors) +
             "); servable flavors are xgboost, lightgbm and onnx";
}

}  // namespace

std::vector<std::string> ParseRequirements(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
    if (line.empty() || line.front() == '-') continue;
    out.emplace_back(line);
  }
  return out;
}

ModelPackage PackageWithoutMlModel(std::vector<PackageFile> files) {
  ModelPackage p;
  std::sort(files.begin(), files.end(), [](const PackageFile& a, const PackageFile& b) { return a.path < b.path; });
  p.files = std::move(files);
  p.reason = "the package has no MLmodel file at its root, so its flavor is unknown";
  return p;
}

StatusOr<ModelPackage> ReadMlflowModel(std::string_view mlmodel_yaml, std::vector<PackageFile> files,
                                       std::string_view requirements) {
  ModelPackage p;
  std::sort(files.begin(), files.end(), [](const PackageFile& a, const PackageFile& b) { return a.path < b.path; });
  p.files = std::move(files);
  p.requirements = ParseRequirements(requirements);
  try {
    YAML::Node root = YAML::Load(std::string(mlmodel_yaml));
    if (!root.IsMap()) return InvalidArgument("MLmodel is not a YAML mapping");
    p.mlflow_version = Scalar(root, "mlflow_version");
    p.model_uuid = Scalar(root, "model_uuid");
    p.utc_time_created = Scalar(root, "utc_time_created");
    p.artifact_path = Scalar(root, "artifact_path");
    const YAML::Node flavors = root["flavors"];
    if (flavors && flavors.IsMap()) {
      for (const auto& kv : flavors) p.flavors.push_back(kv.first.as<std::string>());
      const YAML::Node pyfunc = flavors["python_function"];
      if (pyfunc && pyfunc.IsMap()) p.loader_module = Scalar(pyfunc, "loader_module");
    }
    const YAML::Node sig = root["signature"];
    if (sig && sig.IsMap()) {
      p.signature_inputs = JsonField(sig, "inputs");
      p.signature_outputs = JsonField(sig, "outputs");
      p.signature_params = JsonField(sig, "params");
    }
    if (p.flavors.empty()) {
      p.reason = "MLmodel declares no flavors";
      return p;
    }
    DecideRuntime(flavors, p);
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("MLmodel is not valid YAML: ") + e.what());
  }
  return p;
}

}  // namespace kiln::model_format
