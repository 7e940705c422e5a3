"""What one replica changes, the others serve (issue 13 item 4): three
`kiln serve` processes with --auth on one PostgreSQL database and one S3
bucket, talked to directly (no balancer), so every answer names the replica
that gave it.

- An endpoint created, updated, rolled back and deleted through one replica
  is served the same way by the other two once the change has reached them
  over LISTEN/NOTIFY (each replica loads the model itself). The replicas
  share one --model-cache-dir, so each version is downloaded from S3 once
  between them, not once per replica.
- A grant made through one replica is decided on the others; a password
  changed through one ends the old password on the others, though they had
  it cached.

Each change is waited for with a deadline (the change normally arrives in
milliseconds; the deadline only keeps a broken feed from hanging the run)
and the time it took is printed.

Only the PostgreSQL pass of `make test` runs this module: replicas share a
database server, which the embedded backend is not.
"""

from __future__ import annotations

import os
import time
import uuid

import mlflow
import numpy as np
import pandas as pd
import pytest
import requests
from mlflow.models import infer_signature

from conftest import BACKEND, ServerProcess
from s3_server import S3Server

BUCKET = "kiln-replica-changes"
ADMIN_PW = "replica-admin-pw-1"
COLUMNS = ["f0", "f1", "f2", "f3"]
DEADLINE_S = 30


class Cluster:
    def __init__(self, replicas: list[ServerProcess]):
        self.replicas = replicas
        self.admin = ("admin", ADMIN_PW)

    @property
    def urls(self) -> list[str]:
        return [r.url for r in self.replicas]


def _frame(seed: int, rows: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(rows, len(COLUMNS))), columns=COLUMNS)


def _register(url: str, name: str, seed: int) -> tuple[str, np.ndarray]:
    import xgboost as xgb

    X = _frame(seed, rows=64)
    y = (X.to_numpy() @ np.random.default_rng(seed + 1).normal(size=len(COLUMNS)) > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(X, label=y), num_boost_round=4)
    probe = _frame(0)
    expected = booster.predict(xgb.DMatrix(probe))
    mlflow.set_tracking_uri(url)
    mlflow.set_experiment(f"replica-changes-{uuid.uuid4().hex[:6]}")
    with mlflow.start_run():
        info = mlflow.xgboost.log_model(booster, name="model", signature=infer_signature(X, expected[:1]),
                                        pip_requirements=[f"xgboost=={xgb.__version__}"])
    return mlflow.register_model(info.model_uri, name).version, expected


def _wait(fn, what: str) -> float:
    """Seconds until fn() is truthy (fails after DEADLINE_S)."""
    start = time.monotonic()
    last = None
    while time.monotonic() - start < DEADLINE_S:
        try:
            if fn():
                return time.monotonic() - start
        except requests.RequestException as e:  # a replica briefly busy is not the answer
            last = e
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what} (last error: {last})")


def _predict(url: str, auth, endpoint: str) -> requests.Response:
    probe = _frame(0)
    return requests.post(f"{url}/api/v1/endpoints/{endpoint}/predict", auth=auth, timeout=30,
                         json={"inputs": {c: probe[c].tolist() for c in COLUMNS}})


def _served_version(url: str, auth, endpoint: str) -> str | None:
    r = _predict(url, auth, endpoint)
    return r.json()["model_version"] if r.status_code == 200 else None


def _downloads(url: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=30).text
    for line in text.splitlines():
        if line.startswith("kiln_model_cache_downloads_total"):
            return float(line.split()[-1])
    return 0.0


@pytest.fixture(scope="module")
def cluster(pg_server, compat_tmp_root):
    root = compat_tmp_root / f"replica-changes-{uuid.uuid4().hex[:6]}"
    root.mkdir()
    s3 = S3Server(root / "s3").start()
    s3.create_bucket(BUCKET)
    secret = root / "secret.key"
    secret.write_bytes(os.urandom(32))
    secret.chmod(0o600)
    pw = root / "admin-password"
    pw.write_text(ADMIN_PW + "\n")
    args = ["--database-uri", pg_server.create_database(),
            "--artifacts-uri", f"s3://{BUCKET}/artifacts",
            "--model-cache-dir", str(root / "model-cache"),
            "--secret-key-file", str(secret),
            "--auth", "--admin-password-file", str(pw)]
    env = pytest.MonkeyPatch()
    for k, v in s3.env().items():
        env.setenv(k, v)
    env.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    env.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN_PW)
    replicas: list[ServerProcess] = []
    try:
        for i in range(3):
            replicas.append(ServerProcess("kiln", root / f"replica-{i}", args).start())
        yield Cluster(replicas)
    finally:
        for r in replicas:
            r.stop(check=True)
        s3.stop()
        env.undo()


if BACKEND == "postgres":

    def test_endpoint_changes_reach_every_replica_and_models_download_once(cluster):
        a, b, c = cluster.urls
        auth = cluster.admin
        name = f"rc-model-{uuid.uuid4().hex[:6]}"
        v1, e1 = _register(a, name, seed=1)
        v2, e2 = _register(a, name, seed=2)
        assert not np.allclose(e1, e2)
        downloads_before = sum(_downloads(u) for u in cluster.urls)

        ep = f"rc-ep-{uuid.uuid4().hex[:6]}"
        r = requests.post(f"{a}/api/v1/endpoints", auth=auth, timeout=60,
                          json={"name": ep, "routes": [{"model": name, "version": v1, "percent": 100}]})
        assert r.status_code == 200, r.text
        for url in (b, c):
            took = _wait(lambda url=url: _served_version(url, auth, ep) == v1, f"{url} to serve {ep}")
            print(f"create reached {url} in {took * 1000:.0f} ms")
            got = _predict(url, auth, ep).json()
            np.testing.assert_allclose(np.asarray(got["predictions"], dtype=np.float32).ravel(), e1, rtol=1e-6)

        # A new revision through B: A and C follow.
        r = requests.patch(f"{b}/api/v1/endpoints/{ep}", auth=auth, timeout=60,
                           json={"routes": [{"model": name, "version": v2, "percent": 100}]})
        assert r.status_code == 200, r.text
        for url in (a, c):
            took = _wait(lambda url=url: _served_version(url, auth, ep) == v2, f"{url} to serve version {v2}")
            print(f"update reached {url} in {took * 1000:.0f} ms")
        # Each version was downloaded from S3 once between the three replicas.
        assert sum(_downloads(u) for u in cluster.urls) - downloads_before == 2

        # A rollback through C: A and B follow, at once (the previous version stayed loaded).
        r = requests.post(f"{c}/api/v1/endpoints/{ep}:rollback", auth=auth, timeout=60, json={})
        assert r.status_code == 200, r.text
        for url in (a, b):
            _wait(lambda url=url: _served_version(url, auth, ep) == v1, f"{url} to roll back")
        assert requests.get(f"{a}/api/v1/endpoints/{ep}", auth=auth, timeout=30).json()["status"]["rolled_out_revision"] == 1

        # Deleted through A: nobody serves it any more.
        r = requests.delete(f"{a}/api/v1/endpoints/{ep}", auth=auth, timeout=60)
        assert r.status_code == 200, r.text
        for url in (b, c):
            _wait(lambda url=url: _predict(url, auth, ep).status_code == 404, f"{url} to stop serving {ep}")

    def test_grants_and_password_changes_reach_every_replica(cluster):
        a, b, c = cluster.urls
        admin = cluster.admin
        user = f"rc-{uuid.uuid4().hex[:6]}"
        old_pw, new_pw = "first-password-1", "second-password-2"
        r = requests.post(f"{a}/api/2.0/mlflow/users/create", auth=admin, timeout=30,
                          json={"username": user, "password": old_pw})
        assert r.status_code == 200, r.text
        r = requests.post(f"{a}/api/2.0/mlflow/experiments/create", auth=admin, timeout=30,
                          json={"name": f"rc-exp-{uuid.uuid4().hex[:6]}"})
        assert r.status_code == 200, r.text
        exp = r.json()["experiment_id"]

        def set_tag(url, pw):
            return requests.post(f"{url}/api/2.0/mlflow/experiments/set-experiment-tag", auth=(user, pw),
                                 timeout=30, json={"experiment_id": exp, "key": "k", "value": "v"})

        # The default role reads; writing needs a grant. B and C cache the credential now.
        for url in (b, c):
            assert set_tag(url, old_pw).status_code == 403
        r = requests.post(f"{a}/api/v1/grants", auth=admin, timeout=30,
                          json={"subject_kind": "user", "subject": user, "object_kind": "experiment",
                                "object_id": exp, "role": "editor"})
        assert r.status_code == 200, r.text
        for url in (b, c):
            took = _wait(lambda url=url: set_tag(url, old_pw).status_code == 200, f"{url} to honour the grant")
            print(f"grant reached {url} in {took * 1000:.0f} ms")

        r = requests.patch(f"{a}/api/2.0/mlflow/users/update-password", auth=admin, timeout=30,
                          json={"username": user, "password": new_pw})
        assert r.status_code == 200, r.text
        for url in (b, c):
            took = _wait(lambda url=url: set_tag(url, old_pw).status_code == 401, f"{url} to refuse the old password")
            print(f"password change reached {url} in {took * 1000:.0f} ms")
            assert set_tag(url, new_pw).status_code == 200
