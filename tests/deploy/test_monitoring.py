"""kiln's monitoring, tested rather than shipped (docs/monitoring.md).

- the Prometheus rules pass `promtool check rules`, and their unit tests
  (deploy/monitoring/tests) pass `promtool test rules` with a firing and a
  quiet case for every alert;
- the Alertmanager example passes `amtool check-config`, routes as
  documented, and a real Alertmanager inhibits endpoint alerts while their
  replica is down;
- the committed Grafana dashboards are exactly what the generator
  (deploy/monitoring/dashboards/generate.py) writes now;
- a real Prometheus (Debian's /usr/bin/prometheus, scrape and rule interval
  1 s) scrapes a real kiln (KILN_BINARY, default build/release/kiln) that got
  a little of every kind of load, and every panel query and every rule
  expression returns data. Alert expressions run without their threshold
  (`q > 0.05` runs as `q`; `absent(q)` as `q`): the point is that the query
  is valid against kiln's real series and finds them.

Self-contained: nothing here needs tests/deploy/conftest.py.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests
import yaml

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = REPO / "deploy/helm/kiln/files/prometheus"
RULE_FILES = sorted(RULES_DIR.glob("*.yaml"))
RULE_TESTS = sorted((REPO / "deploy/monitoring/tests").glob("*.yaml"))
DASHBOARD_DIR = REPO / "deploy/helm/kiln/files/dashboards"
DASHBOARDS = ["platform-overview", "tracking", "serving", "features", "resources"]
GENERATOR = REPO / "deploy/monitoring/dashboards/generate.py"
ALERTMANAGER_CONFIG = REPO / "deploy/monitoring/alertmanager.yml"
DOCS = REPO / "docs/monitoring.md"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager") or "/usr/bin/prometheus-alertmanager"
STARTUP_S = 60
# What Grafana's $__rate_interval becomes here: the whole run fits in it,
# as it fits in the recording rules' 5m windows.
RATE_INTERVAL = "5m"
LISTEN_RE = re.compile(r"listening on (https?)://[^:\s]+:(\d+)")
GRPC_LISTEN_RE = re.compile(r"listening on grpc://[^:\s]+:(\d+)")


def kiln_binary() -> Path:
    p = Path(os.environ.get("KILN_BINARY", "build/release/kiln"))
    return p if p.is_absolute() else REPO / p


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    # No __pycache__ left in the work tree by the dashboard generator.
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def rules() -> list[dict]:
    out = []
    for f in RULE_FILES:
        for group in load_yaml(f)["groups"]:
            for r in group["rules"]:
                out.append({**r, "file": f.name, "group": group["name"]})
    return out


def alerts() -> list[dict]:
    return [r for r in rules() if "alert" in r]


# --------------------------------------------------------------------------
# promtool: syntax and unit tests
# --------------------------------------------------------------------------

def test_rule_files_exist_and_pass_promtool_check():
    assert RULE_FILES, f"no rule files in {RULES_DIR}"
    r = run([PROMTOOL, "check", "rules", *map(str, RULE_FILES)])
    assert r.returncode == 0, r.stdout + r.stderr


def test_rule_unit_tests_pass():
    assert RULE_TESTS
    r = run([PROMTOOL, "test", "rules", *[p.name for p in RULE_TESTS]], cwd=RULE_TESTS[0].parent)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("SUCCESS") == len(RULE_TESTS), r.stdout


def test_every_alert_has_a_firing_and_a_quiet_unit_test():
    cases: dict[str, dict[str, int]] = {}
    for f in RULE_TESTS:
        doc = load_yaml(f)
        assert sorted(doc["rule_files"]) == sorted(f"../../helm/kiln/files/prometheus/{p.name}" for p in RULE_FILES), \
            f"{f.name} must load every rule file"
        for t in doc["tests"]:
            for case in t.get("alert_rule_test", []):
                c = cases.setdefault(case["alertname"], {"firing": 0, "quiet": 0})
                c["firing" if case.get("exp_alerts") else "quiet"] += 1
    missing = {a["alert"]: cases.get(a["alert"], {}) for a in alerts()
               if not cases.get(a["alert"], {}).get("firing") or not cases.get(a["alert"], {}).get("quiet")}
    assert not missing, f"alerts without both a firing and a quiet promtool case: {missing}"
    unknown = set(cases) - {a["alert"] for a in alerts()}
    assert not unknown, f"unit tests for alerts that do not exist: {unknown}"


def test_every_alert_has_severity_scope_and_a_documented_runbook():
    docs = DOCS.read_text()
    for a in alerts():
        assert a["labels"]["severity"] in ("critical", "warning"), a["alert"]
        assert a["labels"]["scope"] in ("replica", "service", "endpoint", "model", "store", "audit"), a["alert"]
        anchor = a["annotations"]["runbook"].split("#", 1)[1]
        assert anchor == a["alert"].lower(), a["alert"]
        assert re.search(rf"^### {a['alert']}\b", docs, re.M), f"docs/monitoring.md has no section for {a['alert']}"


# --------------------------------------------------------------------------
# Alertmanager
# --------------------------------------------------------------------------

def test_alertmanager_config_passes_amtool():
    r = run([AMTOOL, "check-config", str(ALERTMANAGER_CONFIG)])
    assert r.returncode == 0, r.stdout + r.stderr
    text = ALERTMANAGER_CONFIG.read_text()
    # Secrets only as files.
    for key in ("api_url:", "routing_key:", "service_key:", "credentials:", "password:"):
        assert not re.search(rf"^\s*(slack_)?{key}", text, re.M), key


@pytest.mark.parametrize("labels,receivers", [
    ({"alertname": "KilnReplicaDown", "severity": "critical", "scope": "replica"}, "kiln-pager,kiln-chat"),
    ({"alertname": "KilnHighLatency", "severity": "warning", "scope": "service"}, "kiln-chat"),
    ({"alertname": "KilnFeatureDrift", "severity": "warning", "scope": "endpoint"}, "kiln-ml-owners"),
])
def test_alertmanager_routes_by_severity(labels, receivers):
    r = run([AMTOOL, "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}",
             *[f"{k}={v}" for k, v in labels.items()]])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == receivers


def test_alertmanager_inhibits_endpoint_alerts_while_their_replica_is_down(tmp_path):
    """A real Alertmanager with the example config: an endpoint alert of the
    job whose replica is down is suppressed, one of another job is not."""
    config = ALERTMANAGER_CONFIG.read_text()
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for name in ("slack-webhook-url", "pagerduty-routing-key", "ml-owners-webhook-token"):
        (secrets / name).write_text("http://127.0.0.1:9/unused\n")
    config = config.replace("/etc/alertmanager/secrets", str(secrets))
    (tmp_path / "alertmanager.yml").write_text(config)
    port = free_port()
    proc = subprocess.Popen([ALERTMANAGER, f"--config.file={tmp_path / 'alertmanager.yml'}",
                             f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                             "--cluster.listen-address="],
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "alertmanager.log", "w"),
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}/api/v2"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            try:
                if requests.get(base + "/status", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "alertmanager.log").read_text()
            time.sleep(0.1)

        def alert(name, **labels):
            return {"labels": {"alertname": name, **labels}, "annotations": {"summary": name}}
        posted = [
            alert("KilnReplicaDown", severity="critical", scope="replica", namespace="ml", job="kiln",
                  instance="10.0.0.1:5000"),
            alert("KilnEndpointRevisionErrors", severity="critical", scope="endpoint", namespace="ml", job="kiln",
                  endpoint="fraud", revision="2"),
            alert("KilnEndpointRevisionErrors", severity="critical", scope="endpoint", namespace="ml", job="kiln-b",
                  endpoint="fraud", revision="2"),
        ]
        assert requests.post(base + "/alerts", json=posted, timeout=5).ok

        def states():
            got = requests.get(base + "/alerts", timeout=5).json()
            return {(a["labels"]["alertname"], a["labels"]["job"]): a["status"] for a in got}
        deadline = time.monotonic() + STARTUP_S
        while len(states()) < 3 or states()[("KilnEndpointRevisionErrors", "kiln")]["state"] != "suppressed":
            assert time.monotonic() < deadline, states()
            time.sleep(0.1)
        s = states()
        assert s[("KilnEndpointRevisionErrors", "kiln")]["inhibitedBy"], s
        assert s[("KilnEndpointRevisionErrors", "kiln-b")]["state"] == "active", s
        assert s[("KilnReplicaDown", "kiln")]["state"] == "active", s
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


# --------------------------------------------------------------------------
# dashboards
# --------------------------------------------------------------------------

def dashboard(name: str) -> dict:
    return json.loads((DASHBOARD_DIR / f"{name}.json").read_text())


def test_dashboards_are_what_the_generator_writes_now(tmp_path):
    r = run([sys.executable, str(GENERATOR), "--out", str(tmp_path)])
    assert r.returncode == 0, r.stdout + r.stderr
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(f"{d}.json" for d in DASHBOARDS)
    assert sorted(p.name for p in DASHBOARD_DIR.glob("*.json")) == written, "stale dashboard files in the chart"
    for name in written:
        assert (tmp_path / name).read_text() == (DASHBOARD_DIR / name).read_text(), \
            f"{name} differs from the generator's output: run {GENERATOR.relative_to(REPO)}"
    r = run([sys.executable, str(GENERATOR), "--check"])
    assert r.returncode == 0, r.stdout + r.stderr


def test_dashboards_have_unique_uids_and_use_the_datasource_variable():
    uids = [dashboard(d)["uid"] for d in DASHBOARDS]
    assert len(set(uids)) == len(uids)
    for d in DASHBOARDS:
        for panel in dashboard(d)["panels"]:
            for t in panel.get("targets", []):
                assert t["datasource"]["uid"] == "${datasource}", (d, panel["title"])


def panel_queries() -> list[tuple[str, str, str]]:
    """(dashboard, panel title/ref, expr) of every target of every panel."""
    out = []
    for d in DASHBOARDS:
        for panel in dashboard(d)["panels"]:
            for p in [panel, *(panel.get("panels") or [])]:
                for t in p.get("targets", []):
                    out.append((d, f"{p['title']}/{t['refId']}", t["expr"]))
    return out


def dashboard_variables(name: str) -> list[tuple[str, str]]:
    """(variable, label_values query) of the dashboard's query variables, in order."""
    return [(v["name"], v["query"]) for v in dashboard(name)["templating"]["list"] if v["type"] == "query"]


# --------------------------------------------------------------------------
# live: Prometheus scraping kiln under load
# --------------------------------------------------------------------------

class Process:
    """A child process in its own group whose stderr is logged to a file."""

    def __init__(self, cmd: list[str], log: Path, cwd: Path):
        self.log = log
        self.lines: list[str] = []
        self.proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self):
        with open(self.log, "w", encoding="utf-8") as f:
            for raw in iter(self.proc.stderr.readline, b""):
                line = raw.decode("utf-8", errors="replace")
                self.lines.append(line)
                f.write(line)
                f.flush()

    def text(self) -> str:
        return "".join(self.lines)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._thread.join(timeout=5)


def _train_booster(seed: int, columns: list[str]):
    import numpy as np
    import pandas as pd
    import xgboost as xgb
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(200, len(columns))), columns=columns)
    y = (X[columns[0]] + rng.normal(scale=0.3, size=len(X)) > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.5, "seed": seed},
                        xgb.DMatrix(X, label=y), num_boost_round=5)
    return booster, X


def _ok(r: requests.Response) -> requests.Response:
    assert r.status_code == 200, f"{r.request.method} {r.url}: {r.status_code} {r.text[:500]}"
    return r


class Load:
    """A little of every kind of traffic kiln's dashboards and rules watch:
    set up once (experiment, registered model, served models, a deployment
    endpoint with a drift baseline, an applied Feast repo), then repeated for a few seconds. The
    repetition matters: a counter first scraped at its final value has a
    rate of 0, and a ratio or quantile over no increase is NaN."""

    COLUMNS = ["f0", "f1", "f2", "f3"]

    def __init__(self, url: str, grpc_port: int, work: Path):
        self.url = url
        self.grpc_port = grpc_port
        self.work = work

    def setup(self) -> None:
        import mlflow
        from mlflow import MlflowClient
        from mlflow.models import infer_signature
        import xgboost as xgb

        booster, X = _train_booster(1, self.COLUMNS)
        self.rows = X.head(8).values.tolist()
        # Far from the baseline in f0: the endpoint's drift gauge moves.
        self.shifted = {c: (X[c] + (3.0 if c == "f0" else 0.0)).tolist() for c in self.COLUMNS}

        # Tracking and registry through the unmodified mlflow client.
        mlflow.set_tracking_uri(self.url)
        self.client = MlflowClient(self.url)
        self.experiment = self.client.create_experiment("monitoring")
        with mlflow.start_run(experiment_id=self.experiment) as run:
            mlflow.log_params({"max_depth": 3, "eta": 0.5})
            info = mlflow.xgboost.log_model(booster, name="model",
                                            signature=infer_signature(X, booster.predict(xgb.DMatrix(X))[:1]),
                                            pip_requirements=["xgboost"])
        self.run_id = run.info.run_id
        mv = mlflow.register_model(info.model_uri, "monitoring-model")
        self.client.set_registered_model_alias("monitoring-model", "champion", mv.version)

        # The registry's version served by URI next to the repository's model.
        _ok(requests.post(f"{self.url}/v2/repository/models/registered/load",
                          json={"parameters": {"model_uri": "models:/monitoring-model@champion"}}, timeout=60))
        _ok(requests.post(f"{self.url}/v2/repository/index", json={}, timeout=60))

        # A deployment endpoint with drift against a baseline.
        baseline = self.work / "baseline.csv"
        with open(baseline, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(self.COLUMNS)
            w.writerows(X.values.tolist())
        _ok(requests.post(f"{self.url}/api/v1/endpoints", timeout=60, json={
            "name": "monitoring-ep",
            "routes": [{"model": "monitoring-model", "version": mv.version, "percent": 100}],
            "drift": {"baseline": str(baseline), "threshold": 0.1}}))

        # A Feast repo applied by the unmodified feast CLI (remote registry on
        # kiln's gRPC port, remote online store on its HTTP port), rows
        # written through the SDK (/write-to-online-store).
        sys.path.insert(0, str(REPO / "tests" / "compat"))
        import feast_fixtures as ff
        import pandas as pd
        repo = ff.write_feast_repo(self.work / "feast", http_port=int(self.url.rsplit(":", 1)[1]),
                                   grpc_port=self.grpc_port)
        ff.write_default_data(repo)
        ff.feast_cli(repo, "apply")
        now = ff.utc_now_s()
        drivers = pd.DataFrame({"driver_id": [1001, 1002], "event_timestamp": [now, now], "created": [now, now],
                                "conv_rate": [0.5, 0.25], "acc_rate": [0.1, 0.2], "avg_daily_trips": [10, 20]})
        drivers["conv_rate"] = drivers["conv_rate"].astype("float32")
        ff.feature_store(repo).write_to_online_store("driver_hourly_stats", drivers)

    def infer(self, model: str, data):
        return requests.post(f"{self.url}/v2/models/{model}/infer", timeout=60, json={
            "inputs": [{"name": "input-0", "shape": [len(data), len(data[0])], "datatype": "FP32", "data": data}]})

    def once(self, step: int) -> None:
        url = self.url
        # tracking: writes, a search, and a 404 the panels count as a client error
        self.client.log_metric(self.run_id, "auc", 0.8 + step / 1000, step=step)
        self.client.search_runs([self.experiment], max_results=5)
        assert requests.get(f"{url}/api/2.0/mlflow/runs/get", params={"run_id": "0" * 32}, timeout=60).status_code == 404
        self.client.get_registered_model("monitoring-model")
        # artifacts: an upload and a listing
        self.client.log_text(self.run_id, f"step {step}", f"notes/{step}.txt")
        self.client.list_artifacts(self.run_id, "notes")
        # serving: V2 and V1 on both models, and a bad request
        _ok(self.infer("direct", self.rows))
        _ok(self.infer("registered", self.rows))
        assert self.infer("direct", [[1.0]]).status_code == 400
        _ok(requests.post(f"{url}/v1/models/direct:predict", json={"instances": self.rows}, timeout=60))
        # a reload of the model that cannot load: kiln_model_load_failures_total grows
        r = requests.post(f"{url}/v2/repository/models/broken/load", json={}, timeout=60)
        assert r.status_code == 400, r.text
        # platform: endpoint predictions, one refused
        _ok(requests.post(f"{url}/api/v1/endpoints/monitoring-ep/predict", json={"inputs": self.shifted}, timeout=60))
        bad = requests.post(f"{url}/api/v1/endpoints/monitoring-ep/predict", json={"inputs": {"f0": ["x"]}}, timeout=60)
        assert bad.status_code == 400, bad.text
        _ok(requests.get(f"{url}/api/v1/endpoints/monitoring-ep", timeout=60))
        # features: online reads of the applied view, a push, and a read of
        # a view that does not exist (Feast's not-found answer)
        r = requests.post(f"{url}/get-online-features", timeout=60, json={
            "features": ["driver_hourly_stats:conv_rate", "driver_hourly_stats:avg_daily_trips"],
            "entities": {"driver_id": [1001, 1002]}})
        assert r.status_code == 200 and r.json()["results"][2]["values"] == [10, 20], r.text
        _ok(requests.post(f"{url}/push", timeout=60, json={
            "push_source_name": "driver_stats_push", "to": "online",
            "df": {"driver_id": [1003], "event_timestamp": [time.strftime("%Y-%m-%dT%H:%M:%S")],
                   "created": [time.strftime("%Y-%m-%dT%H:%M:%S")], "conv_rate": [0.75], "acc_rate": [0.3],
                   "avg_daily_trips": [30]}}))
        r = requests.post(f"{url}/get-online-features", timeout=60,
                          json={"features": ["no_such_view:x"], "entities": {"driver_id": [1001]}})
        assert 400 <= r.status_code < 500, r.text
        # ops
        _ok(requests.get(f"{url}/health", timeout=60))
        _ok(requests.get(f"{url}/version", timeout=60))

    def repeat(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        step = 0
        while time.monotonic() < end:
            self.once(step)
            step += 1
            time.sleep(0.1)


def write_model_repository(root: Path) -> None:
    booster, _ = _train_booster(2, ["f0", "f1", "f2", "f3"])
    (root / "direct" / "1").mkdir(parents=True)
    booster.save_model(str(root / "direct" / "1" / "model.json"))
    # A model that cannot load: kiln keeps serving, and says so on /metrics.
    (root / "broken" / "1").mkdir(parents=True)
    (root / "broken" / "1" / "model.json").write_text("{not a model")


class Live:
    def __init__(self, work: Path):
        self.work = work
        self.kiln: Process | None = None
        # A second kiln serving HTTPS: the TLS certificate expiry series and
        # its alert need one (the main kiln stays plain HTTP for its clients).
        self.kiln_tls: Process | None = None
        self.tls_target = ""
        self.tls_cert: Path | None = None
        self.prom: Process | None = None
        self.kiln_url = ""
        self.grpc_port = 0
        self.prom_url = ""

    def start_kiln(self):
        binary = kiln_binary()
        assert binary.exists(), f"kiln binary not found at {binary} (set KILN_BINARY)"
        repo = self.work / "models"
        write_model_repository(repo)
        data = self.work / "kiln-data"
        data.mkdir()
        self.kiln = Process([str(binary), "serve", "--host", "127.0.0.1", "--port", "0", "--grpc-port", "0",
                             "--data-dir", str(data), "--model-repository", str(repo), "--audit"],
                            self.work / "kiln.log", data)
        deadline = time.monotonic() + STARTUP_S
        while not self.kiln_url:
            m = LISTEN_RE.search(self.kiln.text())
            g = GRPC_LISTEN_RE.search(self.kiln.text())
            if m and g:
                self.grpc_port = int(g.group(1))
                self.kiln_url = f"{m.group(1)}://127.0.0.1:{m.group(2)}"
                break
            assert self.kiln.proc.poll() is None, f"kiln exited:\n{self.kiln.text()}"
            assert time.monotonic() < deadline, f"kiln did not listen:\n{self.kiln.text()}"
            time.sleep(0.05)
        while True:
            try:
                if requests.get(self.kiln_url + "/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"kiln /health not ready:\n{self.kiln.text()}"
            time.sleep(0.1)

    def start_kiln_tls(self):
        self.tls_cert, key = self.work / "tls.pem", self.work / "tls.key"
        r = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-days", "30", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                 "-keyout", str(key), "-out", str(self.tls_cert)])
        assert r.returncode == 0, r.stderr
        data = self.work / "kiln-tls-data"
        data.mkdir()
        self.kiln_tls = Process([str(kiln_binary()), "serve", "--host", "127.0.0.1", "--port", "0",
                                 "--data-dir", str(data), "--tls-cert-file", str(self.tls_cert),
                                 "--tls-key-file", str(key)], self.work / "kiln-tls.log", data)
        deadline = time.monotonic() + STARTUP_S
        while True:
            m = LISTEN_RE.search(self.kiln_tls.text())
            if m:
                assert m.group(1) == "https", self.kiln_tls.text()
                self.tls_target = f"127.0.0.1:{m.group(2)}"
                try:
                    if requests.get(f"https://{self.tls_target}/health", verify=str(self.tls_cert),
                                    timeout=2).status_code == 200:
                        return
                except requests.RequestException:
                    pass
            assert self.kiln_tls.proc.poll() is None, f"kiln (TLS) exited:\n{self.kiln_tls.text()}"
            assert time.monotonic() < deadline, f"kiln (TLS) not ready:\n{self.kiln_tls.text()}"
            time.sleep(0.1)

    def start_prometheus(self):
        port = free_port()
        target = self.kiln_url.split("://", 1)[1]
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
            "rule_files": [str(p) for p in RULE_FILES],
            "scrape_configs": [
                {"job_name": "kiln", "static_configs": [{"targets": [target]}]},
                {"job_name": "kiln-tls", "scheme": "https", "tls_config": {"ca_file": str(self.tls_cert)},
                 "static_configs": [{"targets": [self.tls_target]}]},
            ],
        }
        cfg = self.work / "prometheus.yml"
        cfg.write_text(yaml.safe_dump(config))
        self.prom = Process([PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={self.work / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"], self.work / "prometheus.log", self.work)
        self.prom_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_S
        while True:
            try:
                if requests.get(self.prom_url + "/-/ready", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert self.prom.proc.poll() is None, f"prometheus exited:\n{self.prom.text()}"
            assert time.monotonic() < deadline, f"prometheus not ready:\n{self.prom.text()}"
            time.sleep(0.1)

    def api(self, path: str, **params) -> dict:
        r = requests.get(self.prom_url + "/api/v1/" + path, params=params, timeout=30)
        body = r.json()
        assert r.status_code == 200 and body.get("status") == "success", f"{path} {params}: {r.status_code} {body}"
        return body["data"]

    def wait_for_scrapes_and_rules_after(self, t0: float, scrapes: int = 5):
        """Until the target has been scraped `scrapes` times after t0 and every
        rule group has evaluated after that."""
        deadline = time.monotonic() + 120
        while True:
            targets = self.api("targets")["activeTargets"]
            ok = [t for t in targets if t["health"] == "up"]
            ok = ok if len(ok) == len(targets) else []  # both kilns
            groups = self.api("rules")["groups"]
            last_scrape = min((_ts(t["lastScrape"]) for t in ok), default=0)
            evaluated = min((_ts(g["lastEvaluation"]) for g in groups), default=0)
            if ok and last_scrape >= t0 + scrapes and evaluated > last_scrape:
                samples = self.api("query", query=f'count_over_time(up{{job="kiln"}}[{int(time.time() - t0) + 1}s])')
                if samples["result"] and float(samples["result"][0]["value"][1]) >= scrapes:
                    return
            assert time.monotonic() < deadline, f"targets {targets}\n--- prometheus ---\n{self.prom.text()[-3000:]}"
            time.sleep(0.5)

    def query(self, expr: str) -> list[dict]:
        return self.api("query", query=expr)["result"]

    def stop(self):
        for p in (self.prom, self.kiln, self.kiln_tls):
            if p:
                p.stop()


def _ts(text: str) -> float:
    # RFC 3339 with nanoseconds; Python's fromisoformat takes microseconds.
    from datetime import datetime
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", text)
    if not m or text.startswith("0001-"):
        return 0.0
    frac = (m.group(2) or ".0")[:7]
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    return datetime.fromisoformat(m.group(1) + frac + tz).timestamp()


@pytest.fixture(scope="module")
def live():
    work = Path(tempfile.mkdtemp(prefix="kiln-monitoring-"))
    env = Live(work)
    try:
        env.start_kiln()
        env.start_kiln_tls()
        env.start_prometheus()
        load = Load(env.kiln_url, env.grpc_port, work)
        load.setup()
        load.once(0)
        # Every series exists now; the next seconds of traffic give them
        # increases that several scrapes see.
        load.repeat(8)
        env.wait_for_scrapes_and_rules_after(time.time())
        yield env
    except BaseException:
        for log in ("kiln.log", "kiln-tls.log", "prometheus.log"):
            if (work / log).exists():
                print(f"--- {log} ---\n" + (work / log).read_text()[-5000:])
        raise
    finally:
        env.stop()
        shutil.rmtree(work, ignore_errors=True)


def has_data(result: list[dict]) -> bool:
    """At least one series with a number (not NaN: a quantile over no
    requests is NaN, and that is not the panel working)."""
    return any(s["value"][1] not in ("NaN", "+Inf", "-Inf") for s in result)


def without_threshold(expr: str) -> str:
    """An alert's query without its comparison: `q > 0.05` -> `q`,
    `absent(q)` -> `q`. Every alert in kiln-alerts.yaml has one of the two forms."""
    e = expr.strip()
    m = re.fullmatch(r"absent\((.*)\)", e, re.S)
    if m:
        return m.group(1)
    m = re.fullmatch(r"(.*\S)\s*(?:==|!=|>=|<=|>|<)\s*-?[0-9.]+(?:e-?[0-9]+)?", e, re.S)
    assert m, f"alert expression is neither `query <op> number` nor `absent(query)`: {expr}"
    return m.group(1)


RULES = rules()


@pytest.mark.parametrize("rule", RULES, ids=[r.get("record") or r.get("alert") for r in RULES])
def test_every_rule_expression_returns_data_from_kiln(live, rule):
    expr = rule["expr"]
    if "alert" in rule:
        live.query(expr)  # valid as written; it need not fire
        expr = without_threshold(expr)
    result = live.query(expr)
    assert has_data(result), f"{rule.get('record') or rule.get('alert')}: no data for\n{expr}\ngot {result}"


def promql_regex_alternation(values: list[str]) -> str:
    # What Grafana sends for a multi-value variable in =~: values regex-escaped, joined by |.
    escaped = [re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\\\1", v) for v in values]
    return "(" + "|".join(escaped) + ")" if len(escaped) > 1 else escaped[0]


def resolve_variables(live: Live, name: str) -> dict[str, str]:
    """Each query variable of the dashboard set to the values its own
    label_values() query finds in Prometheus now (it must find some)."""
    values: dict[str, str] = {}
    for var, q in dashboard_variables(name):
        m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q.strip(), re.S)
        assert m, f"{name}: variable {var} query is not label_values(selector, label): {q}"
        selector = substitute(m.group(1), values)
        series = live.api("series", **{"match[]": selector, "start": str(time.time() - 600), "end": str(time.time())})
        found = sorted({s[m.group(2)] for s in series if m.group(2) in s})
        assert found, f"{name}: variable {var} ({q}) has no values"
        values[var] = promql_regex_alternation(found)
    return values


def substitute(expr: str, values: dict[str, str]) -> str:
    expr = expr.replace("$__rate_interval", RATE_INTERVAL)
    for var in sorted(values, key=len, reverse=True):
        expr = expr.replace("${" + var + "}", values[var]).replace("$" + var, values[var])
    assert "$" not in expr.replace("${1}", ""), f"unresolved variable in {expr}"
    return expr


PANELS = panel_queries()


@pytest.mark.parametrize("board,panel,expr", PANELS, ids=[f"{d}:{p}" for d, p, _ in PANELS])
def test_every_panel_query_returns_data_from_kiln(live, board, panel, expr):
    q = substitute(expr, resolve_variables(live, board))
    result = live.query(q)
    assert has_data(result), f"{board} / {panel}: no data for\n{q}\ngot {result}"


def test_kiln_metrics_pass_promtool_check_metrics(live):
    text = requests.get(live.kiln_url + "/metrics", timeout=30).text
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    # promtool lints naming too; only hard format errors fail here.
    assert "error while linting" not in (r.stdout + r.stderr), r.stdout + r.stderr
