"""`kiln backup` and `kiln restore` against the real binary: a deployment
filled through the unmodified mlflow client is backed up while a writer keeps
logging runs, restored into a fresh deployment, and compared entity by entity
and artifact by artifact with the source. Also: embedded -> PostgreSQL with
the same pair of commands, restore refusing a non-empty target, and a
damaged backup refused with the table or file it names.
"""
import hashlib
import json
import math
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from conftest import backend_args, kiln_binary

pytestmark = pytest.mark.kiln_only


def kiln(*args, timeout=300):
    return subprocess.run([str(kiln_binary()), *args], capture_output=True, text=True, timeout=timeout)


def fill(url, tmp_path, n_runs=6):
    """Experiments, runs with params/tags/metric histories (NaN and inf
    included), artifacts and a registered model with an alias."""
    c = MlflowClient(url)
    exp = c.create_experiment(f"backup-{tmp_path.name}", tags={"team": "ml"})
    art = tmp_path / "art"
    art.mkdir(exist_ok=True)
    (art / "model.txt").write_text("weights " * 1000)
    (art / "blob.bin").write_bytes(bytes(range(256)) * 4096)
    run_ids = []
    for i in range(n_runs):
        r = c.create_run(exp, tags={"i": str(i)})
        rid = r.info.run_id
        c.log_param(rid, "lr", str(0.1 * i))
        for step in range(20):
            c.log_metric(rid, "loss", 1.0 / (step + 1 + i), step=step, timestamp=1_700_000_000_000 + step)
        c.log_metric(rid, "odd", float("nan"), step=0)
        c.log_metric(rid, "odd", float("inf"), step=1)
        c.log_metric(rid, "odd", float("-inf"), step=2)
        c.log_artifacts(rid, str(art), artifact_path="files")
        c.set_terminated(rid)
        run_ids.append(rid)
    c.create_registered_model(f"m-{tmp_path.name}")
    mv = c.create_model_version(f"m-{tmp_path.name}", f"runs:/{run_ids[0]}/files", run_id=run_ids[0])
    c.set_registered_model_alias(f"m-{tmp_path.name}", "champion", mv.version)
    return exp, run_ids


def snapshot(url, exp):
    """Everything the mlflow client can see of one experiment, comparable."""
    c = MlflowClient(url)
    e = c.get_experiment(exp)
    runs = {}
    for r in c.search_runs([exp], max_results=1000):
        rid = r.info.run_id
        hist = {}
        for key in r.data.metrics:
            hist[key] = [(m.step, m.timestamp, "nan" if math.isnan(m.value) else m.value)
                         for m in c.get_metric_history(rid, key)]
        runs[rid] = {"status": r.info.status, "params": r.data.params, "tags": r.data.tags,
                     "metrics": hist, "start": r.info.start_time, "end": r.info.end_time,
                     "artifacts": sorted(f.path for f in c.list_artifacts(rid, "files"))}
    return {"name": e.name, "tags": e.tags, "runs": runs}


def artifact_digests(url, run_id, tmp_path):
    c = MlflowClient(url)
    dest = tmp_path / f"dl-{run_id}-{time.monotonic_ns()}"
    local = Path(c.download_artifacts(run_id, "files", str(dest)))
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(local.iterdir())}


def test_backup_while_writing_then_restore_elsewhere(kiln_factory, tmp_path):
    src = kiln_factory()
    exp, run_ids = fill(src.url, tmp_path)
    before = snapshot(src.url, exp)

    stop = threading.Event()
    written = []

    def writer():
        c = MlflowClient(src.url)
        while not stop.is_set():
            r = c.create_run(exp)
            c.log_metric(r.info.run_id, "live", 1.0)
            c.set_terminated(r.info.run_id)
            written.append(r.info.run_id)

    t = threading.Thread(target=writer)
    t.start()
    try:
        time.sleep(0.5)  # the writer is running when the snapshot is taken
        dest = tmp_path / "backup"
        b = kiln("backup", str(dest), "--data-dir", str(src.data_dir), *backend_args(src.data_dir, []))
        assert b.returncode == 0, b.stderr
    finally:
        stop.set()
        t.join()
    assert written, "the writer logged nothing while the backup ran"
    manifest = json.loads((dest / "manifest.json").read_text())
    assert {t["name"] for t in manifest["tables"]} >= {"experiments", "runs", "metrics", "model_versions"}
    assert any(f["path"].endswith("files/blob.bin") for f in manifest["artifacts"])

    target_dir = tmp_path / "restored"
    r = kiln("restore", str(dest), "--data-dir", str(target_dir), *backend_args(target_dir, []))
    assert r.returncode == 0, r.stderr
    dst = kiln_factory(data_dir=target_dir)

    after = snapshot(dst.url, exp)
    # Everything acknowledged before the backup started is there, identical.
    assert after["name"] == before["name"] and after["tags"] == before["tags"]
    for rid, run in before["runs"].items():
        assert after["runs"][rid] == run, rid
    # Runs written while it ran are either absent or exactly a state the source had.
    for rid, run in after["runs"].items():
        if rid in before["runs"]:
            continue
        assert rid in written
        assert run["metrics"].get("live", [(0, 0, 1.0)])[0][2] == 1.0
    for rid in run_ids:
        assert artifact_digests(dst.url, rid, tmp_path) == artifact_digests(src.url, rid, tmp_path)
    # The registry came along: the alias resolves to the same version.
    c = MlflowClient(dst.url)
    mv = c.get_model_version_by_alias(f"m-{tmp_path.name}", "champion")
    assert mv.run_id == run_ids[0]
    # The restored deployment keeps numbering after the restored rows.
    mv2 = c.create_model_version(f"m-{tmp_path.name}", f"runs:/{run_ids[1]}/files", run_id=run_ids[1])
    assert int(mv2.version) == int(mv.version) + 1


def test_restore_refuses_a_non_empty_target(kiln_factory, tmp_path):
    src = kiln_factory()
    fill(src.url, tmp_path, n_runs=1)
    dest = tmp_path / "backup"
    assert kiln("backup", str(dest), "--data-dir", str(src.data_dir),
                *backend_args(src.data_dir, [])).returncode == 0
    # The source itself is not empty: restoring into it is refused, nothing changes.
    r = kiln("restore", str(dest), "--data-dir", str(src.data_dir), *backend_args(src.data_dir, []))
    assert r.returncode != 0
    assert "not empty" in r.stderr


def test_damaged_backup_is_refused_naming_what(kiln_factory, tmp_path):
    src = kiln_factory()
    fill(src.url, tmp_path, n_runs=1)
    dest = tmp_path / "backup"
    assert kiln("backup", str(dest), "--data-dir", str(src.data_dir),
                *backend_args(src.data_dir, [])).returncode == 0
    db = sqlite3.connect(str(dest / "metadata.db"))
    db.execute("UPDATE params SET value = 'tampered'")
    db.commit()
    db.close()
    target = tmp_path / "restored"
    r = kiln("restore", str(dest), "--data-dir", str(target), *backend_args(target, []))
    assert r.returncode != 0
    assert "params" in r.stderr and "manifest" in r.stderr

    # An artifact changed after the backup is named too.
    dest2 = tmp_path / "backup2"
    assert kiln("backup", str(dest2), "--data-dir", str(src.data_dir),
                *backend_args(src.data_dir, [])).returncode == 0
    blob = next(p for p in (dest2 / "artifacts").rglob("blob.bin"))
    blob.write_bytes(b"x" + blob.read_bytes()[1:])
    target2 = tmp_path / "restored2"
    r = kiln("restore", str(dest2), "--data-dir", str(target2), *backend_args(target2, []))
    assert r.returncode != 0
    assert "blob.bin" in r.stderr


def test_embedded_to_postgresql_is_the_same_command_pair(kiln_factory, tmp_path, pg_server):
    src = kiln_factory("--database-uri", f"sqlite:///{tmp_path / 'embedded' / 'kiln.db'}")
    exp, run_ids = fill(src.url, tmp_path, n_runs=2)
    before = snapshot(src.url, exp)
    dest = tmp_path / "backup"
    b = kiln("backup", str(dest), "--data-dir", str(src.data_dir),
             "--database-uri", f"sqlite:///{tmp_path / 'embedded' / 'kiln.db'}")
    assert b.returncode == 0, b.stderr
    uri = pg_server.create_database()
    target_dir = tmp_path / "on-postgres"
    r = kiln("restore", str(dest), "--data-dir", str(target_dir), "--database-uri", uri)
    assert r.returncode == 0, r.stderr
    dst = kiln_factory("--database-uri", uri, data_dir=target_dir)
    assert snapshot(dst.url, exp) == before
    for rid in run_ids:
        assert artifact_digests(dst.url, rid, tmp_path) == artifact_digests(src.url, rid, tmp_path)
