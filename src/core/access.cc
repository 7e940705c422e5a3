#include "core/access.h"

#include <algorithm>
#include <cctype>

namespace kiln {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kNone: return "none";
    case Role::kViewer: return "viewer";
    case Role::kEditor: return "editor";
    case Role::kManager: return "manager";
    case Role::kAdmin: return "admin";
  }
  return "none";
}

std::optional<Role> ParseRole(std::string_view name) {
  const std::string n = Lower(name);
  if (n == "none" || n == "no_permissions") return Role::kNone;
  if (n == "viewer" || n == "read") return Role::kViewer;
  if (n == "editor" || n == "edit") return Role::kEditor;
  if (n == "manager" || n == "manage") return Role::kManager;
  if (n == "admin") return Role::kAdmin;
  return std::nullopt;
}

const char* ObjectKindName(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kGlobal: return "global";
    case ObjectKind::kExperiment: return "experiment";
    case ObjectKind::kRegisteredModel: return "registered_model";
    case ObjectKind::kFeatureProject: return "feature_project";
    case ObjectKind::kFeatureView: return "feature_view";
    case ObjectKind::kEndpoint: return "endpoint";
  }
  return "global";
}

std::optional<ObjectKind> ParseObjectKind(std::string_view name) {
  const std::string n = Lower(name);
  for (ObjectKind k : {ObjectKind::kGlobal, ObjectKind::kExperiment, ObjectKind::kRegisteredModel,
                       ObjectKind::kFeatureProject, ObjectKind::kFeatureView, ObjectKind::kEndpoint}) {
    if (n == ObjectKindName(k)) return k;
  }
  return std::nullopt;
}

std::string ObjectRef::ToString() const {
  if (kind == ObjectKind::kGlobal) return "global";
  return std::string(ObjectKindName(kind)) + ":" + id;
}

}  // namespace kiln
