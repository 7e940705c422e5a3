// ModelRepository: the models kiln serves, loaded from a directory in
// Triton's layout
//     DIR/<model>/<version>/model.{json,ubj,bst,xgb}   XGBoost
//     DIR/<model>/<version>/model.txt                  LightGBM
//     DIR/<model>/<version>/model.onnx                 ONNX (kiln's own executor, src/onnx)
// or KServe's single-model layout DIR/<model>/model.* (served as version 1).
// Models load, unload and reload while the server runs; a model that fails
// to load is kept in the index with its reason and never stops the server.
//
// Ownership: owns the loaded runtimes through shared_ptr, so a request that
// holds a model keeps it alive across an unload or reload.
// Thread-safety: every method is thread-safe. Loading reads files and may
// take a while: call from the worker pool, never from an I/O thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "serving/dynamic_batcher.h"
#include "serving/runtime.h"

namespace kiln::serving {

// Triton-style statistics of one loaded version (what /stats reports).
// Updated lock-free by concurrent requests.
struct ModelStats {
  std::atomic<uint64_t> success_count{0};
  std::atomic<uint64_t> success_ns{0};
  std::atomic<uint64_t> fail_count{0};
  std::atomic<uint64_t> fail_ns{0};
  std::atomic<uint64_t> queue_ns{0};
  std::atomic<uint64_t> compute_ns{0};
  std::atomic<uint64_t> execution_count{0};
  std::atomic<uint64_t> inference_count{0};  // rows
  std::atomic<int64_t> last_inference_ms{0};
};

// One loaded version.
struct ServedModel {
  std::string name;
  int64_t version = 1;
  std::string path;  // the model file
  std::shared_ptr<Runtime> runtime;
  std::shared_ptr<DynamicBatcher> batcher;  // every inference goes through it
  mutable ModelStats stats;
};

struct ModelState {
  std::string name;
  std::string version;  // empty when nothing loaded
  std::string state;    // READY | UNAVAILABLE | UNLOADED
  std::string reason;   // why not READY
};

// Loads the runtime for one model file by its name (model.json -> XGBoost…).
StatusOr<std::unique_ptr<Runtime>> LoadRuntimeForFile(const std::string& path);
// Loads `path` with the named runtime ("xgboost", "lightgbm", "onnx").
StatusOr<std::unique_ptr<Runtime>> LoadRuntime(const std::string& runtime, const std::string& path);

// A model URI (e.g. models:/fraud@champion) resolved to files on disk: the
// registry's answer, without serving knowing about the registry.
struct ResolvedModel {
  int64_t version = 1;
  std::string runtime;  // "xgboost" | "lightgbm" | "onnx"
  std::string path;     // the model file
};
using ModelUriResolver = std::function<StatusOr<ResolvedModel>(const std::string& uri)>;

// What Triton's load request may carry instead of the repository's files:
// a model configuration (Triton's JSON model config or kiln's config.json
// keys) and, with it, the model's files themselves.
struct LoadOverride {
  std::string config;  // JSON; empty: DIR/<model>/config.json applies
  // "<version>/<file name>" -> file content; empty: files come from DIR/<model>.
  std::map<std::string, std::string> files;
};

class ModelRepository {
 public:
  // `root` may be empty (no model directory). `resolver` may be empty (no
  // registry): then LoadUri() is refused.
  // `batching` is the default for every model; DIR/<model>/config.json may
  // override it with {"max_batch_size", "max_queue_delay_microseconds",
  // "max_queue_size"}.
  explicit ModelRepository(std::string root, ModelUriResolver resolver = {}, BatchingOptions batching = {})
      : root_(std::move(root)), resolver_(std::move(resolver)), batching_(batching) {}

  // Loads every model under the root; failures are recorded, not returned.
  void LoadAll();
  // (Re)loads one model from the root: all its versions. NotFound when the
  // directory does not exist; InvalidArgument (with the reason) when nothing
  // loads. On failure the previously loaded versions stay served.
  // With override.files the model is loaded from those files alone (staged
  // in a private temporary directory, removed once loaded) and needs no
  // repository; override.config then is required, as in Triton.
  Status Load(const std::string& name, const LoadOverride& override = {});
  // Serves `name` from a model URI (the registry's copy of that version),
  // replacing whatever `name` served; on failure nothing changes. Loading the
  // same alias again picks up where it points now. `batching` replaces the
  // repository's defaults for this model (deployment revisions that set their
  // own). The name is only a key here (no files are named after it), so it
  // may contain '/' (deployments serve "<model>/<version>").
  Status LoadUri(const std::string& name, const std::string& uri,
                 const std::optional<BatchingOptions>& batching = std::nullopt);
  // The batching every model gets unless its config or LoadUri says otherwise.
  const BatchingOptions& default_batching() const { return batching_; }
  Status Unload(const std::string& name);
  // The given version, or the highest when version is empty. NotFound names
  // what is missing; Unavailable when the model failed to load.
  StatusOr<std::shared_ptr<const ServedModel>> Get(const std::string& name, const std::string& version = "") const;
  // What a statistics request covers: the given version of `name`, all its
  // versions, or (empty name) every version of every ready model. Errors as
  // Get() for a model or version that is not served.
  StatusOr<std::vector<std::shared_ptr<const ServedModel>>> Select(const std::string& name,
                                                                   const std::string& version) const;
  std::vector<ModelState> Index() const;
  std::vector<std::string> ReadyModels() const;
  // Versions served for `name`, ascending.
  std::vector<int64_t> Versions(const std::string& name) const;
  // Loads that failed since start, per model: every model in the index (0
  // when none failed) and every name a LoadUri failed for. A Load in which
  // any version failed counts once, also when other versions loaded or the
  // previous ones stay served; a model that is not in the repository (NotFound)
  // and an invalid name do not count.
  std::map<std::string, uint64_t> LoadFailures() const;

 private:
  struct Entry {
    std::map<int64_t, std::shared_ptr<const ServedModel>> versions;
    std::string state = "UNAVAILABLE";
    std::string reason;
  };

  // Installs `fresh` as the entry for `name`.
  void Install(const std::string& name, Entry fresh);

  const std::string root_;
  // The model's batching options: the defaults, overridden by `config` when
  // given, else by DIR/<model>/config.json.
  StatusOr<BatchingOptions> BatchingFor(const std::string& name, const std::string& config) const;
  std::shared_ptr<const ServedModel> Serve(const std::string& name, int64_t version, const std::string& path,
                                           std::unique_ptr<Runtime> runtime, const BatchingOptions& batching) const;

  const ModelUriResolver resolver_;
  const BatchingOptions batching_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> models_;  // guarded by mu_
  std::map<std::string, uint64_t> load_failures_;  // guarded by mu_
  void CountFailure(const std::string& name);
};

}  // namespace kiln::serving
