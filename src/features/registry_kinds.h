// The kinds of object Feast's registry holds, and what differs between them:
// the message type, the store's kind string, and the exception Feast raises
// when one is missing (class name and message text, which the Feast SDK
// turns back into that exception). Pure; thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <google/protobuf/message.h>

namespace kiln::features {

enum class ObjectKind {
  kProject,
  kEntity,
  kDataSource,
  kFeatureView,
  kStreamFeatureView,
  kOnDemandFeatureView,
  kLabelView,
  kFeatureService,
  kSavedDataset,
  kValidationReference,
  kPermission,
};

inline constexpr ObjectKind kAllKinds[] = {
    ObjectKind::kProject,         ObjectKind::kEntity,         ObjectKind::kDataSource,
    ObjectKind::kFeatureView,     ObjectKind::kStreamFeatureView, ObjectKind::kOnDemandFeatureView,
    ObjectKind::kLabelView,       ObjectKind::kFeatureService, ObjectKind::kSavedDataset,
    ObjectKind::kValidationReference, ObjectKind::kPermission,
};

// The three feature-view kinds Feast's "any feature view" calls cover, plus
// label views (Feast 0.67 keeps them in the same name space).
inline constexpr ObjectKind kFeatureViewKinds[] = {ObjectKind::kFeatureView, ObjectKind::kStreamFeatureView,
                                                   ObjectKind::kOnDemandFeatureView, ObjectKind::kLabelView};

bool IsFeatureViewKind(ObjectKind kind);

// storage::feature_kind strings ("label_view" for label views).
const char* StoreKind(ObjectKind kind);
std::optional<ObjectKind> KindFromStore(std::string_view kind);

// A fresh, empty message of the kind's Feast type (feast.core.Entity, ...).
std::unique_ptr<google::protobuf::Message> NewMessage(ObjectKind kind);

// Feast's Python class name of the kind, as ConflictingFeatureViewNames names it.
const char* FeastTypeName(ObjectKind kind);

// The exception Feast's registry raises for a missing object of this kind.
struct FeastError {
  std::string error_class;  // in module feast.errors
  std::string message;
};
FeastError NotFoundError(ObjectKind kind, const std::string& name, const std::string& project);

}  // namespace kiln::features
