// ObjectOwners: which experiment a run, logged model or trace belongs to, and
// which registered model owns a registry storage path -- what MLflow's access
// rules need to check a child object as its parent. These relations never
// change once the child exists, so answers are cached in a bounded map (the
// hot path is log-batch, which names the same run again and again).
//
// Borrows the services, which must outlive it. Thread-safe.
#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/status.h"
#include "registry/registry_service.h"
#include "tracking/trace_service.h"
#include "tracking/tracking_service.h"

namespace kiln::api::mlflow {

class ObjectOwners {
 public:
  ObjectOwners(tracking::TrackingService& tracking, registry::RegistryService& registry,
               tracking::TraceService* traces, size_t max_entries);

  // Errors are the services' own (a missing run is NotFound, as the handler
  // would answer); they are not cached.
  StatusOr<std::string> ExperimentOfRun(const std::string& run_id);
  StatusOr<std::string> ExperimentOfLoggedModel(const std::string& model_id);
  StatusOr<std::string> ExperimentOfTrace(const std::string& trace_id);
  // Not cached: a name can be freed (hard delete) and reused.
  StatusOr<std::string> ExperimentIdByName(const std::string& name);
  // The registered model whose version's copy is stored under `storage_path`
  // ("_registry/<id>"); NotFound when none is. Not cached (versions can be
  // deleted and their models renamed).
  StatusOr<std::string> ModelOfStoragePath(const std::string& storage_path);

  tracking::TrackingService& tracking() { return tracking_; }
  registry::RegistryService& registry() { return registry_; }
  tracking::TraceService* traces() { return traces_; }

  size_t cached_entries() const;

 private:
  template <typename Lookup>
  StatusOr<std::string> Cached(const std::string& key, Lookup lookup);

  tracking::TrackingService& tracking_;
  registry::RegistryService& registry_;
  tracking::TraceService* traces_;
  const size_t max_entries_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::string> cache_;  // "r:<run>" / "m:<model>" / "t:<trace>" -> experiment id
  std::deque<std::string> order_;                       // insertion order, for eviction
};

}  // namespace kiln::api::mlflow
