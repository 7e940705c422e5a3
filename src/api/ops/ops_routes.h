// Operational endpoints shared by every kiln role: /health, /version,
// /metrics. They answer from memory on the I/O thread.
#pragma once

#include "core/health_monitor.h"
#include "core/metrics.h"
#include "net/router.h"

namespace kiln::api {

// What GET /version answers: the MLflow server version whose protocol kiln
// speaks. MLflow's client gates features on it (span logging over OTLP needs
// >= 3.4), so it is not kiln's own version, which /health and `kiln version`
// report.
inline constexpr const char* kMlflowProtocolVersion = "3.18.0";

// Borrows monitor and registry; both must outlive the router.
void AddOpsRoutes(net::Router& router, const HealthMonitor& monitor, MetricsRegistry& metrics);

// Registers process gauges (RSS, CPU, fds, start time) sampled on scrape.
void AddProcessCollector(MetricsRegistry& metrics);

}  // namespace kiln::api
