#include "api/grpc/inference_service.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>

#include "api/gate/grpc_gate.h"
#include "api/grpc/grpc_status.h"
#include "api/grpc/load_request.h"
#include "api/grpc/model_info.h"
#include "api/grpc/tensor_codec.h"
#include "api/v2/inference_call.h"
#include "core/release_later.h"

namespace kiln::api::grpcv2 {

using ::grpc::CallbackServerContext;
using ::grpc::ServerUnaryReactor;

namespace {

ServerUnaryReactor* Answer(CallbackServerContext* ctx, const Status& status) {
  ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace

ServerUnaryReactor* InferenceService::ServerLive(CallbackServerContext* ctx, const inference::ServerLiveRequest*,
                                                 inference::ServerLiveResponse* res) {
  res->set_live(true);
  return Answer(ctx, Status::Ok());
}

ServerUnaryReactor* InferenceService::ServerReady(CallbackServerContext* ctx, const inference::ServerReadyRequest*,
                                                  inference::ServerReadyResponse* res) {
  // Not an error: a probe reads the flag, as for a model that is not ready.
  res->set_ready(drain_ == nullptr || !drain_->draining());
  return Answer(ctx, Status::Ok());
}

// Triton answers ready=false (not an error) for a model it does not serve;
// tritonclient's is_model_ready relies on it.
std::optional<StatusOr<serving::RoutedInference>> InferenceService::RouteEndpoint(CallbackServerContext* ctx,
                                                                                 const std::string& name,
                                                                                 const std::string& version) const {
  if (!endpoints_ || !version.empty()) return std::nullopt;
  const auto& metadata = ctx->client_metadata();  // keys are lower-case in gRPC
  return endpoints_->Route(name, [&metadata](std::string_view key) -> std::string_view {
    auto it = metadata.find(::grpc::string_ref(key.data(), key.size()));
    return it == metadata.end() ? std::string_view() : std::string_view(it->second.data(), it->second.size());
  });
}

ServerUnaryReactor* InferenceService::ModelReady(CallbackServerContext* ctx, const inference::ModelReadyRequest* req,
                                                 inference::ModelReadyResponse* res) {
  return Gated(ctx, "/inference.GRPCInferenceService/ModelReady", {req->name(), req->version()},
               [this, ctx, req, res](const AccessScope*) {
                 // Not an inference: the routed call's finished() stays uncalled.
                 if (auto routed = RouteEndpoint(ctx, req->name(), req->version())) {
                   res->set_ready(routed->ok());
                   return Status::Ok();
                 }
                 res->set_ready(repo_.Get(req->name(), req->version()).ok());
                 return Status::Ok();
               });
}

ServerUnaryReactor* InferenceService::ServerMetadata(CallbackServerContext* ctx,
                                                     const inference::ServerMetadataRequest*,
                                                     inference::ServerMetadataResponse* res) {
  res->set_name("kiln");
  res->set_version(server_version_);
  for (const char* e : {"model_repository", "statistics", "model_configuration"}) res->add_extensions(e);
  return Answer(ctx, Status::Ok());
}

ServerUnaryReactor* InferenceService::ModelMetadata(CallbackServerContext* ctx,
                                                    const inference::ModelMetadataRequest* req,
                                                    inference::ModelMetadataResponse* res) {
  return Gated(ctx, "/inference.GRPCInferenceService/ModelMetadata", {req->name(), req->version()},
               [this, ctx, req, res](const AccessScope*) {
                 if (auto routed = RouteEndpoint(ctx, req->name(), req->version())) {
                   if (!routed->ok()) return routed->status();
                   FillServedModelMetadata(*(*routed)->model, req->name(), res);
                   return Status::Ok();
                 }
                 return FillModelMetadata(repo_, req->name(), req->version(), res);
               });
}

ServerUnaryReactor* InferenceService::ModelConfig(CallbackServerContext* ctx, const inference::ModelConfigRequest* req,
                                                  inference::ModelConfigResponse* res) {
  return Gated(ctx, "/inference.GRPCInferenceService/ModelConfig", {req->name(), req->version()},
               [this, ctx, req, res](const AccessScope*) {
                 if (auto routed = RouteEndpoint(ctx, req->name(), req->version())) {
                   if (!routed->ok()) return routed->status();
                   FillServedModelConfig(*(*routed)->model, req->name(), res->mutable_config());
                   return Status::Ok();
                 }
                 return FillModelConfig(repo_, req->name(), req->version(), res->mutable_config());
               });
}

// Every model's statistics (no name) or the index: only the models the
// caller may view, dropped before anything is counted.
namespace {

std::optional<std::set<std::string>> VisibleModels(const AccessScope* scope) {
  if (scope == nullptr) return std::nullopt;
  auto ids = scope->Visible(ObjectKind::kRegisteredModel);
  if (!ids) return std::nullopt;
  return std::set<std::string>(ids->begin(), ids->end());
}

template <class Repeated>
void KeepVisible(const std::optional<std::set<std::string>>& visible, Repeated* items) {
  if (!visible) return;
  for (int i = items->size() - 1; i >= 0; --i) {
    if (!visible->count(items->Get(i).name())) items->DeleteSubrange(i, 1);
  }
}

}  // namespace

ServerUnaryReactor* InferenceService::ModelStatistics(CallbackServerContext* ctx,
                                                      const inference::ModelStatisticsRequest* req,
                                                      inference::ModelStatisticsResponse* res) {
  return Gated(ctx, "/inference.GRPCInferenceService/ModelStatistics", {req->name(), req->version()},
               [this, req, res](const AccessScope* scope) {
                 Status s = FillModelStatistics(repo_, req->name(), req->version(), res);
                 if (s.ok() && req->name().empty()) KeepVisible(VisibleModels(scope), res->mutable_model_stats());
                 return s;
               });
}

ServerUnaryReactor* InferenceService::RepositoryIndex(CallbackServerContext* ctx,
                                                      const inference::RepositoryIndexRequest* req,
                                                      inference::RepositoryIndexResponse* res) {
  return Gated(ctx, "/inference.GRPCInferenceService/RepositoryIndex", {}, [this, req, res](const AccessScope* scope) {
    FillRepositoryIndex(repo_, req->ready(), res);
    KeepVisible(VisibleModels(scope), res->mutable_models());
    return Status::Ok();
  });
}

ServerUnaryReactor* InferenceService::OnPool(CallbackServerContext* ctx, std::function<Status()> job) {
  ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // The call stays open until Finish, so the reactor (and the request the job
  // captured) outlive the job.
  if (!pool_.TrySubmit([reactor, job = std::move(job)] { reactor->Finish(ToGrpcStatus(job())); })) {
    reactor->Finish(ToGrpcStatus(Unavailable("the server is busy (worker queue full); retry later")));
  }
  return reactor;
}

ServerUnaryReactor* InferenceService::RepositoryModelLoad(CallbackServerContext* ctx,
                                                          const inference::RepositoryModelLoadRequest* req,
                                                          inference::RepositoryModelLoadResponse*) {
  if (gate_ != nullptr) {
    Need need;
    need.admin = true;
    need.mutation = true;
    return Gated(ctx, "/inference.GRPCInferenceService/RepositoryModelLoad", need, [this, req](const AccessScope*) {
      auto decoded = DecodeLoadRequest(*req);
      if (!decoded.ok()) return decoded.status();
      return decoded->model_uri.empty() ? repo_.Load(req->model_name(), decoded->override)
                                        : repo_.LoadUri(req->model_name(), decoded->model_uri);
    });
  }
  auto decoded = DecodeLoadRequest(*req);
  if (!decoded.ok()) return Answer(ctx, decoded.status());
  auto load = std::make_shared<LoadRequest>(std::move(*decoded));
  return OnPool(ctx, [this, name = req->model_name(), load] {
    return load->model_uri.empty() ? repo_.Load(name, load->override) : repo_.LoadUri(name, load->model_uri);
  });
}

ServerUnaryReactor* InferenceService::RepositoryModelUnload(CallbackServerContext* ctx,
                                                            const inference::RepositoryModelUnloadRequest* req,
                                                            inference::RepositoryModelUnloadResponse*) {
  if (gate_ != nullptr) {
    Need need;
    need.admin = true;
    need.mutation = true;
    return Gated(ctx, "/inference.GRPCInferenceService/RepositoryModelUnload", need,
                 [this, req](const AccessScope*) { return repo_.Unload(req->model_name()); });
  }
  return OnPool(ctx, [this, name = req->model_name()] { return repo_.Unload(name); });
}

std::vector<ObjectRef> InferenceService::ObjectsOf(const std::string& model, const std::string& version) const {
  if (endpoints_ && version.empty() && endpoints_->Route(model, {}).has_value()) {
    return {{ObjectKind::kEndpoint, model}};
  }
  return {{ObjectKind::kRegisteredModel, model}};
}

ServerUnaryReactor* InferenceService::Gated(CallbackServerContext* ctx, const char* method, Need need,
                                            std::function<Status(const AccessScope*)> body) {
  // Reads with auth off: nothing to check or record, so no detour via the pool.
  if (gate_ == nullptr || (!gate_->auth_enabled() && !need.mutation)) return Answer(ctx, body(nullptr));
  ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // Authentication may read the identity store: not on gRPC's thread.
  auto job = [this, ctx, reactor, method, need = std::move(need), body = std::move(body)] {
    gate::GrpcAdmitted admitted;
    if (need.admin) {
      admitted = gate::AdmitGrpc(gate_, *ctx, "v2", method, Role::kAdmin, {}, need.mutation, "");
    } else if (need.model.empty()) {
      admitted = gate::AdmitGrpcAuthenticated(gate_, *ctx, "v2", method);
    } else {
      admitted = gate::AdmitGrpc(gate_, *ctx, "v2", method, Role::kViewer, ObjectsOf(need.model, need.version), false, "");
    }
    if (!admitted.status.ok()) return reactor->Finish(admitted.status);
    Status s = body(admitted.admission.access.get());
    ::grpc::Status outcome = ToGrpcStatus(s);
    if (need.mutation) gate::CompleteGrpc(gate_, admitted, outcome, "", {});
    reactor->Finish(outcome);
  };
  if (!pool_.TrySubmit(std::move(job))) {
    reactor->Finish(ToGrpcStatus(Unavailable("the server is busy (worker queue full); retry later")));
  }
  return reactor;
}

ServerUnaryReactor* InferenceService::ModelInfer(CallbackServerContext* ctx, const inference::ModelInferRequest* req,
                                                 inference::ModelInferResponse* res) {
  ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (gate_ == nullptr || !gate_->auth_enabled()) {
    Infer(ctx, req, res, reactor);
    return reactor;
  }
  // Admitted on the pool (authentication may read the identity store), then
  // queued at the batcher from there as without a gate.
  auto job = [this, ctx, req, res, reactor] {
    gate::GrpcAdmitted admitted =
        gate::AdmitGrpc(gate_, *ctx, "v2", "/inference.GRPCInferenceService/ModelInfer", Role::kViewer,
                        ObjectsOf(req->model_name(), req->model_version()), false, "");
    if (!admitted.status.ok()) return reactor->Finish(admitted.status);
    Infer(ctx, req, res, reactor);
  };
  if (!pool_.TrySubmit(std::move(job))) {
    reactor->Finish(ToGrpcStatus(Unavailable("the server is busy (worker queue full); retry later")));
  }
  return reactor;
}

void InferenceService::Infer(CallbackServerContext* ctx, const inference::ModelInferRequest* req,
                             inference::ModelInferResponse* res, ServerUnaryReactor* reactor) {
  auto answer = [reactor](const Status& s) { reactor->Finish(ToGrpcStatus(s)); };
  std::shared_ptr<const serving::ServedModel> served;
  std::string model_name;
  std::function<void(std::vector<serving::Tensor>)> observe_inputs;
  // Through an endpoint: finished() exactly once, when the call ends, with
  // server_error for the codes the REST mapping makes 5xx.
  std::function<void(const Status&)> ended = [](const Status&) {};
  if (auto routed = RouteEndpoint(ctx, req->model_name(), req->model_version())) {
    if (!routed->ok()) return answer(routed->status());
    served = std::move((*routed)->model);
    model_name = std::move((*routed)->endpoint);
    observe_inputs = std::move((*routed)->inputs);
    ended = [finished = std::move((*routed)->finished), start = std::chrono::steady_clock::now()](const Status& s) {
      finished(v2::OutcomeOf(s) == v2::InferOutcome::kError,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    };
  } else {
    auto model = repo_.Get(req->model_name(), req->model_version());
    if (!model.ok()) return answer(model.status());
    served = *model;
    model_name = served->name;
  }
  auto record = std::make_shared<v2::InferenceRecord>(metrics_, served);
  auto fail = [record, &answer, &ended](const Status& s) {
    record->Finish(v2::OutcomeOf(s));
    ended(s);
    answer(s);
  };
  auto decoded = DecodeInferRequest(*req);
  if (!decoded.ok()) return fail(decoded.status());
  if (Status s = v2::CheckInferRequest(*served, decoded->inputs, decoded->outputs); !s.ok()) return fail(s);
  if (observe_inputs) observe_inputs(decoded->inputs);  // a copy: mirror and drift

  const serving::Tensor& first = decoded->inputs.front();
  const int64_t rows = first.shape.size() > 1 ? first.shape[0] : 1;
  // What the answer needs besides the outputs; the batcher's callback owns it.
  struct Plan {
    std::string id;
    std::vector<std::string> wanted;
    bool raw;
    std::string model_name;
    std::string version;
    std::function<void(const Status&)> ended;
  };
  auto plan = std::make_shared<Plan>(Plan{std::move(decoded->id), std::move(decoded->outputs), decoded->raw,
                                          std::move(model_name), std::to_string(served->version), std::move(ended)});
  Status queued = served->batcher->Submit(
      std::move(decoded->inputs),
      [served, record, plan, rows, reactor, res](StatusOr<std::vector<serving::Tensor>> out,
                                                 const serving::BatchTiming& timing) mutable {
        if (!out.ok()) {
          record->Finish(v2::OutcomeOf(out.status()));
          plan->ended(out.status());
          reactor->Finish(ToGrpcStatus(out.status()));
        } else {
          record->Computed(timing, rows);
          std::vector<serving::Tensor>& outputs = *out;
          if (!plan->wanted.empty()) {
            std::erase_if(outputs, [&](const serving::Tensor& t) {
              return std::find(plan->wanted.begin(), plan->wanted.end(), t.name) == plan->wanted.end();
            });
          }
          EncodeInferResponse(plan->model_name, plan->version, plan->id, outputs, plan->raw, res);
          // Statistics first, so a client reading them after its answer sees this call.
          record->Finish(v2::InferOutcome::kOk);
          plan->ended(Status::Ok());
          reactor->Finish(::grpc::Status::OK);
        }
        // Unloaded or routed away meanwhile, this call may own the model's
        // last reference: never drop it on its own batcher's thread.
        ReleaseLater(std::move(record));
        ReleaseLater(std::move(served));
      });
  if (!queued.ok()) {
    record->Finish(v2::OutcomeOf(queued));
    plan->ended(queued);
    reactor->Finish(ToGrpcStatus(queued));
  }
}

}  // namespace kiln::api::grpcv2
