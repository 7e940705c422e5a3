// The vocabulary of access control shared by every layer: who is calling
// (Principal), what they touch (ObjectRef), how much they may do (Role), and
// what they may see (AccessScope, used to filter lists inside their queries).
// Decisions themselves are made in auth/; this header holds no policy.
//
// Value types, except AccessScope (an immutable interface, safe to share
// between threads once built).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

// Ordered: a role includes every role below it. MLflow's READ = viewer,
// EDIT = editor, MANAGE = manager; admin bypasses every check.
enum class Role : uint8_t { kNone = 0, kViewer = 1, kEditor = 2, kManager = 3, kAdmin = 4 };

const char* RoleName(Role role);  // "none", "viewer", "editor", "manager", "admin"
std::optional<Role> ParseRole(std::string_view name);  // case-insensitive; MLflow's READ/EDIT/MANAGE too

// The kinds of object a grant can name. Runs and logged models are checked
// as their experiment, model versions as their registered model.
enum class ObjectKind : uint8_t {
  kGlobal,           // everything (id empty)
  kExperiment,       // id: experiment id
  kRegisteredModel,  // id: registered model name
  kFeatureProject,   // id: Feast project name
  kFeatureView,      // id: "<project>/<view>"; also allowed by a grant on its project
  kEndpoint,         // id: endpoint name
};

const char* ObjectKindName(ObjectKind kind);  // "global", "experiment", "registered_model", ...
std::optional<ObjectKind> ParseObjectKind(std::string_view name);

struct ObjectRef {
  ObjectKind kind = ObjectKind::kGlobal;
  std::string id;

  static ObjectRef Global() { return {}; }
  std::string ToString() const;  // "experiment:12", "global"
  bool operator==(const ObjectRef&) const = default;
};

struct Principal {
  enum class Kind : uint8_t { kUser, kServiceAccount, kExternal /* from an OIDC token */ };
  std::string name;                 // user or service-account name; for OIDC the configured username claim
  Kind kind = Kind::kUser;
  std::vector<std::string> groups;  // grant subjects besides the name (OIDC groups claim, or stored groups)
  bool admin = false;
  Role global_role = Role::kNone;   // a role on everything carried by the credential (OIDC roles claim)
  std::string method;               // how it authenticated: "basic", "token", "oidc"
  std::string credential_id;        // token id (never the token) for the audit log; empty for passwords
  std::string impersonated_by;      // set when an admin acts as another principal
};

// What one authenticated principal may do and see, computed once per request
// from its grants. Implemented by auth::Authorizer.
class AccessScope {
 public:
  virtual ~AccessScope() = default;
  virtual const Principal& principal() const = 0;
  // The principal's role on an object: the highest of its grants (on the
  // object, its parent project for a feature view, or global), the role
  // carried by its credential, and the server's default role.
  virtual Role RoleOn(const ObjectRef& object) const = 0;
  bool Allows(const ObjectRef& object, Role least) const { return RoleOn(object) >= least; }
  // For filtering a search or list inside its query: nullopt when every
  // object of `kind` has at least `least` (no filter needed), otherwise
  // exactly the ids that do (possibly empty). For kFeatureView the ids are
  // "<project>/<view>"; views of a project in Visible(kFeatureProject) are
  // visible too and are not repeated here.
  virtual std::optional<std::vector<std::string>> Visible(ObjectKind kind, Role least = Role::kViewer) const = 0;
};

}  // namespace kiln
