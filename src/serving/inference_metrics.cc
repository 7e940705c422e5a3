#include "serving/inference_metrics.h"

namespace kiln::serving {

InferenceMetrics::InferenceMetrics(MetricsRegistry& metrics, const ModelRepository& repository)
    : metrics_(metrics) {
  auto& loaded = metrics_.Gauge("kiln_models_loaded", "Model versions currently served");
  metrics_.AddCollector([&loaded, &repository] {
    double n = 0;
    for (const auto& m : repository.Index()) n += m.state == "READY" ? 1 : 0;
    loaded.Set(n);
  });
}

void InferenceMetrics::Record(const std::string& model, int64_t version, const std::string& outcome,
                              double request_seconds, double compute_seconds, int64_t rows) {
  const Labels labels = {{"model", model}, {"version", std::to_string(version)}};
  Labels with_outcome = labels;
  with_outcome.emplace_back("outcome", outcome);
  metrics_.Counter("kiln_inference_requests_total", "Inference requests by model, version and outcome", with_outcome)
      .Increment();
  metrics_.Histogram("kiln_inference_request_seconds", "Inference request time in kiln, decoding to encoding", labels)
      .Observe(request_seconds);
  if (outcome != "ok") return;
  metrics_.Histogram("kiln_inference_compute_seconds", "Time the runtime spent executing", labels)
      .Observe(compute_seconds);
  static const std::vector<double> kRows = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};
  metrics_.Histogram("kiln_inference_batch_rows", "Rows per runtime execution", labels, kRows)
      .Observe(static_cast<double>(rows));
}

}  // namespace kiln::serving
