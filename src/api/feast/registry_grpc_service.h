// feast.registry.RegistryServer: Feast 0.67's registry gRPC service over
// features::FeatureRegistry, so that the unmodified Feast SDK with
// `registry: {registry_type: remote, path: HOST:GRPC_PORT}` runs `feast
// apply`, `feast plan`, every list command and the SDK's get_/list_ calls
// against kiln. Semantics follow Feast's registry_server.py: list requests
// honour tags, {page, limit} and {sort_by, sort_order} and answer Feast's
// pagination metadata; `commit` flags, Commit and Refresh are accepted (kiln
// writes eagerly, reads are never stale); `allow_cache` is ignored for the
// same reason.
//
// Errors travel as Feast's do: the status details are Feast's JSON error
// detail {"module": "feast.errors", "class": ..., "message": ...}, which the
// SDK's client interceptor turns back into the same exception
// (FeatureViewNotFoundException, ...). Codes: NOT_FOUND for a missing object,
// INVALID_ARGUMENT for bad input, UNAVAILABLE when the worker pool refuses
// the call. Feast's UI-only dataset jobs: kiln runs none, so the job list is
// empty and a job id is NOT_FOUND; creating one (which runs Feast's Python
// retrieval) or reading its data is UNIMPLEMENTED, saying so.
//
// Every store-touching call runs on the WorkerPool (never on gRPC's callback
// threads); the pool finishes the call.
//
// Ownership: borrows the registry and the pool; both must outlive the gRPC
// server this service is registered with.
// Thread-safety: gRPC calls methods concurrently; no mutable state here.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "api/gate/request_gate.h"
#include "core/access.h"
#include "core/worker_pool.h"
#include "feast/registry/RegistryServer.grpc.pb.h"
#include "features/feature_registry.h"

namespace kiln::api::feast {

// The RPCs kiln implements: (method, request, response).
#define KILN_FEAST_REGISTRY_RPCS(X) \
  X(ApplyEntity, ::feast::registry::ApplyEntityRequest, ::google::protobuf::Empty) \
  X(GetEntity, ::feast::registry::GetEntityRequest, ::feast::core::Entity) \
  X(ListEntities, ::feast::registry::ListEntitiesRequest, ::feast::registry::ListEntitiesResponse) \
  X(DeleteEntity, ::feast::registry::DeleteEntityRequest, ::google::protobuf::Empty) \
  X(ApplyDataSource, ::feast::registry::ApplyDataSourceRequest, ::google::protobuf::Empty) \
  X(GetDataSource, ::feast::registry::GetDataSourceRequest, ::feast::core::DataSource) \
  X(ListDataSources, ::feast::registry::ListDataSourcesRequest, ::feast::registry::ListDataSourcesResponse) \
  X(DeleteDataSource, ::feast::registry::DeleteDataSourceRequest, ::google::protobuf::Empty) \
  X(ApplyFeatureView, ::feast::registry::ApplyFeatureViewRequest, ::google::protobuf::Empty) \
  X(DeleteFeatureView, ::feast::registry::DeleteFeatureViewRequest, ::google::protobuf::Empty) \
  X(GetAnyFeatureView, ::feast::registry::GetAnyFeatureViewRequest, ::feast::registry::GetAnyFeatureViewResponse) \
  X(ListAllFeatureViews, ::feast::registry::ListAllFeatureViewsRequest, ::feast::registry::ListAllFeatureViewsResponse) \
  X(GetFeatureView, ::feast::registry::GetFeatureViewRequest, ::feast::core::FeatureView) \
  X(ListFeatureViews, ::feast::registry::ListFeatureViewsRequest, ::feast::registry::ListFeatureViewsResponse) \
  X(GetStreamFeatureView, ::feast::registry::GetStreamFeatureViewRequest, ::feast::core::StreamFeatureView) \
  X(ListStreamFeatureViews, ::feast::registry::ListStreamFeatureViewsRequest, ::feast::registry::ListStreamFeatureViewsResponse) \
  X(GetOnDemandFeatureView, ::feast::registry::GetOnDemandFeatureViewRequest, ::feast::core::OnDemandFeatureView) \
  X(ListOnDemandFeatureViews, ::feast::registry::ListOnDemandFeatureViewsRequest, ::feast::registry::ListOnDemandFeatureViewsResponse) \
  X(GetLabelView, ::feast::registry::GetLabelViewRequest, ::feast::core::LabelView) \
  X(ListLabelViews, ::feast::registry::ListLabelViewsRequest, ::feast::registry::ListLabelViewsResponse) \
  X(ApplyFeatureService, ::feast::registry::ApplyFeatureServiceRequest, ::google::protobuf::Empty) \
  X(GetFeatureService, ::feast::registry::GetFeatureServiceRequest, ::feast::core::FeatureService) \
  X(ListFeatureServices, ::feast::registry::ListFeatureServicesRequest, ::feast::registry::ListFeatureServicesResponse) \
  X(DeleteFeatureService, ::feast::registry::DeleteFeatureServiceRequest, ::google::protobuf::Empty) \
  X(ApplySavedDataset, ::feast::registry::ApplySavedDatasetRequest, ::google::protobuf::Empty) \
  X(GetSavedDataset, ::feast::registry::GetSavedDatasetRequest, ::feast::core::SavedDataset) \
  X(ListSavedDatasets, ::feast::registry::ListSavedDatasetsRequest, ::feast::registry::ListSavedDatasetsResponse) \
  X(DeleteSavedDataset, ::feast::registry::DeleteSavedDatasetRequest, ::google::protobuf::Empty) \
  X(CreateDatasetFromRetrieval, ::feast::registry::CreateDatasetFromRetrievalRequest, ::feast::registry::CreateDatasetFromRetrievalResponse) \
  X(GetDatasetData, ::feast::registry::GetDatasetDataRequest, ::feast::registry::GetDatasetDataResponse) \
  X(GetDatasetJobStatus, ::feast::registry::GetDatasetJobStatusRequest, ::feast::registry::GetDatasetJobStatusResponse) \
  X(ListDatasetJobs, ::feast::registry::ListDatasetJobsRequest, ::feast::registry::ListDatasetJobsResponse) \
  X(ApplyValidationReference, ::feast::registry::ApplyValidationReferenceRequest, ::google::protobuf::Empty) \
  X(GetValidationReference, ::feast::registry::GetValidationReferenceRequest, ::feast::core::ValidationReference) \
  X(ListValidationReferences, ::feast::registry::ListValidationReferencesRequest, ::feast::registry::ListValidationReferencesResponse) \
  X(DeleteValidationReference, ::feast::registry::DeleteValidationReferenceRequest, ::google::protobuf::Empty) \
  X(ApplyPermission, ::feast::registry::ApplyPermissionRequest, ::google::protobuf::Empty) \
  X(GetPermission, ::feast::registry::GetPermissionRequest, ::feast::core::Permission) \
  X(ListPermissions, ::feast::registry::ListPermissionsRequest, ::feast::registry::ListPermissionsResponse) \
  X(DeletePermission, ::feast::registry::DeletePermissionRequest, ::google::protobuf::Empty) \
  X(ApplyProject, ::feast::registry::ApplyProjectRequest, ::google::protobuf::Empty) \
  X(GetProject, ::feast::registry::GetProjectRequest, ::feast::core::Project) \
  X(ListProjects, ::feast::registry::ListProjectsRequest, ::feast::registry::ListProjectsResponse) \
  X(DeleteProject, ::feast::registry::DeleteProjectRequest, ::google::protobuf::Empty) \
  X(ApplyMaterialization, ::feast::registry::ApplyMaterializationRequest, ::google::protobuf::Empty) \
  X(ListProjectMetadata, ::feast::registry::ListProjectMetadataRequest, ::feast::registry::ListProjectMetadataResponse) \
  X(UpdateInfra, ::feast::registry::UpdateInfraRequest, ::google::protobuf::Empty) \
  X(GetInfra, ::feast::registry::GetInfraRequest, ::feast::core::Infra) \
  X(Commit, ::google::protobuf::Empty, ::google::protobuf::Empty) \
  X(Refresh, ::feast::registry::RefreshRequest, ::google::protobuf::Empty) \
  X(Proto, ::google::protobuf::Empty, ::feast::core::Registry) \
  X(GetRegistryLineage, ::feast::registry::GetRegistryLineageRequest, ::feast::registry::GetRegistryLineageResponse) \
  X(GetObjectRelationships, ::feast::registry::GetObjectRelationshipsRequest, ::feast::registry::GetObjectRelationshipsResponse) \
  X(ListFeatures, ::feast::registry::ListFeaturesRequest, ::feast::registry::ListFeaturesResponse) \
  X(GetFeature, ::feast::registry::GetFeatureRequest, ::feast::registry::Feature)

// Access (through the request gate, when one is given): Apply* and
// ApplyMaterialization need editor on the project (a feature view's apply,
// on the view), a first apply into a project that does not exist yet editor
// on the global scope (the caller then manages the new project); Delete*
// manager on the project (a view's, on the view); Get* viewer; lists of
// feature views and features, and ListProjects, are filtered to what the
// caller may view, other lists need viewer on the project; applying and
// deleting Feast permission objects need manager on the project; Proto (the whole registry) viewer on the global
// scope; Commit and Refresh any authenticated caller. Refusals are
// UNAUTHENTICATED / PERMISSION_DENIED with Feast's FeastPermissionError detail.
class RegistryGrpcService final : public ::feast::registry::RegistryServer::CallbackService {
 public:
  // `gate` may be null: every call allowed, nothing audited.
  RegistryGrpcService(features::FeatureRegistry& registry, WorkerPool& pool, gate::RequestGate* gate = nullptr)
      : registry_(registry), pool_(pool), gate_(gate) {}

  // What a call needs, decided from its request before it runs.
  struct Policy {
    bool authenticated_only = false;  // any authenticated caller; the method filters by the scope
    Role least = Role::kViewer;
    std::vector<ObjectRef> objects;  // empty: the global scope
    bool mutation = false;
    std::vector<ObjectRef> created;  // objects the call creates (the caller becomes their manager)
    std::vector<ObjectRef> deleted;  // objects the call removes for good (their grants go)
  };
  // Who is calling: the audit actor and, with auth on, the caller's scope
  // (null when auth is off: everything visible).
  struct Caller {
    std::string actor;
    std::shared_ptr<const AccessScope> access;
  };

#define KILN_DECLARE_RPC(Method, Req, Res) \
  ::grpc::ServerUnaryReactor* Method(::grpc::CallbackServerContext* ctx, const Req* req, Res* res) override;
  KILN_FEAST_REGISTRY_RPCS(KILN_DECLARE_RPC)
#undef KILN_DECLARE_RPC

 private:
  ::grpc::ServerUnaryReactor* OnPool(::grpc::CallbackServerContext* ctx, std::function<::grpc::Status()> job);

#define KILN_DECLARE_DO(Method, Req, Res)                                      \
  ::grpc::Status Do##Method(const Req& req, Res* res, const Caller& caller); \
  Policy Policy##Method(const Req& req);
  KILN_FEAST_REGISTRY_RPCS(KILN_DECLARE_DO)
#undef KILN_DECLARE_DO

  // Admits the call through the gate, runs it, records its outcome.
  ::grpc::Status Gated(::grpc::CallbackServerContext* ctx, const char* method, Policy policy,
                       const google::protobuf::Message& request, const std::function<::grpc::Status(const Caller&)>& run);
  // Policies shared by many methods.
  Policy Apply(const std::string& project, std::optional<ObjectRef> object = std::nullopt);
  static Policy Read(const std::string& project, Role least = Role::kViewer);
  static Policy ReadView(const std::string& project, const std::string& view);
  static Policy Filtered();

  features::FeatureRegistry& registry_;
  WorkerPool& pool_;
  gate::RequestGate* gate_;
};

}  // namespace kiln::api::feast
