"""kiln resources and cost: CPU, memory, descriptors per replica, and which
service the work goes to (request share and request-time share), to size
replicas and to split a bill between teams."""

from kiln_panels import JOB, graph, kiln_dashboard, label_variable, single
from grafana_foundation_sdk.builders import dashboard

INSTANCE = 'instance=~"$instance"'
SEL = f"{JOB},{INSTANCE}"
ROUTE_SERVICE = "* on (route) group_left (kiln_service) kiln_route:service:info"


def build():
    return (
        kiln_dashboard("kiln-resources", "kiln / Resources and cost",
                       "CPU, memory and worker capacity per replica, and each service's share of the work.",
                       ["resources", "cost"])
        .with_variable(label_variable("instance", "instance", f"process_start_time_seconds{{{JOB}}}", "Replica"))
        .with_row(dashboard.Row("Now"))
        .with_panel(single("CPU cores used", f"sum(rate(process_cpu_seconds_total{{{SEL}}}[$__rate_interval]))",
                           width=6))
        .with_panel(single("Resident memory", f"sum(process_resident_memory_bytes{{{SEL}}})", unit="bytes", width=6))
        .with_panel(single("Requests per CPU-second",
                           f"sum(rate(kiln_http_requests_total{{{SEL}}}[$__rate_interval])) / "
                           f"sum(rate(process_cpu_seconds_total{{{SEL}}}[$__rate_interval]))", width=6,
                           description="Efficiency: falls when a change makes requests costlier"))
        .with_panel(single("Uptime (youngest replica)", f"min(time() - process_start_time_seconds{{{SEL}}})",
                           unit="s", width=6))
        .with_row(dashboard.Row("Per replica"))
        .with_panel(graph("CPU cores", [(f"rate(process_cpu_seconds_total{{{SEL}}}[$__rate_interval])", "{{instance}}")],
                          width=8))
        .with_panel(graph("Memory", [(f"process_resident_memory_bytes{{{SEL}}}", "{{instance}} resident"),
                                     (f"process_virtual_memory_bytes{{{SEL}}}", "{{instance}} virtual")],
                          unit="bytes", width=8))
        .with_panel(graph("Open file descriptors", [(f"process_open_fds{{{SEL}}}", "{{instance}}")], width=8))
        .with_panel(graph("Worker threads: busy of total",
                          [(f"kiln_worker_pool_busy_threads{{{SEL}}}", "{{instance}} busy"),
                           (f"kiln_worker_pool_threads{{{SEL}}}", "{{instance}} threads")], width=12))
        .with_panel(graph("Memory per model version served",
                          [(f"sum by (instance) (process_resident_memory_bytes{{{SEL}}}) / "
                            f"clamp_min(sum by (instance) (kiln_models_loaded{{{SEL}}}), 1)", "{{instance}}")],
                          unit="bytes", width=12,
                          description="kiln exports no per-model memory; resident memory over loaded versions "
                                      "is the upper bound to size replicas by"))
        .with_row(dashboard.Row("Who uses it"))
        .with_panel(graph("Request share by service",
                          [(f"sum by (kiln_service) (kiln_service:http_requests:rate5m{{{JOB}}}) / "
                            f"scalar(sum(kiln_service:http_requests:rate5m{{{JOB}}}))", "{{kiln_service}}")],
                          unit="percentunit", stacked=True))
        .with_panel(graph("Request-time share by service",
                          [(f"sum by (kiln_service) (rate(kiln_http_request_duration_seconds_sum{{{SEL}}}[$__rate_interval]) "
                            f"{ROUTE_SERVICE}) / scalar(sum(rate(kiln_http_request_duration_seconds_sum{{{SEL}}}"
                            f"[$__rate_interval])))", "{{kiln_service}}")],
                          unit="percentunit", stacked=True,
                          description="Share of time spent answering requests: a proxy for CPU per service"))
    )
