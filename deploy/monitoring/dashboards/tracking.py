"""kiln tracking and registry: the MLflow protocol routes, artifacts, and the
instrumented metadata store underneath."""

from kiln_panels import JOB, graph, kiln_dashboard, label_variable
from grafana_foundation_sdk.builders import dashboard

TRACKING = 'kiln_service=~"tracking|registry"'
ROUTE_SERVICE = "* on (route) group_left (kiln_service) kiln_route:service:info"
STORE = 'store=~"$store"'


def build():
    return (
        kiln_dashboard("kiln-tracking", "kiln / Tracking and registry",
                       "MLflow tracking, registry and artifact routes, and metadata store latency.",
                       ["tracking", "mlflow"])
        .with_variable(label_variable("store", "store", f"kiln_store_operation_duration_seconds_count{{{JOB}}}",
                                      "Metadata store"))
        .with_row(dashboard.Row("MLflow routes"))
        .with_panel(graph("Requests/s by route",
                          [(f"sum by (route) (rate(kiln_http_requests_total{{{JOB}}}[$__rate_interval]) "
                            f"{ROUTE_SERVICE}{{{TRACKING}}})", "{{route}}")], unit="reqps"))
        .with_panel(graph("p99 latency by route",
                          [(f"histogram_quantile(0.99, sum by (route, le) ("
                            f"rate(kiln_http_request_duration_seconds_bucket{{{JOB}}}[$__rate_interval]) "
                            f"{ROUTE_SERVICE}{{{TRACKING}}}))", "{{route}}")], unit="s"))
        .with_panel(graph("Client and server errors by route",
                          [(f'sum by (route, status) (rate(kiln_http_requests_total{{{JOB},status=~"[45].."}}'
                            f"[$__rate_interval]) {ROUTE_SERVICE}{{{TRACKING}}})", "{{status}} {{route}}")],
                          unit="reqps",
                          description="4xx are mostly normal (get-by-name of a new experiment answers 404)"))
        .with_panel(graph("Service latency and errors",
                          [(f"kiln_service:http_request_duration_seconds:p99_5m{{{JOB},{TRACKING}}}",
                            "{{kiln_service}} p99"),
                           (f'kiln_service:http_request_duration_seconds:p99_5m{{{JOB},kiln_service="artifacts"}}',
                            "artifacts p99")], unit="s"))
        .with_row(dashboard.Row("Metadata store"))
        .with_panel(graph("Store calls/s by operation",
                          [(f"sum by (store, operation) (rate(kiln_store_operation_duration_seconds_count"
                            f"{{{JOB},{STORE}}}[$__rate_interval]))", "{{store}} {{operation}}")],
                          unit="ops", width=8))
        .with_panel(graph("Store p99 by operation",
                          [(f"kiln_store:operation_seconds:p99_5m{{{JOB},{STORE}}}", "{{store}} {{operation}}")],
                          unit="s", threshold=1, width=8))
        .with_panel(graph("Store error ratio",
                          [(f"kiln_store:error_ratio:rate5m{{{JOB},{STORE}}}", "{{store}}")],
                          unit="percentunit", threshold=0.01, width=8,
                          description="Internal, unavailable and aborted answers; not-found is normal traffic"))
    )
