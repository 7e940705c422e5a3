"""MlflowClient (and a few raw REST calls) against the target tracking server."""

from __future__ import annotations

import time
from pathlib import Path

import mlflow
import pytest
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException


def _now_ms() -> int:
    return int(time.time() * 1000)


# --------------------------------------------------------------------------
# experiments
# --------------------------------------------------------------------------

def test_experiment_lifecycle(client, unique):
    name = unique("cli-exp")
    eid = client.create_experiment(name, tags={"team": "vision", "owner": "ana"})
    exp = client.get_experiment(eid)
    assert exp.experiment_id == eid
    assert exp.name == name
    assert exp.lifecycle_stage == "active"
    assert exp.tags["team"] == "vision" and exp.tags["owner"] == "ana"
    assert exp.artifact_location  # server-assigned
    assert exp.creation_time and exp.creation_time > 0
    assert client.get_experiment_by_name(name).experiment_id == eid

    new_name = unique("cli-exp-renamed")
    client.rename_experiment(eid, new_name)
    assert client.get_experiment(eid).name == new_name
    assert client.get_experiment_by_name(new_name).experiment_id == eid
    assert client.get_experiment_by_name(name) is None

    client.set_experiment_tag(eid, "team", "nlp")
    client.set_experiment_tag(eid, "extra", "1")
    client.delete_experiment_tag(eid, "owner")
    tags = client.get_experiment(eid).tags
    assert tags["team"] == "nlp" and tags["extra"] == "1"
    assert "owner" not in tags

    client.delete_experiment(eid)
    deleted = client.get_experiment(eid)
    assert deleted.lifecycle_stage == "deleted"
    # A deleted experiment is still reachable by name (MLflow behaviour).
    assert client.get_experiment_by_name(new_name).lifecycle_stage == "deleted"
    assert eid not in [e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY,
                                                                          max_results=50000)]
    assert eid in [e.experiment_id for e in client.search_experiments(view_type=ViewType.DELETED_ONLY,
                                                                      max_results=50000)]
    client.restore_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "active"


def test_get_unknown_experiment(client):
    assert client.get_experiment_by_name("no-such-experiment-zz9") is None
    with pytest.raises(MlflowException) as ei:
        client.get_experiment("987654321")
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_experiments_filter_order_paging(client, unique):
    prefix = unique("cli-sexp")
    ids = {}
    for i, team in enumerate(["red", "blue", "red", "green", "red"]):
        name = f"{prefix}-{i}"
        ids[name] = client.create_experiment(name, tags={"team": team, "idx": str(i)})
        time.sleep(0.002)

    by_name = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'", order_by=["name DESC"])
    assert [e.name for e in by_name] == [f"{prefix}-{i}" for i in (4, 3, 2, 1, 0)]

    reds = client.search_experiments(filter_string=f"name LIKE '{prefix}-%' AND tags.team = 'red'",
                                     order_by=["name ASC"])
    assert [e.name for e in reds] == [f"{prefix}-{i}" for i in (0, 2, 4)]

    ilike = client.search_experiments(filter_string=f"name ILIKE '{prefix.upper()}-%'")
    assert len(ilike) == 5

    exact = client.search_experiments(filter_string=f"name = '{prefix}-3'")
    assert [e.experiment_id for e in exact] == [ids[f"{prefix}-3"]]

    # creation_time ordering (ties broken by experiment id)
    by_time = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'",
                                        order_by=["creation_time ASC", "experiment_id ASC"])
    assert [e.name for e in by_time] == [f"{prefix}-{i}" for i in range(5)]

    # paging: 2 + 2 + 1, the last page has no token
    seen, token, pages = [], None, 0
    while True:
        page = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'", order_by=["name ASC"],
                                         max_results=2, page_token=token)
        pages += 1
        seen += [e.name for e in page]
        assert len(page) <= 2
        token = page.token
        if not token:
            break
    assert pages == 3
    assert seen == [f"{prefix}-{i}" for i in range(5)]

    client.delete_experiment(ids[f"{prefix}-1"])
    active = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'", view_type=ViewType.ACTIVE_ONLY)
    assert len(active) == 4
    deleted = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'", view_type=ViewType.DELETED_ONLY)
    assert [e.name for e in deleted] == [f"{prefix}-1"]
    everything = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'", view_type=ViewType.ALL)
    assert len(everything) == 5


# --------------------------------------------------------------------------
# runs
# --------------------------------------------------------------------------

def test_run_lifecycle(client, unique):
    eid = client.create_experiment(unique("cli-run"))
    start = _now_ms()
    run = client.create_run(eid, start_time=start, tags={"k": "v"}, run_name="lifecycle")
    rid = run.info.run_id
    assert len(rid) == 32 and all(c in "0123456789abcdef" for c in rid)
    assert run.info.experiment_id == eid
    assert run.info.status == "RUNNING"
    assert run.info.start_time == start
    assert run.info.lifecycle_stage == "active"
    assert run.info.run_name == "lifecycle"
    assert run.info.artifact_uri.endswith(f"{rid}/artifacts")

    got = client.get_run(rid)
    assert got.data.tags["k"] == "v"
    assert got.data.tags["mlflow.runName"] == "lifecycle"

    client.update_run(rid, status="FAILED", name="renamed")
    got = client.get_run(rid)
    assert got.info.status == "FAILED"
    assert got.info.run_name == "renamed"
    assert got.data.tags["mlflow.runName"] == "renamed"

    end = start + 12345
    client.set_terminated(rid, status="FINISHED", end_time=end)
    got = client.get_run(rid)
    assert got.info.status == "FINISHED" and got.info.end_time == end

    client.delete_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "deleted"
    active = client.search_runs([eid], run_view_type=ViewType.ACTIVE_ONLY)
    assert rid not in [r.info.run_id for r in active]
    deleted = client.search_runs([eid], run_view_type=ViewType.DELETED_ONLY)
    assert [r.info.run_id for r in deleted] == [rid]
    assert [r.info.run_id for r in client.search_runs([eid], run_view_type=ViewType.ALL)] == [rid]
    client.restore_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "active"
    assert [r.info.run_id for r in client.search_runs([eid])] == [rid]


def test_get_unknown_run(client):
    with pytest.raises(MlflowException) as ei:
        client.get_run("f" * 32)
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_log_batch_and_delete_tag(client, unique):
    eid = client.create_experiment(unique("cli-batch"))
    rid = client.create_run(eid).info.run_id
    ts = _now_ms()
    client.log_batch(
        rid,
        metrics=[Metric("loss", 1.0, ts, 0), Metric("loss", 0.5, ts + 1, 1), Metric("acc", 0.7, ts, 3)],
        params=[Param("p1", "a"), Param("p2", "b" * 6000)],
        tags=[RunTag("t1", "x"), RunTag("t2", "y"), RunTag("long", "z" * 8000)],
    )
    run = client.get_run(rid)
    assert run.data.metrics == {"loss": 0.5, "acc": 0.7}
    assert run.data.params == {"p1": "a", "p2": "b" * 6000}
    assert run.data.tags["t1"] == "x" and run.data.tags["long"] == "z" * 8000
    hist = sorted(client.get_metric_history(rid, "loss"), key=lambda m: m.step)
    assert [(m.step, m.value, m.timestamp) for m in hist] == [(0, 1.0, ts), (1, 0.5, ts + 1)]

    # Re-logging an identical param value is allowed.
    client.log_param(rid, "p1", "a")
    client.delete_tag(rid, "t1")
    tags = client.get_run(rid).data.tags
    assert "t1" not in tags and tags["t2"] == "y"
    with pytest.raises(MlflowException) as ei:
        client.delete_tag(rid, "t1")
    assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_latest_metric_value_uses_max_step_then_timestamp(client, unique):
    eid = client.create_experiment(unique("cli-latest"))
    rid = client.create_run(eid).info.run_id
    client.log_metric(rid, "m", 10.0, timestamp=1000, step=5)
    client.log_metric(rid, "m", 20.0, timestamp=2000, step=3)  # later time, lower step
    client.log_metric(rid, "m", 30.0, timestamp=500, step=5)  # same step, earlier time
    assert client.get_run(rid).data.metrics["m"] == 10.0
    client.log_metric(rid, "m", 40.0, timestamp=3000, step=5)
    assert client.get_run(rid).data.metrics["m"] == 40.0
    assert len(client.get_metric_history(rid, "m")) == 4


@pytest.fixture
def search_fixture(client, unique):
    """Five runs with a mix of metrics/params/tags/status for search tests."""
    eid = client.create_experiment(unique("cli-search"))
    spec = [
        # name,   acc,  opt,    team,       status
        ("r-0", 0.10, "sgd", "vision", "FINISHED"),
        ("r-1", 0.95, "adam", "nlp", "FINISHED"),
        ("r-2", 0.55, "adam", "Vision-X", "FAILED"),
        ("r-3", None, "sgd", "audio", "RUNNING"),
        ("r-4", 0.75, "rmsprop", "visual", "FINISHED"),
    ]
    runs = {}
    base = _now_ms() - 100000
    for i, (name, acc, opt, team, status) in enumerate(spec):
        r = client.create_run(eid, run_name=name, start_time=base + i * 1000, tags={"team": team})
        rid = r.info.run_id
        if acc is not None:
            client.log_metric(rid, "acc", acc, step=0)
        client.log_metric(rid, "always", float(i), step=0)
        client.log_param(rid, "opt", opt)
        if status != "RUNNING":
            client.set_terminated(rid, status=status)
        runs[name] = rid
    return eid, runs


def _names(runs_list, runs):
    back = {v: k for k, v in runs.items()}
    return [back[r.info.run_id] for r in runs_list]


@pytest.mark.parametrize(
    "flt,expected",
    [
        ("metrics.acc > 0.5", {"r-1", "r-2", "r-4"}),
        ("metrics.acc >= 0.55 AND metrics.acc < 0.9", {"r-2", "r-4"}),
        ("metrics.always != 2", {"r-0", "r-1", "r-3", "r-4"}),
        ("params.opt = 'adam'", {"r-1", "r-2"}),
        ("params.opt != 'adam'", {"r-0", "r-3", "r-4"}),
        ("params.opt LIKE '%ms%'", {"r-4"}),
        ("tags.team LIKE 'vis%'", {"r-0", "r-4"}),  # LIKE is case-sensitive
        ("tags.team ILIKE 'vis%'", {"r-0", "r-2", "r-4"}),
        ("attributes.status = 'FINISHED'", {"r-0", "r-1", "r-4"}),
        ("attributes.status != 'FINISHED'", {"r-2", "r-3"}),
        ("attributes.run_name = 'r-2'", {"r-2"}),
        ("run_name = 'r-3'", {"r-3"}),
        ("attributes.run_name LIKE 'r-%' AND params.opt = 'sgd'", {"r-0", "r-3"}),
        ("tags.`mlflow.runName` = 'r-1'", {"r-1"}),
        ("metrics.acc > 2", set()),
    ],
)
def test_search_runs_filters(client, search_fixture, flt, expected):
    eid, runs = search_fixture
    got = client.search_runs([eid], filter_string=flt)
    assert set(_names(got, runs)) == expected


def test_search_runs_run_id_in(client, search_fixture):
    eid, runs = search_fixture
    wanted = [runs["r-1"], runs["r-3"]]
    flt = "attributes.run_id IN (" + ", ".join(f"'{r}'" for r in wanted) + ")"
    got = client.search_runs([eid], filter_string=flt)
    assert sorted(r.info.run_id for r in got) == sorted(wanted)
    flt = "attributes.run_id NOT IN (" + ", ".join(f"'{r}'" for r in wanted) + ")"
    got = client.search_runs([eid], filter_string=flt)
    assert sorted(r.info.run_id for r in got) == sorted(set(runs.values()) - set(wanted))


def test_search_runs_order_by(client, search_fixture):
    eid, runs = search_fixture
    # Default order: start_time DESC.
    assert _names(client.search_runs([eid]), runs) == ["r-4", "r-3", "r-2", "r-1", "r-0"]
    # Missing metric values sort last in both directions.
    assert _names(client.search_runs([eid], order_by=["metrics.acc DESC"]), runs) == [
        "r-1", "r-4", "r-2", "r-0", "r-3"]
    assert _names(client.search_runs([eid], order_by=["metrics.acc ASC"]), runs) == [
        "r-0", "r-2", "r-4", "r-1", "r-3"]
    assert _names(client.search_runs([eid], order_by=["metrics.acc"]), runs) == [
        "r-0", "r-2", "r-4", "r-1", "r-3"]
    assert _names(client.search_runs([eid], order_by=["params.opt ASC", "attributes.start_time DESC"]), runs) == [
        "r-2", "r-1", "r-4", "r-3", "r-0"]
    assert _names(client.search_runs([eid], order_by=["attributes.run_name DESC"]), runs) == [
        "r-4", "r-3", "r-2", "r-1", "r-0"]
    assert _names(client.search_runs([eid], order_by=["start_time ASC"]), runs) == [
        "r-0", "r-1", "r-2", "r-3", "r-4"]
    # Filter + order + limit.
    top = client.search_runs([eid], filter_string="metrics.acc > 0", order_by=["metrics.acc DESC"], max_results=2)
    assert _names(top, runs) == ["r-1", "r-4"]
    assert top.token  # more results remain


def test_search_runs_across_experiments(client, unique):
    e1 = client.create_experiment(unique("cli-multi-a"))
    e2 = client.create_experiment(unique("cli-multi-b"))
    r1 = client.create_run(e1).info.run_id
    r2 = client.create_run(e2).info.run_id
    client.log_param(r1, "tag", "x")
    client.log_param(r2, "tag", "x")
    got = client.search_runs([e1, e2], filter_string="params.tag = 'x'")
    assert sorted(r.info.run_id for r in got) == sorted([r1, r2])
    assert {r.info.experiment_id for r in got} == {e1, e2}


def test_search_runs_paging_over_1000(client, api, unique):
    """~1200 runs: pages of 500 and of the default 1000 see every run exactly once."""
    eid = api.create_experiment(unique("cli-paging"))
    n = 1203
    created = []
    base = _now_ms()
    for i in range(n):
        r = api.post("runs/create", {"experiment_id": eid, "start_time": base + (i % 7), "run_name": f"p{i}"})
        assert r.status_code == 200, r.text
        created.append(r.json()["run"]["info"]["run_id"])
    assert len(set(created)) == n

    def collect(max_results):
        seen, token, pages = [], None, 0
        while True:
            page = client.search_runs([eid], max_results=max_results, page_token=token)
            pages += 1
            assert len(page) <= max_results
            seen += [r.info.run_id for r in page]
            token = page.token
            if not token:
                return seen, pages

    seen, pages = collect(500)
    assert pages == 3
    assert len(seen) == n and set(seen) == set(created)

    first = client.search_runs([eid])  # default max_results=1000
    assert len(first) == 1000 and first.token
    rest = client.search_runs([eid], page_token=first.token)
    assert len(rest) == n - 1000 and not rest.token
    ids = [r.info.run_id for r in first] + [r.info.run_id for r in rest]
    assert len(ids) == n and set(ids) == set(created)

    # The fluent helper pages internally when max_results exceeds one page.
    df = mlflow.search_runs(experiment_ids=[eid], max_results=5000)
    assert len(df) == n and set(df["run_id"]) == set(created)


def test_metric_history_thousands_of_steps(client, unique):
    eid = client.create_experiment(unique("cli-history"))
    rid = client.create_run(eid).info.run_id
    n = 4321
    ts = _now_ms()
    for start in range(0, n, 1000):
        client.log_batch(rid, metrics=[Metric("curve", i * 0.5, ts + i, i) for i in range(start, min(n, start + 1000))])
    hist = client.get_metric_history(rid, "curve")
    assert len(hist) == n
    assert sorted((m.step, m.value, m.timestamp) for m in hist) == [(i, i * 0.5, ts + i) for i in range(n)]
    assert client.get_run(rid).data.metrics["curve"] == (n - 1) * 0.5
    assert client.get_metric_history(rid, "does-not-exist") == []


def test_metric_history_bulk_interval(api, client, unique):
    # MlflowClient 3.17 does not expose this endpoint; the UI calls it over REST.
    assert not hasattr(client, "get_metric_history_bulk_interval")
    eid = client.create_experiment(unique("cli-bulk"))
    r1 = client.create_run(eid).info.run_id
    r2 = client.create_run(eid).info.run_id
    ts = _now_ms()
    client.log_batch(r1, metrics=[Metric("loss", float(i), ts, i) for i in range(200)])
    client.log_batch(r2, metrics=[Metric("loss", float(-i), ts, i * 2) for i in range(50)])

    resp = api.get("metrics/get-history-bulk-interval",
                   params={"run_ids": [r1, r2], "metric_key": "loss", "max_results": 10})
    assert resp.status_code == 200, resp.text
    metrics = resp.json()["metrics"]
    by_run = {r1: [], r2: []}
    for m in metrics:
        assert m["key"] == "loss"
        by_run[m["run_id"]].append(m)
    for rid, expected_value, last_step in ((r1, lambda s: float(s), 199), (r2, lambda s: float(-(s // 2)), 98)):
        pts = by_run[rid]
        steps = [int(m.get("step", 0)) for m in pts]
        assert 2 <= len(pts) <= 10
        assert steps == sorted(steps)
        assert steps[0] == 0 and steps[-1] == last_step  # first and last point are kept
        for m in pts:
            assert m["value"] == expected_value(int(m.get("step", 0)))

    windowed = api.get("metrics/get-history-bulk-interval",
                       params={"run_ids": r1, "metric_key": "loss", "start_step": 50, "end_step": 59,
                               "max_results": 100})
    assert windowed.status_code == 200, windowed.text
    steps = [int(m.get("step", 0)) for m in windowed.json()["metrics"]]
    assert steps == list(range(50, 60))


def test_list_and_download_artifacts(client, unique, tmp_path):
    eid = client.create_experiment(unique("cli-art"))
    rid = client.create_run(eid).info.run_id
    src = tmp_path / "src"
    (src / "a" / "b" / "c").mkdir(parents=True)
    (src / "top.txt").write_text("top")
    (src / "a" / "one.txt").write_text("one")
    (src / "a" / "b" / "two.txt").write_text("two!")
    (src / "a" / "b" / "c" / "three.bin").write_bytes(b"\x00\xff" * 1000)
    (src / "a" / "b" / "space name.txt").write_text("spaces ok")
    client.log_artifacts(rid, str(src))
    client.log_artifact(rid, str(src / "top.txt"), artifact_path="a/b/c")

    assert [(f.path, f.is_dir) for f in client.list_artifacts(rid)] == [("a", True), ("top.txt", False)]
    listing = {f.path: f for f in client.list_artifacts(rid, "a/b")}
    assert set(listing) == {"a/b/c", "a/b/two.txt", "a/b/space name.txt"}
    assert listing["a/b/two.txt"].file_size == 4 and not listing["a/b/two.txt"].is_dir
    assert listing["a/b/c"].is_dir
    leaf = {f.path: f.file_size for f in client.list_artifacts(rid, "a/b/c")}
    assert leaf == {"a/b/c/three.bin": 2000, "a/b/c/top.txt": 3}
    assert client.list_artifacts(rid, "nope/missing") == []

    out = Path(client.download_artifacts(rid, "a", str(tmp_path / "dl")))
    assert (out / "one.txt").read_text() == "one"
    assert (out / "b" / "two.txt").read_text() == "two!"
    assert (out / "b" / "space name.txt").read_text() == "spaces ok"
    assert (out / "b" / "c" / "three.bin").read_bytes() == b"\x00\xff" * 1000
    assert (out / "b" / "c" / "top.txt").read_text() == "top"
    single = Path(client.download_artifacts(rid, "a/b/two.txt", str(tmp_path / "dl2")))
    assert single.read_text() == "two!"
    everything = Path(client.download_artifacts(rid, "", str(tmp_path / "dl3")))
    assert sorted(str(p.relative_to(everything)) for p in everything.rglob("*") if p.is_file()) == [
        "a/b/c/three.bin", "a/b/c/top.txt", "a/b/space name.txt", "a/b/two.txt", "a/one.txt", "top.txt"]
