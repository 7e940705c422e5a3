"""A rolling upgrade on one PostgreSQL database (issue 14 item 5): the
previous kiln and this one serve the same database at once.

"Old" is a real binary: the commit before schema v9, built from git by
scripts/build_old_kiln.sh and cached under ~/.cache/kiln/old-kiln/<commit>/ (the first
run builds it; later runs reuse it). Its schema is 8 and it already honours
compatible_since; v9 and v10 (this tree) are expand-only and record
compatible_since = 8. v10's metric_blocks (the chart summaries) are kept by
triggers in the database, so the old binary's metric writes keep them too.

(a) The old binary serves a database the mlflow client fills (runs, params,
    metric histories, artifacts, a registered model with an alias). The new
    binary starts on the same database and migrates it to v9 while a client
    keeps writing through the old one; then both serve reads and writes
    (each reads what the other wrote, model version numbers stay 1..N), and
    the old binary, restarted on the migrated database, starts and serves.
(b) A database that a (simulated) contract migration took past what the old
    binary can use: `kiln serve` and `kiln migrate` of the old binary refuse
    to start with the message naming the version they would need, and so
    does this binary for a step beyond its own.

Only the PostgreSQL pass of `make test` (KILN_COMPAT_BACKEND=postgres) runs
this module: side-by-side binaries share a database server.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import BACKEND, REPO_ROOT, ServerProcess, kiln_binary

OLD_SCHEMA = 8
NEW_SCHEMA = 10
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build_old_kiln.sh"


class Kiln(ServerProcess):
    """`kiln serve` of a given binary (old or new) on the test's database."""

    def __init__(self, binary: Path, data_dir: Path, args: list[str]):
        super().__init__("kiln", data_dir, args)
        self.binary = binary

    def _command(self) -> list[str]:
        return [str(self.binary), "serve", "--host", "127.0.0.1", "--port", "0",
                "--data-dir", str(self.data_dir), *self.extra_args]


def _db_name(uri: str) -> str:
    return uri.rsplit("/", 1)[1]


def _schema(pg_server, uri: str) -> tuple[int, int]:
    out = pg_server.sql("SELECT version, coalesce(compatible_since, -1) FROM schema_migrations "
                        "ORDER BY version DESC LIMIT 1", db=_db_name(uri)).strip()
    version, since = out.split("|")
    return int(version), int(since)


def _fill(url: str, artifacts: Path, name: str) -> tuple[str, list[str]]:
    from mlflow import MlflowClient

    c = MlflowClient(url)
    exp = c.create_experiment(name, tags={"team": "ml"})
    run_ids = []
    for i in range(3):
        rid = c.create_run(exp, tags={"i": str(i)}).info.run_id
        c.log_param(rid, "lr", str(0.1 * i))
        for step in range(10):
            c.log_metric(rid, "loss", 1.0 / (step + 1 + i), step=step)
        c.log_artifacts(rid, str(artifacts), artifact_path="model")
        c.set_terminated(rid)
        run_ids.append(rid)
    c.create_registered_model(name)
    mv = c.create_model_version(name, f"runs:/{run_ids[0]}/model", run_id=run_ids[0])
    c.set_registered_model_alias(name, "champion", mv.version)
    return exp, run_ids


def _log_run(url: str, exp: str, tag: str) -> str:
    from mlflow import MlflowClient

    c = MlflowClient(url)
    rid = c.create_run(exp, tags={"writer": tag}).info.run_id
    c.log_param(rid, "writer", tag)
    c.log_metric(rid, "loss", 0.5, step=0)
    c.set_terminated(rid)
    return rid


def _check_run(url: str, rid: str, writer: str | None = None):
    from mlflow import MlflowClient

    r = MlflowClient(url).get_run(rid)
    assert r.info.status == "FINISHED"
    if writer is not None:
        assert r.data.params["writer"] == writer
    assert "loss" in r.data.metrics


def _download(url: str, rid: str, dest: Path) -> bytes:
    from mlflow import MlflowClient

    path = MlflowClient(url).download_artifacts(rid, "model/weights.bin", str(dest))
    return Path(path).read_bytes()


if BACKEND == "postgres":
    pytestmark = [pytest.mark.kiln_only, pytest.mark.timeout_s(3600)]  # a cold old-binary build

    @pytest.fixture(scope="module")
    def old_kiln() -> Path:
        """The previous release's binary, built once per commit and cached."""
        r = subprocess.run([str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=3500)
        assert r.returncode == 0, f"building the old kiln failed:\n{r.stderr[-6000:]}"
        binary = Path(r.stdout.strip().splitlines()[-1])
        assert binary.exists(), r.stdout
        assert binary.resolve() != kiln_binary().resolve()
        return binary

    @pytest.fixture
    def deployment(pg_server, compat_tmp_root):
        root = compat_tmp_root / f"upgrade-{uuid.uuid4().hex[:6]}"
        root.mkdir()
        secret = root / "secret.key"
        secret.write_bytes(os.urandom(32))
        secret.chmod(0o600)
        uri = pg_server.create_database()
        # Replicas share everything but their data dirs: database, artifact
        # store, token key.
        args = ["--database-uri", uri, "--artifacts-uri", f"file://{root}/artifacts",
                "--secret-key-file", str(secret)]
        procs: list[Kiln] = []
        yield root, uri, args, procs
        for p in procs:
            if p.proc is not None and p.returncode is None:
                p.stop(check=True)

    def test_old_and_new_serve_one_database_through_the_upgrade(old_kiln, deployment, pg_server, monkeypatch):
        from mlflow import MlflowClient

        root, uri, args, procs = deployment
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        art = root / "art"
        art.mkdir()
        weights = os.urandom(200_000)
        (art / "weights.bin").write_bytes(weights)
        (art / "MLmodel").write_text("flavors: {}\n")

        old = Kiln(old_kiln, root / "old", args).start()
        procs.append(old)
        assert _schema(pg_server, uri) == (OLD_SCHEMA, OLD_SCHEMA)
        exp, filled = _fill(old.url, art, f"upgrade-{root.name}")

        # The new binary migrates to v10 while a client keeps writing through
        # the old one; not one of those writes may fail.
        written, errors, stop = [], [], threading.Event()

        def keep_writing():
            while not stop.is_set():
                try:
                    written.append(_log_run(old.url, exp, "old-during"))
                except Exception as e:  # noqa: BLE001 - every failure is reported below
                    errors.append(repr(e))

        writer = threading.Thread(target=keep_writing, daemon=True)
        writer.start()
        try:
            new = Kiln(kiln_binary(), root / "new", args).start()
            procs.append(new)
            # A few more writes after the migration committed, still on the old binary.
            seen = len(written)
            deadline = time.monotonic() + 60
            while len(written) < seen + 3 and not errors and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            writer.join(30)
        assert not errors, errors[:3]
        assert len(written) >= 3
        assert _schema(pg_server, uri) == (NEW_SCHEMA, OLD_SCHEMA)
        assert pg_server.sql("SELECT count(*) FROM pg_indexes WHERE indexname = 'logged_models_source_run'",
                             db=_db_name(uri)).strip() == "1"

        # Each reads what the other wrote, and both keep writing.
        for url in (old.url, new.url):
            for rid in filled + written:
                _check_run(url, rid)
            assert _download(url, filled[0], root / f"dl-{uuid.uuid4().hex[:4]}") == weights
            mv = MlflowClient(url).get_model_version_by_alias(f"upgrade-{root.name}", "champion")
            assert mv.run_id == filled[0]
        from_new = _log_run(new.url, exp, "new")
        from_old = _log_run(old.url, exp, "old")
        _check_run(old.url, from_new, "new")
        _check_run(new.url, from_old, "old")
        name = f"upgrade-{root.name}"
        v_new = MlflowClient(new.url).create_model_version(name, f"runs:/{filled[1]}/model", run_id=filled[1])
        v_old = MlflowClient(old.url).create_model_version(name, f"runs:/{filled[2]}/model", run_id=filled[2])
        assert (int(v_new.version), int(v_old.version)) == (2, 3)
        for url in (old.url, new.url):
            versions = MlflowClient(url).search_model_versions(f"name = '{name}'")
            assert sorted(int(v.version) for v in versions) == [1, 2, 3]
            runs = MlflowClient(url).search_runs([exp], max_results=1000)
            assert {r.info.run_id for r in runs} == set(filled + written + [from_new, from_old])

        # A history the old binary logs after the migration: the new one
        # charts it from metric_blocks, which the database's triggers kept.
        hist = MlflowClient(old.url).create_run(exp).info.run_id
        values = [float((s * 37) % 101) for s in range(300)]
        values[150] = 1e9
        from mlflow.entities import Metric
        for i in range(0, 300, 100):
            MlflowClient(old.url).log_batch(hist, metrics=[Metric("loss", values[s], 1000 + s, s)
                                                           for s in range(i, i + 100)])
        for rid, want in ((hist, values), (filled[1], [1.0 / (step + 2) for step in range(10)])):
            r = requests.get(new.url + "/api/2.0/kiln/ui/metric-buckets",
                             params={"run_id": rid, "key": "loss", "buckets": "7"}, timeout=30)
            assert r.status_code == 200, r.text
            series = r.json()["series"][0]
            assert series["total_count"] == len(want)
            for b in series["buckets"]:
                inside = want[b["x_start"]:b["x_end"] + 1]
                assert (b["count"], b["min"], b["max"]) == (len(inside), min(inside), max(inside)), b

        # Rollback of one replica: the old binary restarted on the migrated
        # database starts, leaves the schema alone and serves.
        old.stop(check=True)
        again = Kiln(old_kiln, root / "old", args).start()
        procs.append(again)
        assert _schema(pg_server, uri) == (NEW_SCHEMA, OLD_SCHEMA)
        _check_run(again.url, from_new, "new")
        assert _download(again.url, filled[0], root / "dl-again") == weights
        late = _log_run(again.url, exp, "old-again")
        _check_run(new.url, late, "old-again")
        assert requests.get(new.url + "/health", timeout=5).status_code == 200

    def test_a_contract_migration_is_refused_by_the_binaries_it_left_behind(old_kiln, deployment, pg_server):
        root, uri, args, _ = deployment
        db = _db_name(uri)
        migrate = subprocess.run([str(kiln_binary()), "migrate", "--data-dir", str(root / "new"), *args],
                                 capture_output=True, text=True, timeout=120)
        assert migrate.returncode == 0, migrate.stderr
        assert _schema(pg_server, uri) == (NEW_SCHEMA, OLD_SCHEMA)
        # The old binary's own `kiln migrate` on the expand-only database: nothing to do, no error.
        old_migrate = subprocess.run([str(old_kiln), "migrate", "--data-dir", str(root / "old"), *args],
                                     capture_output=True, text=True, timeout=120)
        assert old_migrate.returncode == 0, old_migrate.stderr

        # A simulated contract step of a later release: a column renamed (what
        # the old binaries read is gone) and its row saying builds before it
        # cannot follow.
        pg_server.sql("ALTER TABLE runs RENAME COLUMN user_id TO owner", db=db)
        pg_server.sql("INSERT INTO schema_migrations(version, applied_ms, compatible_since) "
                      f"VALUES ({NEW_SCHEMA + 1}, 0, {NEW_SCHEMA + 1})", db=db)

        for binary, schema, data in ((old_kiln, OLD_SCHEMA, "old"), (kiln_binary(), NEW_SCHEMA, "new")):
            for sub in ("serve", "migrate"):
                cmd = [str(binary), sub, "--data-dir", str(root / data), *args]
                if sub == "serve":
                    cmd[2:2] = ["--host", "127.0.0.1", "--port", "0"]
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
                assert r.returncode != 0, f"{binary} {sub} started on a contracted database:\n{r.stderr}"
                assert (f"database schema version {NEW_SCHEMA + 1} is newer than this kiln's ({schema}) and no "
                        f"longer compatible with it: it serves kiln builds of database schema version "
                        f"{NEW_SCHEMA + 1} or later") in r.stderr, r.stderr
                assert "upgrade kiln before using this database" in r.stderr
        assert _schema(pg_server, uri) == (NEW_SCHEMA + 1, NEW_SCHEMA + 1)
