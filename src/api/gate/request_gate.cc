#include "api/gate/request_gate.h"

#include <algorithm>
#include <utility>

#include "core/log.h"
#include "net/http_message.h"

namespace kiln::api::gate {
namespace {

constexpr size_t kErrorExcerptBytes = 512;

std::string ServiceOf(const std::string& action) {
  const size_t dot = action.find('.');
  return dot == std::string::npos ? std::string() : action.substr(0, dot);
}

std::string ActionOf(const net::Route& route) {
  if (!route.access.action.empty()) return route.access.action;
  return route.method + " " + route.pattern;
}

// The body as it goes into the audit record: JSON bodies as they are (the
// audit log replaces secrets and bounds the size), others by their size only.
// Bodies above this are recorded by their keyed hash and size: a metric
// batch is the bulk of all mutations and its values are in the tracking store
// already; whoever holds the server key can still check a given body against
// the record.
constexpr size_t kAuditedBodyBytes = 4096;

std::string AuditedBody(const net::HttpRequest& req, const audit::AuditLog& log) {
  if (req.body.empty()) return "";
  if (req.body.size() > kAuditedBodyBytes) {
    return "{\"bytes\": " + std::to_string(req.body.size()) + ", \"hmac\": \"" + log.HmacOf(req.body) + "\"}";
  }
  const char first = req.body.front();
  if (first == '{' || first == '[') return req.body;
  return "{\"non_json_body_bytes\": " + std::to_string(req.body.size()) + "}";
}

bool IsSuccess(int status) { return status >= 200 && status < 400; }

// With auth on, the authenticated name replaces any X-Kiln-Actor the caller
// sent, so services that record "who" (endpoint events) record the principal.
void SetActorHeader(net::HttpRequest& req, const Admission& a) {
  if (a.principal == nullptr) return;
  auto& h = req.headers;
  h.erase(std::remove_if(h.begin(), h.end(), [](const auto& kv) { return kv.first == "x-kiln-actor"; }), h.end());
  h.emplace_back("x-kiln-actor", a.principal->name);
}

std::string ErrorExcerpt(const net::HttpResponse& res) {
  if (IsSuccess(static_cast<int>(res.status)) || res.stream) return "";
  return res.body.substr(0, kErrorExcerptBytes);
}

CallInfo CallOf(const net::Route& route, const net::HttpRequest& req) {
  CallInfo call;
  call.protocol = req.protocol;
  call.action = ActionOf(route);
  call.service = ServiceOf(call.action);
  call.method = req.method;
  call.path = req.path;
  call.source = req.remote_address;
  call.authorization = std::string(req.Header("authorization"));
  call.actor_hint = std::string(req.Header("x-kiln-actor"));
  call.secret_fields = route.access.secret_fields;
  return call;
}

net::HttpResponse Refusal(const net::Route& route, const Admission& a, const std::string& realm) {
  net::HttpResponse res = route.render_error(static_cast<unsigned>(a.http_status), a.code, a.message);
  if (a.http_status == 401) {
    res.headers.emplace_back("WWW-Authenticate", "Basic realm=\"" + realm + "\", Bearer realm=\"" + realm + "\"");
  }
  if (a.http_status == 429) res.headers.emplace_back("Retry-After", "60");
  if (!a.audit_id.empty()) res.headers.emplace_back("X-Kiln-Audit-Id", a.audit_id);
  return res;
}

// A locator's error in the route's own format, as its handler would answer.
net::HttpResponse LocatorError(const net::Route& route, const Status& s) {
  unsigned status = 400;
  const char* code = "INVALID_PARAMETER_VALUE";
  switch (s.code()) {
    case StatusCode::kNotFound: status = 404; code = "RESOURCE_DOES_NOT_EXIST"; break;
    case StatusCode::kPermissionDenied: status = 403; code = "PERMISSION_DENIED"; break;
    case StatusCode::kUnavailable: status = 503; code = "TEMPORARILY_UNAVAILABLE"; break;
    case StatusCode::kInternal: status = 500; code = "INTERNAL_ERROR"; break;
    default: break;
  }
  return route.render_error(status, code, s.message());
}

// Wraps a streamed upload's sink so the mutation's outcome is audited when it
// finishes.
class AuditedSink final : public net::RequestBodySink {
 public:
  AuditedSink(std::unique_ptr<net::RequestBodySink> inner, RequestGate& gate, const net::Route& route,
              std::shared_ptr<net::HttpRequest> req, CallInfo call, Admission admission)
      : inner_(std::move(inner)), gate_(gate), route_(route), req_(std::move(req)), call_(std::move(call)),
        admission_(std::move(admission)) {}

  Status Write(std::string_view chunk) override { return inner_->Write(chunk); }

  net::HttpResponse Finish() override {
    net::HttpResponse res = inner_->Finish();
    std::vector<ObjectRef> created;
    if (route_.access.created && IsSuccess(static_cast<int>(res.status))) created = route_.access.created(*req_, res);
    gate_.Complete(call_, admission_, IsSuccess(static_cast<int>(res.status)), static_cast<int>(res.status), ErrorExcerpt(res), "", created);
    if (!admission_.audit_id.empty()) res.headers.emplace_back("X-Kiln-Audit-Id", admission_.audit_id);
    return res;
  }

 private:
  std::unique_ptr<net::RequestBodySink> inner_;
  RequestGate& gate_;
  const net::Route& route_;
  std::shared_ptr<net::HttpRequest> req_;
  CallInfo call_;
  Admission admission_;
};

}  // namespace

RequestGate::RequestGate(const GateOptions& options, auth::Authenticator* authenticator, auth::Authorizer* authorizer,
                         audit::AuditLog* audit)
    : options_(options), authenticator_(authenticator), authorizer_(authorizer), audit_(audit) {}

Admission RequestGate::Admit(const CallInfo& call, net::AccessKind kind, Role least, std::vector<ObjectRef> objects,
                             bool mutation) {
  Admission a = Authenticate(call, kind);
  if (!a.allowed) return a;
  return Authorize(call, std::move(a), kind, least, std::move(objects), mutation);
}

Admission RequestGate::Authenticate(const CallInfo& call, net::AccessKind kind) {
  Admission a;
  a.allowed = true;
  if (!options_.auth || kind == net::AccessKind::kPublic) {
    a.actor = call.actor_hint.empty() ? "anonymous" : call.actor_hint;
    return a;
  }
  if (authenticator_ == nullptr || authorizer_ == nullptr) {
    a.allowed = false;
    a.http_status = 503;
    a.code = "TEMPORARILY_UNAVAILABLE";
    a.message = "authentication is enabled but not configured";
    return a;
  }
  auto principal = authenticator_->Authenticate(call.authorization, call.source);
  if (!principal.ok() || *principal == nullptr) {
    a.allowed = false;
    const StatusCode code = principal.ok() ? StatusCode::kUnauthenticated : principal.status().code();
    if (code == StatusCode::kResourceExhausted) {
      a.http_status = 429;
      a.code = "RESOURCE_EXHAUSTED";
      a.message = principal.status().message();
    } else if (code == StatusCode::kUnavailable || code == StatusCode::kInternal) {
      // The credentials could not be checked (the OIDC issuer is unreachable,
      // the store failed): not the caller's fault, and not a 401 to retry
      // with other credentials.
      a.http_status = 503;
      a.code = "TEMPORARILY_UNAVAILABLE";
      a.message = "cannot check credentials now: " + principal.status().message();
    } else {
      a.http_status = 401;
      a.code = "UNAUTHENTICATED";
      a.message = principal.ok() ? "authentication required" : "invalid credentials";
    }
    a.actor = "anonymous";
    AuditDenial(call, a, principal.ok() ? "no credentials" : principal.status().message());
    return a;
  }
  a.principal = *principal;
  a.actor = a.principal->name;
  a.access = authorizer_->Scope(a.principal);
  return a;
}

Admission RequestGate::Authorize(const CallInfo& call, Admission a, net::AccessKind kind, Role least,
                                 std::vector<ObjectRef> objects, bool mutation) {
  a.mutation = mutation;
  a.objects = std::move(objects);
  std::string reason;
  if (options_.auth && kind != net::AccessKind::kPublic) {
    auth::Decision d;
    switch (kind) {
      case net::AccessKind::kAuthenticated:
        d.allowed = true;
        d.reason = "authenticated";
        break;
      case net::AccessKind::kAdmin:
        d.allowed = a.principal->admin;
        d.reason = d.allowed ? "admin" : "requires admin";
        break;
      case net::AccessKind::kObject:
        d = authorizer_->Decide(*a.access, a.objects, least);
        break;
      default:
        d.allowed = false;
        d.reason = "no access decision for this call";
        break;
    }
    reason = d.reason;
    if (!d.allowed) {
      a.allowed = false;
      a.http_status = 403;
      a.code = "PERMISSION_DENIED";
      a.message = "permission denied: " + d.reason;
      AuditDenial(call, a, d.reason);
      return a;
    }
  }
  if (mutation && audit_ != nullptr) {
    audit::AuditEvent e = EventOf(call, a, "request");
    e.decision = "allow";
    e.reason = reason.empty() ? (options_.auth ? "public" : "auth off") : reason;
    e.request_json = call.request_json;
    e.before_json = call.before_json;
    auto id = audit_->Record(std::move(e));
    if (!id.ok()) {
      log::Error("audit: cannot record " + call.action + ": " + id.status().message());
      if (!options_.audit_fail_open) {
        a.allowed = false;
        a.http_status = 503;
        a.code = "TEMPORARILY_UNAVAILABLE";
        a.message = "the audit log cannot be written, so this change is refused: " + id.status().message();
        return a;
      }
    } else {
      a.audit_id = *id;
    }
  }
  return a;
}

void RequestGate::Complete(const CallInfo& call, const Admission& admission, bool succeeded, int status,
                           std::string_view error, std::string after_json, const std::vector<ObjectRef>& created) {
  if (succeeded && authorizer_ != nullptr && admission.principal != nullptr) {
    for (const auto& object : created) {
      if (Status s = authorizer_->GrantCreator(*admission.principal, object); !s.ok()) {
        log::Error("cannot make " + admission.principal->name + " manager of " + object.ToString() + ": " +
                   s.message());
      }
    }
  }
  if (!admission.mutation || audit_ == nullptr) return;
  audit::AuditEvent e = EventOf(call, admission, "response");
  e.audit_id = admission.audit_id.empty() ? std::string() : admission.audit_id + ".r";
  e.decision = "allow";
  e.status = status;
  e.error = std::string(error);
  e.after_json = std::move(after_json);
  if (auto id = audit_->Record(std::move(e)); !id.ok()) {
    log::Error("audit: cannot record the outcome of " + call.action + " (" + admission.audit_id +
               "): " + id.status().message());
  }
}

void RequestGate::Forget(const std::vector<ObjectRef>& deleted) {
  if (authorizer_ == nullptr) return;
  for (const auto& object : deleted) {
    if (Status s = authorizer_->ForgetObject(object); !s.ok()) {
      log::Error("cannot remove the grants on " + object.ToString() + ": " + s.message());
    }
  }
}

audit::AuditEvent RequestGate::EventOf(const CallInfo& call, const Admission& a, const char* stage) const {
  audit::AuditEvent e;
  e.stage = stage;
  e.actor = a.actor.empty() ? "anonymous" : a.actor;
  if (a.principal != nullptr) {
    switch (a.principal->kind) {
      case Principal::Kind::kUser: e.actor_kind = "user"; break;
      case Principal::Kind::kServiceAccount: e.actor_kind = "service_account"; break;
      case Principal::Kind::kExternal: e.actor_kind = "external"; break;
    }
    e.auth_method = a.principal->method;
    e.credential_id = a.principal->credential_id;
    e.impersonated_by = a.principal->impersonated_by;
  } else {
    e.actor_kind = "anonymous";
  }
  e.source = call.source;
  e.protocol = call.protocol;
  e.service = call.service;
  e.action = call.action;
  e.method = call.method;
  e.path = call.path;
  for (const auto& o : a.objects) e.objects.push_back(o.ToString());
  if (!e.objects.empty()) e.object = e.objects.front();
  e.secret_fields = call.secret_fields;
  return e;
}

void RequestGate::AuditDenial(const CallInfo& call, Admission& a, const std::string& reason) {
  if (audit_ == nullptr) return;
  audit::AuditEvent e = EventOf(call, a, "denied");
  e.decision = "deny";
  e.reason = reason;
  e.status = a.http_status;
  // A denied request's body is not kept: it was never acted on, and it may
  // be large or hostile.
  auto id = audit_->Record(std::move(e));
  if (id.ok()) {
    a.audit_id = *id;
  } else {
    log::Error("audit: cannot record a denial of " + call.action + ": " + id.status().message());
  }
}

net::HttpResponse RequestGate::Guard(const net::Route& route, net::HttpRequest& req, const net::Handler& inner) {
  const net::AccessRule& rule = route.access;
  CallInfo call = CallOf(route, req);
  Admission a = Authenticate(call, rule.kind);
  if (!a.allowed) return Refusal(route, a, options_.realm);
  req.access = a.access;
  SetActorHeader(req, a);
  std::vector<ObjectRef> objects;
  const bool audited = rule.mutation && audit_ != nullptr;
  const bool deciding = options_.auth && rule.kind == net::AccessKind::kObject;
  if (rule.locate && (deciding || audited)) {
    auto located = rule.locate(req);
    if (!located.ok()) {
      // A locator may itself refuse (it checked a further object the request
      // reads, such as a version's source run): a denial like any other.
      if (options_.auth && located.status().code() == StatusCode::kPermissionDenied) {
        a.allowed = false;
        a.http_status = 403;
        a.code = "PERMISSION_DENIED";
        a.message = located.status().message();
        AuditDenial(call, a, located.status().message());
        return Refusal(route, a, options_.realm);
      }
      return LocatorError(route, located.status());
    }
    objects = std::move(*located);
  }
  if (audited) {
    call.request_json = AuditedBody(req, *audit_);
    if (rule.snapshot) call.before_json = rule.snapshot(req);
  }
  a = Authorize(call, std::move(a), rule.kind, rule.role, std::move(objects), rule.mutation);
  if (!a.allowed) return Refusal(route, a, options_.realm);
  req.audit_id = a.audit_id;
  net::HttpResponse res = inner(req);
  const bool ok = IsSuccess(static_cast<int>(res.status));
  std::vector<ObjectRef> created;
  if (ok && rule.created) created = rule.created(req, res);
  if (ok && rule.deleted) Forget(rule.deleted(req, res));
  std::string after = (audited && ok && rule.snapshot) ? rule.snapshot(req) : std::string();
  Complete(call, a, ok, static_cast<int>(res.status), ErrorExcerpt(res), std::move(after), created);
  if (!a.audit_id.empty()) res.headers.emplace_back("X-Kiln-Audit-Id", a.audit_id);
  return res;
}

Status RequestGate::Install(net::Router& router) {
  std::string missing;
  for (const net::Route* r : router.routes()) {
    if (r->access.kind == net::AccessKind::kUnset) missing += "\n  " + r->method + " " + r->pattern;
  }
  for (net::Route* r : router.mutable_routes()) {
    const net::Route* route = r;
    // Checking credentials may read the store (a cache miss) and a password
    // hash is deliberately slow: never on an I/O thread.
    if (options_.auth && r->access.kind != net::AccessKind::kPublic) {
      r->execution = net::Execution::kPool;
      r->inline_if = nullptr;
    }
    if (r->handler) {
      r->handler = [this, route, inner = std::move(r->handler)](net::HttpRequest& req) {
        return Guard(*route, req, inner);
      };
    } else if (r->upload) {
      r->upload = [this, route, inner = std::move(r->upload)](
                      net::HttpRequest& req) -> StatusOr<std::unique_ptr<net::RequestBodySink>> {
        return GuardUpload(*route, req, inner);
      };
    } else if (r->async) {
      r->async = [this, route, inner = std::move(r->async)](std::shared_ptr<net::HttpRequest> req,
                                                           net::Responder respond) {
        GuardAsync(*route, std::move(req), std::move(respond), inner);
      };
    }
  }
  if (!missing.empty()) return FailedPrecondition("routes without an access decision:" + missing);
  return Status::Ok();
}

StatusOr<std::unique_ptr<net::RequestBodySink>> RequestGate::GuardUpload(const net::Route& route,
                                                                        net::HttpRequest& req,
                                                                        const net::UploadHandler& inner) {
  const net::AccessRule& rule = route.access;
  CallInfo call = CallOf(route, req);
  Admission a = Authenticate(call, rule.kind);
  if (!a.allowed) return RefusalSink(route, a);
  req.access = a.access;
  SetActorHeader(req, a);
  std::vector<ObjectRef> objects;
  const bool audited = rule.mutation && audit_ != nullptr;
  if (rule.locate && ((options_.auth && rule.kind == net::AccessKind::kObject) || audited)) {
    auto located = rule.locate(req);
    if (!located.ok()) return located.status();
    objects = std::move(*located);
  }
  a = Authorize(call, std::move(a), rule.kind, rule.role, std::move(objects), rule.mutation);
  if (!a.allowed) return RefusalSink(route, a);
  req.audit_id = a.audit_id;
  auto sink = inner(req);
  if (!sink.ok()) {
    Complete(call, a, false, 400, sink.status().message(), "", {});
    return sink.status();
  }
  if (!a.mutation) return sink;
  auto shared = std::make_shared<net::HttpRequest>(req);
  shared->body.clear();
  return std::unique_ptr<net::RequestBodySink>(
      std::make_unique<AuditedSink>(std::move(*sink), *this, route, std::move(shared), std::move(call), std::move(a)));
}

// An upload refused before its body was read: the server answers the status
// in the route's format without reading the body.
StatusOr<std::unique_ptr<net::RequestBodySink>> RequestGate::RefusalSink(const net::Route&, const Admission& a) {
  if (a.http_status == 403) return PermissionDenied(a.message);
  if (a.http_status == 503) return Unavailable(a.message);
  if (a.http_status == 429) return ResourceExhausted(a.message);
  return Unauthenticated(a.message);
}

void RequestGate::GuardAsync(const net::Route& route, std::shared_ptr<net::HttpRequest> req, net::Responder respond,
                             const net::AsyncHandler& inner) {
  const net::AccessRule& rule = route.access;
  CallInfo call = CallOf(route, *req);
  Admission a = Authenticate(call, rule.kind);
  if (!a.allowed) {
    respond(Refusal(route, a, options_.realm));
    return;
  }
  req->access = a.access;
  SetActorHeader(*req, a);
  std::vector<ObjectRef> objects;
  if (rule.locate && options_.auth && rule.kind == net::AccessKind::kObject) {
    auto located = rule.locate(*req);
    if (!located.ok()) {
      respond(LocatorError(route, located.status()));
      return;
    }
    objects = std::move(*located);
  }
  // Asynchronous routes are inference calls: reads, never audited as mutations.
  a = Authorize(call, std::move(a), rule.kind, rule.role, std::move(objects), false);
  if (!a.allowed) {
    respond(Refusal(route, a, options_.realm));
    return;
  }
  inner(std::move(req), std::move(respond));
}

}  // namespace kiln::api::gate
