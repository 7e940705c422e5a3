#include "serving/model_repository.h"

#include <charconv>
#include <algorithm>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "serving/lightgbm_runtime.h"
#include "serving/xgboost_runtime.h"

namespace kiln::serving {
namespace fs = std::filesystem;

namespace {

constexpr const char* kModelFiles[] = {"model.json", "model.ubj", "model.bst", "model.xgb", "model.txt",
                                       "model.onnx"};

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == '\\' || c == '\0') return false;
  }
  return true;
}

// The model file in `dir`, or empty when there is none.
std::string ModelFileIn(const fs::path& dir) {
  for (const char* f : kModelFiles) {
    std::error_code ec;
    if (fs::is_regular_file(dir / f, ec)) return (dir / f).string();
  }
  return "";
}

bool ParseVersion(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && *out > 0;
}

}  // namespace

StatusOr<std::unique_ptr<Runtime>> LoadRuntimeForFile(const std::string& path) {
  const std::string file = fs::path(path).filename().string();
  if (file == "model.json" || file == "model.ubj" || file == "model.bst" || file == "model.xgb") {
    KILN_ASSIGN_OR_RETURN(auto rt, XgboostRuntime::LoadFile(path));
    return std::unique_ptr<Runtime>(std::move(rt));
  }
  if (file == "model.onnx") return Unimplemented("ONNX models are not served yet (" + path + ")");
  if (file == "model.txt") {
    KILN_ASSIGN_OR_RETURN(auto rt, LightGbmRuntime::LoadFile(path));
    return std::unique_ptr<Runtime>(std::move(rt));
  }
  return InvalidArgument("no runtime for model file '" + file + "'");
}

StatusOr<std::unique_ptr<Runtime>> LoadRuntime(const std::string& runtime, const std::string& path) {
  if (runtime == "xgboost") {
    KILN_ASSIGN_OR_RETURN(auto rt, XgboostRuntime::LoadFile(path));
    return std::unique_ptr<Runtime>(std::move(rt));
  }
  if (runtime == "lightgbm") {
    KILN_ASSIGN_OR_RETURN(auto rt, LightGbmRuntime::LoadFile(path));
    return std::unique_ptr<Runtime>(std::move(rt));
  }
  if (runtime == "onnx") return Unimplemented("ONNX models are not served yet (" + path + ")");
  return InvalidArgument("unknown runtime '" + runtime + "'");
}

StatusOr<BatchingOptions> ModelRepository::BatchingFor(const std::string& name) const {
  BatchingOptions out = batching_;
  if (root_.empty()) return out;
  const fs::path file = fs::path(root_) / name / "config.json";
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return out;
  std::ifstream in(file);
  nlohmann::json cfg = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (cfg.is_discarded() || !cfg.is_object()) return InvalidArgument(file.string() + " is not a JSON object");
  auto positive = [&](const char* key, int64_t max, int64_t* value) -> Status {
    auto it = cfg.find(key);
    if (it == cfg.end()) return Status::Ok();
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > max) {
      return InvalidArgument(file.string() + ": '" + key + "' must be an integer from 0 to " + std::to_string(max));
    }
    *value = it->get<int64_t>();
    return Status::Ok();
  };
  int64_t rows = out.max_batch_rows;
  int64_t delay = out.max_queue_delay.count();
  int64_t queue = static_cast<int64_t>(out.max_queue);
  KILN_RETURN_IF_ERROR(positive("max_batch_size", 1 << 20, &rows));
  KILN_RETURN_IF_ERROR(positive("max_queue_delay_microseconds", 10'000'000, &delay));
  KILN_RETURN_IF_ERROR(positive("max_queue_size", 1 << 20, &queue));
  out.max_batch_rows = std::max<int64_t>(rows, 1);
  out.max_queue_delay = std::chrono::microseconds(delay);
  out.max_queue = static_cast<size_t>(std::max<int64_t>(queue, 1));
  return out;
}

std::shared_ptr<const ServedModel> ModelRepository::Serve(const std::string& name, int64_t version,
                                                          const std::string& path, std::unique_ptr<Runtime> runtime,
                                                          const BatchingOptions& batching) const {
  auto served = std::make_shared<ServedModel>();
  served->name = name;
  served->version = version;
  served->path = path;
  served->runtime = std::shared_ptr<Runtime>(std::move(runtime));
  served->batcher = std::make_shared<DynamicBatcher>(served->runtime, batching);
  return served;
}

Status ModelRepository::LoadUri(const std::string& name, const std::string& uri) {
  if (!ValidName(name)) return InvalidArgument("invalid model name '" + name + "'");
  if (!resolver_) return Unimplemented("this server has no model registry to load '" + uri + "' from");
  KILN_ASSIGN_OR_RETURN(ResolvedModel resolved, resolver_(uri));
  KILN_ASSIGN_OR_RETURN(auto rt, LoadRuntime(resolved.runtime, resolved.path));
  Entry fresh;
  fresh.versions[resolved.version] = Serve(name, resolved.version, resolved.path, std::move(rt), batching_);
  fresh.state = "READY";
  Install(name, std::move(fresh));
  return Status::Ok();
}

void ModelRepository::Install(const std::string& name, Entry fresh) {
  std::lock_guard lock(mu_);
  models_[name] = std::move(fresh);
}

void ModelRepository::LoadAll() {
  if (root_.empty()) return;
  std::error_code ec;
  for (const auto& d : fs::directory_iterator(root_, ec)) {
    if (!d.is_directory(ec)) continue;
    (void)Load(d.path().filename().string());
  }
}

Status ModelRepository::Load(const std::string& name) {
  if (!ValidName(name)) return InvalidArgument("invalid model name '" + name + "'");
  if (root_.empty()) return NotFound("no model repository is configured (--model-repository)");
  const fs::path dir = fs::path(root_) / name;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFound("model '" + name + "' is not in the model repository");

  // Triton layout: numbered version folders; KServe layout: the file itself.
  std::vector<std::pair<int64_t, std::string>> files;
  for (const auto& d : fs::directory_iterator(dir, ec)) {
    int64_t v = 0;
    if (!d.is_directory(ec) || !ParseVersion(d.path().filename().string(), &v)) continue;
    std::string f = ModelFileIn(d.path());
    if (!f.empty()) files.emplace_back(v, f);
  }
  if (files.empty()) {
    std::string f = ModelFileIn(dir);
    if (!f.empty()) files.emplace_back(1, f);
  }

  Entry fresh;
  std::string errors;
  auto batching = BatchingFor(name);
  if (!batching.ok()) {
    errors = batching.status().message();
    files.clear();
  }
  for (const auto& [version, path] : files) {
    auto rt = LoadRuntimeForFile(path);
    if (!rt.ok()) {
      errors += (errors.empty() ? "" : "; ") + ("version " + std::to_string(version) + ": " + rt.status().message());
      continue;
    }
    fresh.versions[version] = Serve(name, version, path, std::move(*rt), *batching);
  }
  std::lock_guard lock(mu_);
  Entry& entry = models_[name];
  if (fresh.versions.empty()) {
    std::string reason = !errors.empty() ? errors : files.empty() ? "no model file (model.json, model.ubj, model.bst, model.txt, model.onnx) "
                                         "in the model directory or its version folders"
                                       : errors;
    entry.reason = reason;
    if (entry.versions.empty()) entry.state = "UNAVAILABLE";
    return InvalidArgument("model '" + name + "' failed to load: " + reason);
  }
  fresh.state = "READY";
  fresh.reason = errors;
  entry = std::move(fresh);
  return Status::Ok();
}

Status ModelRepository::Unload(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end()) return NotFound("model '" + name + "' is not loaded");
  it->second.versions.clear();
  it->second.state = "UNLOADED";
  it->second.reason = "unloaded";
  return Status::Ok();
}

StatusOr<std::shared_ptr<const ServedModel>> ModelRepository::Get(const std::string& name,
                                                                  const std::string& version) const {
  std::lock_guard lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end()) return NotFound("model '" + name + "' not found");
  const Entry& e = it->second;
  if (e.versions.empty()) {
    return Unavailable("model '" + name + "' is not ready" + (e.reason.empty() ? "" : ": " + e.reason));
  }
  if (version.empty()) return e.versions.rbegin()->second;
  int64_t v = 0;
  if (!ParseVersion(version, &v)) return InvalidArgument("invalid model version '" + version + "'");
  auto vit = e.versions.find(v);
  if (vit == e.versions.end()) return NotFound("model '" + name + "' has no version " + version);
  return vit->second;
}

std::vector<ModelState> ModelRepository::Index() const {
  std::lock_guard lock(mu_);
  std::vector<ModelState> out;
  for (const auto& [name, e] : models_) {
    if (e.versions.empty()) {
      out.push_back({name, "", e.state, e.reason});
      continue;
    }
    for (const auto& [v, m] : e.versions) out.push_back({name, std::to_string(v), "READY", ""});
  }
  return out;
}

std::vector<std::string> ModelRepository::ReadyModels() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, e] : models_) {
    if (!e.versions.empty()) out.push_back(name);
  }
  return out;
}

std::vector<int64_t> ModelRepository::Versions(const std::string& name) const {
  std::lock_guard lock(mu_);
  std::vector<int64_t> out;
  auto it = models_.find(name);
  if (it == models_.end()) return out;
  for (const auto& [v, m] : it->second.versions) out.push_back(v);
  return out;
}

}  // namespace kiln::serving
