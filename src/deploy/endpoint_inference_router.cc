#include "deploy/endpoint_inference_router.h"

#include <chrono>
#include <cstring>

#include "deploy/drift.h"

namespace kiln::deploy {

namespace {

bool IsServerError(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kFailedPrecondition: return false;
    default: return true;
  }
}

bool Sampled(int percent) {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  return RandomKey() % 10000 < static_cast<uint64_t>(percent) * 100;
}

// A V2 call's inputs as the endpoint's drift monitor sees them: one FP32 or
// FP64 [rows, width] (or [width]) tensor whose width is the signature's;
// anything else is not a table of the signature's columns and is skipped.
void ObserveDrift(DriftMonitor& drift, const std::vector<std::string>& columns,
                  const std::vector<serving::Tensor>& inputs) {
  if (inputs.size() != 1) return;
  const serving::Tensor& t = inputs[0];
  if (t.dtype != serving::DataType::kFp32 && t.dtype != serving::DataType::kFp64) return;
  const auto width = static_cast<int64_t>(columns.size());
  int64_t rows = 0;
  if (t.shape.size() == 2 && t.shape[1] == width && t.shape[0] >= 0) {
    rows = t.shape[0];
  } else if (t.shape.size() == 1 && t.shape[0] == width) {
    rows = 1;
  } else {
    return;
  }
  const size_t count = static_cast<size_t>(rows * width);
  const size_t size = serving::ElementSize(t.dtype);
  if (t.data.size() != count * size) return;
  std::vector<double> values(count);
  for (size_t i = 0; i < count; ++i) {
    if (t.dtype == serving::DataType::kFp32) {
      float f;
      std::memcpy(&f, t.data.data() + i * size, size);
      values[i] = f;
    } else {
      std::memcpy(&values[i], t.data.data() + i * size, size);
    }
  }
  drift.Observe(columns, values.data(), rows);
}

}  // namespace

std::optional<StatusOr<serving::RoutedInference>> EndpointInferenceRouter::Route(
    std::string_view name, const serving::HeaderLookup& header) const {
  std::shared_ptr<const LiveEndpoint> ep = routes_.Find(name);
  if (!ep) return std::nullopt;
  if (ep->routes.empty()) {
    return StatusOr<serving::RoutedInference>(
        Unavailable("endpoint '" + ep->name + "' has no model ready to serve"));
  }
  uint64_t key = 0;
  std::string_view sticky;
  if (!ep->sticky_header.empty() && header) sticky = header(ep->sticky_header);
  key = sticky.empty() ? RandomKey() : StickyHash(sticky);
  const LiveRoute& route = ep->Pick(key);
  if (!route.served) {
    return StatusOr<serving::RoutedInference>(
        Unavailable("model '" + route.model + "' version " + std::to_string(route.version) + " is not ready"));
  }
  serving::RoutedInference routed;
  routed.model = route.served;
  routed.endpoint = ep->name;
  routed.revision = route.revision;
  // Only the statistics: the adapter may finish the call on the model's
  // batcher thread, which must never drop the model's last reference.
  routed.finished = [stats = route.stats](bool server_error, double seconds) {
    if (stats) stats->Record(server_error, seconds);
  };
  // The adapters hand this hook a copy of the call's inputs: it mirrors the
  // call when sampled and feeds the endpoint's drift monitor, so V2 traffic
  // counts for drift like /predict traffic does.
  const bool mirrored = ep->mirror && ep->mirror->served && Sampled(ep->mirror_percent);
  const bool observed = ep->drift && !route.input_columns.empty();
  if (mirrored || observed) {
    // Weak: the hook is best effort and must not keep a changed endpoint's
    // models alive (nor be their last owner on a batcher thread). `route`
    // lives in the snapshot, valid while the lock holds it.
    routed.inputs = [weak = std::weak_ptr<const LiveEndpoint>(ep), route = &route, mirrored,
                     observed](std::vector<serving::Tensor> inputs) {
      auto live = weak.lock();
      if (!live) return;
      if (observed) ObserveDrift(*live->drift, route->input_columns, inputs);
      if (mirrored) SubmitMirror(*live, std::move(inputs));
    };
  }
  return StatusOr<serving::RoutedInference>(std::move(routed));
}

void SubmitMirror(const LiveEndpoint& endpoint, std::vector<serving::Tensor> inputs) {
  if (!endpoint.mirror || !endpoint.mirror->served || !endpoint.mirror->served->batcher) return;
  const LiveRoute& mirror = *endpoint.mirror;
  const auto& specs = mirror.served->runtime->inputs();
  // The shadow model may name its one input differently (input-0, float_input, ...).
  if (inputs.size() == 1 && specs.size() == 1) inputs[0].name = specs[0].name;
  const auto start = std::chrono::steady_clock::now();
  // The job holds the statistics only: when the mirror model is unloaded its
  // pending mirrored calls fail, which nobody waits for.
  Status s = mirror.served->batcher->Submit(
      std::move(inputs), [stats = mirror.stats, start](StatusOr<std::vector<serving::Tensor>> out,
                                                       const serving::BatchTiming&) {
        if (!stats) return;
        stats->Record(!out.ok() && IsServerError(out.status()),
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      });
  if (!s.ok() && mirror.stats) mirror.stats->Record(true, 0);
}

}  // namespace kiln::deploy
