// GET /api/v1/health/components (administrators): the health of every store
// and service of this server, each checked when the request is answered,
// with the time its check took. The web UI's Health page reads it.
//
//   {"status": "ok" | "degraded" | "failing",      the worst component's
//    "checked_ms": epoch ms,
//    "components": [{"name", "kind", "status", "latency_ms", "message",
//                    "depends_on": [...], "detail": {...}}, ...]}   in registration order
//
// status per component: "ok"; "degraded" (works, with a problem: a model
// that failed to load); "failing" (its check failed); "off" (not configured
// in this server: it does not count against the verdict). A component with
// `depends_on` and no probe of its own (a mounted service) takes the worst
// status of the components it names; its latency is theirs summed.
//
// Why admins only, while /health is public: this answer names models,
// endpoints and store locations and carries the stores' error messages,
// which a viewer limited to some experiments must not learn. /health keeps
// the public, name-free verdict for probes.
//
// The probes run one after another on the worker pool (they block on I/O);
// a probe that hangs holds this request, not the server.
//
// Ownership: the probes' captures must outlive the router.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "net/router.h"

namespace kiln::api {

struct ComponentResult {
  std::string status = "ok";  // ok, degraded, failing, off
  std::string message;        // why it is not ok (or what "off" means here)
  nlohmann::json detail = nlohmann::json::object();
};

struct ComponentCheck {
  std::string name;  // "metadata_store"
  std::string kind;  // "store", "service", "log", "feed", "models"
  std::function<ComponentResult()> probe;  // empty: derived from depends_on
  std::vector<std::string> depends_on;
};

// ok for an OK status, failing with its message otherwise.
ComponentResult FromStatus(const Status& s);

// The JSON answer for `checks`, probing each now (exposed for tests).
nlohmann::json CheckComponents(const std::vector<ComponentCheck>& checks, int64_t now_ms);

void AddComponentHealthRoute(net::Router& router, std::vector<ComponentCheck> checks);

}  // namespace kiln::api
