#include "serving/model_repository.h"

#include <charconv>
#include <algorithm>
#include <filesystem>
#include <fstream>

#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <system_error>
#include <thread>

#include <nlohmann/json.hpp>

#include "serving/lightgbm_runtime.h"
#include "serving/onnx_runtime.h"
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
    return LoadRuntime("xgboost", path);
  }
  if (file == "model.onnx") return LoadRuntime("onnx", path);
  if (file == "model.txt") return LoadRuntime("lightgbm", path);
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
  if (runtime == "onnx") {
    KILN_ASSIGN_OR_RETURN(auto rt, OnnxRuntime::LoadFile(path));
    return std::unique_ptr<Runtime>(std::move(rt));
  }
  return InvalidArgument("unknown runtime '" + runtime + "'");
}

namespace {

// Parsing a model file is pure CPU for tens of milliseconds; on a small
// machine it would take a core from the requests being served meanwhile (a
// rollout's new version loads under full traffic). It runs on a thread of
// its own at a lower scheduling priority (nice +10, which needs no
// privilege); the batcher thread is created afterwards by the caller, at the
// normal priority, since threads inherit their creator's nice value.
StatusOr<std::unique_ptr<Runtime>> LoadRuntimeAtLowPriority(const std::string& runtime, const std::string& path) {
  StatusOr<std::unique_ptr<Runtime>> out = Internal("model load did not run");
  try {
    std::thread loader([&] {
      (void)setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
      out = LoadRuntime(runtime, path);
    });
    loader.join();
  } catch (const std::system_error&) {  // no thread to be had: load here
    out = LoadRuntime(runtime, path);
  }
  return out;
}

// Reads one integer setting of a model config; Triton's JSON configs carry
// 64-bit fields as strings ("100"), so those are accepted too.
Status ConfigInt(const nlohmann::json& obj, const char* key, int64_t max, const std::string& where, int64_t* value) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::Ok();
  int64_t v = -1;
  if (it->is_number_integer()) {
    v = it->get<int64_t>();
  } else if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) v = -1;
  }
  if (v < 0 || v > max) {
    return InvalidArgument(where + ": '" + key + "' must be an integer from 0 to " + std::to_string(max));
  }
  *value = v;
  return Status::Ok();
}

// kiln's flat config.json keys or Triton's model config
// (max_batch_size, dynamic_batching.max_queue_delay_microseconds,
// dynamic_batching.default_queue_policy.max_queue_size).
Status ApplyBatchingConfig(const nlohmann::json& cfg, const std::string& where, BatchingOptions* out) {
  if (!cfg.is_object()) return InvalidArgument(where + " is not a JSON object");
  int64_t rows = out->max_batch_rows;
  int64_t delay = out->max_queue_delay.count();
  int64_t queue = static_cast<int64_t>(out->max_queue);
  KILN_RETURN_IF_ERROR(ConfigInt(cfg, "max_batch_size", 1 << 20, where, &rows));
  KILN_RETURN_IF_ERROR(ConfigInt(cfg, "max_queue_delay_microseconds", 10'000'000, where, &delay));
  KILN_RETURN_IF_ERROR(ConfigInt(cfg, "max_queue_size", 1 << 20, where, &queue));
  if (auto db = cfg.find("dynamic_batching"); db != cfg.end()) {
    if (!db->is_object()) return InvalidArgument(where + ": 'dynamic_batching' must be an object");
    KILN_RETURN_IF_ERROR(ConfigInt(*db, "max_queue_delay_microseconds", 10'000'000, where, &delay));
    if (auto qp = db->find("default_queue_policy"); qp != db->end() && qp->is_object()) {
      KILN_RETURN_IF_ERROR(ConfigInt(*qp, "max_queue_size", 1 << 20, where, &queue));
    }
  }
  out->max_batch_rows = std::max<int64_t>(rows, 1);
  out->max_queue_delay = std::chrono::microseconds(delay);
  out->max_queue = static_cast<size_t>(std::max<int64_t>(queue, 1));
  return Status::Ok();
}

// Writes uploaded files ("<version>/<name>") into a fresh private directory.
StatusOr<fs::path> StageFiles(const std::map<std::string, std::string>& files) {
  std::string tmpl = (fs::temp_directory_path() / "kiln-model-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return Internal("cannot create a staging directory for the model files");
  const fs::path dir = tmpl;
  for (const auto& [rel, content] : files) {
    const size_t slash = rel.find('/');
    int64_t version = 0;
    const std::string file = slash == std::string::npos ? "" : rel.substr(slash + 1);
    if (slash == std::string::npos || !ParseVersion(rel.substr(0, slash), &version) || !ValidName(file)) {
      std::error_code ec;
      fs::remove_all(dir, ec);
      return InvalidArgument("model file '" + rel + "' must be named <version>/<file name>, e.g. 1/model.json");
    }
    std::error_code ec;
    fs::create_directories(dir / std::to_string(version), ec);
    std::ofstream out(dir / std::to_string(version) / file, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (ec || !out.good()) {
      fs::remove_all(dir, ec);
      return Internal("cannot write model file '" + rel + "'");
    }
  }
  return dir;
}

}  // namespace

StatusOr<BatchingOptions> ModelRepository::BatchingFor(const std::string& name, const std::string& config) const {
  BatchingOptions out = batching_;
  if (!config.empty()) {
    nlohmann::json cfg = nlohmann::json::parse(config, nullptr, /*allow_exceptions=*/false);
    if (cfg.is_discarded()) return InvalidArgument("the model config is not valid JSON");
    KILN_RETURN_IF_ERROR(ApplyBatchingConfig(cfg, "the model config", &out));
    return out;
  }
  if (root_.empty()) return out;
  const fs::path file = fs::path(root_) / name / "config.json";
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return out;
  std::ifstream in(file);
  nlohmann::json cfg = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (cfg.is_discarded()) return InvalidArgument(file.string() + " is not a JSON object");
  KILN_RETURN_IF_ERROR(ApplyBatchingConfig(cfg, file.string(), &out));
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

Status ModelRepository::LoadUri(const std::string& name, const std::string& uri,
                                const std::optional<BatchingOptions>& batching) {
  if (name.empty() || name.size() > 1024 || name.find('\0') != std::string::npos || name == "." || name == "..") {
    return InvalidArgument("invalid model name '" + name + "'");
  }
  if (!resolver_) return Unimplemented("this server has no model registry to load '" + uri + "' from");
  auto resolved = resolver_(uri);
  if (!resolved.ok()) {
    CountFailure(name);
    return resolved.status();
  }
  auto rt = LoadRuntimeAtLowPriority(resolved->runtime, resolved->path);
  if (!rt.ok()) {
    CountFailure(name);
    return rt.status();
  }
  Entry fresh;
  fresh.versions[resolved->version] =
      Serve(name, resolved->version, resolved->path, std::move(*rt), batching ? *batching : batching_);
  fresh.state = "READY";
  Install(name, std::move(fresh));
  return Status::Ok();
}

void ModelRepository::CountFailure(const std::string& name) {
  std::lock_guard lock(mu_);
  ++load_failures_[name];
}

std::map<std::string, uint64_t> ModelRepository::LoadFailures() const {
  std::lock_guard lock(mu_);
  std::map<std::string, uint64_t> out = load_failures_;
  for (const auto& [name, e] : models_) out.emplace(name, 0);
  return out;
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

Status ModelRepository::Load(const std::string& name, const LoadOverride& override) {
  if (!ValidName(name)) return InvalidArgument("invalid model name '" + name + "'");
  if (!override.files.empty() && override.config.empty()) {
    return InvalidArgument("model files in a load request need a 'config' parameter too");
  }
  // Staged uploads are read into memory by the runtimes, then removed.
  fs::path dir;
  std::shared_ptr<void> cleanup;
  if (!override.files.empty()) {
    KILN_ASSIGN_OR_RETURN(dir, StageFiles(override.files));
    cleanup = std::shared_ptr<void>(nullptr, [dir](void*) {
      std::error_code ec;
      fs::remove_all(dir, ec);
    });
  } else {
    if (root_.empty()) return NotFound("no model repository is configured (--model-repository)");
    dir = fs::path(root_) / name;
  }
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
  auto batching = BatchingFor(name, override.config);
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
  if (!errors.empty() || fresh.versions.empty()) ++load_failures_[name];
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

StatusOr<std::vector<std::shared_ptr<const ServedModel>>> ModelRepository::Select(const std::string& name,
                                                                                   const std::string& version) const {
  std::vector<std::string> names = name.empty() ? ReadyModels() : std::vector<std::string>{name};
  std::vector<std::shared_ptr<const ServedModel>> out;
  for (const std::string& n : names) {
    std::vector<std::string> versions;
    if (!version.empty()) {
      versions.push_back(version);
    } else {
      for (int64_t v : Versions(n)) versions.push_back(std::to_string(v));
      if (versions.empty() && !name.empty()) return Get(n).status();
    }
    for (const std::string& v : versions) {
      KILN_ASSIGN_OR_RETURN(auto model, Get(n, v));
      out.push_back(std::move(model));
    }
  }
  return out;
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
