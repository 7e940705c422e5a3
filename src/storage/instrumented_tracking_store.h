// InstrumentedTrackingStore: a TrackingStore decorator that times every call
// into `kiln_store_operation_duration_seconds{store,operation}` and counts
// failures, so /metrics shows store latency whatever the backend. Every
// operation's error counter exists at 0 from construction, so an error ratio
// is 0 (not "no data") until the first failure.
//
// Borrows the wrapped store and the registry (both must outlive it).
// Thread-safe as the wrapped store is.
#pragma once

#include <chrono>
#include <string>

#include "core/metrics.h"
#include "storage/tracking_store.h"

namespace kiln::storage {

class InstrumentedTrackingStore final : public TrackingStore {
 public:
  InstrumentedTrackingStore(TrackingStore& inner, MetricsRegistry& metrics, std::string backend)
      : inner_(inner), metrics_(metrics), backend_(std::move(backend)) {
    for (const char* operation : kOperations) ErrorCounter(operation);
  }

  // Every operation name Timed() is called with.
  static constexpr const char* kOperations[] = {
      "ping",
      "create_experiment",
      "get_experiment",
      "get_experiment_by_name",
      "search_experiments",
      "rename_experiment",
      "set_experiment_lifecycle",
      "set_experiment_tag",
      "delete_experiment_tag",
      "create_run",
      "get_run",
      "update_run",
      "set_run_lifecycle",
      "log_batch",
      "delete_run_tag",
      "log_inputs",
      "log_outputs",
      "search_runs",
      "get_metric_history",
      "create_logged_model",
      "get_logged_model",
      "finalize_logged_model",
      "delete_logged_model",
      "set_logged_model_tags",
      "delete_logged_model_tag",
      "log_logged_model_params",
      "search_logged_models",
  };

  Status Ping() override { return Timed("ping", [&] { return inner_.Ping(); }); }
  StatusOr<std::string> CreateExperiment(const std::string& name, const std::string& artifact_location,
                                         const std::string& default_artifact_root, const std::vector<Tag>& tags,
                                         int64_t now_ms) override {
    return Timed("create_experiment", [&] {
      return inner_.CreateExperiment(name, artifact_location, default_artifact_root, tags, now_ms);
    });
  }
  StatusOr<Experiment> GetExperiment(const std::string& id) override {
    return Timed("get_experiment", [&] { return inner_.GetExperiment(id); });
  }
  StatusOr<Experiment> GetExperimentByName(const std::string& name) override {
    return Timed("get_experiment_by_name", [&] { return inner_.GetExperimentByName(name); });
  }
  StatusOr<Page<Experiment>> SearchExperiments(const ExperimentQuery& q) override {
    return Timed("search_experiments", [&] { return inner_.SearchExperiments(q); });
  }
  Status RenameExperiment(const std::string& id, const std::string& new_name, int64_t now_ms) override {
    return Timed("rename_experiment", [&] { return inner_.RenameExperiment(id, new_name, now_ms); });
  }
  Status SetExperimentLifecycle(const std::string& id, const std::string& stage, int64_t now_ms) override {
    return Timed("set_experiment_lifecycle", [&] { return inner_.SetExperimentLifecycle(id, stage, now_ms); });
  }
  Status SetExperimentTag(const std::string& id, const Tag& tag) override {
    return Timed("set_experiment_tag", [&] { return inner_.SetExperimentTag(id, tag); });
  }
  Status DeleteExperimentTag(const std::string& id, const std::string& key) override {
    return Timed("delete_experiment_tag", [&] { return inner_.DeleteExperimentTag(id, key); });
  }
  StatusOr<Run> CreateRun(const RunInfo& info, const std::vector<Tag>& tags) override {
    return Timed("create_run", [&] { return inner_.CreateRun(info, tags); });
  }
  StatusOr<Run> GetRun(const std::string& run_id) override {
    return Timed("get_run", [&] { return inner_.GetRun(run_id); });
  }
  StatusOr<RunInfo> UpdateRun(const std::string& run_id, const std::optional<std::string>& status,
                              const std::optional<int64_t>& end_time,
                              const std::optional<std::string>& run_name) override {
    return Timed("update_run", [&] { return inner_.UpdateRun(run_id, status, end_time, run_name); });
  }
  Status SetRunLifecycle(const std::string& run_id, const std::string& stage, int64_t now_ms) override {
    return Timed("set_run_lifecycle", [&] { return inner_.SetRunLifecycle(run_id, stage, now_ms); });
  }
  Status LogBatch(const std::string& run_id, const std::vector<Metric>& metrics, const std::vector<Param>& params,
                  const std::vector<Tag>& tags) override {
    return Timed("log_batch", [&] { return inner_.LogBatch(run_id, metrics, params, tags); });
  }
  Status DeleteRunTag(const std::string& run_id, const std::string& key) override {
    return Timed("delete_run_tag", [&] { return inner_.DeleteRunTag(run_id, key); });
  }
  Status LogInputs(const std::string& run_id, const std::vector<DatasetInput>& datasets,
                   const std::vector<ModelInput>& models) override {
    return Timed("log_inputs", [&] { return inner_.LogInputs(run_id, datasets, models); });
  }
  Status LogOutputs(const std::string& run_id, const std::vector<ModelOutput>& models) override {
    return Timed("log_outputs", [&] { return inner_.LogOutputs(run_id, models); });
  }
  StatusOr<Page<Run>> SearchRuns(const RunQuery& q) override {
    return Timed("search_runs", [&] { return inner_.SearchRuns(q); });
  }
  StatusOr<Page<Metric>> GetMetricHistory(const std::string& run_id, const std::string& key, int64_t offset,
                                          int64_t max_results, std::optional<int64_t> start_step,
                                          std::optional<int64_t> end_step) override {
    return Timed("get_metric_history", [&] {
      return inner_.GetMetricHistory(run_id, key, offset, max_results, start_step, end_step);
    });
  }
  StatusOr<LoggedModel> CreateLoggedModel(const LoggedModel& model) override {
    return Timed("create_logged_model", [&] { return inner_.CreateLoggedModel(model); });
  }
  StatusOr<LoggedModel> GetLoggedModel(const std::string& id) override {
    return Timed("get_logged_model", [&] { return inner_.GetLoggedModel(id); });
  }
  StatusOr<LoggedModel> FinalizeLoggedModel(const std::string& id, const std::string& status,
                                            int64_t now_ms) override {
    return Timed("finalize_logged_model", [&] { return inner_.FinalizeLoggedModel(id, status, now_ms); });
  }
  Status DeleteLoggedModel(const std::string& id, int64_t now_ms) override {
    return Timed("delete_logged_model", [&] { return inner_.DeleteLoggedModel(id, now_ms); });
  }
  Status SetLoggedModelTags(const std::string& id, const std::vector<Tag>& tags) override {
    return Timed("set_logged_model_tags", [&] { return inner_.SetLoggedModelTags(id, tags); });
  }
  Status DeleteLoggedModelTag(const std::string& id, const std::string& key) override {
    return Timed("delete_logged_model_tag", [&] { return inner_.DeleteLoggedModelTag(id, key); });
  }
  Status LogLoggedModelParams(const std::string& id, const std::vector<Param>& params) override {
    return Timed("log_logged_model_params", [&] { return inner_.LogLoggedModelParams(id, params); });
  }
  StatusOr<Page<LoggedModel>> SearchLoggedModels(const LoggedModelQuery& q) override {
    return Timed("search_logged_models", [&] { return inner_.SearchLoggedModels(q); });
  }

 private:
  template <typename Fn>
  auto Timed(const char* operation, Fn&& fn) -> decltype(fn()) {
    const auto start = std::chrono::steady_clock::now();
    auto result = fn();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Labels labels{{"store", backend_}, {"operation", operation}};
    metrics_.Histogram("kiln_store_operation_duration_seconds", "Metadata store call latency", labels)
        .Observe(seconds);
    if (!result.ok() && IsFailure(result)) ErrorCounter(operation).Increment();
    return result;
  }
  CounterMetric& ErrorCounter(const char* operation) {
    return metrics_.Counter("kiln_store_operation_errors_total", "Metadata store calls that failed",
                            {{"store", backend_}, {"operation", operation}});
  }
  template <typename R>
  static bool IsFailure(const R& result) {
    // Not-found and validation answers are normal traffic, not store failures.
    auto code = StatusOf(result).code();
    return code == StatusCode::kInternal || code == StatusCode::kUnavailable || code == StatusCode::kAborted;
  }
  static Status StatusOf(const Status& s) { return s; }
  template <typename T>
  static Status StatusOf(const StatusOr<T>& s) { return s.status(); }

  TrackingStore& inner_;
  MetricsRegistry& metrics_;
  std::string backend_;
};

}  // namespace kiln::storage
