// Per-model inference metrics on /metrics: requests by outcome, compute and
// end-to-end latency histograms, rows per execution, and loaded models.
// Labels are model and version.
//
// Ownership: borrows the MetricsRegistry and the repository (for the
// loaded-models gauge), which must outlive it.
// Thread-safety: Record() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/metrics.h"
#include "serving/dynamic_batcher.h"
#include "serving/model_repository.h"

namespace kiln::serving {

class InferenceMetrics {
 public:
  InferenceMetrics(MetricsRegistry& metrics, const ModelRepository& repository);

  // outcome: "ok", "bad_request" (the caller's fault) or "error".
  void Record(const std::string& model, int64_t version, const std::string& outcome, double request_seconds,
              const BatchTiming& timing);

 private:
  MetricsRegistry& metrics_;
};

}  // namespace kiln::serving
