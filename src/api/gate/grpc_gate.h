// The request gate for gRPC methods: the services decode their request, find
// the objects it touches, and ask the gate before doing the work.
//
//   auto admitted = AdmitGrpc(gate, ctx, "feast", "/feast.registry.RegistryServer/ApplyEntity",
//                             Role::kEditor, {ObjectRef{ObjectKind::kFeatureProject, req.project()}},
//                             /*mutation=*/true, "");
//   if (!admitted.status.ok()) return admitted.status;        // UNAUTHENTICATED / PERMISSION_DENIED / ...
//   ... do the work with admitted.admission.access for filtering ...
//   CompleteGrpc(gate, admitted, outcome_status, after_json, created);
//
// `gate` may be null (no gate: everything allowed, nothing audited).
// Thread-safety: as RequestGate.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "api/gate/request_gate.h"

namespace kiln::api::gate {

struct GrpcAdmitted {
  ::grpc::Status status;  // OK when allowed
  Admission admission;
  CallInfo call;
};

GrpcAdmitted AdmitGrpc(RequestGate* gate, const ::grpc::ServerContextBase& ctx, std::string service,
                       std::string full_method, Role least, std::vector<ObjectRef> objects, bool mutation,
                       std::string request_json);
// For list methods: any authenticated caller; filter by admitted.admission.access.
GrpcAdmitted AdmitGrpcAuthenticated(RequestGate* gate, const ::grpc::ServerContextBase& ctx, std::string service,
                                    std::string full_method);
// `deleted`: objects the call removed for good, when it succeeded (their grants go).
void CompleteGrpc(RequestGate* gate, const GrpcAdmitted& admitted, const ::grpc::Status& outcome,
                  std::string after_json, const std::vector<ObjectRef>& created,
                  const std::vector<ObjectRef>& deleted = {});

}  // namespace kiln::api::gate
