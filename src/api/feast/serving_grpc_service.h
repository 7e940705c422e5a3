// feast.serving.ServingService on kiln's gRPC port: GetFeastServingInfo and
// GetOnlineFeatures (Feast's Go/Java servers' protocol; the Python SDK ships
// its stubs). The same OnlineService as /get-online-features answers, so the
// statuses (PRESENT, NULL_VALUE, NOT_FOUND, OUTSIDE_MAX_AGE), the join keys
// first and the names are identical; values are the stored
// feast.types.Value messages. request_context values join the entities (as
// Feast's request data). Errors: INVALID_ARGUMENT, NOT_FOUND with Feast's
// messages, UNIMPLEMENTED (on-demand views), UNAVAILABLE when the worker
// queue is full.
//
// GetOnlineFeatures runs on the WorkerPool (registry lookups may read the
// metadata store); GetFeastServingInfo answers inline.
//
// Ownership: borrows the service and pool, which outlive the gRPC server.
// Thread-safety: gRPC calls it concurrently; it holds no mutable state.
#pragma once

#include <string>

#include "api/gate/request_gate.h"
#include "core/worker_pool.h"
#include "feast/serving/ServingService.grpc.pb.h"
#include "features/feature_registry.h"
#include "features/online_service.h"

namespace kiln::api::feast {

// Access (through the request gate, when one is given): GetOnlineFeatures
// needs viewer on every feature view it reads (a grant on the project covers
// its views), resolved with `registry` as /get-online-features resolves
// them; GetFeastServingInfo is public, like the health probes.
class ServingGrpcService final : public ::feast::serving::ServingService::CallbackService {
 public:
  // `gate` may be null (everything allowed); with a gate, `registry` names
  // the views a request reads and must be set too.
  ServingGrpcService(features::OnlineService& online, WorkerPool& pool, gate::RequestGate* gate = nullptr,
                     features::FeatureRegistry* registry = nullptr, std::string default_project = {})
      : online_(online), pool_(pool), gate_(gate), registry_(registry), default_project_(std::move(default_project)) {}

  ::grpc::ServerUnaryReactor* GetFeastServingInfo(::grpc::CallbackServerContext* ctx,
                                                  const ::feast::serving::GetFeastServingInfoRequest* req,
                                                  ::feast::serving::GetFeastServingInfoResponse* res) override;
  ::grpc::ServerUnaryReactor* GetOnlineFeatures(::grpc::CallbackServerContext* ctx,
                                                const ::feast::serving::GetOnlineFeaturesRequest* req,
                                                ::feast::serving::GetOnlineFeaturesResponse* res) override;

 private:
  features::OnlineService& online_;
  WorkerPool& pool_;
  gate::RequestGate* gate_;
  features::FeatureRegistry* registry_;
  const std::string default_project_;
};

}  // namespace kiln::api::feast
