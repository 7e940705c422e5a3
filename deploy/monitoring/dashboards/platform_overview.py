"""kiln platform overview: is it up, how busy, how many errors, how slow,
per service (the kiln_service label the recording rules derive from routes)."""

from kiln_panels import JOB, graph, kiln_dashboard, single
from grafana_foundation_sdk.builders import dashboard


def build():
    return (
        kiln_dashboard("kiln-overview", "kiln / Platform overview",
                       "Replicas, traffic, errors and latency of every kiln service.", ["overview"])
        .with_row(dashboard.Row("Health"))
        .with_panel(single("Replicas up", f"sum(up{{{JOB}}})", description="Targets answering /metrics"))
        .with_panel(single("Requests/s", f"sum(kiln_service:http_requests:rate5m{{{JOB}}})", unit="reqps"))
        .with_panel(single(
            "5xx ratio",
            f'(sum(kiln_service:http_requests:rate5m{{{JOB},status=~"5.."}}) or vector(0))'
            f" / sum(kiln_service:http_requests:rate5m{{{JOB}}})",
            unit="percentunit", red_above=0.05))
        .with_panel(single("Models served", f"sum(kiln_models_loaded{{{JOB}}})"))
        .with_panel(single("Deployment endpoints",
                           f"count(count by (endpoint) (kiln_endpoint_traffic_percent{{{JOB}}})) or vector(0)"))
        .with_panel(single("Kiln alerts firing",
                           'count(ALERTS{alertname=~"Kiln.+",alertstate="firing"}) or vector(0)', red_above=1))
        .with_panel(single("TLS certificate expires in",
                           f"min(kiln_instance:tls_certificate_expiry:seconds_left{{{JOB}}})", unit="s",
                           description="The soonest expiry among replicas serving TLS (none without TLS); "
                                       "KilnTlsCertificateExpiresSoon warns under 14 days"))
        .with_row(dashboard.Row("Services"))
        .with_panel(graph("Requests/s by service",
                          [(f"sum by (kiln_service) (kiln_service:http_requests:rate5m{{{JOB}}})",
                            "{{kiln_service}}")], unit="reqps", stacked=True))
        .with_panel(graph("Responses/s by status class",
                          [(f'sum by (class) (label_replace(kiln_service:http_requests:rate5m{{{JOB}}}, '
                            f'"class", "${{1}}xx", "status", "([0-9]).."))', "{{class}}")], unit="reqps"))
        .with_panel(graph("5xx ratio by service",
                          [(f"kiln_service:http_error_ratio:rate5m{{{JOB}}}", "{{kiln_service}}")],
                          unit="percentunit", threshold=0.05,
                          description="KilnHighErrorRate fires above 5% for 5 minutes"))
        .with_panel(graph("p99 latency by service",
                          [(f"kiln_service:http_request_duration_seconds:p99_5m{{{JOB}}}", "{{kiln_service}} p99"),
                           (f"kiln_service:http_request_duration_seconds:p50_5m{{{JOB}}}", "{{kiln_service}} p50")],
                          unit="s", threshold=2.5))
        .with_row(dashboard.Row("Saturation"))
        .with_panel(graph("Worker pool busy",
                          [(f"kiln_instance:worker_pool_busy:ratio{{{JOB}}}", "{{instance}}")],
                          unit="percentunit", threshold=0.9, width=8))
        .with_panel(graph("Worker queue fill",
                          [(f"kiln_instance:worker_pool_queue:ratio{{{JOB}}}", "{{instance}}")],
                          unit="percentunit", threshold=0.5, width=8,
                          description="At 100% kiln answers 503 TEMPORARILY_UNAVAILABLE"))
        .with_panel(graph("In-flight requests and open connections",
                          [(f"sum by (instance) (kiln_http_requests_in_flight{{{JOB}}})", "{{instance}} in flight"),
                           (f"sum by (instance) (kiln_http_connections_open{{{JOB}}})", "{{instance}} connections")],
                          width=8))
    )
