// Who may call the Open Inference Protocol's REST routes (V2 here, KServe V1
// in api/v1/v1_access.cc). KServe and Triton have no auth at all; kiln checks
// per model:
//
//   GET  /v2, /v2/health/live|ready                      public (probes)
//   GET  /v2/models, /v2/models/stats                    authenticated; only the models the caller may view
//   GET  /v2/models/{m}[/versions/{v}][/ready|/config|/stats], POST .../infer
//                                                        viewer on endpoint m when m is an endpoint (and no
//                                                        version is named), else on registered model m
//   POST /v2/repository/index                            authenticated; only the models the caller may view
//   POST /v2/repository/models/{m}/load|unload           admin (server configuration)
//
//   GET  /                                               public (KServe's liveness probe)
//   GET  /v1/models                                      authenticated; filtered
//   GET  /v1/models/{m}, POST /v1/models/{m}:predict     viewer on registered model m
#pragma once

#include <optional>
#include <set>
#include <string>

#include "net/router.h"
#include "serving/endpoint_router.h"

namespace kiln::api::v2 {

// Call after AddV2Routes with the same endpoint router (may be null).
void ApplyV2Access(net::Router& router, const serving::EndpointRouter* endpoints);

// The repository models a list may show the caller of `req`: every one when
// auth is off or the caller may view every registered model.
class VisibleModels {
 public:
  explicit VisibleModels(const net::HttpRequest& req);
  bool operator()(const std::string& name) const { return !names_ || names_->count(name) > 0; }

 private:
  std::optional<std::set<std::string>> names_;
};

}  // namespace kiln::api::v2

namespace kiln::api::v1 {

// Call after AddV1Routes.
void ApplyV1Access(net::Router& router);

}  // namespace kiln::api::v1
