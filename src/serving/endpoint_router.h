// EndpointRouter: how the Open Inference Protocol adapters (V2 REST and gRPC)
// reach a deployment endpoint by name, without knowing what an endpoint is.
// When a request names an endpoint (and no version), the adapter asks the
// router which loaded model answers this call; the endpoint's traffic split,
// sticky routing, mirror and per-revision statistics live behind it
// (deploy/endpoint_inference_router.h implements it).
//
// Thread-safety: implementations are thread-safe; Route() is on the request
// path and must not block (no I/O, no waiting on locks held across I/O).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "serving/model_repository.h"
#include "serving/tensor.h"

namespace kiln::serving {

// One call routed through an endpoint.
struct RoutedInference {
  std::shared_ptr<const ServedModel> model;  // the model that answers
  std::string endpoint;                      // the name the client used (the response's model_name)
  int64_t revision = 0;
  // Call exactly once when the call ends: `server_error` for outcomes that are
  // the server's fault (5xx), with the call's duration. Feeds the endpoint's
  // guardrails and per-revision metrics. Never empty.
  std::function<void(bool server_error, double seconds)> finished;
  // When set, hand it a copy of the decoded inputs: the endpoint mirrors them
  // to its shadow model (answer discarded) and feeds its drift monitor.
  // Never blocks.
  std::function<void(std::vector<Tensor> inputs)> inputs;
};

// Looks up a request header (lower-case name; gRPC: metadata key); empty when absent.
using HeaderLookup = std::function<std::string_view(std::string_view lower_name)>;

class EndpointRouter {
 public:
  virtual ~EndpointRouter() = default;
  // nullopt: `name` is no endpoint (the repository's own models apply).
  // Otherwise the routed call, or Unavailable when the endpoint has nothing
  // ready to serve.
  virtual std::optional<StatusOr<RoutedInference>> Route(std::string_view name, const HeaderLookup& header) const = 0;
};

}  // namespace kiln::serving
