#include "api/gate/grpc_gate.h"

#include <utility>

namespace kiln::api::gate {
namespace {

std::string MetadataValue(const ::grpc::ServerContextBase& ctx, std::string_view key) {
  const auto& md = ctx.client_metadata();
  auto it = md.find(::grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

::grpc::Status ToGrpc(const Admission& a) {
  if (a.allowed) return ::grpc::Status::OK;
  switch (a.http_status) {
    case 401: return {::grpc::StatusCode::UNAUTHENTICATED, a.message};
    case 403: return {::grpc::StatusCode::PERMISSION_DENIED, a.message};
    case 429: return {::grpc::StatusCode::RESOURCE_EXHAUSTED, a.message};
    default: return {::grpc::StatusCode::UNAVAILABLE, a.message};
  }
}

CallInfo CallOf(const ::grpc::ServerContextBase& ctx, std::string service, std::string full_method) {
  CallInfo call;
  call.protocol = "grpc";
  call.service = std::move(service);
  call.method = full_method;
  // "/feast.registry.RegistryServer/ApplyEntity" -> "feast.ApplyEntity"
  const size_t slash = full_method.rfind('/');
  call.action = call.service + "." + (slash == std::string::npos ? full_method : full_method.substr(slash + 1));
  call.path = std::move(full_method);
  call.source = ctx.peer();
  call.authorization = MetadataValue(ctx, "authorization");
  call.actor_hint = MetadataValue(ctx, "x-kiln-actor");
  return call;
}

}  // namespace

GrpcAdmitted AdmitGrpc(RequestGate* gate, const ::grpc::ServerContextBase& ctx, std::string service,
                       std::string full_method, Role least, std::vector<ObjectRef> objects, bool mutation,
                       std::string request_json) {
  GrpcAdmitted out;
  out.call = CallOf(ctx, std::move(service), std::move(full_method));
  out.call.request_json = std::move(request_json);
  if (gate == nullptr) {
    out.admission.allowed = true;
    return out;
  }
  out.admission = gate->Admit(out.call, net::AccessKind::kObject, least, std::move(objects), mutation);
  out.status = ToGrpc(out.admission);
  return out;
}

GrpcAdmitted AdmitGrpcAuthenticated(RequestGate* gate, const ::grpc::ServerContextBase& ctx, std::string service,
                                    std::string full_method) {
  GrpcAdmitted out;
  out.call = CallOf(ctx, std::move(service), std::move(full_method));
  if (gate == nullptr) {
    out.admission.allowed = true;
    return out;
  }
  out.admission = gate->Admit(out.call, net::AccessKind::kAuthenticated, Role::kViewer, {}, false);
  out.status = ToGrpc(out.admission);
  return out;
}

void CompleteGrpc(RequestGate* gate, const GrpcAdmitted& admitted, const ::grpc::Status& outcome,
                  std::string after_json, const std::vector<ObjectRef>& created,
                  const std::vector<ObjectRef>& deleted) {
  if (gate == nullptr) return;
  if (outcome.ok()) gate->Forget(deleted);
  gate->Complete(admitted.call, admitted.admission, outcome.ok(), static_cast<int>(outcome.error_code()), outcome.error_message(),
                 std::move(after_json), created);
}

}  // namespace kiln::api::gate
