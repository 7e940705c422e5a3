#include "api/ops/component_health.h"

#include <chrono>
#include <cmath>
#include <exception>
#include <map>
#include <memory>

#include "api/kiln_errors.h"

namespace kiln::api {
namespace {

using nlohmann::json;

int Rank(const std::string& status) {
  if (status == "failing") return 3;
  if (status == "degraded") return 2;
  if (status == "ok") return 1;
  return 0;  // off
}

}  // namespace

ComponentResult FromStatus(const Status& s) {
  ComponentResult r;
  if (!s.ok()) {
    r.status = "failing";
    r.message = s.message().empty() ? s.ToString() : s.message();
  }
  return r;
}

json CheckComponents(const std::vector<ComponentCheck>& checks, int64_t now_ms) {
  struct Done {
    std::string status;
    double latency_ms = 0;
  };
  std::map<std::string, Done> done;
  json components = json::array();
  int worst = 0;
  for (const ComponentCheck& c : checks) {
    ComponentResult r;
    double latency_ms = 0;
    if (c.probe) {
      const auto start = std::chrono::steady_clock::now();
      try {
        r = c.probe();
      } catch (const std::exception& e) {
        r.status = "failing";
        r.message = std::string("the check threw: ") + e.what();
      }
      latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    } else {
      // A service is as healthy as what it depends on (named before it).
      std::string failing;
      int rank = Rank("ok");
      for (const std::string& dep : c.depends_on) {
        auto it = done.find(dep);
        if (it == done.end()) continue;
        latency_ms += it->second.latency_ms;
        if (Rank(it->second.status) > rank) {
          rank = Rank(it->second.status);
          r.status = it->second.status;
        }
        if (Rank(it->second.status) >= Rank("degraded")) failing += (failing.empty() ? "" : ", ") + dep;
      }
      if (!failing.empty()) r.message = "depends on " + failing;
    }
    if (Rank(r.status) > worst) worst = Rank(r.status);
    done[c.name] = Done{r.status, latency_ms};
    json entry = {{"name", c.name},
                  {"kind", c.kind},
                  {"status", r.status},
                  {"latency_ms", std::round(latency_ms * 1000) / 1000},
                  {"message", r.message},
                  {"detail", r.detail.is_object() ? r.detail : json::object()}};
    if (!c.depends_on.empty()) entry["depends_on"] = c.depends_on;
    components.push_back(std::move(entry));
  }
  const char* verdict = worst >= 3 ? "failing" : worst == 2 ? "degraded" : "ok";
  return {{"status", verdict}, {"checked_ms", now_ms}, {"components", std::move(components)}};
}

void AddComponentHealthRoute(net::Router& router, std::vector<ComponentCheck> checks) {
  auto shared = std::make_shared<const std::vector<ComponentCheck>>(std::move(checks));
  net::Route& route = router.Add(
      "GET", "/api/v1/health/components",
      [shared](net::HttpRequest&) {
        const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        // Always 200: the verdict is in the body (the page shows a failing
        // store); /health is the probe that answers 503.
        return KilnJsonResponse(200, CheckComponents(*shared, now));
      },
      net::Execution::kPool);
  route.render_error = KilnRenderError;
  route.access = net::AdminAccess(false);
  route.access.action = "health.components";
}

}  // namespace kiln::api
