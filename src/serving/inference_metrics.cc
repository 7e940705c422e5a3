#include "serving/inference_metrics.h"

#include <map>
#include <memory>
#include <mutex>

namespace kiln::serving {

InferenceMetrics::InferenceMetrics(MetricsRegistry& metrics, const ModelRepository& repository)
    : metrics_(metrics) {
  auto& loaded = metrics_.Gauge("kiln_models_loaded", "Model versions currently served");
  // Exported at 0 from the start, so an alert on it has a series to watch
  // before the first failure.
  auto& unavailable = metrics_.Gauge("kiln_models_unavailable",
                                     "Models whose last load failed with no version served (see /v2/repository/index)");
  metrics_.AddCollector([&loaded, &unavailable, &repository] {
    double n = 0;
    double failed = 0;
    for (const auto& m : repository.Index()) {
      n += m.state == "READY" ? 1 : 0;
      failed += m.state == "UNAVAILABLE" ? 1 : 0;
    }
    loaded.Set(n);
    unavailable.Set(failed);
  });
  // Counted by the repository, exported on scrape: the counter grows by what
  // the repository counted since the last scrape (counts never decrease).
  struct Seen {
    std::mutex mu;  // scrapes may run concurrently
    std::map<std::string, uint64_t> failures;
  };
  auto seen = std::make_shared<Seen>();
  metrics_.AddCollector([&registry = metrics_, seen, &repository] {
    std::lock_guard lock(seen->mu);
    for (const auto& [model, failures] : repository.LoadFailures()) {
      auto& counter = registry.Counter("kiln_model_load_failures_total",
                                       "Model loads that failed (initial load, reload, load by URI)", {{"model", model}});
      uint64_t& before = seen->failures[model];
      if (failures > before) counter.Increment(static_cast<double>(failures - before));
      before = failures;
    }
  });
}

void InferenceMetrics::Record(const std::string& model, int64_t version, const std::string& outcome,
                              double request_seconds, const BatchTiming& timing) {
  const Labels labels = {{"model", model}, {"version", std::to_string(version)}};
  // Every outcome's child exists once a version answered anything, so an
  // error ratio is 0 (not "no data") while nothing failed.
  static const char* const kOutcomes[] = {"ok", "bad_request", "error"};
  for (const char* o : kOutcomes) {
    Labels with_outcome = labels;
    with_outcome.emplace_back("outcome", o);
    auto& counter =
        metrics_.Counter("kiln_inference_requests_total", "Inference requests by model, version and outcome", with_outcome);
    if (outcome == o) counter.Increment();
  }
  metrics_.Histogram("kiln_inference_request_seconds", "Inference request time in kiln, decoding to encoding", labels)
      .Observe(request_seconds);
  if (outcome != "ok") return;
  metrics_.Histogram("kiln_inference_queue_seconds", "Time a request waited in the model's batching queue", labels)
      .Observe(timing.queue_seconds);
  metrics_.Histogram("kiln_inference_compute_seconds", "Time the runtime spent executing", labels)
      .Observe(timing.compute_seconds);
  static const std::vector<double> kRows = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};
  metrics_.Histogram("kiln_inference_batch_rows", "Rows per runtime execution (after batching)", labels, kRows)
      .Observe(static_cast<double>(timing.batch_rows));
}

}  // namespace kiln::serving
