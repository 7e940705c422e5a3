// EndpointInferenceRouter: serving::EndpointRouter over the RouteTable, so
// /v2/models/{endpoint}/infer (REST and gRPC) reaches an endpoint's traffic
// split, sticky routing, mirror and per-revision statistics unchanged.
//
// Ownership: borrows the route table (outlives it).
// Thread-safety: thread-safe; Route takes the table's shared lock only.
#pragma once

#include "deploy/live_endpoint.h"
#include "serving/endpoint_router.h"

namespace kiln::deploy {

class EndpointInferenceRouter final : public serving::EndpointRouter {
 public:
  explicit EndpointInferenceRouter(const RouteTable& routes) : routes_(routes) {}
  std::optional<StatusOr<serving::RoutedInference>> Route(std::string_view name,
                                                          const serving::HeaderLookup& header) const override;

 private:
  const RouteTable& routes_;
};

// Runs `inputs` on the mirror route of `endpoint` and discards the answer
// (shared by PredictService and the router). Never blocks; a full queue drops
// the mirrored call.
void SubmitMirror(const LiveEndpoint& endpoint, std::vector<serving::Tensor> inputs);

}  // namespace kiln::deploy
