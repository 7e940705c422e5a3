"""kiln's S3 artifact store (issue 13 item 2) against a real S3 server.

A versitygw gateway (s3_server.py; strict SigV4 checking) is started on a
free loopback port; kiln runs with --artifacts-uri s3://bucket/prefix and the
endpoint and credentials in the environment, as AWS SDKs read them. The
unmodified mlflow client logs, lists, downloads and deletes artifacts;
XGBoost models are registered (the registry's copy is made in S3) and served
from a local cache of the S3 files. What reached S3 is checked on the
gateway's side (its posix backend keeps bucket/key as a file; HEAD and
ListMultipartUploads through curl's own SigV4).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import subprocess
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from conftest import ServerProcess, kiln_binary
from s3_server import S3Server

pytestmark = pytest.mark.kiln_only

BUCKET = "kiln-artifacts"
PREFIX = "deploy/a"
PAGE = 3  # ListObjectsV2 max-keys: every listing of more than 3 entries takes several pages
ART = "/api/2.0/mlflow-artifacts/artifacts"
RSS_LIMIT_MB = 300


@pytest.fixture(scope="module")
def s3(compat_tmp_root):
    srv = S3Server(compat_tmp_root / f"s3-{uuid.uuid4().hex[:6]}").start()
    srv.create_bucket(BUCKET)
    yield srv
    srv.stop()


def start_kiln(root: Path, uri: str, env: dict[str, str], *extra: str) -> ServerProcess:
    srv = ServerProcess("kiln", root / f"kiln-s3-{uuid.uuid4().hex[:6]}", ["--artifacts-uri", uri, *extra])
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        srv.start()
    return srv


@pytest.fixture(scope="module")
def kiln(s3, compat_tmp_root):
    srv = start_kiln(compat_tmp_root, f"s3://{BUCKET}/{PREFIX}?list_page_size={PAGE}", s3.env())
    yield srv
    srv.stop(check=True)


@pytest.fixture
def mlflow_on(kiln, monkeypatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", kiln.url)
    mlflow.set_tracking_uri(kiln.url)
    # The fluent API remembers the active experiment across tests: an id from
    # the shared server means nothing on this one.
    mlflow.set_experiment(f"s3-fluent-{uuid.uuid4().hex[:8]}")
    yield mlflow  # the autouse _tracking_uri fixture points the next test back at the shared server


def new_run(mlflow, name: str):
    from mlflow import MlflowClient

    client = MlflowClient()
    eid = client.create_experiment(f"s3-{name}-{uuid.uuid4().hex[:8]}")
    return client, client.create_run(eid)


def s3_keys(s3: S3Server, under: str) -> dict[str, int]:
    """Objects the gateway holds under PREFIX/under, with sizes (its posix files)."""
    base = s3.object_file(BUCKET, f"{PREFIX}/{under}")
    out = {}
    if base.is_dir():
        for p in base.rglob("*"):
            if p.is_file() and not any(part.startswith(".sgwtmp") for part in p.parts):
                out[str(p.relative_to(base))] = p.stat().st_size
    return out


def head_etag(s3: S3Server, key: str) -> str:
    code, body = s3.curl("HEAD", f"/{BUCKET}/{key}", "-I")
    assert code == 200, body
    for line in body.decode().splitlines():
        if line.lower().startswith("etag:"):
            return line.split(":", 1)[1].strip().strip('"')
    raise AssertionError(f"no ETag in {body!r}")


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


# --------------------------------------------------------------------------


def test_mlflow_logs_lists_and_downloads_through_s3(s3, kiln, mlflow_on, tmp_path):
    client, run = new_run(mlflow_on, "roundtrip")
    files = {f"f{i:02d}.txt": f"file {i}\n".encode() * (i + 1) for i in range(8)}
    files.update({"sub/deeper/x.bin": os.urandom(5000), "sub/y.json": b'{"a": 1}', "sub/z z.txt": b"spaces"})
    src = tmp_path / "src"
    write_tree(src, files)
    client.log_artifacts(run.info.run_id, str(src), artifact_path="out")

    # Listing: 8 files + 1 directory at the top (several pages of 3), sizes from S3.
    top = client.list_artifacts(run.info.run_id, "out")
    assert [f.path for f in top] == sorted(f"out/{n}" for n in [*[k for k in files if "/" not in k], "sub"])
    sizes = {f.path: f.file_size for f in top if not f.is_dir}
    assert sizes == {f"out/{k}": len(v) for k, v in files.items() if "/" not in k}
    assert [f.is_dir for f in top if f.path == "out/sub"] == [True]
    sub = client.list_artifacts(run.info.run_id, "out/sub")
    assert [(f.path, f.is_dir) for f in sub] == [("out/sub/deeper", True), ("out/sub/y.json", False),
                                                  ("out/sub/z z.txt", False)]

    dst = Path(client.download_artifacts(run.info.run_id, "out", str(tmp_path / "dst")))
    for rel, data in files.items():
        assert (dst / rel).read_bytes() == data, rel

    # The bytes are in the bucket under the prefix, not in kiln's data dir.
    in_s3 = s3_keys(s3, "")
    for rel, data in files.items():
        matches = [k for k, size in in_s3.items() if k.endswith(f"{run.info.run_id}/artifacts/out/{rel}")]
        assert len(matches) == 1, (rel, sorted(in_s3)[:20])
        assert in_s3[matches[0]] == len(data)
    local = kiln.data_dir / "artifacts"
    assert not local.exists() or not any(p.is_file() for p in local.rglob("*"))


def test_listing_many_files_takes_many_pages(kiln, mlflow_on, tmp_path):
    client, run = new_run(mlflow_on, "pages")
    src = tmp_path / "many"
    names = [f"part-{i:03d}.csv" for i in range(23)]
    write_tree(src, {n: n.encode() for n in names})
    client.log_artifacts(run.info.run_id, str(src), artifact_path="many")
    listed = client.list_artifacts(run.info.run_id, "many")
    assert [f.path for f in listed] == [f"many/{n}" for n in names]  # 23 entries over 8 pages, sorted
    assert all(f.file_size == len(n) for f, n in zip(listed, names))


def test_multipart_upload_of_a_large_file(s3, kiln, mlflow_on, tmp_path):
    client, run = new_run(mlflow_on, "multipart")
    big = tmp_path / "big.bin"
    data = os.urandom(3 << 20) * 7  # 21 MiB: three 8 MiB parts (8 + 8 + 5)
    big.write_bytes(data)
    client.log_artifact(run.info.run_id, str(big), artifact_path="models")
    [entry] = client.list_artifacts(run.info.run_id, "models")
    assert entry.file_size == len(data)
    key = next(k for k in s3_keys(s3, "") if k.endswith(f"{run.info.run_id}/artifacts/models/big.bin"))
    # S3's ETag of a multipart object is "<md5 of the part md5s>-<parts>".
    parts = [data[i:i + (8 << 20)] for i in range(0, len(data), 8 << 20)]
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + f"-{len(parts)}"
    assert head_etag(s3, f"{PREFIX}/{key}") == expected
    got = Path(client.download_artifacts(run.info.run_id, "models/big.bin", str(tmp_path / "dl")))
    assert hashlib.sha256(got.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    assert b"<Upload>" not in s3.multipart_uploads(BUCKET)


def test_a_broken_upload_leaves_nothing_behind(s3, kiln):
    path = f"broken/{uuid.uuid4().hex}/half.bin"
    conn = http.client.HTTPConnection("127.0.0.1", kiln.port, timeout=60)
    conn.putrequest("PUT", f"{ART}/{path}")
    conn.putheader("Content-Length", str(20 << 20))
    conn.endheaders()
    chunk = os.urandom(1 << 20)
    for _ in range(12):  # 12 of 20 MiB: one part went to S3 before the client vanished
        conn.send(chunk)
    time.sleep(0.5)
    conn.sock.close()
    deadline = time.monotonic() + 60
    while b"<Upload>" in s3.multipart_uploads(BUCKET):
        assert time.monotonic() < deadline, "the multipart upload of an uncommitted writer was never aborted"
        time.sleep(0.2)
    r = requests.get(f"{kiln.url}{ART}/{path}", timeout=30)
    assert r.status_code == 404, r.text
    assert not s3.object_file(BUCKET, f"{PREFIX}/{path}").exists()


def test_delete_a_file_and_a_tree(s3, kiln, mlflow_on, tmp_path):
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    client, run = new_run(mlflow_on, "delete")
    src = tmp_path / "d"
    write_tree(src, {"keep.txt": b"k", "gone.txt": b"g", **{f"tree/n{i}/f.txt": b"x" for i in range(5)}})
    client.log_artifacts(run.info.run_id, str(src))
    repo = get_artifact_repository(client.get_run(run.info.run_id).info.artifact_uri)
    repo.delete_artifacts("gone.txt")
    repo.delete_artifacts("tree")
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["keep.txt"]
    left = {k for k in s3_keys(s3, "") if f"/{run.info.run_id}/" in f"/{k}"}
    assert [k.rsplit("/", 1)[1] for k in left] == ["keep.txt"], left
    # Deleting what is not there succeeds, as in MLflow.
    repo.delete_artifacts("tree")


def train(seed: int):
    import xgboost as xgb

    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(64, 4)).astype(np.float32), columns=list("abcd"))
    y = (X["a"] + 0.5 * X["b"] > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2, "eta": 0.5, "seed": seed},
                        xgb.DMatrix(X, label=y), num_boost_round=4)
    return booster, X


def test_register_and_serve_a_model_from_s3(s3, kiln, mlflow_on):
    import xgboost as xgb
    from mlflow.models import infer_signature

    booster, X = train(7)
    expected = booster.predict(xgb.DMatrix(X.iloc[:5]))
    name = f"s3-model-{uuid.uuid4().hex[:8]}"
    with mlflow_on.start_run():
        info = mlflow_on.xgboost.log_model(booster, name="model", signature=infer_signature(X, expected),
                                           pip_requirements=[f"xgboost=={xgb.__version__}"])
    version = int(mlflow_on.register_model(info.model_uri, name).version)
    # The registry's own copy was made in S3.
    registry = s3_keys(s3, "_registry")
    assert any(k.endswith("/MLmodel") for k in registry), sorted(registry)

    ep = f"s3-ep-{uuid.uuid4().hex[:8]}"
    r = requests.post(f"{kiln.url}/api/v1/endpoints", timeout=120,
                      json={"name": ep, "routes": [{"model": name, "version": str(version), "percent": 100}]})
    assert r.status_code == 200, r.text
    r = requests.post(f"{kiln.url}/api/v1/endpoints/{ep}/predict", timeout=60,
                      json={"inputs": X.iloc[:5].values.tolist()})
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()["predictions"], expected, rtol=1e-6)
    # Loaded from a local copy of the S3 files, kept in the data dir's model cache.
    cached = [p for p in (kiln.data_dir / "model_cache").rglob("*") if p.is_file()]
    assert any(p.name == "MLmodel" for p in cached), cached


def run_kiln_expecting_failure(tmp_path: Path, uri: str, env: dict[str, str]) -> tuple[int, str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    full.update(env)
    p = subprocess.run([str(kiln_binary()), "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir",
                        str(tmp_path / "d"), "--artifacts-uri", uri], env=full, capture_output=True, text=True,
                       timeout=120)
    return p.returncode, p.stderr


def test_wrong_credentials_are_refused_at_startup_with_s3s_reason(s3, tmp_path):
    rc, err = run_kiln_expecting_failure(tmp_path, f"s3://{BUCKET}/x",
                                         s3.env(AWS_SECRET_ACCESS_KEY="not-the-secret"))
    assert rc != 0
    assert "SignatureDoesNotMatch" in err and "403" in err, err
    rc, err = run_kiln_expecting_failure(tmp_path, f"s3://{BUCKET}/x", s3.env(AWS_ACCESS_KEY_ID="AKIANOSUCHKEY"))
    assert rc != 0
    # AWS answers 403 InvalidAccessKeyId; versitygw 404 XAdminUserNotFound. Either is refused by name.
    assert "InvalidAccessKeyId" in err or "XAdminUserNotFound" in err, err
    rc, err = run_kiln_expecting_failure(tmp_path, "s3://no-such-bucket/x", s3.env())
    assert rc != 0 and "NoSuchBucket" in err, err
    env = s3.env()
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    env["HOME"] = str(tmp_path)
    rc, err = run_kiln_expecting_failure(tmp_path, f"s3://{BUCKET}/x", env)
    assert rc != 0 and "no S3 credentials" in err, err


def test_credentials_from_the_shared_file_and_profile(s3, compat_tmp_root, tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text(f"[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n"
                     f"[ci]\naws_access_key_id = {s3.access_key}\naws_secret_access_key = {s3.secret_key}\n")
    env = {"AWS_ENDPOINT_URL": s3.endpoint, "AWS_SHARED_CREDENTIALS_FILE": str(creds), "AWS_PROFILE": "ci",
           "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_DEFAULT_REGION": s3.region}
    srv = start_kiln(compat_tmp_root, f"s3://{BUCKET}/profile-test", env)
    try:
        r = requests.put(f"{srv.url}{ART}/p/hello.txt", data=b"hello", timeout=30)
        assert r.status_code == 200, r.text
        assert s3.object_file(BUCKET, "profile-test/p/hello.txt").read_bytes() == b"hello"
    finally:
        srv.stop(check=True)


def test_file_uri_selects_a_local_directory(compat_tmp_root, tmp_path):
    shared = tmp_path / "shared-volume"
    srv = start_kiln(compat_tmp_root, f"file://{shared}", {})
    try:
        r = requests.put(f"{srv.url}{ART}/v/a.txt", data=b"on the volume", timeout=30)
        assert r.status_code == 200, r.text
        assert (shared / "v/a.txt").read_bytes() == b"on the volume"
    finally:
        srv.stop(check=True)


class Pattern:
    """A file-like 1 GiB of non-repeating bytes, hashed as it is read."""

    CHUNK = 1 << 20

    def __init__(self, size: int):
        self.size = size
        self.pos = 0
        self.sha = hashlib.sha256()
        self.base = os.urandom(self.CHUNK)

    def __len__(self):
        return self.size

    def read(self, n: int = -1) -> bytes:
        if self.pos >= self.size:
            return b""
        n = self.CHUNK if n is None or n < 0 else min(n, self.CHUNK)
        n = min(n, self.size - self.pos)
        block = (self.pos // self.CHUNK).to_bytes(8, "little") + self.base[8:]
        off = self.pos % self.CHUNK
        out = block[off:off + n]
        self.pos += len(out)
        self.sha.update(out)
        return out


def vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_a_broken_s3_connection_resumes_and_an_outage_cuts_the_transfer(compat_tmp_root):
    own = S3Server(compat_tmp_root / f"s3-outage-{uuid.uuid4().hex[:6]}").start()
    own.create_bucket(BUCKET)
    srv = start_kiln(compat_tmp_root, f"s3://{BUCKET}/outage", own.env())
    try:
        size = 64 << 20
        body = Pattern(size)
        path = f"o/{uuid.uuid4().hex}.bin"
        assert requests.put(f"{srv.url}{ART}/{path}", data=body, timeout=300).status_code == 200

        # 1. S3 restarts while the client is not reading: kiln's paused GET
        # breaks, and the next read resumes with a ranged GET pinned to the ETag.
        down = hashlib.sha256()
        got = 0
        with requests.get(f"{srv.url}{ART}/{path}", stream=True, timeout=120) as r:
            assert r.status_code == 200
            it = r.iter_content(chunk_size=1 << 20)
            while got < (8 << 20):
                chunk = next(it)
                down.update(chunk)
                got += len(chunk)
            own.stop()
            own.start(same_port=True)
            for chunk in it:
                down.update(chunk)
                got += len(chunk)
        assert got == size
        assert down.hexdigest() == body.sha.hexdigest()
        assert "resuming" in srv.log_text(), "the download never had to resume: the test did not break it"

        # 2. S3 stays down: the transfer is cut short of Content-Length (never
        # a complete-looking short file), and kiln serves again once S3 is back.
        got = 0
        with pytest.raises(requests.exceptions.RequestException):
            with requests.get(f"{srv.url}{ART}/{path}", stream=True, timeout=120) as r:
                assert r.status_code == 200
                it = r.iter_content(chunk_size=1 << 20)
                while got < (8 << 20):
                    got += len(next(it))
                own.stop()
                for chunk in it:
                    got += len(chunk)
        assert got < size
        own.start(same_port=True)
        again = hashlib.sha256()
        with requests.get(f"{srv.url}{ART}/{path}", stream=True, timeout=120) as r:
            assert r.status_code == 200
            for chunk in r.iter_content(chunk_size=1 << 20):
                again.update(chunk)
        assert again.hexdigest() == body.sha.hexdigest()
    finally:
        srv.stop(check=True)
        own.stop()


@pytest.mark.slow
@pytest.mark.timeout_s(600)
def test_one_gib_round_trip_keeps_kiln_memory_flat(s3, compat_tmp_root):
    srv = start_kiln(compat_tmp_root, f"s3://{BUCKET}/gib", s3.env())
    try:
        size = 1 << 30
        path = f"gib/{uuid.uuid4().hex}/one.bin"
        body = Pattern(size)
        r = requests.put(f"{srv.url}{ART}/{path}", data=body, timeout=900)
        assert r.status_code == 200, r.text[:500]
        assert body.pos == size
        assert s3.object_file(BUCKET, f"gib/{path}").stat().st_size == size
        assert head_etag(s3, f"gib/{path}").endswith("-128")  # 128 parts of 8 MiB
        down = hashlib.sha256()
        got = 0
        with requests.get(f"{srv.url}{ART}/{path}", stream=True, timeout=900) as r:
            assert r.status_code == 200
            for chunk in r.iter_content(chunk_size=1 << 20):
                down.update(chunk)
                got += len(chunk)
        assert got == size
        assert down.hexdigest() == body.sha.hexdigest()
        hwm = vm_hwm_kb(srv.pid)
        print(f"1 GiB through S3: kiln VmHWM {hwm / 1024:.0f} MiB")
        assert hwm < RSS_LIMIT_MB * 1024, f"kiln's peak RSS reached {hwm / 1024:.0f} MiB moving 1 GiB through S3"
        assert requests.delete(f"{srv.url}{ART}/{path}", timeout=60).status_code == 200
        assert not s3.object_file(BUCKET, f"gib/{path}").exists()
    finally:
        srv.stop(check=True)
