// RequestGate: authentication, authorization and audit in front of every
// route and every gRPC method, in one place.
//
// HTTP: Install() checks that every route declares an AccessRule (refusing
// to start otherwise, so no route is fail-open) and wraps each handler:
//   1. authenticate the Authorization header (401 + WWW-Authenticate, or 429);
//   2. decide the route's rule on the objects its locator finds (403);
//   3. for a mutation, write the audit "request" record first and refuse
//      (503) when it cannot be written; after the handler, the "response"
//      record with the outcome, and grant the creator of new objects manager;
//   4. a denial is audited too.
// Errors use the route's own renderer (MLflow's error_code JSON, V2's
// {"error"}, Feast's {"detail"}), and every audited response carries
// X-Kiln-Audit-Id.
//
// gRPC: the services call Admit()/Complete() themselves (they know their
// request messages); the answer maps to UNAUTHENTICATED / PERMISSION_DENIED.
//
// With auth off, every caller is allowed (no principal; req.access stays
// null), but mutations are still audited under the X-Kiln-Actor name.
//
// Ownership: borrows the authenticator, authorizer and audit log (each may be
// null: auth off / audit off); they must outlive the router.
// Thread-safety: thread-safe after Install().
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_log.h"
#include "auth/authenticator.h"
#include "auth/authorizer.h"
#include "core/access.h"
#include "net/access_rule.h"
#include "net/router.h"

namespace kiln::api::gate {

struct GateOptions {
  bool auth = false;         // --auth
  bool audit_fail_open = false;  // --audit-fail-open: serve a mutation even when its record cannot be written
  std::string realm = "kiln";
};

// One call as the gate sees it, protocol-neutral.
struct CallInfo {
  std::string protocol;       // "http", "https", "grpc"
  std::string service;        // audit service name
  std::string method;         // HTTP method or gRPC full method name
  std::string path;
  std::string action;
  std::string source;         // peer address
  std::string authorization;  // header / metadata value
  std::string actor_hint;     // X-Kiln-Actor (used when auth is off)
  std::string request_json;   // audited body
  std::string before_json;    // the object's state before a mutation
  std::vector<std::string> secret_fields;
};

struct Admission {
  bool allowed = false;
  int http_status = 200;  // 401, 403, 429 or 503 when refused
  std::string code;       // "UNAUTHENTICATED", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "TEMPORARILY_UNAVAILABLE"
  std::string message;
  std::shared_ptr<const AccessScope> access;  // null when auth is off or refused
  std::shared_ptr<const Principal> principal;
  std::string audit_id;   // of the request record (mutations) or denial
  bool mutation = false;
  std::vector<ObjectRef> objects;
  std::string actor;
};

class RequestGate {
 public:
  RequestGate(const GateOptions& options, auth::Authenticator* authenticator, auth::Authorizer* authorizer,
              audit::AuditLog* audit);

  // Wraps every handler; then FailedPrecondition naming the routes without a
  // decision, if any (the server refuses to start then).
  Status Install(net::Router& router);

  // Authenticates and authorizes a call on `objects` (empty: global scope)
  // needing `least`; a mutation writes its audit request record.
  Admission Admit(const CallInfo& call, net::AccessKind kind, Role least, std::vector<ObjectRef> objects,
                  bool mutation);
  // Records a mutation's outcome (status: HTTP status or gRPC code) and, when
  // it succeeded, gives the creator manager on `created`.
  void Complete(const CallInfo& call, const Admission& admission, bool succeeded, int status, std::string_view error,
                std::string after_json, const std::vector<ObjectRef>& created);

  // Drops the grants on objects deleted for good.
  void Forget(const std::vector<ObjectRef>& deleted);

  bool auth_enabled() const { return options_.auth; }

 private:
  Admission Authenticate(const CallInfo& call, net::AccessKind kind);
  Admission Authorize(const CallInfo& call, Admission admitted, net::AccessKind kind, Role least,
                      std::vector<ObjectRef> objects, bool mutation);
  audit::AuditEvent EventOf(const CallInfo& call, const Admission& a, const char* stage) const;
  void AuditDenial(const CallInfo& call, Admission& a, const std::string& reason);
  net::HttpResponse Guard(const net::Route& route, net::HttpRequest& req, const net::Handler& inner);
  StatusOr<std::unique_ptr<net::RequestBodySink>> GuardUpload(const net::Route& route, net::HttpRequest& req,
                                                             const net::UploadHandler& inner);
  static StatusOr<std::unique_ptr<net::RequestBodySink>> RefusalSink(const net::Route& route, const Admission& a);
  void GuardAsync(const net::Route& route, std::shared_ptr<net::HttpRequest> req, net::Responder respond,
                  const net::AsyncHandler& inner);

  GateOptions options_;
  auth::Authenticator* authenticator_;
  auth::Authorizer* authorizer_;
  audit::AuditLog* audit_;
};

}  // namespace kiln::api::gate
