"""kiln feature store: Feast's feature server routes (online reads, push,
writes, materialization) over HTTP."""

from kiln_panels import JOB, graph, kiln_dashboard, single
from grafana_foundation_sdk.builders import dashboard

FEATURES = 'kiln_service="features"'
ROUTE_SERVICE = "* on (route) group_left (kiln_service) kiln_route:service:info"


def build():
    return (
        kiln_dashboard("kiln-features", "kiln / Features",
                       "Feast feature server routes: online reads, push, writes, materialization.",
                       ["features", "feast"])
        .with_row(dashboard.Row("Feature server"))
        .with_panel(single("Requests/s", f"sum(kiln_service:http_requests:rate5m{{{JOB},{FEATURES}}})",
                           unit="reqps", width=8))
        .with_panel(single("5xx ratio", f"max(kiln_service:http_error_ratio:rate5m{{{JOB},{FEATURES}}})",
                           unit="percentunit", width=8, red_above=0.05))
        .with_panel(single("p99", f"max(kiln_service:http_request_duration_seconds:p99_5m{{{JOB},{FEATURES}}})",
                           unit="s", width=8))
        .with_panel(graph("Requests/s by route and status",
                          [(f"sum by (route, status) (rate(kiln_http_requests_total{{{JOB}}}[$__rate_interval]) "
                            f"{ROUTE_SERVICE}{{{FEATURES}}})", "{{status}} {{route}}")], unit="reqps"))
        .with_panel(graph("Latency by route (p50, p99)",
                          [(f"histogram_quantile(0.99, sum by (route, le) ("
                            f"rate(kiln_http_request_duration_seconds_bucket{{{JOB}}}[$__rate_interval]) "
                            f"{ROUTE_SERVICE}{{{FEATURES}}}))", "{{route}} p99"),
                           (f"histogram_quantile(0.5, sum by (route, le) ("
                            f"rate(kiln_http_request_duration_seconds_bucket{{{JOB}}}[$__rate_interval]) "
                            f"{ROUTE_SERVICE}{{{FEATURES}}}))", "{{route}} p50")], unit="s"))
    )
