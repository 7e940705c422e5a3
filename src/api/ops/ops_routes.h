// Operational endpoints shared by every kiln role: /health (readiness),
// /health/live (liveness), /version, /metrics. They answer from memory on
// the I/O thread.
#pragma once

#include "core/health_monitor.h"
#include "core/metrics.h"
#include "net/drain_state.h"
#include "net/router.h"

namespace kiln::api {

// What GET /version answers: the MLflow server version whose protocol kiln
// speaks. MLflow's client gates features on it (span logging over OTLP needs
// >= 3.4), so it is not kiln's own version, which /health and `kiln version`
// report.
inline constexpr const char* kMlflowProtocolVersion = "3.18.0";

// Borrows monitor, registry and drain state (optional); they must outlive the
// router. While `drain` is set, /health answers 503 {"status": "draining"}
// (a load balancer takes the replica out of rotation during the shutdown
// delay); /health/live answers 200 for as long as the process serves.
void AddOpsRoutes(net::Router& router, const HealthMonitor& monitor, MetricsRegistry& metrics,
                  const net::DrainState* drain = nullptr);

// Registers process gauges (RSS, CPU, fds, start time) sampled on scrape.
void AddProcessCollector(MetricsRegistry& metrics);

}  // namespace kiln::api
