"""MLflow's own web UI, served by kiln (`kiln serve --mlflow-ui DIR`).

The `mlflow` wheel ships its React UI (mlflow/server/js/build). kiln serves
those files and answers every call the UI makes. Debian's headless Chromium,
driven by Playwright, opens the pages a person would: the experiments list,
an experiment's runs, a run with metric charts, artifact previews (text and
image), a logged model, the registered models and a model version. Each page
must show the logged content, and the browser's network log must hold no
failed request and no response >= 400 (the one exception is listed in
EXPECTED_404 with the reason; MLflow's own server answers it the same way).

Target-agnostic like the rest of the suite: KILN_COMPAT_TARGET=mlflow runs
the same pages against `mlflow server`, which serves its UI itself.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
import zlib
from pathlib import Path

import pytest
import requests

from conftest import TARGET, ServerProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGE_TIMEOUT_MS = 30_000
SETTLE_TIMEOUT_MS = 5_000

# The UI asks whether MLflow's basic-auth plugin is on; without the plugin
# MLflow's server has no such route and answers 404, and so does kiln, which
# has no users (the UI then shows no login menu).
EXPECTED_404 = ("/ajax-api/2.0/mlflow/users/current",)

ARTIFACT_TEXT = "hello from a kiln artifact: 42 apples"


def ui_build_dir() -> Path:
    """The installed mlflow's UI, or another build (KILN_COMPAT_MLFLOW_UI=DIR) to try a newer UI."""
    if os.environ.get("KILN_COMPAT_MLFLOW_UI"):
        return Path(os.environ["KILN_COMPAT_MLFLOW_UI"])
    import mlflow.server

    return Path(mlflow.server.__file__).parent / "js" / "build"


def tiny_png(w: int = 16, h: int = 12) -> bytes:
    rows = b"".join(b"\x00" + b"".join(bytes([x * 15 % 256, y * 20 % 256, 160]) for x in range(w)) for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def ui(compat_tmp_root):
    """A server with the UI, populated through the real mlflow client."""
    extra = ["--mlflow-ui", str(ui_build_dir())] if TARGET == "kiln" else []
    srv = ServerProcess(TARGET, compat_tmp_root / "ui-data", extra).start()
    import mlflow
    import numpy as np
    from sklearn.linear_model import LinearRegression

    previous = mlflow.get_tracking_uri()
    # The registry URI follows the tracking URI while unset; setting it here
    # would pin every later test's registry calls to this fixture's server.
    mlflow.set_tracking_uri(srv.url)
    files = Path(tempfile.mkdtemp(prefix="ui-artifacts-"))
    try:
        exp_id = mlflow.create_experiment("ui-demo")
        model = LinearRegression().fit(np.array([[1.0], [2.0], [3.0]]), np.array([2.0, 4.0, 6.0]))
        with mlflow.start_run(experiment_id=exp_id, run_name="ui-run-alpha") as alpha:
            mlflow.log_params({"learning_rate": "0.1", "max_depth": "4"})
            for step in range(25):
                mlflow.log_metric("val_loss", 1.0 / (step + 1), step=step)
                mlflow.log_metric("train_accuracy", step / 25, step=step)
            (files / "notes.txt").write_text(ARTIFACT_TEXT + "\n")
            (files / "plot.png").write_bytes(tiny_png())
            mlflow.log_artifact(str(files / "notes.txt"))
            mlflow.log_artifact(str(files / "plot.png"))
            logged = mlflow.sklearn.log_model(model, name="model", registered_model_name="ui-model")
        with mlflow.start_run(experiment_id=exp_id, run_name="ui-run-beta"):
            for step in range(10):
                mlflow.log_metric("val_loss", 2.0 / (step + 1), step=step)
            mlflow.sklearn.log_model(model, name="model", registered_model_name="ui-model")
    finally:
        mlflow.set_tracking_uri(previous)
        shutil.rmtree(files, ignore_errors=True)
    yield {"url": srv.url, "exp": exp_id, "run": alpha.info.run_id, "model_id": logged.model_id, "server": srv}
    srv.stop(check=True)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="ui-chromium-")
    with sync_playwright() as p:
        # A persistent context is how Playwright takes a fresh user-data-dir.
        ctx = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                   headless=True, viewport={"width": 1400, "height": 900})
        yield ctx
        ctx.close()
    shutil.rmtree(profile, ignore_errors=True)


class NetworkLog:
    """Every request, response and failure of one page."""

    def __init__(self, page, base: str):
        self.base = base
        self.responses: list[tuple[int, str, str]] = []
        self.failed: list[tuple[str, str, str]] = []
        self.graphql: list[str] = []
        page.on("response", lambda r: self.responses.append((r.status, r.request.method, r.url)))
        page.on("requestfailed", lambda r: self.failed.append((r.method, r.url, str(r.failure))))
        page.on("request", lambda r: self.graphql.append(r.post_data or "") if r.url.endswith("/graphql") else None)

    def problems(self) -> list[str]:
        out = []
        for status, method, url in self.responses:
            path = url[len(self.base):].split("?")[0]
            if status >= 400 and not (status == 404 and path in EXPECTED_404):
                out.append(f"{status} {method} {url}")
        out += [f"FAILED {m} {u} ({why})" for m, u, why in self.failed]
        return out


@pytest.fixture
def open_page(browser, ui, request):
    """open_page('#/path') -> (page, log); asserts a clean network log at teardown."""
    opened = []

    def go(fragment: str):
        page = browser.new_page()
        log = NetworkLog(page, ui["url"])
        opened.append((page, log))
        page.goto(ui["url"] + "/" + fragment, wait_until="load", timeout=PAGE_TIMEOUT_MS)
        return page, log

    yield go
    for page, log in opened:
        # Lets the page's last requests land in the log. The UI's telemetry
        # Web Worker script is answered to the worker (kiln sends it in ~1 ms)
        # and never counts as finished for the page, so "networkidle" is not
        # reached: a longer wait only cost 30 s per page.
        try:
            page.wait_for_load_state("networkidle", timeout=SETTLE_TIMEOUT_MS)
        except Exception:
            pass
        shot = Path(tempfile.gettempdir()) / f"kiln-ui-{request.node.name}.png"
        try:
            page.screenshot(path=str(shot))
        except Exception:
            pass
        problems = log.problems()
        page.close()
        assert not problems, (f"the browser saw failed requests on {request.node.name} (screenshot {shot}):\n" +
                              "\n".join(problems))


def visible(page, text: str):
    page.get_by_text(text, exact=False).first.wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)


def test_experiments_list(open_page):
    page, _ = open_page("#/experiments")
    visible(page, "ui-demo")


def test_runs_table(open_page, ui):
    page, _ = open_page(f"#/experiments/{ui['exp']}/runs")
    visible(page, "ui-run-alpha")
    visible(page, "ui-run-beta")


def test_run_overview_via_graphql(open_page, ui):
    page, log = open_page(f"#/experiments/{ui['exp']}/runs/{ui['run']}")
    visible(page, "ui-run-alpha")
    visible(page, "learning_rate")
    visible(page, "max_depth")
    # The run page reads the run through MLflow's GraphQL endpoint.
    assert any('"operationName":"GetRun"' in body for body in log.graphql), log.graphql


def test_run_metric_charts_render(open_page, ui):
    page, _ = open_page(f"#/experiments/{ui['exp']}/runs/{ui['run']}/model-metrics")
    visible(page, "val_loss")
    visible(page, "train_accuracy")
    # Plotly draws each series as an SVG path; wait until both charts have one.
    page.wait_for_function(
        "document.querySelectorAll('.js-plotly-plot .scatterlayer .trace path.js-line').length >= 2",
        timeout=PAGE_TIMEOUT_MS)


def test_text_artifact_preview(open_page, ui):
    page, _ = open_page(f"#/experiments/{ui['exp']}/runs/{ui['run']}/artifacts/notes.txt")
    visible(page, ARTIFACT_TEXT)


def test_image_artifact_preview(open_page, ui):
    page, _ = open_page(f"#/experiments/{ui['exp']}/runs/{ui['run']}/artifacts/plot.png")
    page.wait_for_function(
        "Array.from(document.images).some(i => i.complete && i.naturalWidth === 16 && i.naturalHeight === 12)",
        timeout=PAGE_TIMEOUT_MS)


def test_logged_model_page(open_page, ui):
    page, _ = open_page(f"#/experiments/{ui['exp']}/models/{ui['model_id']}/artifacts")
    visible(page, "MLmodel")


def test_registered_models_page(open_page):
    page, _ = open_page("#/models")
    visible(page, "ui-model")


def test_model_version_page(open_page):
    page, _ = open_page("#/models/ui-model/versions/1")
    visible(page, "Version 1")
    visible(page, "ui-run-alpha")  # the source run, read for the version


# --- the UI's server routes, directly ----------------------------------------


def test_upload_then_get_artifact_roundtrip(ui):
    url = ui["url"]
    body = b"uploaded through the UI route\n"
    r = requests.post(f"{url}/ajax-api/2.0/mlflow/upload-artifact",
                      params={"run_uuid": ui["run"], "path": "uploads/table.json"}, data=body, timeout=30)
    assert r.status_code == 200, r.text
    got = requests.get(f"{url}/get-artifact", params={"run_uuid": ui["run"], "path": "uploads/table.json"},
                       timeout=30)
    assert got.status_code == 200, got.text
    assert got.content == body
    assert got.headers["Content-Disposition"].startswith("attachment")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    bad = requests.get(f"{url}/get-artifact", params={"run_uuid": ui["run"], "path": "../../../etc/passwd"},
                       timeout=30)
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_metric_history_bulk(ui):
    r = requests.get(f"{ui['url']}/ajax-api/2.0/mlflow/metrics/get-history-bulk",
                     params={"run_id": ui["run"], "metric_key": "val_loss"}, timeout=30)
    assert r.status_code == 200, r.text
    metrics = r.json()["metrics"]
    assert [m["step"] for m in metrics] == list(range(25))
    assert all(m["run_id"] == ui["run"] and m["key"] == "val_loss" for m in metrics)
    missing = requests.get(f"{ui['url']}/ajax-api/2.0/mlflow/metrics/get-history-bulk",
                           params={"metric_key": "val_loss"}, timeout=30)
    assert missing.status_code == 400


def test_graphql_answers_mlflows_shapes_and_refuses_the_rest(ui):
    url = ui["url"] + "/graphql"
    q = """query GetRun($data: MlflowGetRunInput!) {
      mlflowGetRun(input: $data) { run { info { runName status endTime } data { metrics { key step value } } } }
    }"""
    r = requests.post(url, json={"query": q, "variables": {"data": {"runId": ui["run"]}}}, timeout=30)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["errors"] is None, out
    run = out["data"]["mlflowGetRun"]["run"]
    assert run["info"]["runName"] == "ui-run-alpha" and run["info"]["status"] == "FINISHED"
    assert {m["key"] for m in run["data"]["metrics"]} == {"val_loss", "train_accuracy"}
    assert all(isinstance(m["step"], str) for m in run["data"]["metrics"])  # LongString
    unknown = requests.post(url, json={"query": "{ mlflowGetRun(input: {runId: \"x\"}) { secret } }"}, timeout=30)
    errors = unknown.json()["errors"]
    assert errors and "secret" in (errors[0]["message"] if isinstance(errors[0], dict) else errors[0])


@pytest.mark.kiln_only
def test_graphql_errors_are_graphql_objects(ui):
    url = ui["url"] + "/graphql"
    bad = requests.post(url, json={"query": "{ mlflowGetRun(input: {runId: \"x\"}) { secret } }"}, timeout=30).json()
    assert bad["data"] is None
    assert bad["errors"][0]["message"] == "Cannot query field 'secret' on type 'MlflowGetRunResponse'."
    missing = requests.post(url, json={"query": "{ mlflowGetRun(input: {runId: \"nope\"}) { run { info { runId } } } }"},
                            timeout=30).json()
    assert missing["data"] == {"mlflowGetRun": None}
    assert missing["errors"][0]["path"] == ["mlflowGetRun"]
    unsupported = requests.post(url, json={"query": "{ mlflowListArtifacts(input: {}) { files { path } } }"},
                                timeout=30).json()
    assert "not supported by kiln" in unsupported["errors"][0]["message"]


@pytest.mark.kiln_only
def test_static_files_are_safe_typed_and_cached(ui):
    url = ui["url"]
    index = requests.get(url + "/", headers={"Accept": "text/html"}, timeout=30)
    assert index.status_code == 200 and "<div id=\"root\"" in index.text
    assert index.headers["Content-Type"].startswith("text/html")
    assert index.headers["Cache-Control"] == "no-cache"
    again = requests.get(url + "/", headers={"Accept": "text/html", "If-None-Match": index.headers["ETag"]},
                         timeout=30)
    assert again.status_code == 304
    # KServe's V1 liveness probe shares GET /: a client that does not ask for HTML still gets it.
    assert requests.get(url + "/", timeout=30).json() == {"status": "alive"}
    import re
    main_js = re.search(r'src="(static-files/static/js/main\.[0-9a-f]+\.js)"', index.text).group(1)
    js = requests.get(f"{url}/{main_js}", timeout=60)
    assert js.status_code == 200 and js.headers["Content-Type"].startswith("text/javascript")
    assert "immutable" in js.headers["Cache-Control"]
    assert int(js.headers["Content-Length"]) == (ui_build_dir() / main_js.removeprefix("static-files/")).stat().st_size
    # Sent byte for byte (http.client does not normalise dot segments).
    import http.client
    host, port = url.removeprefix("http://").split(":")
    for evil in ("/static-files/../../../../etc/passwd", "/static-files/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                 "/static-files/static/%252e%252e/index.html", "/static-files/..%2f..%2f..%2fetc%2fpasswd",
                 "/static-files/.hidden", "/static-files/static", "/static-files/static//js/",
                 "/static-files/static/js/%00main.js", "/static-files/%5c..%5cindex.html"):
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("GET", evil)
        r = conn.getresponse()
        text = r.read().decode(errors="replace")
        conn.close()
        assert r.status in (400, 404), (evil, r.status)
        assert "root:" not in text


def test_is_null_filters_the_ui_sends(ui):
    """The experiments page filters with `tags.`mlflow.experiment.isGateway` IS NULL`."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=ui["url"])
    tagged = client.create_experiment("ui-gateway-like", tags={"mlflow.experiment.isGateway": "true"})
    names = {e.name for e in client.search_experiments(filter_string="tags.`mlflow.experiment.isGateway` IS NULL")}
    assert "ui-demo" in names and "ui-gateway-like" not in names
    names = {e.name for e in client.search_experiments(
        filter_string="tags.`mlflow.experiment.isGateway` IS NOT NULL")}
    assert names == {"ui-gateway-like"}
    client.delete_experiment(tagged)
    runs = client.search_runs([ui["exp"]], filter_string="params.learning_rate IS NOT NULL")
    assert [r.info.run_name for r in runs] == ["ui-run-alpha"]
    runs = client.search_runs([ui["exp"]], filter_string="params.learning_rate IS NULL")
    assert [r.info.run_name for r in runs] == ["ui-run-beta"]


@pytest.mark.kiln_only
def test_ui_settings_are_validated_and_found_from_python(tmp_path, kiln_factory):
    import subprocess
    import sys

    from conftest import kiln_binary

    for args, env, setting in ((["--mlflow-ui", str(tmp_path)], {}, "--mlflow-ui"),
                               ([], {"KILN_MLFLOW_UI": str(tmp_path / "nope")}, "--mlflow-ui"),
                               (["--mlflow-ui-python", str(tmp_path / "bin" / "python")], {}, "--mlflow-ui-python"),
                               (["--mlflow-ui", str(ui_build_dir()), "--mlflow-ui-python", sys.executable], {},
                                "--mlflow-ui-python")):
        r = subprocess.run([str(kiln_binary()), "serve", "--port", "0", "--data-dir", str(tmp_path / "d"), *args],
                           env={**os.environ, **env}, capture_output=True, text=True, timeout=20)
        assert r.returncode == 2, (args, r.stderr)
        assert setting in r.stderr, (args, r.stderr)
    # The interpreter of this very environment (a venv's bin/python) leads to its mlflow's UI.
    srv = kiln_factory("--mlflow-ui-python", sys.executable)
    index = requests.get(srv.url + "/", headers={"Accept": "text/html"}, timeout=30)
    assert index.status_code == 200 and "static-files/static/js/main." in index.text
    # Without the flag, / keeps KServe's liveness answer for every client.
    plain = kiln_factory()
    assert requests.get(plain.url + "/", headers={"Accept": "text/html"}, timeout=30).json() == {"status": "alive"}
