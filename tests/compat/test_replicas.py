"""Stateless replicas (issue 13 item 4): three `kiln serve` processes on one
PostgreSQL, one S3 (versitygw) and one Redis, behind a health-checking load
balancer of the suite's own (replica_lb.py: round-robin over the replicas
whose GET /health answered 200 at the last 100 ms poll, never a retry).

(a) Concurrent writers through the balancer with the unmodified `mlflow`
    client: every run, metric and param lands exactly once, model version
    numbers are 1..N without gaps or duplicates, and each write is read back
    at once from every replica directly (read-your-writes across replicas).
(b) A rolling restart under load: while client threads keep writing and
    reading runs, uploading and downloading artifacts (S3) and calling v2
    inference, each replica in turn gets SIGTERM, drains (--shutdown-delay-ms:
    /health answers 503 "draining" while requests are still served), exits 0
    and is started again on the same port. Not one request may fail, and
    enough requests must have run for that to mean something.

The clients run with MLFLOW_HTTP_REQUEST_MAX_RETRIES=0 (the suite's
default), so a failed request is a failed operation, not a hidden retry.

Only the PostgreSQL pass of `make test` (KILN_COMPAT_BACKEND=postgres) runs
this module: replicas share a database server, which the embedded backend is
not.
"""

from __future__ import annotations

import filecmp
import os
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests

from conftest import BACKEND, ServerProcess, free_port
from redis_server import RedisServer
from replica_lb import LoadBalancer
from s3_server import S3Server

BUCKET = "kiln-replicas"
REPLICAS = 3
SHUTDOWN_DELAY_MS = 1500
MODEL = "lb-model"
FEATURES = 4


class Replica(ServerProcess):
    """A kiln replica on a fixed port, so it can be started again where the
    balancer expects it."""

    def __init__(self, data_dir: Path, port: int, args: list[str]):
        super().__init__("kiln", data_dir, args)
        self.fixed_port = port
        self.generation = 0
        self.base_url = f"http://127.0.0.1:{port}"

    def _command(self) -> list[str]:
        cmd = super()._command()
        cmd[cmd.index("--port") + 1] = str(self.fixed_port)
        return cmd

    def start(self) -> "Replica":
        self.generation += 1
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-{self.generation}.log"
        self.proc, self.returncode, self.grpc_port = None, None, None
        self._port_found = threading.Event()
        super().start()
        return self


class Cluster:
    def __init__(self, replicas: list[Replica], lb: LoadBalancer, booster, X: np.ndarray):
        self.replicas = replicas
        self.lb = lb
        self.booster = booster
        self.X = X


def _train_model(directory: Path):
    import xgboost as xgb

    rng = np.random.default_rng(7)
    X = rng.normal(size=(64, FEATURES)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3}, xgb.DMatrix(X, label=y),
                        num_boost_round=8)
    (directory / MODEL / "1").mkdir(parents=True)
    booster.save_model(str(directory / MODEL / "1" / "model.json"))
    return booster, X


@pytest.fixture(scope="module")
def cluster(pg_server, compat_tmp_root):
    root = compat_tmp_root / f"replicas-{uuid.uuid4().hex[:6]}"
    root.mkdir()
    s3 = S3Server(root / "s3").start()
    s3.create_bucket(BUCKET)
    redis = RedisServer(root).start()
    secret = root / "secret.key"
    secret.write_bytes(os.urandom(32))
    secret.chmod(0o600)
    models = root / "models"
    booster, X = _train_model(models)
    args = ["--database-uri", pg_server.create_database(),
            "--artifacts-uri", f"s3://{BUCKET}/artifacts",
            "--online-store-uri", redis.kiln_uri(),
            "--secret-key-file", str(secret),
            "--model-repository", str(models),
            "--shutdown-delay-ms", str(SHUTDOWN_DELAY_MS)]
    env = pytest.MonkeyPatch()  # the replicas (and their restarts) read S3's endpoint and keys from it
    for k, v in s3.env().items():
        env.setenv(k, v)
    replicas: list[Replica] = []
    lb = None
    try:
        for i in range(REPLICAS):
            replicas.append(Replica(root / f"replica-{i}", free_port(), args).start())
        lb = LoadBalancer([r.base_url for r in replicas]).start()
        for r in replicas:
            lb.wait_ready(r.base_url, True)
        yield Cluster(replicas, lb, booster, X)
    finally:
        if lb is not None:
            lb.stop()
        for r in replicas:
            if r.proc is not None:
                r.stop(check=True)
        redis.stop()
        s3.stop()
        env.undo()


def _clients(cluster):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=cluster.lb.url), [MlflowClient(tracking_uri=r.base_url) for r in cluster.replicas]


def _log_model(cluster, monkeypatch, experiment_id: str) -> str:
    """A logged XGBoost model (its files in S3), logged through the balancer."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", cluster.lb.url)
    mlflow.set_tracking_uri(cluster.lb.url)
    with mlflow.start_run(experiment_id=experiment_id):
        info = mlflow.xgboost.log_model(cluster.booster, name="model")
    return info.model_id


def check_concurrent_writers(cluster, monkeypatch):
    from mlflow.entities import Metric, Param

    lb_client, direct = _clients(cluster)
    exp = lb_client.create_experiment(f"replicas-{uuid.uuid4().hex[:8]}")
    model_id = _log_model(cluster, monkeypatch, exp)
    name = f"replicated-{uuid.uuid4().hex[:8]}"
    lb_client.create_registered_model(name)
    threads, runs_per_thread, steps = 6, 4, 5

    def work(t: int):
        from mlflow import MlflowClient

        c = MlflowClient(tracking_uri=cluster.lb.url)  # one client per thread, as separate processes would
        done = []
        for j in range(runs_per_thread):
            rid = c.create_run(exp, run_name=f"w{t}-{j}", tags={"thread": str(t)}).info.run_id
            metrics = [Metric(f"m{k}", t * 1000 + j * 10 + k + s / 10, 1_700_000_000_000 + s, s)
                       for k in range(3) for s in range(steps)]
            params = {f"p{k}": f"{t}-{j}-{k}" for k in range(3)}
            c.log_batch(rid, metrics=metrics, params=[Param(k, v) for k, v in params.items()])
            # Acknowledged: every replica serves it now, not eventually.
            for d in direct:
                got = d.get_run(rid)
                assert got.data.params == params, (d.tracking_uri, got.data.params)
                assert got.data.metrics == {f"m{k}": t * 1000 + j * 10 + k + (steps - 1) / 10 for k in range(3)}
                assert [m.step for m in d.get_metric_history(rid, "m1")] == list(range(steps))
            mv = c.create_model_version(name, f"models:/{model_id}", run_id=rid, model_id=model_id,
                                        tags={"thread": str(t), "run": rid})
            for d in direct:
                got = d.get_model_version(name, mv.version)
                assert got.run_id == rid and got.tags["run"] == rid, (d.tracking_uri, got)
            done.append((rid, int(mv.version)))
        return done

    with ThreadPoolExecutor(threads) as ex:
        results = [x for chunk in ex.map(work, range(threads)) for x in chunk]

    total = threads * runs_per_thread
    run_ids = sorted(rid for rid, _ in results)
    assert len(set(run_ids)) == total
    assert sorted(v for _, v in results) == list(range(1, total + 1))  # no gaps, no duplicates
    version_of = dict(results)
    for d in direct:
        # The model's own run is in the experiment too.
        runs = [r for r in d.search_runs([exp], max_results=1000) if r.data.tags.get("thread") is not None]
        assert sorted(r.info.run_id for r in runs) == run_ids, d.tracking_uri
        for r in runs:
            assert len(r.data.params) == 3 and len(r.data.metrics) == 3
            for k in range(3):
                history = d.get_metric_history(r.info.run_id, f"m{k}")
                assert sorted(m.step for m in history) == list(range(steps)), (r.info.run_id, history)
        versions = d.search_model_versions(f"name = '{name}'", max_results=1000)
        assert sorted(int(v.version) for v in versions) == list(range(1, total + 1)), d.tracking_uri
        for v in versions:
            assert version_of[v.run_id] == int(v.version) and v.tags["run"] == v.run_id
        assert [v.version for v in d.get_registered_model(name).latest_versions] == [str(total)]


class Load:
    """Client threads that keep the cluster busy through the balancer and
    record every operation that fails."""

    def __init__(self, cluster, experiment_id: str, tmp: Path):
        self.cluster = cluster
        self.exp = experiment_id
        self.tmp = tmp
        self.stop = threading.Event()
        self.counts: dict[str, int] = {"tracking": 0, "artifacts": 0, "inference": 0}
        self.failures: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._loop, args=(kind, i), daemon=True)
                        for i, kind in enumerate(["tracking", "tracking", "artifacts", "inference"])]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def _loop(self, kind: str, index: int) -> None:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=self.cluster.lb.url)
        session = requests.Session()
        op = {"tracking": self._tracking, "artifacts": self._artifacts, "inference": self._inference}[kind]
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                op(client, session, f"{index}-{n}")
                with self.lock:
                    self.counts[kind] += 1
            except Exception as e:  # noqa: BLE001 - every failure is the finding
                with self.lock:
                    self.failures.append(f"{kind} #{n}: {type(e).__name__}: {str(e)[:300]}")

    def _tracking(self, client, session, tag: str) -> None:
        from mlflow.entities import Metric, Param

        rid = client.create_run(self.exp, run_name=f"load-{tag}").info.run_id
        client.log_batch(rid, metrics=[Metric("loss", 0.5, 1_700_000_000_000, s) for s in range(3)],
                         params=[Param("tag", tag)])
        got = client.get_run(rid)
        assert got.data.params == {"tag": tag} and got.data.metrics == {"loss": 0.5}, got.data
        client.set_terminated(rid)

    def _artifacts(self, client, session, tag: str) -> None:
        rid = client.create_run(self.exp, run_name=f"artifacts-{tag}").info.run_id
        src = self.tmp / f"blob-{tag}.bin"
        src.write_bytes(os.urandom(48 * 1024))
        client.log_artifact(rid, str(src), artifact_path="blobs")
        assert [f.path for f in client.list_artifacts(rid, "blobs")] == [f"blobs/{src.name}"]
        dst = self.tmp / f"dl-{tag}"
        dst.mkdir()
        got = client.download_artifacts(rid, f"blobs/{src.name}", str(dst))
        assert filecmp.cmp(src, got, shallow=False)
        src.unlink()
        Path(got).unlink()

    def _inference(self, client, session, tag: str) -> None:
        import xgboost as xgb

        X = self.cluster.X[:8]
        body = {"id": tag, "inputs": [{"name": "input-0", "shape": list(X.shape), "datatype": "FP32",
                                       "data": X.tolist()}]}
        r = session.post(f"{self.cluster.lb.url}/v2/models/{MODEL}/infer", json=body, timeout=60)
        assert r.status_code == 200, r.text[:300]
        (out,) = r.json()["outputs"]
        expected = self.cluster.booster.predict(xgb.DMatrix(X))
        assert np.allclose(np.asarray(out["data"], dtype=np.float64), expected, rtol=1e-5), out


def _drain_and_restart(cluster, replica: Replica) -> dict:
    """SIGTERM, watch the drain from outside, wait for exit 0, start again on
    the same port, wait until the balancer routes to it. Returns timings."""
    lb = cluster.lb
    t0 = time.monotonic()
    replica.proc.send_signal(signal.SIGTERM)
    saw_draining = saw_live = False
    while replica.proc.poll() is None and not (saw_draining and saw_live):
        try:
            health = requests.get(replica.base_url + "/health", timeout=5)
            if health.status_code == 503 and health.json()["status"] == "draining":
                saw_draining = True
            live = requests.get(replica.base_url + "/health/live", timeout=5)
            saw_live = saw_live or (live.status_code == 200 and live.json() == {"status": "alive"})
        except requests.ConnectionError:
            break  # the listener closed
    assert saw_draining and saw_live, f"{replica.base_url}: no 503 'draining' + live 200 seen before the exit"
    rc = replica.proc.wait(60)
    exited = time.monotonic()
    assert rc == 0, f"{replica.base_url} exited with {rc} after SIGTERM\n{replica.log_text()[-3000:]}"
    stats = lb.snapshot()[replica.base_url]
    unready_at = next((t for t, healthy in reversed(stats.transitions) if not healthy and t >= t0), None)
    before = stats.requests
    replica.start()
    lb.wait_ready(replica.base_url, True)
    ready_again = time.monotonic()
    # Let the balancer send it real traffic before the next replica goes.
    deadline = time.monotonic() + 30
    while lb.snapshot()[replica.base_url].requests < before + 20:
        assert time.monotonic() < deadline, f"{replica.base_url} got no traffic after its restart"
        time.sleep(0.05)
    return {"replica": replica.base_url,
            "unready_after_ms": None if unready_at is None else round((unready_at - t0) * 1000),
            "last_routed_after_ms": round((stats.last_request - t0) * 1000),
            "exited_after_ms": round((exited - t0) * 1000),
            "ready_again_after_ms": round((ready_again - t0) * 1000)}


def check_rolling_restart_under_load(cluster, tmp_path):
    lb_client, _ = _clients(cluster)
    exp = lb_client.create_experiment(f"rolling-{uuid.uuid4().hex[:8]}")
    before = cluster.lb.snapshot()
    timings = []
    with Load(cluster, exp, tmp_path) as load:
        time.sleep(1.0)  # the load is running before the first SIGTERM
        for replica in cluster.replicas:
            timings.append(_drain_and_restart(cluster, replica))
        time.sleep(0.5)
    snap = cluster.lb.snapshot()
    report = {url: {"requests": s.requests - before[url].requests, "failures": s.failures,
                    "statuses": {code: n - before[url].statuses.get(code, 0) for code, n in s.statuses.items()},
                    "closed_by_backend": s.closed_by_backend, "stale_discarded": s.stale_discarded,
                    "probes": s.probe_statuses, "errors": s.errors} for url, s in snap.items()}
    print("\nreplica-lb per backend:", report, "\nrestarts:", timings, "\nclient operations:", load.counts)
    assert load.failures == [], load.failures[:20]
    assert cluster.lb.no_backend == 0
    assert all(s.failures == 0 for s in snap.values()), report
    assert all(int(code) < 500 for s in snap.values() for code in s.statuses), report
    # Enough traffic that "no failure" means something: every kind of
    # operation ran many times, and every replica served before and after its restart.
    assert load.counts["tracking"] >= 40 and load.counts["artifacts"] >= 10 and load.counts["inference"] >= 40, \
        load.counts
    assert sum(r["requests"] for r in report.values()) >= 500, report


# Only the PostgreSQL pass collects these (see the module docstring).
if BACKEND == "postgres":
    test_concurrent_writers_through_the_balancer = check_concurrent_writers
    test_rolling_restart_under_load_fails_no_request = check_rolling_restart_under_load
