"""kiln's UI data endpoints (/api/2.0/kiln/ui/...), driven through the real
binary with data logged by the unmodified `mlflow` client.

A run with 1,000,000 points of one metric (spikes, a NaN and +inf among
them) is reduced to min/max buckets; every bucket's min, max, mean, first,
last and count must equal numpy's over the same x range, for the whole
history, a zoomed range and x = time. The runs table's last/min/max, the
column keys and the grouping are checked against values computed here from
what was logged; limits and bad requests answer MLflow's
INVALID_PARAMETER_VALUE; with --auth a caller without viewer on the
experiment is refused.

KILN_COMPAT_BACKEND=postgres runs the same tests on PostgreSQL. The time of
the 1M-point call is printed (for the report), never asserted.
"""

from __future__ import annotations

import math
import time
import uuid

import numpy as np
import pytest
import requests

pytestmark = [pytest.mark.kiln_only, pytest.mark.timeout_s(900)]  # seeding 1M points takes a while

N_POINTS = 1_000_000
T0 = 1_700_000_000_000
SPIKES = {123_457: 1e6, 654_321: -2e6, 999_000: 5e5}
NAN_STEP = 500_000
INF_STEP = 750_001


def _values() -> np.ndarray:
    rng = np.random.default_rng(42)
    v = rng.normal(0.0, 1.0, N_POINTS)
    for s, x in SPIKES.items():
        v[s] = x
    v[NAN_STEP] = np.nan
    v[INF_STEP] = np.inf
    return v


@pytest.fixture(scope="module")
def seeded(shared_server):
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    server = shared_server.ensure().url
    client = MlflowClient(tracking_uri=server)
    exp = client.create_experiment(f"ui-data-{uuid.uuid4().hex[:8]}")
    values = _values()
    big = client.create_run(exp, run_name="big").info.run_id
    for i in range(0, N_POINTS, 1000):
        client.log_batch(big, metrics=[Metric("loss", float(values[s]), T0 + 10 * s, s) for s in range(i, i + 1000)])
    small = {}
    for i in range(24):
        run = client.create_run(exp, run_name=f"r{i}", tags={"team": "ab"[i % 2]}).info.run_id
        acc = [float((i * 7 + s * 3) % 17) / 10.0 for s in range(40)]
        params = [Param("lr", ["0.1", "0.01", "0.001"][i % 3]), Param("depth", str(i % 4))]
        if i == 5:
            params = [Param("depth", "1")]  # no lr: the "no value" group
        client.log_batch(run, metrics=[Metric("acc", acc[s], T0 + s, s) for s in range(40)], params=params,
                         tags=[RunTag("note", f"run {i}")])
        small[run] = {"acc": acc, "lr": None if i == 5 else params[0].value, "team": "ab"[i % 2]}
    return {"exp": exp, "big": big, "values": values, "small": small}


def _buckets(server, **params):
    r = requests.get(f"{server}/api/2.0/kiln/ui/metric-buckets", params=params, timeout=300)
    assert r.status_code == 200, r.text
    return r.json()["series"]


def _num(v):
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(v, v) if isinstance(v, str) else v


def _check_against_numpy(series, values, xs):
    """Every bucket's aggregates equal numpy's over the points whose x is in it."""
    total = 0
    for b in series["buckets"]:
        lo = np.searchsorted(xs, b["x_start"], "left")
        hi = np.searchsorted(xs, b["x_end"], "right")
        chunk = values[lo:hi]
        assert b["count"] == len(chunk) > 0
        finite = chunk[~np.isnan(chunk)]
        assert b["nan_count"] == len(chunk) - len(finite)
        if len(finite):
            assert _num(b["min"]) == finite.min(), b
            assert _num(b["max"]) == finite.max(), b
            with np.errstate(invalid="ignore"):
                want = finite.mean()
            got = _num(b["mean"])
            if math.isfinite(want):
                assert got == pytest.approx(want, rel=1e-9, abs=1e-9 * max(1.0, np.abs(finite).max())), b
            else:
                assert got == want or (math.isnan(got) and math.isnan(want)), b
        else:
            assert b["min"] is None and b["max"] is None and b["mean"] is None
        first, last = _num(b["first"]["value"]), _num(b["last"]["value"])
        assert first == chunk[0] or (math.isnan(first) and math.isnan(chunk[0]))
        assert last == chunk[-1] or (math.isnan(last) and math.isnan(chunk[-1]))
        assert b["first"]["x"] == xs[lo] and b["last"]["x"] == xs[hi - 1]
        total += b["count"]
    assert total == series["range_count"]


def test_buckets_of_a_million_points_keep_every_spike(server, seeded):
    values = seeded["values"]
    t = time.perf_counter()
    [s] = _buckets(server, run_id=seeded["big"], key="loss", buckets=1000)
    elapsed = time.perf_counter() - t
    print(f"\nmetric-buckets: 1,000,000 points -> 1000 buckets in {elapsed * 1000:.0f} ms")
    assert s["total_count"] == N_POINTS and s["range_count"] == N_POINTS
    assert (s["x_min"], s["x_max"], s["start"], s["end"], s["bucket_width"]) == (0, N_POINTS - 1, 0, N_POINTS - 1, 1000)
    assert len(s["buckets"]) == 1000
    _check_against_numpy(s, values, np.arange(N_POINTS))
    maxes = [_num(b["max"]) for b in s["buckets"]]
    mins = [_num(b["min"]) for b in s["buckets"]]
    assert math.inf in maxes and 1e6 in maxes and 5e5 in maxes and -2e6 in mins
    nan_bucket = s["buckets"][NAN_STEP // 1000]
    assert nan_bucket["nan_count"] == 1 and nan_bucket["first"]["value"] == "NaN"
    assert s["buckets"][INF_STEP // 1000]["max"] == "Infinity"


def test_zoomed_range_is_requeried_exactly(server, seeded):
    values = seeded["values"]
    for start, end, n in [(123_000, 124_000, 200), (654_300, 654_340, 2000), (0, 9, 3), (999_990, 2_000_000, 7)]:
        [s] = _buckets(server, run_id=seeded["big"], key="loss", start=start, end=end, buckets=n)
        assert s["total_count"] == N_POINTS
        assert s["start"] == start and s["end"] == end
        assert len(s["buckets"]) <= n
        assert s["range_count"] == min(end, N_POINTS - 1) - start + 1
        _check_against_numpy(s, values, np.arange(N_POINTS))
    [s] = _buckets(server, run_id=seeded["big"], key="loss", start=123_450, end=123_460, buckets=11)
    assert [_num(b["max"]) for b in s["buckets"]][7] == 1e6  # one step per bucket


def test_buckets_by_time(server, seeded):
    values = seeded["values"]
    xs = T0 + 10 * np.arange(N_POINTS)
    [s] = _buckets(server, run_id=seeded["big"], key="loss", x="time", buckets=500)
    assert s["x"] == "time" and s["x_min"] == T0 and s["x_max"] == T0 + 10 * (N_POINTS - 1)
    _check_against_numpy(s, values, xs)
    start, end = T0 + 10 * 654_000, T0 + 10 * 655_000
    [s] = _buckets(server, run_id=seeded["big"], key="loss", x="time", start=start, end=end, buckets=100)
    _check_against_numpy(s, values, xs)
    assert -2e6 in [_num(b["min"]) for b in s["buckets"]]


def test_many_runs_in_one_call(server, seeded):
    runs = list(seeded["small"])
    series = _buckets(server, run_ids=",".join(runs), key="acc", buckets=8)
    assert [s["run_id"] for s in series] == runs
    for s in series:
        acc = np.array(seeded["small"][s["run_id"]]["acc"])
        assert s["total_count"] == 40 and s["bucket_width"] == 5
        _check_against_numpy(s, acc, np.arange(40))
    # Repeated run_id parameters too, and a run without the metric.
    series = _buckets(server, run_id=[runs[0], seeded["big"]], key="acc")
    assert series[1]["total_count"] == 0 and series[1]["buckets"] == [] and series[1]["x_min"] is None


def _table(server, **body):
    r = requests.post(f"{server}/api/2.0/kiln/ui/runs-table", json=body, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def test_runs_table_columns_and_aggregates(server, seeded):
    small = seeded["small"]
    body = dict(experiment_ids=[seeded["exp"]], filter="attributes.run_name != 'big'", max_results=10,
                columns={"params": ["lr"], "metrics": ["acc", "missing"], "tags": ["team"]},
                metric_aggregates=["last", "min", "max"], order_by=["attributes.run_name ASC"])
    seen = []
    while True:
        page = _table(server, **body)
        for run in page["runs"]:
            rid = run["info"]["run_id"]
            want = small[rid]
            seen.append(run["info"]["run_name"])
            assert run["params"] == ({"lr": want["lr"]} if want["lr"] else {})
            assert run["tags"] == {"team": want["team"]}  # only the asked tag
            acc = want["acc"]
            m = run["metrics"]["acc"]
            assert (m["last"], m["last_step"], m["min"], m["max"], m["count"]) == (acc[-1], 39, min(acc), max(acc), 40)
            assert "missing" not in run["metrics"]
        if "next_page_token" not in page:
            break
        body["page_token"] = page["next_page_token"]
    assert seen == sorted(f"r{i}" for i in range(24))

    page = _table(server, experiment_ids=[seeded["exp"]], filter="params.lr = '0.1'", columns={"metrics": ["acc"]},
                  order_by=["metrics.acc DESC"])
    ids = [r["info"]["run_id"] for r in page["runs"]]
    assert set(ids) == {r for r, v in small.items() if v["lr"] == "0.1"}
    lasts = [r["metrics"]["acc"]["last"] for r in page["runs"]]
    assert lasts == sorted(lasts, reverse=True)
    assert all(set(r["metrics"]["acc"]) == {"last", "last_step", "last_timestamp"} for r in page["runs"])

    # The big run's min/max over its million points, with the NaN left out.
    page = _table(server, experiment_ids=[seeded["exp"]], filter="attributes.run_name = 'big'",
                  columns={"metrics": ["loss"]}, metric_aggregates=["min", "max"])
    m = page["runs"][0]["metrics"]["loss"]
    assert (m["min"], m["max"], m["count"], m["nan_count"]) == (-2e6, "Infinity", N_POINTS, 1)


def test_run_columns(server, seeded):
    r = requests.get(f"{server}/api/2.0/kiln/ui/run-columns", params={"experiment_ids": seeded["exp"]}, timeout=60)
    assert r.status_code == 200, r.text
    cols = r.json()
    assert cols["params"] == ["depth", "lr"]
    assert cols["metrics"] == ["acc", "loss"]
    assert {"team", "note", "mlflow.runName"} <= set(cols["tags"])


def test_runs_groups(server, seeded):
    small = seeded["small"]
    r = requests.post(f"{server}/api/2.0/kiln/ui/runs-groups", timeout=60,
                      json={"experiment_ids": [seeded["exp"]], "filter": "attributes.run_name != 'big'",
                            "group_by": {"param": "lr"}, "metric": "acc"})
    assert r.status_code == 200, r.text
    groups = r.json()["groups"]
    assert [g["value"] for g in groups] == ["0.001", "0.01", "0.1", None]
    for g in groups:
        members = {rid for rid, v in small.items() if v["lr"] == g["value"]}
        assert set(g["run_ids"]) == members and g["count"] == len(members)
        lasts = [small[rid]["acc"][-1] for rid in members]
        assert g["metric_count"] == len(lasts)
        assert g["mean"] == pytest.approx(sum(lasts) / len(lasts), rel=1e-12)
        assert (g["min"], g["max"]) == (min(lasts), max(lasts))

    r = requests.post(f"{server}/api/2.0/kiln/ui/runs-groups", timeout=60,
                      json={"experiment_ids": [seeded["exp"]], "filter": "tags.team = 'a'", "group_by": {"tag": "team"}})
    assert r.status_code == 200, r.text
    [g] = r.json()["groups"]
    assert g["value"] == "a" and set(g["run_ids"]) == {rid for rid, v in small.items() if v["team"] == "a"}
    assert g["mean"] is None and g["metric_count"] == 0


@pytest.mark.parametrize("call", [
    ("GET", "metric-buckets", {"key": "loss", "buckets": "2001"}, "buckets must be between 1 and 2000"),
    ("GET", "metric-buckets", {"key": "loss", "buckets": "0"}, "buckets must be between"),
    ("GET", "metric-buckets", {"key": "loss", "buckets": "ten"}, "expected an integer"),
    ("GET", "metric-buckets", {"key": "loss", "x": "epoch"}, "expected \"step\" or \"time\""),
    ("GET", "metric-buckets", {}, "'key'"),
    ("GET", "metric-buckets", {"key": "loss", "start": "10", "end": "5"}, "before start"),
    ("GET", "metric-buckets", {"key": "loss", "run_ids": ",".join(["x"] * 101)}, "at most 100 runs"),
    ("POST", "runs-table", {"max_results": 1001}, "max_results must be between 1 and 1000"),
    ("POST", "runs-table", {"filter": "params.lr ~ 3"}, ""),
    ("POST", "runs-table", {"metric_aggregates": ["median"]}, "unknown metric aggregate"),
    ("POST", "runs-table", {"experiment_ids": []}, "experiment_ids"),
    ("POST", "runs-groups", {"group_by": {"attribute": "status"}}, "group_by"),
    ("POST", "runs-groups", {}, "group_by"),
])
def test_bad_requests_answer_invalid_parameter_value(server, seeded, call):
    method, path, params, message = call
    url = f"{server}/api/2.0/kiln/ui/{path}"
    if method == "GET":
        params = {"run_id": seeded["big"], **params}
        r = requests.get(url, params=params, timeout=60)
    else:
        r = requests.post(url, json={"experiment_ids": [seeded["exp"]], **params}, timeout=60)
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert message in r.json()["message"]


def test_unknown_run_is_not_found(server, seeded):
    r = requests.get(f"{server}/api/2.0/kiln/ui/metric-buckets", params={"run_id": "0" * 32, "key": "loss"}, timeout=60)
    assert r.status_code == 404, r.text
    assert r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_access_needs_viewer_on_the_experiment(tmp_path_factory):
    from conftest import ServerProcess
    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("ui-data-auth")
    (root / "pw").write_text("ui-data-admin-pw\n")
    srv = ServerProcess("kiln", root / "data", ["--auth", "--admin-password-file", str(root / "pw"),
                                                 "--default-role", "none"]).start()
    try:
        admin = requests.Session()
        admin.auth = ("admin", "ui-data-admin-pw")
        for user in ("vera", "nora"):
            r = admin.post(f"{srv.url}/api/2.0/mlflow/users/create", json={"username": user, "password": user + "-secret-pw"})
            assert r.status_code == 200, r.text
        import os
        os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = "admin", "ui-data-admin-pw"
        try:
            client = MlflowClient(tracking_uri=srv.url)
            exp = client.create_experiment("secret")
            run = client.create_run(exp).info.run_id
            client.log_metric(run, "m", 1.0, step=0)
        finally:
            del os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"]
        r = admin.post(f"{srv.url}/api/v1/grants", json={"subject_kind": "user", "subject": "vera",
                                                         "object_kind": "experiment", "object_id": exp, "role": "viewer"})
        assert r.status_code in (200, 201), r.text
        calls = [("get", "metric-buckets", {"params": {"run_id": run, "key": "m"}}),
                 ("get", "run-columns", {"params": {"experiment_ids": exp}}),
                 ("post", "runs-table", {"json": {"experiment_ids": [exp], "columns": {"metrics": ["m"]}}}),
                 ("post", "runs-groups", {"json": {"experiment_ids": [exp], "group_by": {"tag": "x"}}})]
        for user, status in (("vera", 200), ("nora", 403)):
            for method, path, kw in calls:
                r = getattr(requests, method)(f"{srv.url}/api/2.0/kiln/ui/{path}", auth=(user, user + "-secret-pw"),
                                              timeout=60, **kw)
                assert r.status_code == status, (user, path, r.text)
                if status == 403:
                    assert r.json()["error_code"] == "PERMISSION_DENIED"
        r = requests.get(f"{srv.url}/api/2.0/kiln/ui/metric-buckets", params={"run_id": run, "key": "m"}, timeout=60)
        assert r.status_code == 401
    finally:
        srv.stop(check=True)
