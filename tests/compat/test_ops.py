"""kiln operational surface: /health, /version, /metrics, graceful shutdown.

All kiln_only: `mlflow server` has a plain-text `/health` ("OK"), no `/version`
JSON and no Prometheus metrics unless --expose-prometheus.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.kiln_only

OK_WORDS = {"ok", "healthy", "pass", "passing", "up"}
ART = "/api/2.0/mlflow-artifacts/artifacts"


def _is_ok(check) -> bool:
    if isinstance(check, bool):
        return check
    if isinstance(check, str):
        return check.lower() in OK_WORDS
    if isinstance(check, dict):
        if "status" in check:
            return str(check["status"]).lower() in OK_WORDS
        if "ok" in check:
            return check["ok"] is True
        if "healthy" in check:
            return check["healthy"] is True
    return False


def _find_check(checks: dict, *words: str) -> str:
    for key in checks:
        if any(w in key.lower() for w in words):
            return key
    raise AssertionError(f"no health check naming any of {words}: {sorted(checks)}")


def test_health_ok(server):
    r = requests.get(f"{server}/health", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers.get("Content-Type", "").startswith("application/json")
    body = r.json()
    assert body["status"] == "healthy"
    assert isinstance(body["version"], str) and body["version"]
    checks = body["checks"]
    assert isinstance(checks, dict) and len(checks) >= 2
    meta = _find_check(checks, "metadata", "tracking")
    art = _find_check(checks, "artifact")
    assert meta != art
    assert _is_ok(checks[meta]), checks
    assert _is_ok(checks[art]), checks


def test_version(server):
    # /version answers the MLflow protocol version kiln speaks (MLflow's client
    # gates span logging on it); kiln's own version stays in /health.
    health = requests.get(f"{server}/health", timeout=10).json()
    r = requests.get(f"{server}/version", timeout=10)
    assert r.status_code == 200
    major, minor = (int(p) for p in r.text.strip().split(".")[:2])
    assert (major, minor) >= (3, 4), r.text
    assert health["version"] and health["version"] != r.text


def _requests_total(text: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith("kiln_http_requests_total"):
            total += float(line.rsplit(" ", 1)[-1])
    return total


def test_metrics_exposition(server):
    s = requests.Session()
    for _ in range(3):
        s.get(f"{server}/api/2.0/mlflow/experiments/get", params={"experiment_id": "0"}, timeout=10)
    r1 = s.get(f"{server}/metrics", timeout=10)
    assert r1.status_code == 200
    assert r1.headers.get("Content-Type", "").startswith("text/plain")
    text = r1.text
    assert re.search(r"^# TYPE kiln_http_requests_total counter$", text, re.M), text[:2000]
    assert re.search(r"^kiln_http_requests_total(\{[^}]*\})? \d", text, re.M)
    before = _requests_total(text)
    assert before >= 3
    for _ in range(5):
        s.get(f"{server}/api/2.0/mlflow/runs/get", params={"run_id": "0" * 32}, timeout=10)
    after = _requests_total(s.get(f"{server}/metrics", timeout=10).text)
    assert after >= before + 5

    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    assert Path(promtool).exists(), "promtool is required (Debian package `prometheus`)"
    res = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    assert res.returncode == 0, (res.stdout.decode() + res.stderr.decode())[:3000]


class SlowBody:
    """An upload body that dribbles out so it is in flight when SIGTERM lands."""

    def __init__(self, size: int, delay: float):
        self.size, self.delay, self.sent = size, delay, 0
        self.sha = hashlib.sha256()

    def __len__(self):
        return self.size

    def read(self, n=-1):
        if self.sent >= self.size:
            return b""
        n = min(64 * 1024 if n is None or n < 0 else n, 64 * 1024, self.size - self.sent)
        time.sleep(self.delay)
        chunk = (self.sent // 65536).to_bytes(4, "little") * (n // 4) + b"\0" * (n % 4)
        self.sent += n
        self.sha.update(chunk)
        return chunk


def test_graceful_shutdown_keeps_acknowledged_writes(kiln_factory):
    srv = kiln_factory()
    base = f"{srv.url}/api/2.0/mlflow"
    s = requests.Session()
    eid = s.post(f"{base}/experiments/create", json={"name": "shutdown"}, timeout=10).json()["experiment_id"]
    rid = s.post(f"{base}/runs/create", json={"experiment_id": eid}, timeout=10).json()["run"]["info"]["run_id"]
    assert s.post(f"{base}/runs/log-parameter", json={"run_id": rid, "key": "p", "value": "v"}, timeout=10).ok

    stop = threading.Event()
    acked: dict[int, list[int]] = {}
    batch_acked: list[int] = []

    def writer(w: int):
        sess = requests.Session()
        acked[w] = []
        i = 0
        while not stop.is_set():
            try:
                r = sess.post(f"{base}/runs/log-metric",
                              json={"run_id": rid, "key": f"w{w}", "value": float(i), "timestamp": 1000 + i,
                                    "step": i}, timeout=30)
            except requests.RequestException:
                return  # server gone
            if r.status_code == 200:
                acked[w].append(i)
            i += 1

    def batch_writer():
        sess = requests.Session()
        j = 0
        while not stop.is_set():
            try:
                r = sess.post(f"{base}/runs/log-batch", json={
                    "run_id": rid,
                    "metrics": [{"key": "batch", "value": float(j * 100 + k), "timestamp": 1, "step": j * 100 + k}
                                for k in range(100)]}, timeout=30)
            except requests.RequestException:
                return
            if r.status_code == 200:
                batch_acked.append(j)
            j += 1

    upload = {"path": f"shutdown/{uuid.uuid4().hex}.bin"}

    def uploader():
        body = SlowBody(8 << 20, delay=0.002)  # ~128 reads -> >= 0.25 s in flight
        try:
            r = requests.put(f"{srv.url}{ART}/{upload['path']}", data=body, timeout=60)
            upload["status"] = r.status_code
            upload["sha"] = body.sha.hexdigest()
        except requests.RequestException as e:
            upload["error"] = repr(e)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    threads.append(threading.Thread(target=batch_writer))
    for t in threads:
        t.start()
    time.sleep(1.0)
    up = threading.Thread(target=uploader)
    up.start()
    time.sleep(0.1)
    try:
        code = srv.stop(check=True)  # SIGTERM; asserts exit status 0
    finally:
        stop.set()
        for t in threads:
            t.join(60)
        up.join(60)
    assert code == 0
    assert sum(len(v) for v in acked.values()) > 20, "writers made no progress before SIGTERM"

    again = kiln_factory(data_dir=srv.data_dir)
    base2 = f"{again.url}/api/2.0/mlflow"
    run = requests.get(f"{base2}/runs/get", params={"run_id": rid}, timeout=10).json()["run"]
    assert {p["key"]: p["value"] for p in run["data"]["params"]} == {"p": "v"}
    for w, steps in acked.items():
        r = requests.get(f"{base2}/metrics/get-history", params={"run_id": rid, "metric_key": f"w{w}"}, timeout=30)
        assert r.status_code == 200
        present = {int(m.get("step", 0)) for m in r.json().get("metrics", [])}
        missing = set(steps) - present
        assert not missing, f"writer {w}: {len(missing)} acknowledged metrics lost, e.g. {sorted(missing)[:5]}"
    if batch_acked:
        r = requests.get(f"{base2}/metrics/get-history", params={"run_id": rid, "metric_key": "batch"}, timeout=30)
        present = {int(m.get("step", 0)) for m in r.json().get("metrics", [])}
        for j in batch_acked:
            assert set(range(j * 100, j * 100 + 100)) <= present, f"acknowledged batch {j} lost or partial"
    if upload.get("status") == 200:
        r = requests.get(f"{again.url}{ART}/{upload['path']}", timeout=60)
        assert r.status_code == 200
        assert hashlib.sha256(r.content).hexdigest() == upload["sha"], "acknowledged upload is corrupt"


def _artifact_root(srv) -> Path:
    marker = f"root-probe-{uuid.uuid4().hex}"
    r = requests.put(f"{srv.url}{ART}/{marker}/x.txt", data=b"x", timeout=10)
    assert r.status_code == 200, r.text
    hits = [p for p in srv.data_dir.rglob(marker) if p.is_dir()]
    if hits:
        return hits[0].parent
    candidates = [p for p in srv.data_dir.rglob("artifacts") if p.is_dir()]
    assert candidates, f"cannot locate kiln's artifact root under {srv.data_dir}"
    return candidates[0]


def _poll_health(url: str, want_status: int, timeout_s: float = 5.0):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = requests.get(f"{url}/health", timeout=5)
        if last.status_code == want_status:
            return last
        time.sleep(0.1)
    raise AssertionError(f"/health stayed {last.status_code} {last.text[:500]!r}, wanted {want_status}")


def test_health_unhealthy_when_artifact_root_unusable(kiln_factory):
    srv = kiln_factory()
    _poll_health(srv.url, 200)
    root = _artifact_root(srv)
    # chmod 000 does not stop root; replace the directory with a regular file.
    shutil.rmtree(root)
    root.write_text("this is not a directory")
    try:
        r = _poll_health(srv.url, 503)
        body = r.json()
        assert body["status"] == "unhealthy"
        checks = body["checks"]
        art = _find_check(checks, "artifact")
        meta = _find_check(checks, "metadata", "tracking")
        assert not _is_ok(checks[art]), checks
        assert _is_ok(checks[meta]), checks
        # Tracking metadata keeps working while artifacts are broken.
        r = requests.post(f"{srv.url}/api/2.0/mlflow/experiments/create", json={"name": "still-works"}, timeout=10)
        assert r.status_code == 200, r.text
    finally:
        root.unlink()
        root.mkdir()
    # Once the directory is back, health recovers.
    body = _poll_health(srv.url, 200).json()
    assert body["status"] == "healthy"
