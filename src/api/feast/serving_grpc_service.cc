#include "api/feast/serving_grpc_service.h"

#include <algorithm>

#include "api/feast/feast_access.h"
#include "api/gate/grpc_gate.h"
#include "api/grpc/grpc_status.h"

namespace kiln::api::feast {

namespace {

namespace f = kiln::features;
namespace fs = ::feast::serving;

f::RequestValue FromProto(const ::feast::types::Value& v) {
  using V = ::feast::types::Value;
  f::RequestValue r;
  switch (v.val_case()) {
    case V::kInt64Val: r.kind = f::RequestValue::Kind::kInt; r.i = v.int64_val(); break;
    case V::kInt32Val: r.kind = f::RequestValue::Kind::kInt; r.i = v.int32_val(); break;
    case V::kUnixTimestampVal: r.kind = f::RequestValue::Kind::kInt; r.i = v.unix_timestamp_val(); break;
    case V::kStringVal: r.kind = f::RequestValue::Kind::kString; r.s = v.string_val(); break;
    case V::kBytesVal: r.kind = f::RequestValue::Kind::kBytes; r.s = v.bytes_val(); break;
    case V::kDoubleVal: r.kind = f::RequestValue::Kind::kDouble; r.d = v.double_val(); break;
    case V::kFloatVal: r.kind = f::RequestValue::Kind::kDouble; r.d = v.float_val(); break;
    case V::kBoolVal: r.kind = f::RequestValue::Kind::kBool; r.i = v.bool_val() ? 1 : 0; break;
    default: break;  // null / unset / non-scalar: refused as a key by the service
  }
  return r;
}

StatusOr<f::OnlineRequest> Decode(const fs::GetOnlineFeaturesRequest& req) {
  f::OnlineRequest r;
  if (req.kind_case() == fs::GetOnlineFeaturesRequest::kFeatureService) {
    r.feature_service = req.feature_service();
  } else {
    r.features.assign(req.features().val().begin(), req.features().val().end());
  }
  if (req.include_feature_view_version_metadata()) {
    return InvalidArgument("include_feature_view_version_metadata needs feature view versioning, which kiln does "
                           "not support");
  }
  r.full_feature_names = req.full_feature_names();
  // Protobuf maps have no order: the join-key columns come sorted by name.
  std::vector<std::string> names;
  for (const auto& [name, _] : req.entities()) names.push_back(name);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    std::vector<f::RequestValue> values;
    for (const auto& v : req.entities().at(name).val()) values.push_back(FromProto(v));
    r.entities.emplace_back(name, std::move(values));
  }
  if (!req.request_context().empty()) {
    return InvalidArgument("request_context carries request data for on-demand feature views, which kiln does not "
                           "run");
  }
  return r;
}

Status Encode(const f::OnlineResult& result, fs::GetOnlineFeaturesResponse* res) {
  auto* names = res->mutable_metadata()->mutable_feature_names();
  for (const auto& col : result.columns) {
    names->add_val(col.name);
    auto* vec = res->add_results();
    vec->mutable_values()->Reserve(static_cast<int>(result.rows));
    for (size_t r = 0; r < result.rows; ++r) {
      const std::string_view bytes = result.ValueBytes(col, r);
      auto* v = vec->add_values();
      if (!bytes.empty() && !v->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
        return Internal("stored value of " + col.name + " is not a feast.types.Value");
      }
      vec->add_statuses(static_cast<fs::FieldStatus>(col.statuses[r]));
      auto* ts = vec->add_event_timestamps();
      const int64_t us = col.event_ts_us[r];
      int64_t secs = us / 1000000;
      int64_t micros = us % 1000000;
      if (micros < 0) {
        micros += 1000000;
        secs -= 1;
      }
      ts->set_seconds(secs);
      ts->set_nanos(static_cast<int32_t>(micros * 1000));
    }
  }
  res->set_status(true);
  return Status::Ok();
}

}  // namespace

::grpc::ServerUnaryReactor* ServingGrpcService::GetFeastServingInfo(::grpc::CallbackServerContext* ctx,
                                                                    const fs::GetFeastServingInfoRequest*,
                                                                    fs::GetFeastServingInfoResponse* res) {
  res->set_version(std::string("kiln ") + KILN_VERSION);
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(::grpc::Status::OK);
  return reactor;
}

::grpc::ServerUnaryReactor* ServingGrpcService::GetOnlineFeatures(::grpc::CallbackServerContext* ctx,
                                                                  const fs::GetOnlineFeaturesRequest* req,
                                                                  fs::GetOnlineFeaturesResponse* res) {
  auto* reactor = ctx->DefaultReactor();
  // The call stays open until Finish, so req and res outlive the job.
  bool accepted = pool_.TrySubmit([this, ctx, reactor, req, res] {
    auto decoded = Decode(*req);
    if (!decoded.ok()) return reactor->Finish(grpcv2::ToGrpcStatus(decoded.status()));
    if (gate_ != nullptr) {
      std::vector<ObjectRef> objects;
      if (registry_ != nullptr) {
        objects = OnlineReadObjects(*registry_, default_project_, decoded->project, decoded->feature_service,
                                    decoded->features);
      }
      // Without a registry nothing names the views: the global scope.
      gate::GrpcAdmitted admitted = gate::AdmitGrpc(gate_, *ctx, "feast", "/feast.serving.ServingService/GetOnlineFeatures",
                                                    Role::kViewer, std::move(objects), false, "");
      if (!admitted.status.ok()) return reactor->Finish(admitted.status);
    }
    auto result = online_.GetOnlineFeatures(*decoded);
    if (!result.ok()) return reactor->Finish(grpcv2::ToGrpcStatus(result.status()));
    reactor->Finish(grpcv2::ToGrpcStatus(Encode(*result, res)));
  });
  if (!accepted) reactor->Finish(grpcv2::ToGrpcStatus(Unavailable("the server is busy (worker queue full); retry later")));
  return reactor;
}

}  // namespace kiln::api::feast
