"""Shared pieces of kiln's Grafana dashboards (grafana-foundation-sdk).

Every panel query goes through `query()`, so tests/deploy/test_monitoring.py
can find them all in the generated JSON (panels[].targets[].expr) and run
them against a Prometheus scraping a live kiln. Queries read the recording
rules of deploy/helm/kiln/files/prometheus/kiln-recording.yaml where one
exists, so a dashboard and an alert never disagree about a number.
"""

from __future__ import annotations

import json

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.models.common import (
    BigValueGraphMode,
    LegendDisplayMode,
    LegendPlacement,
    StackingMode,
    TooltipDisplayMode,
)
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    Threshold,
    ThresholdsMode,
    VariableOption,
    VariableRefresh,
)

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
# Replicas of one kiln deployment share a job; the selector every query carries.
JOB = 'job=~"$job"'


def query(expr: str, legend: str = "", ref: str = "A") -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).ref_id(ref).datasource(DATASOURCE)
    return q.legend_format(legend) if legend else q


def _targets(panel, targets):
    for i, t in enumerate(targets):
        expr, legend = (t, "") if isinstance(t, str) else t
        panel = panel.with_target(query(expr, legend, ref=chr(ord("A") + i)))
    return panel


def graph(title: str, targets, unit: str = "short", description: str = "", width: int = 12,
          threshold: float | None = None, stacked: bool = False) -> timeseries.Panel:
    """A time series panel; targets are exprs or (expr, legend) pairs."""
    p = (timeseries.Panel().title(title).datasource(DATASOURCE).unit(unit).span(width).height(8)
         .fill_opacity(10).line_width(1)
         .legend(common_builders.VizLegendOptions().display_mode(LegendDisplayMode.LIST)
                 .placement(LegendPlacement.BOTTOM).show_legend(True))
         .tooltip(common_builders.VizTooltipOptions().mode(TooltipDisplayMode.MULTI)))
    if description:
        p = p.description(description)
    if threshold is not None:
        p = p.thresholds(dashboard.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps([
            Threshold(value=None, color="green"), Threshold(value=threshold, color="red")]))
    if stacked:
        p = p.stacking(common_builders.StackingConfig().mode(StackingMode.NORMAL))
    return _targets(p, targets)


def single(title: str, expr: str, unit: str = "short", description: str = "", width: int = 4,
           red_above: float | None = None) -> stat.Panel:
    p = (stat.Panel().title(title).datasource(DATASOURCE).unit(unit).span(width).height(4)
         .graph_mode(BigValueGraphMode.AREA)
         .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False)))
    if description:
        p = p.description(description)
    if red_above is not None:
        p = p.thresholds(dashboard.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps([
            Threshold(value=None, color="green"), Threshold(value=red_above, color="red")]))
    return p.with_target(query(expr))


def label_variable(name: str, label: str, selector: str, title: str) -> dashboard.QueryVariable:
    """A multi-value variable over a label's values; its query is
    label_values(selector, label), which the live test also resolves."""
    return (dashboard.QueryVariable(name).label(title).datasource(DATASOURCE)
            .query(f"label_values({selector}, {label})").refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .multi(True).include_all(True).all_value(".*")
            .current(VariableOption(selected=True, text="All", value="$__all")))


def kiln_dashboard(uid: str, title: str, description: str, tags: list[str]) -> dashboard.Dashboard:
    """A dashboard with the datasource and job variables every kiln dashboard has."""
    return (dashboard.Dashboard(title).uid(uid).description(description).tags(["kiln", *tags])
            .editable().refresh("30s").time("now-3h", "now").timezone("browser")
            .tooltip(DashboardCursorSync.CROSSHAIR)
            .with_variable(dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus"))
            .with_variable(label_variable("job", "job", 'up{job=~".*kiln.*"}', "Job")))


def to_json(builder: dashboard.Dashboard) -> str:
    """Stable text: sorted keys, panel ids in order, a final newline."""
    model = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    next_id = 1
    for panel in model.get("panels", []):
        panel["id"] = next_id
        next_id += 1
        for inner in panel.get("panels", []) or []:
            inner["id"] = next_id
            next_id += 1
    return json.dumps(model, indent=2, sort_keys=True) + "\n"
