#include "features/registry_kinds.h"

#include "feast/core/DataSource.pb.h"
#include "feast/core/Entity.pb.h"
#include "feast/core/FeatureService.pb.h"
#include "feast/core/FeatureView.pb.h"
#include "feast/core/LabelView.pb.h"
#include "feast/core/OnDemandFeatureView.pb.h"
#include "feast/core/Permission.pb.h"
#include "feast/core/Project.pb.h"
#include "feast/core/SavedDataset.pb.h"
#include "feast/core/StreamFeatureView.pb.h"
#include "feast/core/ValidationProfile.pb.h"
#include "storage/feature_registry_store.h"

namespace kiln::features {

namespace fk = storage::feature_kind;

bool IsFeatureViewKind(ObjectKind kind) {
  for (ObjectKind k : kFeatureViewKinds) {
    if (k == kind) return true;
  }
  return false;
}

const char* StoreKind(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kProject: return fk::kProject;
    case ObjectKind::kEntity: return fk::kEntity;
    case ObjectKind::kDataSource: return fk::kDataSource;
    case ObjectKind::kFeatureView: return fk::kFeatureView;
    case ObjectKind::kStreamFeatureView: return fk::kStreamFeatureView;
    case ObjectKind::kOnDemandFeatureView: return fk::kOnDemandFeatureView;
    case ObjectKind::kLabelView: return "label_view";
    case ObjectKind::kFeatureService: return fk::kFeatureService;
    case ObjectKind::kSavedDataset: return fk::kSavedDataset;
    case ObjectKind::kValidationReference: return fk::kValidationReference;
    case ObjectKind::kPermission: return fk::kPermission;
  }
  return "";
}

std::optional<ObjectKind> KindFromStore(std::string_view kind) {
  for (ObjectKind k : kAllKinds) {
    if (kind == StoreKind(k)) return k;
  }
  return std::nullopt;
}

std::unique_ptr<google::protobuf::Message> NewMessage(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kProject: return std::make_unique<feast::core::Project>();
    case ObjectKind::kEntity: return std::make_unique<feast::core::Entity>();
    case ObjectKind::kDataSource: return std::make_unique<feast::core::DataSource>();
    case ObjectKind::kFeatureView: return std::make_unique<feast::core::FeatureView>();
    case ObjectKind::kStreamFeatureView: return std::make_unique<feast::core::StreamFeatureView>();
    case ObjectKind::kOnDemandFeatureView: return std::make_unique<feast::core::OnDemandFeatureView>();
    case ObjectKind::kLabelView: return std::make_unique<feast::core::LabelView>();
    case ObjectKind::kFeatureService: return std::make_unique<feast::core::FeatureService>();
    case ObjectKind::kSavedDataset: return std::make_unique<feast::core::SavedDataset>();
    case ObjectKind::kValidationReference: return std::make_unique<feast::core::ValidationReference>();
    case ObjectKind::kPermission: return std::make_unique<feast::core::Permission>();
  }
  return nullptr;
}

const char* FeastTypeName(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kProject: return "Project";
    case ObjectKind::kEntity: return "Entity";
    case ObjectKind::kDataSource: return "DataSource";
    case ObjectKind::kFeatureView: return "FeatureView";
    case ObjectKind::kStreamFeatureView: return "StreamFeatureView";
    case ObjectKind::kOnDemandFeatureView: return "OnDemandFeatureView";
    case ObjectKind::kLabelView: return "LabelView";
    case ObjectKind::kFeatureService: return "FeatureService";
    case ObjectKind::kSavedDataset: return "SavedDataset";
    case ObjectKind::kValidationReference: return "ValidationReference";
    case ObjectKind::kPermission: return "Permission";
  }
  return "";
}

// Texts from feast/errors.py as Feast 0.67's SQL registry raises them
// (every feature-view getter raises FeatureViewNotFoundException).
FeastError NotFoundError(ObjectKind kind, const std::string& name, const std::string& project) {
  const std::string in = " does not exist in project " + project;
  switch (kind) {
    case ObjectKind::kProject: return {"ProjectObjectNotFoundException", "Project " + name + " does not exist"};
    case ObjectKind::kEntity: return {"EntityNotFoundException", "Entity " + name + in};
    case ObjectKind::kDataSource: return {"DataSourceObjectNotFoundException", "Data source " + name + in};
    case ObjectKind::kFeatureView:
    case ObjectKind::kStreamFeatureView:
    case ObjectKind::kOnDemandFeatureView:
    case ObjectKind::kLabelView: return {"FeatureViewNotFoundException", "Feature view " + name + in};
    case ObjectKind::kFeatureService: return {"FeatureServiceNotFoundException", "Feature service " + name + in};
    case ObjectKind::kSavedDataset: return {"SavedDatasetNotFound", "Saved dataset " + name + in};
    case ObjectKind::kValidationReference:
      return {"ValidationReferenceNotFound", "Validation reference " + name + in};
    case ObjectKind::kPermission: return {"PermissionNotFoundException", "Permission " + name + in};
  }
  return {"FeastObjectNotFoundException", name + in};
}

}  // namespace kiln::features
