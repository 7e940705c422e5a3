// inference.GRPCInferenceService: the Open Inference Protocol (KServe V2)
// over gRPC with Triton's extensions (model config, statistics, repository
// index/load/unload), on gRPC's callback API so no gRPC thread ever waits:
//   - health, metadata, config, statistics, index answer inline (memory only);
//   - ModelInfer decodes and checks inline, queues the rows at the model's
//     DynamicBatcher and returns; the batcher's thread encodes the answer and
//     finishes the call;
//   - load/unload read files, so they run on the WorkerPool, which finishes
//     the call (UNAVAILABLE at once when its queue is full).
// Errors are gRPC status codes: INVALID_ARGUMENT, NOT_FOUND (unknown model or
// version), UNAVAILABLE (model not loaded), RESOURCE_EXHAUSTED (model queue
// full).
//
// With an EndpointRouter, a model name that is a deployment endpoint (and no
// version) reaches the endpoint's traffic split: ModelInfer runs on the routed
// model (sticky header from the call's metadata) and answers model_name = the
// endpoint, model_version = the registered version that answered;
// ModelReady, ModelMetadata and ModelConfig answer for the model the
// endpoint routes to.
//
// ServerReady answers ready=false once `drain` (the HTTP server's, when
// given) began a graceful shutdown, like /health, so a load balancer probing
// gRPC stops routing here during --shutdown-delay-ms; ServerLive stays true.
//
// Access (through the request gate, when one is given): ServerLive,
// ServerReady and ServerMetadata are public (probes); a model's ready,
// metadata, config, statistics and infer need viewer on the endpoint of that
// name (when it is one and no version is asked) or on the registered model
// of that name; the repository index and all-model statistics list only the
// models the caller may view; load and unload are for administrators. With a
// gate the admission (which may read the identity store) runs on the worker
// pool before the call's own work.
//
// Ownership: borrows the repository, metrics (may be null), pool,
// endpoints (may be null) and drain (may be null), which must outlive the gRPC server this service is
// registered with.
// Thread-safety: gRPC calls the methods concurrently; the service holds no
// mutable state of its own.
#pragma once

#include <optional>
#include <string>

#include <functional>
#include <vector>

#include "api/gate/request_gate.h"
#include "core/access.h"
#include "core/worker_pool.h"
#include "inference/grpc_service.grpc.pb.h"
#include "net/drain_state.h"
#include "serving/endpoint_router.h"
#include "serving/inference_metrics.h"
#include "serving/model_repository.h"

namespace kiln::api::grpcv2 {

class InferenceService final : public inference::GRPCInferenceService::CallbackService {
 public:
  // `gate` may be null: every call allowed, nothing audited.
  InferenceService(serving::ModelRepository& repository, serving::InferenceMetrics* metrics, WorkerPool& pool,
                   std::string server_version, const serving::EndpointRouter* endpoints = nullptr,
                   gate::RequestGate* gate = nullptr, const net::DrainState* drain = nullptr)
      : repo_(repository),
        metrics_(metrics),
        pool_(pool),
        server_version_(std::move(server_version)),
        endpoints_(endpoints),
        gate_(gate),
        drain_(drain) {}

  ::grpc::ServerUnaryReactor* ServerLive(::grpc::CallbackServerContext* ctx, const inference::ServerLiveRequest* req,
                                         inference::ServerLiveResponse* res) override;
  ::grpc::ServerUnaryReactor* ServerReady(::grpc::CallbackServerContext* ctx,
                                          const inference::ServerReadyRequest* req,
                                          inference::ServerReadyResponse* res) override;
  ::grpc::ServerUnaryReactor* ModelReady(::grpc::CallbackServerContext* ctx, const inference::ModelReadyRequest* req,
                                         inference::ModelReadyResponse* res) override;
  ::grpc::ServerUnaryReactor* ServerMetadata(::grpc::CallbackServerContext* ctx,
                                             const inference::ServerMetadataRequest* req,
                                             inference::ServerMetadataResponse* res) override;
  ::grpc::ServerUnaryReactor* ModelMetadata(::grpc::CallbackServerContext* ctx,
                                            const inference::ModelMetadataRequest* req,
                                            inference::ModelMetadataResponse* res) override;
  ::grpc::ServerUnaryReactor* ModelInfer(::grpc::CallbackServerContext* ctx, const inference::ModelInferRequest* req,
                                         inference::ModelInferResponse* res) override;
  ::grpc::ServerUnaryReactor* ModelConfig(::grpc::CallbackServerContext* ctx,
                                          const inference::ModelConfigRequest* req,
                                          inference::ModelConfigResponse* res) override;
  ::grpc::ServerUnaryReactor* ModelStatistics(::grpc::CallbackServerContext* ctx,
                                              const inference::ModelStatisticsRequest* req,
                                              inference::ModelStatisticsResponse* res) override;
  ::grpc::ServerUnaryReactor* RepositoryIndex(::grpc::CallbackServerContext* ctx,
                                              const inference::RepositoryIndexRequest* req,
                                              inference::RepositoryIndexResponse* res) override;
  ::grpc::ServerUnaryReactor* RepositoryModelLoad(::grpc::CallbackServerContext* ctx,
                                                  const inference::RepositoryModelLoadRequest* req,
                                                  inference::RepositoryModelLoadResponse* res) override;
  ::grpc::ServerUnaryReactor* RepositoryModelUnload(::grpc::CallbackServerContext* ctx,
                                                    const inference::RepositoryModelUnloadRequest* req,
                                                    inference::RepositoryModelUnloadResponse* res) override;

 private:
  // Runs `job` (which returns the call's status) on the worker pool and
  // finishes the call with it.
  ::grpc::ServerUnaryReactor* OnPool(::grpc::CallbackServerContext* ctx, std::function<Status()> job);
  // The endpoint `name` routes to when it is one and no version is asked;
  // nullopt otherwise. Sticky headers come from the call's metadata.
  std::optional<StatusOr<serving::RoutedInference>> RouteEndpoint(::grpc::CallbackServerContext* ctx,
                                                                  const std::string& name,
                                                                  const std::string& version) const;

  // What a gated call needs: viewer on `model` (empty: any authenticated
  // caller, who then sees only what `scope` allows), or admin.
  struct Need {
    std::string model;
    std::string version;
    bool admin = false;
    bool mutation = false;
  };
  // Answers the call with `body`'s status once the gate admits it: inline
  // without a gate, on the worker pool with one. `body` gets the caller's
  // scope (null: auth off, everything visible).
  ::grpc::ServerUnaryReactor* Gated(::grpc::CallbackServerContext* ctx, const char* method, Need need,
                                    std::function<Status(const AccessScope* scope)> body);
  std::vector<ObjectRef> ObjectsOf(const std::string& model, const std::string& version) const;
  // The inference itself; finishes `reactor` (now, or from the batcher).
  void Infer(::grpc::CallbackServerContext* ctx, const inference::ModelInferRequest* req,
             inference::ModelInferResponse* res, ::grpc::ServerUnaryReactor* reactor);

  serving::ModelRepository& repo_;
  serving::InferenceMetrics* metrics_;
  WorkerPool& pool_;
  const std::string server_version_;
  const serving::EndpointRouter* endpoints_;
  gate::RequestGate* gate_;
  const net::DrainState* drain_;
};

}  // namespace kiln::api::grpcv2
