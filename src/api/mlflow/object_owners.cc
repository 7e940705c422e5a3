#include "api/mlflow/object_owners.h"

namespace kiln::api::mlflow {

ObjectOwners::ObjectOwners(tracking::TrackingService& tracking, registry::RegistryService& registry,
                           tracking::TraceService* traces, size_t max_entries)
    : tracking_(tracking), registry_(registry), traces_(traces), max_entries_(std::max<size_t>(1, max_entries)) {}

template <typename Lookup>
StatusOr<std::string> ObjectOwners::Cached(const std::string& key, Lookup lookup) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  }
  // The lookup runs unlocked: two callers may both miss and both look up,
  // which is harmless (the answer is the same) and keeps the lock short.
  StatusOr<std::string> found = lookup();
  if (!found.ok()) return found;
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_.emplace(key, *found).second) {
    order_.push_back(key);
    while (order_.size() > max_entries_) {
      cache_.erase(order_.front());
      order_.pop_front();
    }
  }
  return found;
}

StatusOr<std::string> ObjectOwners::ExperimentOfRun(const std::string& run_id) {
  if (run_id.empty()) return InvalidArgument("Missing value for required parameter 'run_id'. See the API docs for more information about request parameters.");
  return Cached("r:" + run_id, [&]() -> StatusOr<std::string> {
    KILN_ASSIGN_OR_RETURN(auto run, tracking_.GetRun(run_id));
    return run.info.experiment_id;
  });
}

StatusOr<std::string> ObjectOwners::ExperimentOfLoggedModel(const std::string& model_id) {
  return Cached("m:" + model_id, [&]() -> StatusOr<std::string> {
    KILN_ASSIGN_OR_RETURN(auto model, tracking_.GetLoggedModel(model_id, /*allow_deleted=*/true));
    return model.experiment_id;
  });
}

StatusOr<std::string> ObjectOwners::ExperimentOfTrace(const std::string& trace_id) {
  if (!traces_) return FailedPrecondition("traces are not served by this server");
  return Cached("t:" + trace_id, [&]() -> StatusOr<std::string> {
    KILN_ASSIGN_OR_RETURN(auto record, traces_->GetTraceInfo(trace_id));
    return record.info.experiment_id;
  });
}

StatusOr<std::string> ObjectOwners::ExperimentIdByName(const std::string& name) {
  KILN_ASSIGN_OR_RETURN(auto exp, tracking_.GetExperimentByName(name));
  return exp.experiment_id;
}

StatusOr<std::string> ObjectOwners::ModelOfStoragePath(const std::string& storage_path) {
  registry::SearchRequest req;
  req.max_results = 1;
  req.scope.push_back({storage::SearchEntity::kAttribute, "storage_path", storage::CompareOp::kEq, storage_path});
  KILN_ASSIGN_OR_RETURN(auto page, registry_.SearchModelVersions(req));
  if (page.items.empty()) return NotFound("no model version is stored at '" + storage_path + "'");
  return page.items.front().name;
}

size_t ObjectOwners::cached_entries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cache_.size();
}

}  // namespace kiln::api::mlflow
