// AccessRule: the authorization decision every route declares. The api layer
// fills one in for each route (a table per protocol); the request gate
// (api/gate) enforces it before the handler runs and writes the audit
// record. A route whose rule is still kUnset makes the server refuse to
// start, so no route can be added without a decision.
//
// Value type; its functions are called from worker threads concurrently and
// must be thread-safe (they only read the request and the stores).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/access.h"
#include "core/status.h"

namespace kiln::net {

struct HttpRequest;
struct HttpResponse;

enum class AccessKind {
  kUnset,          // no decision yet: refused at startup
  kPublic,         // no credentials needed (health, metrics, the UI's static files)
  kAuthenticated,  // any authenticated principal; the handler filters what it returns by req.access
  kAdmin,          // administrators only
  kObject,         // `role` on every object `locate` returns
};

// The objects a request touches, found from its path, query or body. May read
// the stores (a run's experiment); runs on the worker pool. An error is
// answered in the route's format (a missing run is the same 404 the handler
// would give). ObjectRef::Global() for "create a new top-level object".
using ObjectLocator = std::function<StatusOr<std::vector<ObjectRef>>(const HttpRequest&)>;
// Objects a successful request created; their creator becomes their manager.
using CreatedObjects = std::function<std::vector<ObjectRef>(const HttpRequest&, const HttpResponse&)>;
// The current state of what a mutation changes, as JSON (for the audit
// record's before/after); empty when there is nothing to show.
using ObjectSnapshot = std::function<std::string(const HttpRequest&)>;

struct AccessRule {
  AccessKind kind = AccessKind::kUnset;
  Role role = Role::kViewer;  // kObject only
  ObjectLocator locate;       // kObject only
  // Mutations are audited before they run and refused when their audit
  // record cannot be written; reads are audited only when denied.
  bool mutation = false;
  std::string action;  // audit action, e.g. "mlflow.runs.log-batch"; empty: "<METHOD> <pattern>"
  CreatedObjects created;
  // Objects a successful request removed for good (not soft deletes): their
  // grants are dropped, so a new object of the same name starts with none.
  CreatedObjects deleted;
  ObjectSnapshot snapshot;
  // Request fields holding secrets (JSON keys anywhere in the body): replaced
  // by a keyed HMAC in the audit record.
  std::vector<std::string> secret_fields;

  std::string Describe() const;  // "public", "admin", "editor on experiment (located)", ...
};

// Constructors for the common cases.
AccessRule PublicAccess();
AccessRule AuthenticatedAccess(bool mutation = false);
AccessRule AdminAccess(bool mutation);
AccessRule ObjectAccess(Role role, ObjectLocator locate, bool mutation);

}  // namespace kiln::net
