#include "api/ops/ops_routes.h"

#include <nlohmann/json.hpp>

#include "core/process_stats.h"

namespace kiln::api {

void AddOpsRoutes(net::Router& router, const HealthMonitor& monitor, MetricsRegistry& metrics,
                  const net::DrainState* drain) {
  // Probes and scrapers carry no credentials, so all of these are public. The
  // metrics do carry model and endpoint names as labels: where those names
  // are secret, keep the port's /metrics off untrusted networks.
  router.Add(
      "GET", "/health",
      [&monitor, drain](net::HttpRequest&) {
        // The verdict only changes once per probe round: render it once per
        // round and I/O thread, not once per request.
        struct Rendered {
          const HealthMonitor* monitor = nullptr;
          uint64_t generation = ~0ull;
          bool draining = false;
          unsigned status = 0;
          std::string body;
        };
        thread_local Rendered cache;
        const uint64_t generation = monitor.generation();
        const bool draining = drain != nullptr && drain->draining();
        if (cache.monitor == &monitor && cache.generation == generation && cache.draining == draining) {
          return net::HttpResponse::Json(cache.status, cache.body);
        }
        nlohmann::json checks = nlohmann::json::object();
        bool healthy = true;
        std::string failing;
        for (const auto& c : monitor.Checks()) {
          nlohmann::json entry = {{"status", c.ok ? "ok" : "failing"}, {"latency_ms", c.latency_ms}};
          if (!c.ok) {
            entry["error"] = c.message;
            healthy = false;
            if (failing.empty()) failing = c.name;
          }
          checks[c.name] = std::move(entry);
        }
        // Draining wins over the checks: the replica is leaving however healthy its stores are.
        const char* verdict = draining ? "draining" : healthy ? "healthy" : "unhealthy";
        nlohmann::json body = {{"status", verdict}, {"version", KILN_VERSION}, {"checks", std::move(checks)}};
        if (!healthy) body["failing"] = failing;
        cache = Rendered{&monitor, generation, draining, healthy && !draining ? 200u : 503u, body.dump()};
        return net::HttpResponse::Json(cache.status, cache.body);
      },
      net::Execution::kInline).access = net::PublicAccess();

  // Liveness: the process answers. A draining replica is still alive (a
  // liveness failure would make Kubernetes kill it mid-drain), and failing
  // stores are a readiness matter, not a reason to restart the process.
  router.Add(
      "GET", "/health/live",
      [](net::HttpRequest&) { return net::HttpResponse::Json(200, R"({"status": "alive"})"); },
      net::Execution::kInline).access = net::PublicAccess();

  router.Add(
      "GET", "/version", [](net::HttpRequest&) { return net::HttpResponse::Text(200, kMlflowProtocolVersion); },
      net::Execution::kInline).access = net::PublicAccess();

  router.Add(
      "GET", "/metrics",
      [&metrics](net::HttpRequest&) {
        net::HttpResponse r;
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body = metrics.Render();
        return r;
      },
      net::Execution::kPool).access = net::PublicAccess();
}

void AddProcessCollector(MetricsRegistry& metrics) {
  auto& rss = metrics.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  auto& vms = metrics.Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
  auto& cpu = metrics.Counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
  auto& fds = metrics.Gauge("process_open_fds", "Number of open file descriptors.");
  auto& start = metrics.Gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.");
  metrics.AddCollector([&rss, &vms, &cpu, &fds, &start] {
    ProcessStats s = SampleProcessStats();
    rss.Set(static_cast<double>(s.resident_bytes));
    vms.Set(static_cast<double>(s.virtual_bytes));
    double delta = s.cpu_seconds - cpu.value();
    if (delta > 0) cpu.Increment(delta);
    fds.Set(static_cast<double>(s.open_fds));
    start.Set(s.start_time_seconds);
  });
}

}  // namespace kiln::api
