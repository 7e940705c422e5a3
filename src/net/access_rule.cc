#include "net/access_rule.h"

namespace kiln::net {

std::string AccessRule::Describe() const {
  switch (kind) {
    case AccessKind::kUnset: return "unset";
    case AccessKind::kPublic: return "public";
    case AccessKind::kAuthenticated: return mutation ? "authenticated (mutation)" : "authenticated";
    case AccessKind::kAdmin: return mutation ? "admin (mutation)" : "admin";
    case AccessKind::kObject:
      return std::string(RoleName(role)) + " on located objects" + (mutation ? " (mutation)" : "");
  }
  return "unset";
}

AccessRule PublicAccess() {
  AccessRule r;
  r.kind = AccessKind::kPublic;
  return r;
}

AccessRule AuthenticatedAccess(bool mutation) {
  AccessRule r;
  r.kind = AccessKind::kAuthenticated;
  r.mutation = mutation;
  return r;
}

AccessRule AdminAccess(bool mutation) {
  AccessRule r;
  r.kind = AccessKind::kAdmin;
  r.mutation = mutation;
  return r;
}

AccessRule ObjectAccess(Role role, ObjectLocator locate, bool mutation) {
  AccessRule r;
  r.kind = AccessKind::kObject;
  r.role = role;
  r.locate = std::move(locate);
  r.mutation = mutation;
  return r;
}

}  // namespace kiln::net
