#include "api/feast/registry_grpc_service.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "api/feast/registry_listing.h"
#include "api/gate/grpc_gate.h"
#include "api/grpc/grpc_status.h"
#include "feast/core/Registry.pb.h"
#include "features/registry_lineage.h"
#include "features/registry_message.h"

namespace kiln::api::feast {

using ::grpc::CallbackServerContext;
using ::grpc::ServerUnaryReactor;
using features::ObjectKind;
using features::RegistryObject;
namespace fr = ::feast::registry;
namespace fc = ::feast::core;
namespace pb = google::protobuf;

namespace {

// Feast's FeastError.to_error_detail(), formatted as Python's json.dumps.
std::string ErrorDetail(const std::string& error_class, const std::string& message) {
  auto q = [](const std::string& s) { return nlohmann::json(s).dump(-1, ' ', true); };
  return "{\"module\": \"feast.errors\", \"class\": " + q(error_class) + ", \"message\": " + q(message) + "}";
}

// `kind`: the object kind whose absence a NotFound reports.
::grpc::Status ToGrpc(const Status& s, std::optional<ObjectKind> kind = std::nullopt) {
  if (s.ok()) return ::grpc::Status::OK;
  std::string cls = "FeastError";
  if (s.code() == StatusCode::kNotFound) {
    cls = kind ? features::NotFoundError(*kind, "", "").error_class : "FeastObjectNotFoundException";
  } else if (s.message().rfind("Feature view name '", 0) == 0) {
    cls = "ConflictingFeatureViewNames";
  }
  return ::grpc::Status(grpcv2::ToGrpcCode(s.code()), ErrorDetail(cls, s.message()));
}

std::map<std::string, std::string> Tags(const pb::Map<std::string, std::string>& tags) {
  return {tags.begin(), tags.end()};
}

features::RegistryListFilter FilterOf(const pb::Map<std::string, std::string>& tags) {
  features::RegistryListFilter f;
  f.tags = Tags(tags);
  return f;
}

// Copies the page of `objects` into the response's list (its field 1) and
// sets its pagination metadata.
template <class Res>
::grpc::Status FillList(const std::vector<const pb::Message*>& all, const fr::PaginationParams& pagination,
                        const fr::SortingParams& sorting, Res* res) {
  std::vector<const pb::Message*> items = all;
  *res->mutable_pagination() = PaginateAndSort(items, pagination, sorting);
  const pb::FieldDescriptor* list = res->GetDescriptor()->FindFieldByNumber(1);
  for (const pb::Message* m : items) res->GetReflection()->AddMessage(res, list)->CopyFrom(*m);
  return ::grpc::Status::OK;
}

// With auth on, feature views the caller may not view are left out before
// paging, so pages and counts reveal nothing of them; other kinds are
// listed only for viewers of the project (decided before the call).
template <class Req, class Res>
::grpc::Status ListKind(features::FeatureRegistry& reg, ObjectKind kind, const Req& req, Res* res,
                        const RegistryGrpcService::Caller& caller) {
  StatusOr<std::vector<RegistryObject>> objs = reg.List(kind, req.project(), FilterOf(req.tags()));
  if (!objs.ok()) return ToGrpc(objs.status(), kind);
  std::vector<const pb::Message*> items;
  for (const RegistryObject& o : *objs) {
    if (caller.access && (kind == ObjectKind::kFeatureView || kind == ObjectKind::kStreamFeatureView ||
                          kind == ObjectKind::kOnDemandFeatureView || kind == ObjectKind::kLabelView)) {
      const ObjectRef view{kiln::ObjectKind::kFeatureView, req.project() + "/" + features::MessageName(*o.message)};
      if (!caller.access->Allows(view, Role::kViewer)) continue;
    }
    items.push_back(o.message.get());
  }
  return FillList(items, req.pagination(), req.sorting(), res);
}

template <class Res>
::grpc::Status GetKind(features::FeatureRegistry& reg, ObjectKind kind, const std::string& project,
                       const std::string& name, Res* res) {
  StatusOr<RegistryObject> o = reg.Get(kind, project, name);
  if (!o.ok()) return ToGrpc(o.status(), kind);
  res->CopyFrom(*o->message);
  return ::grpc::Status::OK;
}

void SetAny(const RegistryObject& o, fr::AnyFeatureView* any) {
  switch (o.kind) {
    case ObjectKind::kFeatureView: any->mutable_feature_view()->CopyFrom(*o.message); break;
    case ObjectKind::kStreamFeatureView: any->mutable_stream_feature_view()->CopyFrom(*o.message); break;
    case ObjectKind::kOnDemandFeatureView: any->mutable_on_demand_feature_view()->CopyFrom(*o.message); break;
    case ObjectKind::kLabelView: any->mutable_label_view()->CopyFrom(*o.message); break;
    default: break;
  }
}

// --- reflection over a view's spec, shared by the four view kinds ---

const pb::Message& SpecOf(const RegistryObject& o) { return *features::SubMessage(*o.message, "spec"); }

std::vector<std::string> RepeatedStrings(const pb::Message& m, const char* field) {
  std::vector<std::string> out;
  const pb::FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(field);
  if (f == nullptr || !f->is_repeated() || f->cpp_type() != pb::FieldDescriptor::CPPTYPE_STRING) return out;
  for (int i = 0; i < m.GetReflection()->FieldSize(m, f); ++i) out.push_back(m.GetReflection()->GetRepeatedString(m, f, i));
  return out;
}

std::vector<const fc::FeatureSpecV2*> FeaturesOf(const RegistryObject& o) {
  std::vector<const fc::FeatureSpecV2*> out;
  const pb::Message& spec = SpecOf(o);
  const pb::FieldDescriptor* f = spec.GetDescriptor()->FindFieldByName("features");
  if (f == nullptr || !f->is_repeated() || f->message_type() != fc::FeatureSpecV2::descriptor()) return out;
  for (int i = 0; i < spec.GetReflection()->FieldSize(spec, f); ++i) {
    out.push_back(static_cast<const fc::FeatureSpecV2*>(&spec.GetReflection()->GetRepeatedMessage(spec, f, i)));
  }
  return out;
}

std::string SourceName(const pb::Message& spec, const char* field) {
  const pb::Message* src = features::SubMessage(spec, field);
  if (src == nullptr || !spec.GetReflection()->HasField(spec, spec.GetDescriptor()->FindFieldByName(field))) return "";
  return static_cast<const fc::DataSource*>(src)->name();
}

bool UsesDataSource(const RegistryObject& o, const std::string& name) {
  const pb::Message& spec = SpecOf(o);
  if (SourceName(spec, "batch_source") == name || SourceName(spec, "stream_source") == name) return true;
  if (o.kind == ObjectKind::kOnDemandFeatureView) {
    for (const auto& [_, src] : static_cast<const fc::OnDemandFeatureView&>(*o.message).spec().sources()) {
      if (src.has_request_data_source() && src.request_data_source().name() == name) return true;
    }
  }
  return false;
}

// str(feast.types.from_value_type(...)), as ListFeatures reports a type.
std::string FeastTypeString(int value_type) {
  static const std::map<int, const char*> kTypes = {
      {0, "Invalid"},         {1, "Bytes"},           {2, "String"},          {3, "Int32"},
      {4, "Int64"},           {5, "Float64"},         {6, "Float32"},         {7, "Bool"},
      {8, "UnixTimestamp"},   {11, "Array(Bytes)"},   {12, "Array(String)"},  {13, "Array(Int32)"},
      {14, "Array(Int64)"},   {15, "Array(Float64)"}, {16, "Array(Float32)"}, {17, "Array(Bool)"},
      {18, "Array(UnixTimestamp)"}, {20, "Map"},      {21, "Array(Map)"},     {22, "Set(Bytes)"},
      {23, "Set(String)"},    {24, "Set(Int32)"},     {25, "Set(Int64)"},     {26, "Set(Float64)"},
      {27, "Set(Float32)"},   {28, "Set(Bool)"},      {29, "Set(UnixTimestamp)"}, {32, "Json"},
      {33, "Array(Json)"},    {34, "Struct({_value: String})"}, {35, "Array(Struct({_value: String}))"},
      {36, "Uuid"},           {37, "TimeUuid"},       {38, "Array(Uuid)"},    {39, "Array(TimeUuid)"},
      {40, "Set(Uuid)"},      {41, "Set(TimeUuid)"},  {42, "Array(Array(String))"}, {43, "Set(Array(String))"},
      {44, "Decimal"},        {45, "Array(Decimal)"}, {46, "Set(Decimal)"},   {47, "ScalarMap"},
      {48, "ZonedTimestamp"},
  };
  auto it = kTypes.find(value_type);
  return it == kTypes.end() ? "Invalid" : it->second;
}

fr::Feature FeatureOf(const RegistryObject& view, const fc::FeatureSpecV2& f) {
  fr::Feature out;
  out.set_name(f.name());
  out.set_feature_view(features::MessageName(*view.message));
  out.set_type(FeastTypeString(f.value_type()));
  out.set_description(f.description());
  const pb::Message& spec = SpecOf(view);
  if (const pb::FieldDescriptor* owner = spec.GetDescriptor()->FindFieldByName("owner")) {
    out.set_owner(spec.GetReflection()->GetString(spec, owner));
  }
  if (const pb::Message* meta = features::SubMessage(*view.message, "meta")) {
    const auto* created = meta->GetDescriptor()->FindFieldByName("created_timestamp");
    const auto* updated = meta->GetDescriptor()->FindFieldByName("last_updated_timestamp");
    if (created && meta->GetReflection()->HasField(*meta, created)) {
      out.mutable_created_timestamp()->CopyFrom(meta->GetReflection()->GetMessage(*meta, created));
    }
    if (updated && meta->GetReflection()->HasField(*meta, updated)) {
      out.mutable_last_updated_timestamp()->CopyFrom(meta->GetReflection()->GetMessage(*meta, updated));
    }
  }
  for (const auto& [k, v] : f.tags()) (*out.mutable_tags())[k] = v;
  out.set_kind(view.kind == ObjectKind::kLabelView ? "label" : "feature");
  return out;
}

int64_t TimestampUs(const pb::Timestamp& t) { return t.seconds() * 1000000 + t.nanos() / 1000; }

void CopyRelations(const std::vector<features::LineageRelation>& rels, const fr::PaginationParams& pagination,
                   const fr::SortingParams& sorting, pb::RepeatedPtrField<fr::EntityRelation>* out,
                   fr::PaginationMetadata* meta) {
  std::vector<fr::EntityRelation> protos;
  protos.reserve(rels.size());
  for (const auto& r : rels) {
    fr::EntityRelation p;
    p.mutable_source()->set_type(r.source.type);
    p.mutable_source()->set_name(r.source.name);
    p.mutable_target()->set_type(r.target.type);
    p.mutable_target()->set_name(r.target.name);
    protos.push_back(std::move(p));
  }
  std::vector<const pb::Message*> items;
  for (const auto& p : protos) items.push_back(&p);
  *meta = PaginateAndSort(items, pagination, sorting);
  for (const pb::Message* m : items) out->Add()->CopyFrom(*m);
}

}  // namespace

// --- plumbing ---

ServerUnaryReactor* RegistryGrpcService::OnPool(CallbackServerContext* ctx, std::function<::grpc::Status()> job) {
  ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // The call stays open until Finish, so the request and response the job
  // captured outlive it.
  if (!pool_.TrySubmit([reactor, job = std::move(job)] { reactor->Finish(job()); })) {
    reactor->Finish(::grpc::Status(::grpc::StatusCode::UNAVAILABLE,
                                   ErrorDetail("FeastError", "the server is busy (worker queue full); retry later")));
  }
  return reactor;
}

#define KILN_DEFINE_RPC(Method, Req, Res)                                                                      \
  ServerUnaryReactor* RegistryGrpcService::Method(CallbackServerContext* ctx, const Req* req, Res* res) {     \
    return OnPool(ctx, [this, ctx, req, res] {                                                               \
      return Gated(ctx, "/feast.registry.RegistryServer/" #Method, gate_ ? Policy##Method(*req) : Policy{}, *req, \
                   [&](const Caller& caller) { return Do##Method(*req, res, caller); });                     \
    });                                                                                                       \
  }
KILN_FEAST_REGISTRY_RPCS(KILN_DEFINE_RPC)
#undef KILN_DEFINE_RPC

// --- access ---

::grpc::Status RegistryGrpcService::Gated(CallbackServerContext* ctx, const char* method, Policy policy,
                                          const pb::Message& request,
                                          const std::function<::grpc::Status(const Caller&)>& run) {
  if (gate_ == nullptr) return run(Caller{"grpc " + ctx->peer(), nullptr});
  std::string request_json;
  if (policy.mutation) {
    pb::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    if (!pb::util::MessageToJsonString(request, &request_json, options).ok()) request_json.clear();
  }
  gate::GrpcAdmitted admitted =
      policy.authenticated_only
          ? gate::AdmitGrpcAuthenticated(gate_, *ctx, "feast", method)
          : gate::AdmitGrpc(gate_, *ctx, "feast", method, policy.least, policy.objects, policy.mutation,
                            std::move(request_json));
  if (!admitted.status.ok()) {
    // Feast's own exception for a refused call, as its SDK re-raises it.
    const bool denied = admitted.status.error_code() == ::grpc::StatusCode::PERMISSION_DENIED;
    return ::grpc::Status(admitted.status.error_code(),
                          ErrorDetail(denied ? "FeastPermissionError" : "FeastError",
                                      denied ? "Permission error:\n" + admitted.status.error_message()
                                             : admitted.status.error_message()));
  }
  Caller caller{admitted.admission.actor.empty() ? "grpc " + ctx->peer() : admitted.admission.actor,
                admitted.admission.access};
  ::grpc::Status outcome = run(caller);
  gate::CompleteGrpc(gate_, admitted, outcome, "", outcome.ok() ? policy.created : std::vector<ObjectRef>{},
                     policy.deleted);
  return outcome;
}

namespace {

ObjectRef ProjectRef(const std::string& project) { return {kiln::ObjectKind::kFeatureProject, project}; }
ObjectRef ViewRef(const std::string& project, const std::string& view) {
  return {kiln::ObjectKind::kFeatureView, project + "/" + view};
}

// With auth on, whether the caller may see `view` of `project` (a grant on
// the project covers it).
bool MaySeeView(const RegistryGrpcService::Caller& caller, const std::string& project, const std::string& view) {
  return !caller.access || caller.access->Allows(ViewRef(project, view), Role::kViewer);
}

bool MaySeeProject(const RegistryGrpcService::Caller& caller, const std::string& project) {
  if (!caller.access || caller.access->Allows(ProjectRef(project), Role::kViewer)) return true;
  // A grant on one of its views makes the project visible, not its other objects.
  auto views = caller.access->Visible(kiln::ObjectKind::kFeatureView);
  if (!views) return true;
  const std::string prefix = project + "/";
  return std::any_of(views->begin(), views->end(), [&](const std::string& id) { return id.rfind(prefix, 0) == 0; });
}

}  // namespace

// Editor on the project, or on `object` (a view) within it; a project that
// does not exist yet is created by this apply: editor on the global scope.
RegistryGrpcService::Policy RegistryGrpcService::Apply(const std::string& project, std::optional<ObjectRef> object) {
  Policy p;
  p.least = Role::kEditor;
  p.mutation = true;
  auto existing = registry_.Get(ObjectKind::kProject, project, project);
  if (!existing.ok() && existing.status().code() == StatusCode::kNotFound && !project.empty()) {
    p.objects = {ObjectRef::Global()};
    p.created = {ProjectRef(project)};
    return p;
  }
  p.objects = {object ? *object : ProjectRef(project)};
  return p;
}

RegistryGrpcService::Policy RegistryGrpcService::Read(const std::string& project, Role least) {
  Policy p;
  p.least = least;
  p.objects = {ProjectRef(project)};
  p.mutation = least >= Role::kEditor;
  return p;
}

RegistryGrpcService::Policy RegistryGrpcService::ReadView(const std::string& project, const std::string& view) {
  Policy p;
  p.objects = {ViewRef(project, view)};
  return p;
}

RegistryGrpcService::Policy RegistryGrpcService::Filtered() {
  Policy p;
  p.authenticated_only = true;
  return p;
}

namespace {

RegistryGrpcService::Policy Deleting(ObjectRef object) {
  RegistryGrpcService::Policy p;
  p.least = Role::kManager;
  // Views and projects carry grants; a new one of the same name starts with none.
  if (object.kind == kiln::ObjectKind::kFeatureView || object.kind == kiln::ObjectKind::kFeatureProject) p.deleted = {object};
  p.objects = {std::move(object)};
  p.mutation = true;
  return p;
}

std::string AppliedViewName(const fr::ApplyFeatureViewRequest& req) {
  switch (req.base_feature_view_case()) {
    case fr::ApplyFeatureViewRequest::kFeatureView: return req.feature_view().spec().name();
    case fr::ApplyFeatureViewRequest::kStreamFeatureView: return req.stream_feature_view().spec().name();
    case fr::ApplyFeatureViewRequest::kOnDemandFeatureView: return req.on_demand_feature_view().spec().name();
    case fr::ApplyFeatureViewRequest::kLabelView: return req.label_view().spec().name();
    case fr::ApplyFeatureViewRequest::BASE_FEATURE_VIEW_NOT_SET: break;
  }
  return "";
}

}  // namespace

using Policy = RegistryGrpcService::Policy;

Policy RegistryGrpcService::PolicyApplyEntity(const fr::ApplyEntityRequest& r) { return Apply(r.project()); }
Policy RegistryGrpcService::PolicyGetEntity(const fr::GetEntityRequest& r) { return Read(r.project()); }
Policy RegistryGrpcService::PolicyListEntities(const fr::ListEntitiesRequest& r) { return Read(r.project()); }
Policy RegistryGrpcService::PolicyDeleteEntity(const fr::DeleteEntityRequest& r) {
  return Deleting(ProjectRef(r.project()));
}
Policy RegistryGrpcService::PolicyApplyDataSource(const fr::ApplyDataSourceRequest& r) { return Apply(r.project()); }
Policy RegistryGrpcService::PolicyGetDataSource(const fr::GetDataSourceRequest& r) { return Read(r.project()); }
Policy RegistryGrpcService::PolicyListDataSources(const fr::ListDataSourcesRequest& r) { return Read(r.project()); }
Policy RegistryGrpcService::PolicyDeleteDataSource(const fr::DeleteDataSourceRequest& r) {
  return Deleting(ProjectRef(r.project()));
}
Policy RegistryGrpcService::PolicyApplyFeatureView(const fr::ApplyFeatureViewRequest& r) {
  const std::string name = AppliedViewName(r);
  return Apply(r.project(), name.empty() ? std::nullopt : std::optional<ObjectRef>(ViewRef(r.project(), name)));
}
Policy RegistryGrpcService::PolicyDeleteFeatureView(const fr::DeleteFeatureViewRequest& r) {
  return Deleting(ViewRef(r.project(), r.name()));
}
Policy RegistryGrpcService::PolicyGetAnyFeatureView(const fr::GetAnyFeatureViewRequest& r) {
  return ReadView(r.project(), r.name());
}
Policy RegistryGrpcService::PolicyListAllFeatureViews(const fr::ListAllFeatureViewsRequest&) { return Filtered(); }
Policy RegistryGrpcService::PolicyGetFeatureView(const fr::GetFeatureViewRequest& r) {
  return ReadView(r.project(), r.name());
}
Policy RegistryGrpcService::PolicyListFeatureViews(const fr::ListFeatureViewsRequest&) { return Filtered(); }
Policy RegistryGrpcService::PolicyGetStreamFeatureView(const fr::GetStreamFeatureViewRequest& r) {
  return ReadView(r.project(), r.name());
}
Policy RegistryGrpcService::PolicyListStreamFeatureViews(const fr::ListStreamFeatureViewsRequest&) {
  return Filtered();
}
Policy RegistryGrpcService::PolicyGetOnDemandFeatureView(const fr::GetOnDemandFeatureViewRequest& r) {
  return ReadView(r.project(), r.name());
}
Policy RegistryGrpcService::PolicyListOnDemandFeatureViews(const fr::ListOnDemandFeatureViewsRequest&) {
  return Filtered();
}
Policy RegistryGrpcService::PolicyGetLabelView(const fr::GetLabelViewRequest& r) {
  return ReadView(r.project(), r.name());
}
Policy RegistryGrpcService::PolicyListLabelViews(const fr::ListLabelViewsRequest&) { return Filtered(); }
Policy RegistryGrpcService::PolicyApplyFeatureService(const fr::ApplyFeatureServiceRequest& r) {
  return Apply(r.project());
}
Policy RegistryGrpcService::PolicyGetFeatureService(const fr::GetFeatureServiceRequest& r) { return Read(r.project()); }
Policy RegistryGrpcService::PolicyListFeatureServices(const fr::ListFeatureServicesRequest& r) {
  return Read(r.project());
}
Policy RegistryGrpcService::PolicyDeleteFeatureService(const fr::DeleteFeatureServiceRequest& r) {
  return Deleting(ProjectRef(r.project()));
}
Policy RegistryGrpcService::PolicyApplySavedDataset(const fr::ApplySavedDatasetRequest& r) { return Apply(r.project()); }
Policy RegistryGrpcService::PolicyGetSavedDataset(const fr::GetSavedDatasetRequest& r) { return Read(r.project()); }
Policy RegistryGrpcService::PolicyListSavedDatasets(const fr::ListSavedDatasetsRequest& r) { return Read(r.project()); }
Policy RegistryGrpcService::PolicyDeleteSavedDataset(const fr::DeleteSavedDatasetRequest& r) {
  return Deleting(ProjectRef(r.project()));
}
Policy RegistryGrpcService::PolicyCreateDatasetFromRetrieval(const fr::CreateDatasetFromRetrievalRequest& r) {
  return Read(r.project());
}
Policy RegistryGrpcService::PolicyGetDatasetData(const fr::GetDatasetDataRequest& r) { return Read(r.project()); }
// kiln runs no dataset jobs: every id is NOT_FOUND, for any caller.
Policy RegistryGrpcService::PolicyGetDatasetJobStatus(const fr::GetDatasetJobStatusRequest&) { return Filtered(); }
Policy RegistryGrpcService::PolicyListDatasetJobs(const fr::ListDatasetJobsRequest& r) { return Read(r.project()); }
Policy RegistryGrpcService::PolicyApplyValidationReference(const fr::ApplyValidationReferenceRequest& r) {
  return Apply(r.project());
}
Policy RegistryGrpcService::PolicyGetValidationReference(const fr::GetValidationReferenceRequest& r) {
  return Read(r.project());
}
Policy RegistryGrpcService::PolicyListValidationReferences(const fr::ListValidationReferencesRequest& r) {
  return Read(r.project());
}
Policy RegistryGrpcService::PolicyDeleteValidationReference(const fr::DeleteValidationReferenceRequest& r) {
  return Deleting(ProjectRef(r.project()));
}
// Feast's permission objects govern the project: its managers' business.
Policy RegistryGrpcService::PolicyApplyPermission(const fr::ApplyPermissionRequest& r) {
  Policy p = Apply(r.project());
  if (p.created.empty()) p.least = Role::kManager;
  return p;
}
// Reading them is not: `feast apply` lists them to plan every change.
Policy RegistryGrpcService::PolicyGetPermission(const fr::GetPermissionRequest& r) { return Read(r.project()); }
Policy RegistryGrpcService::PolicyListPermissions(const fr::ListPermissionsRequest& r) { return Read(r.project()); }
Policy RegistryGrpcService::PolicyDeletePermission(const fr::DeletePermissionRequest& r) {
  return Deleting(ProjectRef(r.project()));
}
Policy RegistryGrpcService::PolicyApplyProject(const fr::ApplyProjectRequest& r) {
  return Apply(r.project().spec().name());
}
Policy RegistryGrpcService::PolicyGetProject(const fr::GetProjectRequest& r) { return Read(r.name()); }
Policy RegistryGrpcService::PolicyListProjects(const fr::ListProjectsRequest&) { return Filtered(); }
Policy RegistryGrpcService::PolicyDeleteProject(const fr::DeleteProjectRequest& r) {
  return Deleting(ProjectRef(r.name()));
}
Policy RegistryGrpcService::PolicyApplyMaterialization(const fr::ApplyMaterializationRequest& r) {
  Policy p;
  p.least = Role::kEditor;
  p.objects = {ViewRef(r.project(), r.feature_view().spec().name())};
  p.mutation = true;
  return p;
}
Policy RegistryGrpcService::PolicyListProjectMetadata(const fr::ListProjectMetadataRequest& r) {
  return Read(r.project());
}
Policy RegistryGrpcService::PolicyUpdateInfra(const fr::UpdateInfraRequest& r) { return Read(r.project(), Role::kEditor); }
Policy RegistryGrpcService::PolicyGetInfra(const fr::GetInfraRequest& r) { return Read(r.project()); }
Policy RegistryGrpcService::PolicyCommit(const pb::Empty&) { return Filtered(); }
Policy RegistryGrpcService::PolicyRefresh(const fr::RefreshRequest&) { return Filtered(); }
// Every project's objects at once.
Policy RegistryGrpcService::PolicyProto(const pb::Empty&) { return Policy{}; }
Policy RegistryGrpcService::PolicyGetRegistryLineage(const fr::GetRegistryLineageRequest& r) {
  return Read(r.project());
}
Policy RegistryGrpcService::PolicyGetObjectRelationships(const fr::GetObjectRelationshipsRequest& r) {
  return Read(r.project());
}
Policy RegistryGrpcService::PolicyListFeatures(const fr::ListFeaturesRequest&) { return Filtered(); }
Policy RegistryGrpcService::PolicyGetFeature(const fr::GetFeatureRequest& r) {
  return ReadView(r.project(), r.feature_view());
}

// --- entities, data sources ---

::grpc::Status RegistryGrpcService::DoApplyEntity(const fr::ApplyEntityRequest& req, pb::Empty*,
                                                  const Caller& caller) {
  return ToGrpc(registry_.Apply(ObjectKind::kEntity, req.project(), req.entity(), caller.actor));
}
::grpc::Status RegistryGrpcService::DoGetEntity(const fr::GetEntityRequest& req, fc::Entity* res, const Caller&) {
  return GetKind(registry_, ObjectKind::kEntity, req.project(), req.name(), res);
}
::grpc::Status RegistryGrpcService::DoListEntities(const fr::ListEntitiesRequest& req, fr::ListEntitiesResponse* res,
                                                   const Caller& caller) {
  return ListKind(registry_, ObjectKind::kEntity, req, res, caller);
}
::grpc::Status RegistryGrpcService::DoDeleteEntity(const fr::DeleteEntityRequest& req, pb::Empty*,
                                                   const Caller& caller) {
  return ToGrpc(registry_.Delete(ObjectKind::kEntity, req.project(), req.name(), caller.actor), ObjectKind::kEntity);
}

::grpc::Status RegistryGrpcService::DoApplyDataSource(const fr::ApplyDataSourceRequest& req, pb::Empty*,
                                                      const Caller& caller) {
  return ToGrpc(registry_.Apply(ObjectKind::kDataSource, req.project(), req.data_source(), caller.actor));
}
::grpc::Status RegistryGrpcService::DoGetDataSource(const fr::GetDataSourceRequest& req, fc::DataSource* res,
                                                    const Caller&) {
  return GetKind(registry_, ObjectKind::kDataSource, req.project(), req.name(), res);
}
::grpc::Status RegistryGrpcService::DoListDataSources(const fr::ListDataSourcesRequest& req,
                                                      fr::ListDataSourcesResponse* res, const Caller& caller) {
  return ListKind(registry_, ObjectKind::kDataSource, req, res, caller);
}
::grpc::Status RegistryGrpcService::DoDeleteDataSource(const fr::DeleteDataSourceRequest& req, pb::Empty*,
                                                       const Caller& caller) {
  return ToGrpc(registry_.Delete(ObjectKind::kDataSource, req.project(), req.name(), caller.actor), ObjectKind::kDataSource);
}

// --- feature views ---

::grpc::Status RegistryGrpcService::DoApplyFeatureView(const fr::ApplyFeatureViewRequest& req, pb::Empty*,
                                                       const Caller& caller) {
  switch (req.base_feature_view_case()) {
    case fr::ApplyFeatureViewRequest::kFeatureView:
      return ToGrpc(registry_.Apply(ObjectKind::kFeatureView, req.project(), req.feature_view(), caller.actor));
    case fr::ApplyFeatureViewRequest::kStreamFeatureView:
      return ToGrpc(registry_.Apply(ObjectKind::kStreamFeatureView, req.project(), req.stream_feature_view(), caller.actor));
    case fr::ApplyFeatureViewRequest::kOnDemandFeatureView:
      return ToGrpc(
          registry_.Apply(ObjectKind::kOnDemandFeatureView, req.project(), req.on_demand_feature_view(), caller.actor));
    case fr::ApplyFeatureViewRequest::kLabelView:
      return ToGrpc(registry_.Apply(ObjectKind::kLabelView, req.project(), req.label_view(), caller.actor));
    case fr::ApplyFeatureViewRequest::BASE_FEATURE_VIEW_NOT_SET: break;
  }
  return ToGrpc(InvalidArgument("Unexpected feature view type: the request carries no feature view"));
}
::grpc::Status RegistryGrpcService::DoDeleteFeatureView(const fr::DeleteFeatureViewRequest& req, pb::Empty*,
                                                        const Caller& caller) {
  return ToGrpc(registry_.DeleteFeatureView(req.project(), req.name(), caller.actor), ObjectKind::kFeatureView);
}
::grpc::Status RegistryGrpcService::DoGetAnyFeatureView(const fr::GetAnyFeatureViewRequest& req,
                                                        fr::GetAnyFeatureViewResponse* res, const Caller&) {
  StatusOr<RegistryObject> o = registry_.GetAnyFeatureView(req.project(), req.name());
  if (!o.ok()) return ToGrpc(o.status(), ObjectKind::kFeatureView);
  SetAny(*o, res->mutable_any_feature_view());
  return ::grpc::Status::OK;
}
::grpc::Status RegistryGrpcService::DoListAllFeatureViews(const fr::ListAllFeatureViewsRequest& req,
                                                          fr::ListAllFeatureViewsResponse* res, const Caller& caller) {
  features::RegistryListFilter filter = FilterOf(req.tags());
  if (req.has_updated_since()) filter.updated_since_us = TimestampUs(req.updated_since());
  StatusOr<std::vector<RegistryObject>> views = registry_.ListAllFeatureViews(req.project(), filter, false);
  if (!views.ok()) return ToGrpc(views.status());
  std::optional<std::vector<std::string>> service_views;
  if (!req.feature_service().empty()) {
    service_views.emplace();
    StatusOr<RegistryObject> fs = registry_.Get(ObjectKind::kFeatureService, req.project(), req.feature_service());
    if (fs.ok()) {
      for (const auto& p : static_cast<const fc::FeatureService&>(*fs->message).spec().features()) {
        service_views->push_back(p.feature_view_name());
      }
    }  // Feast: an unknown service matches no view
  }
  // Sorted as the views themselves (Feast sorts its view objects), then wrapped.
  std::vector<const pb::Message*> items;
  std::map<const pb::Message*, const RegistryObject*> by_message;
  for (const RegistryObject& v : *views) {
    const pb::Message& spec = SpecOf(v);
    const std::string name = features::MessageName(*v.message);
    if (!req.entity().empty()) {
      std::vector<std::string> ents = RepeatedStrings(spec, "entities");
      if (std::find(ents.begin(), ents.end(), req.entity()) == ents.end()) continue;
    }
    if (!req.feature().empty()) {
      std::vector<const fc::FeatureSpecV2*> fs = FeaturesOf(v);
      if (std::none_of(fs.begin(), fs.end(), [&](const auto* f) { return f->name() == req.feature(); })) continue;
    }
    if (service_views &&
        std::find(service_views->begin(), service_views->end(), name) == service_views->end()) {
      continue;
    }
    if (!req.data_source().empty() && !UsesDataSource(v, req.data_source())) continue;
    if (!MaySeeView(caller, req.project(), name)) continue;
    items.push_back(v.message.get());
    by_message[v.message.get()] = &v;
  }
  *res->mutable_pagination() = PaginateAndSort(items, req.pagination(), req.sorting());
  for (const pb::Message* m : items) SetAny(*by_message.at(m), res->add_feature_views());
  return ::grpc::Status::OK;
}
::grpc::Status RegistryGrpcService::DoGetFeatureView(const fr::GetFeatureViewRequest& req, fc::FeatureView* res,
                                                     const Caller&) {
  return GetKind(registry_, ObjectKind::kFeatureView, req.project(), req.name(), res);
}
::grpc::Status RegistryGrpcService::DoListFeatureViews(const fr::ListFeatureViewsRequest& req,
                                                       fr::ListFeatureViewsResponse* res, const Caller& caller) {
  return ListKind(registry_, ObjectKind::kFeatureView, req, res, caller);
}
::grpc::Status RegistryGrpcService::DoGetStreamFeatureView(const fr::GetStreamFeatureViewRequest& req,
                                                           fc::StreamFeatureView* res, const Caller&) {
  return GetKind(registry_, ObjectKind::kStreamFeatureView, req.project(), req.name(), res);
}
::grpc::Status RegistryGrpcService::DoListStreamFeatureViews(const fr::ListStreamFeatureViewsRequest& req,
                                                             fr::ListStreamFeatureViewsResponse* res,
                                                             const Caller& caller) {
  return ListKind(registry_, ObjectKind::kStreamFeatureView, req, res, caller);
}
::grpc::Status RegistryGrpcService::DoGetOnDemandFeatureView(const fr::GetOnDemandFeatureViewRequest& req,
                                                             fc::OnDemandFeatureView* res, const Caller&) {
  return GetKind(registry_, ObjectKind::kOnDemandFeatureView, req.project(), req.name(), res);
}
::grpc::Status RegistryGrpcService::DoListOnDemandFeatureViews(const fr::ListOnDemandFeatureViewsRequest& req,
                                                               fr::ListOnDemandFeatureViewsResponse* res,
                                                               const Caller& caller) {
  return ListKind(registry_, ObjectKind::kOnDemandFeatureView, req, res, caller);
}
::grpc::Status RegistryGrpcService::DoGetLabelView(const fr::GetLabelViewRequest& req, fc::LabelView* res,
                                                   const Caller&) {
  return GetKind(registry_, ObjectKind::kLabelView, req.project(), req.name(), res);
}
::grpc::Status RegistryGrpcService::DoListLabelViews(const fr::ListLabelViewsRequest& req,
                                                     fr::ListLabelViewsResponse* res, const Caller& caller) {
  return ListKind(registry_, ObjectKind::kLabelView, req, res, caller);
}

// --- feature services ---

::grpc::Status RegistryGrpcService::DoApplyFeatureService(const fr::ApplyFeatureServiceRequest& req, pb::Empty*,
                                                          const Caller& caller) {
  return ToGrpc(registry_.Apply(ObjectKind::kFeatureService, req.project(), req.feature_service(), caller.actor));
}
::grpc::Status RegistryGrpcService::DoGetFeatureService(const fr::GetFeatureServiceRequest& req,
                                                        fc::FeatureService* res, const Caller&) {
  return GetKind(registry_, ObjectKind::kFeatureService, req.project(), req.name(), res);
}
::grpc::Status RegistryGrpcService::DoListFeatureServices(const fr::ListFeatureServicesRequest& req,
                                                          fr::ListFeatureServicesResponse* res, const Caller&) {
  StatusOr<std::vector<RegistryObject>> objs =
      registry_.List(ObjectKind::kFeatureService, req.project(), FilterOf(req.tags()));
  if (!objs.ok()) return ToGrpc(objs.status());
  std::vector<const pb::Message*> items;
  for (const RegistryObject& o : *objs) {
    const auto& fs = static_cast<const fc::FeatureService&>(*o.message);
    if (!req.feature_view().empty() &&
        std::none_of(fs.spec().features().begin(), fs.spec().features().end(),
                     [&](const auto& p) { return p.feature_view_name() == req.feature_view(); })) {
      continue;
    }
    items.push_back(o.message.get());
  }
  return FillList(items, req.pagination(), req.sorting(), res);
}
::grpc::Status RegistryGrpcService::DoDeleteFeatureService(const fr::DeleteFeatureServiceRequest& req, pb::Empty*,
                                                           const Caller& caller) {
  return ToGrpc(registry_.Delete(ObjectKind::kFeatureService, req.project(), req.name(), caller.actor),
                ObjectKind::kFeatureService);
}

// --- saved datasets, validation references, permissions ---

::grpc::Status RegistryGrpcService::DoApplySavedDataset(const fr::ApplySavedDatasetRequest& req, pb::Empty*,
                                                        const Caller& caller) {
  return ToGrpc(registry_.Apply(ObjectKind::kSavedDataset, req.project(), req.saved_dataset(), caller.actor));
}
::grpc::Status RegistryGrpcService::DoGetSavedDataset(const fr::GetSavedDatasetRequest& req, fc::SavedDataset* res,
                                                      const Caller&) {
  return GetKind(registry_, ObjectKind::kSavedDataset, req.project(), req.name(), res);
}
::grpc::Status RegistryGrpcService::DoListSavedDatasets(const fr::ListSavedDatasetsRequest& req,
                                                        fr::ListSavedDatasetsResponse* res, const Caller&) {
  StatusOr<std::vector<RegistryObject>> objs =
      registry_.List(ObjectKind::kSavedDataset, req.project(), FilterOf(req.tags()));
  if (!objs.ok()) return ToGrpc(objs.status());
  std::vector<const pb::Message*> items;
  for (const RegistryObject& o : *objs) {
    const auto& sd = static_cast<const fc::SavedDataset&>(*o.message);
    if (!req.namespace_().empty() && sd.spec().namespace_() != req.namespace_()) continue;
    if (!req.collection().empty() && sd.spec().collection() != req.collection()) continue;
    items.push_back(o.message.get());
  }
  return FillList(items, req.pagination(), req.sorting(), res);
}
::grpc::Status RegistryGrpcService::DoDeleteSavedDataset(const fr::DeleteSavedDatasetRequest& req, pb::Empty*,
                                                         const Caller& caller) {
  return ToGrpc(registry_.Delete(ObjectKind::kSavedDataset, req.project(), req.name(), caller.actor),
                ObjectKind::kSavedDataset);
}

::grpc::Status RegistryGrpcService::DoApplyValidationReference(const fr::ApplyValidationReferenceRequest& req,
                                                               pb::Empty*, const Caller& caller) {
  return ToGrpc(
      registry_.Apply(ObjectKind::kValidationReference, req.project(), req.validation_reference(), caller.actor));
}
::grpc::Status RegistryGrpcService::DoGetValidationReference(const fr::GetValidationReferenceRequest& req,
                                                             fc::ValidationReference* res, const Caller&) {
  return GetKind(registry_, ObjectKind::kValidationReference, req.project(), req.name(), res);
}
::grpc::Status RegistryGrpcService::DoListValidationReferences(const fr::ListValidationReferencesRequest& req,
                                                               fr::ListValidationReferencesResponse* res,
                                                               const Caller& caller) {
  return ListKind(registry_, ObjectKind::kValidationReference, req, res, caller);
}
::grpc::Status RegistryGrpcService::DoDeleteValidationReference(const fr::DeleteValidationReferenceRequest& req,
                                                                pb::Empty*, const Caller& caller) {
  return ToGrpc(registry_.Delete(ObjectKind::kValidationReference, req.project(), req.name(), caller.actor),
                ObjectKind::kValidationReference);
}

::grpc::Status RegistryGrpcService::DoApplyPermission(const fr::ApplyPermissionRequest& req, pb::Empty*,
                                                      const Caller& caller) {
  return ToGrpc(registry_.Apply(ObjectKind::kPermission, req.project(), req.permission(), caller.actor));
}
::grpc::Status RegistryGrpcService::DoGetPermission(const fr::GetPermissionRequest& req, fc::Permission* res,
                                                    const Caller&) {
  return GetKind(registry_, ObjectKind::kPermission, req.project(), req.name(), res);
}
::grpc::Status RegistryGrpcService::DoListPermissions(const fr::ListPermissionsRequest& req,
                                                      fr::ListPermissionsResponse* res, const Caller& caller) {
  return ListKind(registry_, ObjectKind::kPermission, req, res, caller);
}
::grpc::Status RegistryGrpcService::DoDeletePermission(const fr::DeletePermissionRequest& req, pb::Empty*,
                                                       const Caller& caller) {
  return ToGrpc(registry_.Delete(ObjectKind::kPermission, req.project(), req.name(), caller.actor), ObjectKind::kPermission);
}

// --- Feast's UI dataset jobs ---

::grpc::Status RegistryGrpcService::DoCreateDatasetFromRetrieval(const fr::CreateDatasetFromRetrievalRequest&,
                                                                 fr::CreateDatasetFromRetrievalResponse*,
                                                                 const Caller&) {
  return ToGrpc(Unimplemented("kiln does not run Feast's dataset jobs (CreateDatasetFromRetrieval); build training "
                              "sets with kiln's point-in-time retrieval (kiln features historical)"));
}
::grpc::Status RegistryGrpcService::DoGetDatasetData(const fr::GetDatasetDataRequest&, fr::GetDatasetDataResponse*,
                                                     const Caller&) {
  return ToGrpc(Unimplemented("kiln does not read saved datasets' data over the registry (GetDatasetData)"));
}
::grpc::Status RegistryGrpcService::DoGetDatasetJobStatus(const fr::GetDatasetJobStatusRequest& req,
                                                          fr::GetDatasetJobStatusResponse*, const Caller&) {
  return ToGrpc(NotFound("Dataset job '" + req.job_id() + "' not found"));
}
::grpc::Status RegistryGrpcService::DoListDatasetJobs(const fr::ListDatasetJobsRequest&, fr::ListDatasetJobsResponse*,
                                                      const Caller&) {
  return ::grpc::Status::OK;  // kiln never starts one
}

// --- projects ---

::grpc::Status RegistryGrpcService::DoApplyProject(const fr::ApplyProjectRequest& req, pb::Empty*,
                                                   const Caller& caller) {
  return ToGrpc(registry_.Apply(ObjectKind::kProject, "", req.project(), caller.actor));
}
::grpc::Status RegistryGrpcService::DoGetProject(const fr::GetProjectRequest& req, fc::Project* res,
                                                 const Caller&) {
  return GetKind(registry_, ObjectKind::kProject, req.name(), req.name(), res);
}
::grpc::Status RegistryGrpcService::DoListProjects(const fr::ListProjectsRequest& req, fr::ListProjectsResponse* res,
                                                   const Caller& caller) {
  StatusOr<std::vector<RegistryObject>> objs = registry_.List(ObjectKind::kProject, "", FilterOf(req.tags()));
  if (!objs.ok()) return ToGrpc(objs.status());
  std::vector<const pb::Message*> items;
  for (const RegistryObject& o : *objs) {
    // Feast hides projects tagged protected from listings.
    auto tags = features::MessageTags(*o.message);
    auto it = tags.find("feast.dev/protected-project");
    if (it != tags.end() && it->second == "true") continue;
    if (!MaySeeProject(caller, features::MessageName(*o.message))) continue;
    items.push_back(o.message.get());
  }
  return FillList(items, req.pagination(), req.sorting(), res);
}
::grpc::Status RegistryGrpcService::DoDeleteProject(const fr::DeleteProjectRequest& req, pb::Empty*,
                                                    const Caller& caller) {
  return ToGrpc(registry_.DeleteProject(req.name(), caller.actor), ObjectKind::kProject);
}

// --- materialization, metadata, infra, whole-registry calls ---

::grpc::Status RegistryGrpcService::DoApplyMaterialization(const fr::ApplyMaterializationRequest& req, pb::Empty*,
                                                           const Caller& caller) {
  return ToGrpc(registry_.RecordMaterialization(req.project(), req.feature_view().spec().name(),
                                                TimestampUs(req.start_date()), TimestampUs(req.end_date()), caller.actor),
                ObjectKind::kFeatureView);
}
::grpc::Status RegistryGrpcService::DoListProjectMetadata(const fr::ListProjectMetadataRequest& req,
                                                          fr::ListProjectMetadataResponse* res, const Caller&) {
  StatusOr<std::vector<fc::ProjectMetadata>> pm = registry_.ListProjectMetadata(req.project());
  if (!pm.ok()) return ToGrpc(pm.status());
  for (auto& m : *pm) *res->add_project_metadata() = std::move(m);
  return ::grpc::Status::OK;
}
::grpc::Status RegistryGrpcService::DoUpdateInfra(const fr::UpdateInfraRequest& req, pb::Empty*,
                                                  const Caller& caller) {
  return ToGrpc(registry_.UpdateInfra(req.project(), req.infra(), caller.actor));
}
::grpc::Status RegistryGrpcService::DoGetInfra(const fr::GetInfraRequest& req, fc::Infra* res, const Caller&) {
  return ToGrpc(registry_.GetInfra(req.project(), res));
}
::grpc::Status RegistryGrpcService::DoCommit(const pb::Empty&, pb::Empty*, const Caller&) {
  return ::grpc::Status::OK;  // every write is already committed
}
::grpc::Status RegistryGrpcService::DoRefresh(const fr::RefreshRequest&, pb::Empty*, const Caller&) {
  return ::grpc::Status::OK;  // reads are never cached stale
}
::grpc::Status RegistryGrpcService::DoProto(const pb::Empty&, fc::Registry* res, const Caller&) {
  return ToGrpc(registry_.BuildRegistryProto(res));
}

// --- lineage ---

::grpc::Status RegistryGrpcService::DoGetRegistryLineage(const fr::GetRegistryLineageRequest& req,
                                                         fr::GetRegistryLineageResponse* res, const Caller&) {
  StatusOr<features::Lineage> lineage =
      features::RegistryLineage(registry_, req.project(), req.filter_object_type(), req.filter_object_name());
  if (!lineage.ok()) return ToGrpc(lineage.status());
  CopyRelations(lineage->direct, req.pagination(), req.sorting(), res->mutable_relationships(),
                res->mutable_relationships_pagination());
  CopyRelations(lineage->indirect, req.pagination(), req.sorting(), res->mutable_indirect_relationships(),
                res->mutable_indirect_relationships_pagination());
  return ::grpc::Status::OK;
}
::grpc::Status RegistryGrpcService::DoGetObjectRelationships(const fr::GetObjectRelationshipsRequest& req,
                                                             fr::GetObjectRelationshipsResponse* res,
                                                             const Caller&) {
  StatusOr<std::vector<features::LineageRelation>> rels = features::ObjectRelationships(
      registry_, req.project(), req.object_type(), req.object_name(), req.include_indirect());
  if (!rels.ok()) return ToGrpc(rels.status());
  CopyRelations(*rels, req.pagination(), req.sorting(), res->mutable_relationships(), res->mutable_pagination());
  return ::grpc::Status::OK;
}

// --- features ---

::grpc::Status RegistryGrpcService::DoListFeatures(const fr::ListFeaturesRequest& req, fr::ListFeaturesResponse* res,
                                                   const Caller& caller) {
  StatusOr<std::vector<RegistryObject>> views = registry_.ListAllFeatureViews(req.project(), {}, true);
  if (!views.ok()) return ToGrpc(views.status());
  std::vector<fr::Feature> found;
  for (const RegistryObject& v : *views) {
    const std::string kind = v.kind == ObjectKind::kLabelView ? "label" : "feature";
    if (!req.kind().empty() && kind != req.kind()) continue;
    if (!req.feature_view().empty() && features::MessageName(*v.message) != req.feature_view()) continue;
    if (!MaySeeView(caller, req.project(), features::MessageName(*v.message))) continue;
    for (const fc::FeatureSpecV2* f : FeaturesOf(v)) {
      if (!req.name().empty() && f->name() != req.name()) continue;
      found.push_back(FeatureOf(v, *f));
    }
  }
  std::vector<const pb::Message*> items;
  for (const auto& f : found) items.push_back(&f);
  return FillList(items, req.pagination(), req.sorting(), res);
}
::grpc::Status RegistryGrpcService::DoGetFeature(const fr::GetFeatureRequest& req, fr::Feature* res,
                                                 const Caller&) {
  StatusOr<std::vector<RegistryObject>> views = registry_.ListAllFeatureViews(req.project(), {}, true);
  if (!views.ok()) return ToGrpc(views.status());
  for (const RegistryObject& v : *views) {
    if (features::MessageName(*v.message) != req.feature_view()) continue;
    for (const fc::FeatureSpecV2* f : FeaturesOf(v)) {
      if (f->name() == req.name()) {
        *res = FeatureOf(v, *f);
        return ::grpc::Status::OK;
      }
    }
  }
  return ToGrpc(NotFound("Feature " + req.name() + " not found in feature view " + req.feature_view() +
                         " in project " + req.project()));
}

}  // namespace kiln::api::feast
