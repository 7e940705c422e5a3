"""`kiln import mlflow`: stores written by the real `mlflow` client (SQLite
with MLflow 3's schema, SQLite with MLflow 2's schema from .venv-mlflow2, an
mlruns file store, MLflow's basic-auth database) are imported, a kiln is
started on the imported data directory, and the unmodified client reads every
entity back and compares it with what the same client read from the source.

MLflow's SQL stores keep +-inf as +-1.7976931348623157e308; the source side is
normalized that way before comparing (kiln returns real infinities), and the
exact logged history is checked separately."""
import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import BACKEND, REPO_ROOT, kiln_binary

pytestmark = pytest.mark.kiln_only

MLFLOW2_PYTHON = REPO_ROOT / ".venv-mlflow2" / "bin" / "python"
DBL_MAX = 1.7976931348623157e308

FILL = textwrap.dedent(r'''
    import json, math, os, sys
    import mlflow
    from mlflow.tracking import MlflowClient
    uri = sys.argv[1]
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    c = MlflowClient(uri, uri)
    v3 = int(mlflow.__version__.split(".")[0]) >= 3
    eid = c.create_experiment("imp-exp", tags={"team": "a", "nested/key": "v"})
    other = c.create_experiment("imp-other")
    mlflow.set_experiment("imp-exp")
    history = [1.0, float("nan"), float("inf"), float("-inf"), 1.7976931348623157e308, -2.5]
    out = {"experiment_id": eid}
    with mlflow.start_run(run_name="r1") as r:
        mlflow.log_param("p", "1")
        mlflow.log_param("long", "x" * 600)
        mlflow.set_tag("t", "v")
        for i, v in enumerate(history):
            mlflow.log_metric("m", v, step=i, timestamp=1000 + i)
        mlflow.log_metric("only_nan", float("nan"), step=0, timestamp=5)
        mlflow.log_metric("dup", 3.0, step=1, timestamp=7)
        mlflow.log_metric("dup", 4.0, step=1, timestamp=7)
        try:
            import pandas as pd
            ds = mlflow.data.from_pandas(pd.DataFrame({"a": [1, 2]}), source="s3://b/x.csv", name="d1")
            mlflow.log_input(ds, context="train", tags={"extra": "1"})
        except ImportError:
            pass
        out["run"] = r.info.run_id
        if v3:
            from mlflow.entities import LoggedModelInput, LoggedModelOutput
            lm = c.create_logged_model(experiment_id=eid, name="lm", source_run_id=r.info.run_id,
                                       params={"lr": "0.1"}, tags={"k": "v"}, model_type="agent")
            c.finalize_logged_model(lm.model_id, "READY")
            c.log_metric(r.info.run_id, "acc", 0.9, step=3, timestamp=2000, model_id=lm.model_id)
            c.log_metric(r.info.run_id, "acc_inf", float("inf"), step=3, timestamp=2000, model_id=lm.model_id)
            c.log_inputs(r.info.run_id, models=[LoggedModelInput(lm.model_id)])
            c.log_outputs(r.info.run_id, [LoggedModelOutput(lm.model_id, step=2)])
            out["model"] = lm.model_id
    with mlflow.start_run(run_name="gone") as g:
        mlflow.log_metric("x", 1.0)
    c.delete_run(g.info.run_id)
    for i in range(12):
        rr = c.create_run(other, run_name=f"bulk-{i}")
        c.log_batch(rr.info.run_id, metrics=[mlflow.entities.Metric("loss", 1.0 / (s + 1), 100 + s, s) for s in range(20)],
                    params=[mlflow.entities.Param("i", str(i))])
        c.set_terminated(rr.info.run_id)
    # A history long enough for kiln's chart summaries (blocks of 64 steps),
    # negative steps, NaN and infinities among them.
    lr = c.create_run(other, run_name="long")
    curve = [float("nan") if s % 37 == 0 else float("inf") if s == 101 else float("-inf") if s == 150
             else math.sin(s / 7.0) * 10 for s in range(-70, 230)]
    c.log_batch(lr.info.run_id, metrics=[mlflow.entities.Metric("curve", v, 5000 + i, i - 70)
                                         for i, v in enumerate(curve)])
    c.set_terminated(lr.info.run_id)
    out["long"] = lr.info.run_id
    c.delete_experiment(c.create_experiment("imp-deleted"))
    c.create_registered_model("imp-rm", tags={"x": "y"}, description="desc")
    mv1 = c.create_model_version("imp-rm", source=f"runs:/{r.info.run_id}/model", run_id=r.info.run_id,
                                 tags={"vt": "1"}, description="v1d")
    mv2 = c.create_model_version("imp-rm", source=f"runs:/{r.info.run_id}/model2", run_id=r.info.run_id)
    c.create_model_version("imp-rm", source=f"runs:/{r.info.run_id}/model3", run_id=r.info.run_id)
    c.delete_model_version("imp-rm", "3")
    c.set_registered_model_alias("imp-rm", "champ", mv1.version)
    c.transition_model_version_stage("imp-rm", mv2.version, "Staging")
    print(json.dumps(out))
''')

DUMP = textwrap.dedent(r'''
    import json, math, sys
    import mlflow
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient
    uri = sys.argv[1]
    c = MlflowClient(uri, uri)
    def f(v):
        if isinstance(v, float):
            return "nan" if math.isnan(v) else repr(v)
        return v
    out = {"experiments": {}, "runs": {}, "models": {}, "registered": {}}
    exps = c.search_experiments(view_type=ViewType.ALL)
    for e in exps:
        out["experiments"][e.experiment_id] = {
            "name": e.name, "artifact_location": e.artifact_location, "lifecycle_stage": e.lifecycle_stage,
            "creation_time": e.creation_time, "last_update_time": e.last_update_time,
            "tags": dict(e.tags)}
    ids = [e.experiment_id for e in exps]
    for r in c.search_runs(ids, run_view_type=ViewType.ALL, max_results=1000):
        i = r.info
        hist = {}
        for k in r.data.metrics:
            hist[k] = sorted([m.step, m.timestamp, f(m.value)] for m in c.get_metric_history(i.run_id, k))
        d = {"experiment_id": i.experiment_id, "name": i.run_name, "user_id": i.user_id, "status": i.status,
             "start_time": i.start_time, "end_time": i.end_time, "artifact_uri": i.artifact_uri,
             "lifecycle_stage": i.lifecycle_stage, "params": r.data.params, "tags": r.data.tags,
             "metrics": {k: f(v) for k, v in r.data.metrics.items()}, "history": hist,
             "inputs": sorted([di.dataset.name, di.dataset.digest, di.dataset.source_type, di.dataset.source,
                               di.dataset.schema, di.dataset.profile, sorted((t.key, t.value) for t in di.tags)]
                              for di in (r.inputs.dataset_inputs if r.inputs else []))}
        mi = getattr(r.inputs, "model_inputs", None) if r.inputs else None
        if mi is not None:
            d["model_inputs"] = sorted(m.model_id for m in mi)
        mo = getattr(r, "outputs", None)
        if mo is not None:
            d["model_outputs"] = sorted([m.model_id, m.step] for m in mo.model_outputs)
        out["runs"][i.run_id] = d
    if hasattr(c, "search_logged_models"):
        for m in c.search_logged_models(experiment_ids=ids):
            out["models"][m.model_id] = {
                "name": m.name, "experiment_id": m.experiment_id, "artifact_location": m.artifact_location,
                "status": str(m.status), "model_type": m.model_type, "source_run_id": m.source_run_id,
                "params": m.params, "tags": m.tags,
                "metrics": sorted([x.key, x.step, x.timestamp, f(x.value), x.run_id] for x in (m.metrics or []))}
    for rm in c.search_registered_models():
        versions = {}
        for v in c.search_model_versions(f"name='{rm.name}'"):
            versions[v.version] = {"source": v.source, "run_id": v.run_id, "status": v.status,
                                   "current_stage": v.current_stage, "description": v.description or "",
                                   "tags": v.tags, "creation_timestamp": v.creation_timestamp,
                                   "download_uri": c.get_model_version_download_uri(rm.name, v.version)}
        full = c.get_registered_model(rm.name)
        out["registered"][rm.name] = {"description": full.description or "", "tags": full.tags,
                                      "aliases": {k: str(v) for k, v in full.aliases.items()}, "versions": versions,
                                      "creation_timestamp": full.creation_timestamp}
    print(json.dumps(out, sort_keys=True))
''')


def run_py(python, script, *args, cwd, env_extra=None):
    env = dict(os.environ)
    for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        env.pop(k, None)
    env.update(env_extra or {})
    path = Path(cwd) / "script.py"
    path.write_text(script)
    p = subprocess.run([str(python), str(path), *args], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr[-4000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def kiln_import(*args, expect=0):
    p = subprocess.run([str(kiln_binary()), "import", "mlflow", *args, "--json"], capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == expect, (p.returncode, p.stdout[-3000:], p.stderr[-3000:])
    return json.loads(p.stdout) if p.stdout.strip() else None


def start_kiln(kiln_factory, data_dir):
    extra = ["--database-uri", f"sqlite://{data_dir}/kiln.db"] if BACKEND == "postgres" else []
    return kiln_factory(*extra, data_dir=data_dir)


def inf_as_sql_store(v):
    """A dumped value as MLflow's SQL store hands it back (inf -> max double)."""
    if v == "inf":
        return repr(DBL_MAX)
    if v == "-inf":
        return repr(-DBL_MAX)
    return v


def normalize(dump, sql_source, mapped=lambda s: s):
    """kiln's dump in the shape MLflow's own store would give for the source."""
    conv = inf_as_sql_store if sql_source else (lambda v: v)
    for r in dump["runs"].values():
        r["metrics"] = {k: conv(v) for k, v in r["metrics"].items()}
        r["history"] = {k: [[s, t, conv(v)] for s, t, v in h] for k, h in r["history"].items()}
    for m in dump["models"].values():
        m["metrics"] = [[k, s, t, conv(v), rid] for k, s, t, v, rid in m["metrics"]]
    return dump


def unmap_source(dump, old, new):
    """The source dump with the artifact-root mapping applied, as kiln should hold it."""
    def m(s):
        return new + s[len(old):] if isinstance(s, str) and s.startswith(old) else s
    for e in dump["experiments"].values():
        e["artifact_location"] = m(e["artifact_location"])
    for r in dump["runs"].values():
        r["artifact_uri"] = m(r["artifact_uri"])
    for x in dump["models"].values():
        x["artifact_location"] = m(x["artifact_location"])
    for rm in dump["registered"].values():
        for v in rm["versions"].values():
            v["download_uri"] = m(v["download_uri"])
    return dump


def assert_same(source, kiln):
    assert sorted(kiln["experiments"]) == sorted(source["experiments"])
    for k, e in source["experiments"].items():
        assert kiln["experiments"][k] == e, k
    assert sorted(kiln["runs"]) == sorted(source["runs"])
    for k, r in source["runs"].items():
        got = kiln["runs"][k]
        for field, value in r.items():
            assert got.get(field) == value, (k, field, got.get(field), value)
    assert kiln["models"] == source["models"]
    assert sorted(kiln["registered"]) == sorted(source["registered"])
    for name, rm in source["registered"].items():
        got = kiln["registered"][name]
        for field in rm:
            if field != "versions":
                assert got[field] == rm[field], (name, field, got[field], rm[field])
        assert sorted(got["versions"]) == sorted(rm["versions"]), name
        for v, mv in rm["versions"].items():
            for field in mv:
                assert got["versions"][v][field] == mv[field], (name, v, field, got["versions"][v][field], mv[field])


def check_round_trip(tmp_path, kiln_factory, source_uri, fill_python, sql_source, dump_python=None):
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    env = {"MLFLOW_ALLOW_FILE_STORE": "true"}
    info = run_py(fill_python, FILL, source_uri(src_dir), cwd=src_dir, env_extra=env)
    source = run_py(dump_python or fill_python, DUMP, source_uri(src_dir), cwd=src_dir, env_extra=env)
    old = str(src_dir)
    root_map = f"{old}=/imported"
    data = tmp_path / "kiln-data"
    from_arg = source_uri(src_dir) if sql_source else str(src_dir / "mlruns")
    dry = kiln_import("--from", from_arg, "--data-dir", str(data), "--artifact-root-map", root_map, "--dry-run")
    assert dry["dry_run"] and dry["complete"]
    assert not (data / "kiln.db").exists()  # a dry run creates nothing
    rep = kiln_import("--from", from_arg, "--data-dir", str(data), "--artifact-root-map", root_map)
    assert rep["complete"] and rep["verified"], rep
    counts = {t["table"]: t["source_rows"] for t in rep["tables"]}
    assert {t["table"]: t["source_rows"] for t in dry["tables"]} == counts
    assert counts["runs"] == 15 and counts["metrics"] >= 6 + 1 + 1 + 12 * 20 + 300
    srv = start_kiln(kiln_factory, data)
    kiln = run_py(sys.executable, DUMP, srv.url, cwd=src_dir)
    source = unmap_source(source, old, "/imported")
    if sql_source and "model" in info:
        # MLflow's SQL store keeps a run's model inputs (inputs rows RUN_INPUT ->
        # MODEL_INPUT) but its reads leave them out; kiln answers with them.
        assert source["runs"][info["run"]].get("model_inputs") in ([], None)
        source["runs"][info["run"]]["model_inputs"] = [info["model"]]
    if dump_python is not None:  # MLflow 2 client: no logged models or run outputs in its answers
        for r in kiln["runs"].values():
            r.pop("model_inputs", None)
            r.pop("model_outputs", None)
    assert_same(source, normalize(kiln, sql_source))
    # The exact history, as logged (MLflow's SQL stores cannot tell a logged
    # max double from +inf; its file store can).
    hist = kiln["runs"][info["run"]]["history"]
    from mlflow.tracking import MlflowClient
    raw = sorted((m.step, m.value) for m in MlflowClient(srv.url).get_metric_history(info["run"], "m"))
    expect_4 = math.inf if sql_source else DBL_MAX
    assert [v for _, v in raw][:2] == [1.0, raw[1][1]] and math.isnan(raw[1][1])
    assert [v for _, v in raw][2:] == [math.inf, -math.inf, expect_4, -2.5]
    assert len(hist["dup"]) == 2
    check_chart_summary(srv.url, info["long"], MlflowClient(srv.url).get_metric_history(info["long"], "curve"),
                        sql_source)
    return info, data, srv


def check_chart_summary(url, run_id, history, sql_source):
    """kiln's chart buckets of an imported history (read from the summaries
    the import wrote) agree with the points MLflow's client reads back."""
    import numpy as np
    import requests
    pts = sorted((m.step, m.value) for m in history)
    assert len(pts) == 300
    steps = np.array([p[0] for p in pts])
    values = np.array([p[1] for p in pts])
    num = lambda v: {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(v, v) \
        if isinstance(v, str) else v
    for n in (2, 3, 5):  # buckets wider than a block, so whole blocks are read from their summaries
        r = requests.get(f"{url}/api/2.0/kiln/ui/metric-buckets",
                         params={"run_id": run_id, "key": "curve", "buckets": n}, timeout=60)
        assert r.status_code == 200, r.text
        [series] = r.json()["series"]
        assert series["total_count"] == 300 and series["x_min"] == -70 and series["x_max"] == 229
        seen = 0
        for b in series["buckets"]:
            inside = (steps >= b["x_start"]) & (steps <= b["x_end"])
            chunk = values[inside]
            finite = chunk[~np.isnan(chunk)]
            assert b["count"] == len(chunk) and b["nan_count"] == len(chunk) - len(finite), b
            assert num(b["min"]) == finite.min() and num(b["max"]) == finite.max(), b
            with np.errstate(invalid="ignore"):  # inf + -inf: the mean is NaN
                want = finite.mean()
            got = num(b["mean"])
            assert got == want or (math.isnan(got) and math.isnan(want)) or \
                (math.isfinite(want) and got == pytest.approx(want, rel=1e-12, abs=1e-12)), (b, want)
            seen += len(chunk)
        assert seen == 300


def test_import_sqlite_mlflow3(tmp_path, kiln_factory):
    info, data, srv = check_round_trip(tmp_path, kiln_factory, lambda d: f"sqlite:///{d}/mlflow.db",
                                       REPO_ROOT / ".venv" / "bin" / "python", sql_source=True)
    from mlflow.tracking import MlflowClient
    c = MlflowClient(srv.url)
    assert c.get_experiment(info["experiment_id"]).artifact_location.startswith("/imported/")
    lm = c.get_logged_model(info["model"])
    assert lm.name == "lm" and lm.params == {"lr": "0.1"}
    # MLflow never reuses a deleted version's number; neither does the import.
    mv = c.create_model_version("imp-rm", source="s3://bucket/elsewhere/model")
    assert mv.version == "4"


def test_import_file_store(tmp_path, kiln_factory):
    info, data, srv = check_round_trip(tmp_path, kiln_factory, lambda d: f"file://{d}/mlruns",
                                       REPO_ROOT / ".venv" / "bin" / "python", sql_source=False)
    from mlflow.tracking import MlflowClient
    eid = info["experiment_id"]
    assert len(eid) >= 15  # the file store's random experiment ids, preserved
    assert MlflowClient(srv.url).get_experiment(eid).name == "imp-exp"


def test_import_sqlite_mlflow2(tmp_path, kiln_factory):
    assert MLFLOW2_PYTHON.exists(), "scripts/setup.sh creates .venv-mlflow2 (an MLflow 2.x client)"
    check_round_trip(tmp_path, kiln_factory, lambda d: f"sqlite:///{d}/mlflow.db", MLFLOW2_PYTHON,
                     sql_source=True, dump_python=MLFLOW2_PYTHON)


def test_import_resume_and_refusals(tmp_path):
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    uri = f"sqlite:///{src_dir}/mlflow.db"
    run_py(REPO_ROOT / ".venv" / "bin" / "python", FILL, uri, cwd=src_dir)
    data = tmp_path / "kiln-data"
    args = ["--from", uri, "--data-dir", str(data), "--chunk-runs", "3"]
    first = kiln_import(*args, "--max-chunks", "3", expect=3)
    assert not first["complete"]
    # Without --resume an unfinished import is refused, not duplicated.
    kiln_import(*args, expect=1)
    second = kiln_import(*args, "--resume", "--max-chunks", "2", expect=3)
    assert not second["complete"]
    done = kiln_import(*args, "--resume")
    assert done["complete"] and done["verified"]
    assert {t["table"]: t["target_rows"] for t in done["tables"]}["runs"] == 15
    # A finished import is not repeated.
    kiln_import(*args, expect=1)
    # --resume on a finished import only reports it again (and verifies).
    again = kiln_import("--from", uri, "--data-dir", str(data), "--resume")
    assert again["complete"] and again["verified"] and again["chunks"] == 0
    # A kiln database with data of its own is not a target.
    kiln_import("--from", uri, "--data-dir", str(tmp_path / "other"), "--dry-run")
    other = tmp_path / "other2"
    kiln_import("--from", uri, "--data-dir", str(other))
    kiln_import("--from", f"sqlite:///{src_dir}/missing.db", "--data-dir", str(other), expect=1)


def test_import_auth_users(tmp_path, kiln_factory):
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    uri = f"sqlite:///{src_dir}/mlflow.db"
    info = run_py(REPO_ROOT / ".venv" / "bin" / "python", FILL, uri, cwd=src_dir)
    auth = textwrap.dedent(r'''
        import json, sys
        from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore
        s = SqlAlchemyStore()
        s.init_db(sys.argv[1])
        s.create_user("alice", "alice-password-1", is_admin=False)
        s.create_user("root2", "root2-password-1", is_admin=True)
        s.create_experiment_permission(sys.argv[2], "alice", "EDIT")
        s.create_registered_model_permission("imp-rm", "alice", "MANAGE")
        print(json.dumps({"ok": True}))
    ''')
    run_py(REPO_ROOT / ".venv" / "bin" / "python", auth, f"sqlite:///{src_dir}/basic_auth.db",
           info["experiment_id"], cwd=src_dir)
    data = tmp_path / "kiln-data"
    rep = kiln_import("--from", uri, "--data-dir", str(data), "--auth-db", f"sqlite:///{src_dir}/basic_auth.db")
    tables = {t["table"]: t for t in rep["tables"]}
    assert tables["users"]["target_rows"] == 2 and tables["grants"]["target_rows"] == 2
    assert any("without a password" in n for n in rep["notes"])
    import sqlite3
    db = sqlite3.connect(data / "kiln.db")
    rows = dict(db.execute("SELECT name, password_hash FROM users").fetchall())
    assert rows["alice"] == "" and rows["root2"] == ""
    grants = sorted(db.execute("SELECT subject, object_kind, object_id, role FROM grants").fetchall())
    assert grants == [("alice", "experiment", info["experiment_id"], "editor"),
                      ("alice", "registered_model", "imp-rm", "manager")]


def test_import_postgres_source(tmp_path, kiln_factory, pg_server):
    """An MLflow 2 database on PostgreSQL (written by mlflow through psycopg2)."""
    assert MLFLOW2_PYTHON.exists(), "scripts/setup.sh creates .venv-mlflow2 (an MLflow 2.x client with psycopg2)"
    uri = pg_server.create_database()
    check_round_trip(tmp_path, kiln_factory, lambda d: uri, MLFLOW2_PYTHON, sql_source=True,
                     dump_python=MLFLOW2_PYTHON)
