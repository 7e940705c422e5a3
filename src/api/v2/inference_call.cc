#include "api/v2/inference_call.h"

#include <algorithm>

namespace kiln::api::v2 {

Status CheckInferRequest(const serving::ServedModel& served, const std::vector<serving::Tensor>& inputs,
                         const std::vector<std::string>& requested_outputs) {
  const serving::Runtime& rt = *served.runtime;
  const auto& ins = rt.inputs();
  for (const serving::Tensor& in : inputs) {
    if (std::none_of(ins.begin(), ins.end(), [&](const auto& s) { return s.name == in.name; })) {
      return InvalidArgument("unexpected input '" + in.name + "' for model '" + served.name + "'");
    }
  }
  const auto& outs = rt.outputs();
  for (const std::string& name : requested_outputs) {
    if (std::none_of(outs.begin(), outs.end(), [&](const auto& s) { return s.name == name; })) {
      return InvalidArgument("unknown output '" + name + "' for model '" + served.name + "'");
    }
  }
  return Status::Ok();
}

InferOutcome OutcomeOf(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return InferOutcome::kOk;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound: return InferOutcome::kBadRequest;
    default: return InferOutcome::kError;
  }
}

void InferenceRecord::Finish(InferOutcome outcome) {
  std::chrono::duration<double> total = std::chrono::steady_clock::now() - start_;
  const bool ok = outcome == InferOutcome::kOk;
  if (metrics_) {
    const char* name = ok ? "ok" : (outcome == InferOutcome::kBadRequest ? "bad_request" : "error");
    metrics_->Record(model_->name, model_->version, name, total.count(), timing_);
  }
  auto& st = model_->stats;
  const auto ns = static_cast<uint64_t>(total.count() * 1e9);
  (ok ? st.success_count : st.fail_count).fetch_add(1, std::memory_order_relaxed);
  (ok ? st.success_ns : st.fail_ns).fetch_add(ns, std::memory_order_relaxed);
  if (ok) {
    st.queue_ns.fetch_add(static_cast<uint64_t>(timing_.queue_seconds * 1e9), std::memory_order_relaxed);
    st.compute_ns.fetch_add(static_cast<uint64_t>(timing_.compute_seconds * 1e9), std::memory_order_relaxed);
    st.execution_count.fetch_add(1, std::memory_order_relaxed);
    st.inference_count.fetch_add(static_cast<uint64_t>(rows_), std::memory_order_relaxed);
    st.last_inference_ms.store(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count(),
                               std::memory_order_relaxed);
  }
}

}  // namespace kiln::api::v2
