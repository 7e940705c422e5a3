// Operational endpoints shared by every kiln role: /health, /version,
// /metrics. They answer from memory on the I/O thread.
#pragma once

#include "core/health_monitor.h"
#include "core/metrics.h"
#include "net/router.h"

namespace kiln::api {

// Borrows monitor and registry; both must outlive the router.
void AddOpsRoutes(net::Router& router, const HealthMonitor& monitor, MetricsRegistry& metrics);

// Registers process gauges (RSS, CPU, fds, start time) sampled on scrape.
void AddProcessCollector(MetricsRegistry& metrics);

}  // namespace kiln::api
