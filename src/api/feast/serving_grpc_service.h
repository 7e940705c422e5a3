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

#include "core/worker_pool.h"
#include "feast/serving/ServingService.grpc.pb.h"
#include "features/online_service.h"

namespace kiln::api::feast {

class ServingGrpcService final : public ::feast::serving::ServingService::CallbackService {
 public:
  ServingGrpcService(features::OnlineService& online, WorkerPool& pool) : online_(online), pool_(pool) {}

  ::grpc::ServerUnaryReactor* GetFeastServingInfo(::grpc::CallbackServerContext* ctx,
                                                  const ::feast::serving::GetFeastServingInfoRequest* req,
                                                  ::feast::serving::GetFeastServingInfoResponse* res) override;
  ::grpc::ServerUnaryReactor* GetOnlineFeatures(::grpc::CallbackServerContext* ctx,
                                                const ::feast::serving::GetOnlineFeaturesRequest* req,
                                                ::feast::serving::GetOnlineFeaturesResponse* res) override;

 private:
  features::OnlineService& online_;
  WorkerPool& pool_;
};

}  // namespace kiln::api::feast
