"""kiln serving: models served over KServe V1 / Open Inference Protocol V2,
and deployment endpoints (revisions, traffic split, rollouts, drift)."""

from kiln_panels import JOB, graph, kiln_dashboard, label_variable, single
from grafana_foundation_sdk.builders import dashboard

MODEL = 'model=~"$model"'
ENDPOINT = 'endpoint=~"$endpoint"'


def build():
    return (
        kiln_dashboard("kiln-serving", "kiln / Serving",
                       "Inference per model version, and deployment endpoints per revision.",
                       ["serving", "inference"])
        .with_variable(label_variable("model", "model", f"kiln_inference_requests_total{{{JOB}}}", "Model"))
        .with_variable(label_variable("endpoint", "endpoint", f"kiln_endpoint_requests_total{{{JOB}}}", "Endpoint"))
        .with_row(dashboard.Row("Models"))
        .with_panel(single("Model versions served", f"sum(kiln_models_loaded{{{JOB}}})", width=6))
        .with_panel(single("Models failed to load", f"sum(kiln_models_unavailable{{{JOB}}})", width=6, red_above=1,
                           description="See POST /v2/repository/index for the reason"))
        .with_panel(single("Serving p99", f'max(kiln_service:http_request_duration_seconds:p99_5m{{{JOB},'
                                          f'kiln_service="serving"}})', unit="s", width=6))
        .with_panel(single("Platform predict p99", f'max(kiln_service:http_request_duration_seconds:p99_5m{{{JOB},'
                                                   f'kiln_service="platform"}})', unit="s", width=6))
        .with_panel(graph("Inference requests/s by outcome",
                          [(f"sum by (model, version, outcome) (kiln_model:inference_requests:rate5m{{{JOB},{MODEL}}})",
                            "{{model}} v{{version}} {{outcome}}")], unit="reqps"))
        .with_panel(graph("Inference error ratio",
                          [(f"kiln_model:inference_error_ratio:rate5m{{{JOB},{MODEL}}}", "{{model}} v{{version}}")],
                          unit="percentunit", threshold=0.05))
        .with_panel(graph("Inference p99: total, batching queue, compute",
                          [(f"kiln_model:inference_request_seconds:p99_5m{{{JOB},{MODEL}}}", "{{model}} v{{version}} total"),
                           (f"kiln_model:inference_queue_seconds:p99_5m{{{JOB},{MODEL}}}", "{{model}} v{{version}} queue"),
                           (f"kiln_model:inference_compute_seconds:p99_5m{{{JOB},{MODEL}}}", "{{model}} v{{version}} compute")],
                          unit="s"))
        .with_panel(graph("Rows per execution (median, after batching)",
                          [(f"histogram_quantile(0.5, sum by (model, version, le) ("
                            f"rate(kiln_inference_batch_rows_bucket{{{JOB},{MODEL}}}[$__rate_interval])))",
                            "{{model}} v{{version}}")]))
        .with_panel(graph("Model load failures (15 min)",
                          [(f"kiln_model:load_failures:increase15m{{{JOB}}}", "{{model}}")], threshold=1,
                          description="Initial loads, reloads and loads by URI that failed; a failed reload "
                                      "that keeps the previous version serving shows here only"))
        .with_row(dashboard.Row("Deployment endpoints"))
        .with_panel(graph("Predictions/s by revision",
                          [(f"kiln_endpoint_revision:requests:rate5m{{{JOB},{ENDPOINT}}}",
                            "{{endpoint}} r{{revision}} ({{model}} v{{version}})")], unit="reqps", width=8))
        .with_panel(graph("Error ratio by revision",
                          [(f"kiln_endpoint_revision:error_ratio:rate5m{{{JOB},{ENDPOINT}}}",
                            "{{endpoint}} r{{revision}}")], unit="percentunit", threshold=0.05, width=8))
        .with_panel(graph("Traffic split",
                          [(f"max by (endpoint, revision, model, version) (kiln_endpoint_traffic_percent{{{JOB},{ENDPOINT}}})",
                            "{{endpoint}} r{{revision}}")], unit="percent", width=8, stacked=True))
        .with_panel(graph("Prediction latency by revision (p99, p50)",
                          [(f"kiln_endpoint_revision:request_duration_seconds:p99_5m{{{JOB},{ENDPOINT}}}",
                            "{{endpoint}} r{{revision}} p99"),
                           (f"kiln_endpoint_revision:request_duration_seconds:p50_5m{{{JOB},{ENDPOINT}}}",
                            "{{endpoint}} r{{revision}} p50")], unit="s", threshold=1,
                          description="Time in kiln per prediction, as the rollout guardrails measure it; "
                                      "KilnEndpointRevisionLatencyHigh fires above 1 s for 10 minutes"))
        .with_panel(graph("Rollout running",
                          [(f"max by (endpoint) (kiln_endpoint_rollout_active{{{JOB},{ENDPOINT}}})", "{{endpoint}}")]))
        .with_panel(graph("Input drift (PSI) and each endpoint's threshold",
                          [(f"kiln_endpoint:feature_psi:max{{{JOB},{ENDPOINT}}}", "{{endpoint}} {{feature}}"),
                           (f"kiln_endpoint:drift_threshold:max{{{JOB},{ENDPOINT}}}", "{{endpoint}} threshold")],
                          description="KilnFeatureDrift fires when an input's PSI reaches its endpoint's "
                                      "drift.threshold for 15 minutes"))
    )
