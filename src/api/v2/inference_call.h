// What every Open Inference Protocol adapter (V2 REST, V2 gRPC) does around
// one inference, whatever its wire format: check the decoded request against
// the model (input names known, requested outputs exist) and, when the call
// ends, record it in the metrics and Triton's per-model statistics.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "serving/inference_metrics.h"
#include "serving/model_repository.h"

namespace kiln::api::v2 {

// Refuses (InvalidArgument) an input the model does not take or a requested
// output it does not produce. Datatypes and shapes are the runtime's to check.
// Pure; safe to call concurrently.
Status CheckInferRequest(const serving::ServedModel& served, const std::vector<serving::Tensor>& inputs,
                         const std::vector<std::string>& requested_outputs);

// How a finished inference is counted: the caller's fault or the server's.
enum class InferOutcome { kOk, kBadRequest, kError };

// The outcome the V2 REST mapping gives a status: InvalidArgument and
// NotFound (4xx) are the caller's; Unavailable, ResourceExhausted and the
// rest (5xx) the server's.
InferOutcome OutcomeOf(const Status& status);

// Records one inference (metrics and Triton statistics) when it finishes.
// Ownership: shares the served model (its stats outlive an unload); borrows
// the metrics, which may be null and must outlive the record.
// Thread-safety: one owner at a time; it may be handed from the thread that
// queued the request to the batcher thread that finishes it.
class InferenceRecord {
 public:
  InferenceRecord(serving::InferenceMetrics* metrics, std::shared_ptr<const serving::ServedModel> model)
      : metrics_(metrics), model_(std::move(model)), start_(std::chrono::steady_clock::now()) {}
  InferenceRecord(const InferenceRecord&) = delete;
  InferenceRecord& operator=(const InferenceRecord&) = delete;

  // The execution's timing and this request's rows; call before Finish on success.
  void Computed(const serving::BatchTiming& t, int64_t rows) {
    timing_ = t;
    rows_ = rows;
  }
  void Finish(InferOutcome outcome);

 private:
  serving::InferenceMetrics* metrics_;
  std::shared_ptr<const serving::ServedModel> model_;
  std::chrono::steady_clock::time_point start_;
  serving::BatchTiming timing_;
  int64_t rows_ = 0;
};

}  // namespace kiln::api::v2
