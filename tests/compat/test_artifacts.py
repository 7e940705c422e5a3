"""Proxied artifact service: raw HTTP on /api/2.0/mlflow-artifacts/artifacts."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import requests

from conftest import TARGET, error_of

ART = "/api/2.0/mlflow-artifacts/artifacts"


def raw_request(base: str, method: str, path: str, body: bytes | None = None, timeout: float = 30,
                with_location: bool = False):
    """Send `path` byte-for-byte (no client-side dot-segment normalisation)."""
    u = urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        headers = {"Content-Length": str(len(body))} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if with_location:
            return resp.status, data, resp.getheader("Location")
        return resp.status, data
    finally:
        conn.close()


def json_error_code(data: bytes):
    try:
        return json.loads(data).get("error_code")
    except ValueError:
        return None


@pytest.fixture
def prefix():
    return f"compat-raw/{uuid.uuid4().hex}"


def put(base, path, data, **kw):
    return requests.put(f"{base}{ART}/{quote(path)}", data=data, timeout=120, **kw)


def get(base, path, **kw):
    return requests.get(f"{base}{ART}/{quote(path)}", timeout=120, **kw)


def listing(base, path=None):
    params = {"path": path} if path is not None else None
    r = requests.get(f"{base}{ART}", params=params, timeout=30)
    assert r.status_code == 200, r.text
    return {f["path"]: f for f in r.json().get("files", [])}


def test_put_get_round_trip(server, prefix):
    blob = bytes(range(256)) * 37 + b"\r\n\x00tail"
    r = put(server, f"{prefix}/bin/blob.dat", blob)
    assert r.status_code == 200, r.text
    r = get(server, f"{prefix}/bin/blob.dat")
    assert r.status_code == 200
    assert r.content == blob

    # Overwrite replaces the content.
    assert put(server, f"{prefix}/bin/blob.dat", b"second").status_code == 200
    assert get(server, f"{prefix}/bin/blob.dat").content == b"second"

    # Empty file.
    assert put(server, f"{prefix}/empty.txt", b"").status_code == 200
    r = get(server, f"{prefix}/empty.txt")
    assert r.status_code == 200 and r.content == b""

    # Unicode and spaces in names (percent-encoded on the wire).
    assert put(server, f"{prefix}/ünï cödé/a b.txt", "héllo".encode()).status_code == 200
    assert get(server, f"{prefix}/ünï cödé/a b.txt").content == "héllo".encode()
    assert set(listing(server, f"{prefix}/ünï cödé")) == {"a b.txt"}


def test_chunked_upload(server, prefix):
    def gen():
        for i in range(64):
            yield bytes([i]) * 4096

    r = put(server, f"{prefix}/chunked.bin", gen())  # Transfer-Encoding: chunked
    assert r.status_code == 200, r.text
    body = get(server, f"{prefix}/chunked.bin").content
    assert body == b"".join(bytes([i]) * 4096 for i in range(64))


def test_listing(server, prefix):
    files = {
        f"{prefix}/a.txt": b"A",
        f"{prefix}/d1/b.txt": b"BB",
        f"{prefix}/d1/d2/c.txt": b"CCC",
        f"{prefix}/d3/d4/d5/e.txt": b"EEEEE",
    }
    for path, data in files.items():
        assert put(server, path, data).status_code == 200

    top = listing(server, prefix)
    assert set(top) == {"a.txt", "d1", "d3"}
    assert top["a.txt"]["is_dir"] is False and int(top["a.txt"]["file_size"]) == 1
    assert top["d1"]["is_dir"] is True and "file_size" not in top["d1"]
    d1 = listing(server, f"{prefix}/d1")
    assert set(d1) == {"b.txt", "d2"}
    assert int(d1["b.txt"]["file_size"]) == 2 and d1["d2"]["is_dir"] is True
    deep = listing(server, f"{prefix}/d3/d4/d5")
    assert {k: int(v["file_size"]) for k, v in deep.items()} == {"e.txt": 5}
    # A path that does not exist lists as empty (MLflow answers 200 `{}`).
    assert listing(server, f"{prefix}/missing") == {}
    # The root lists the top-level prefix directory.
    root = listing(server)
    assert "compat-raw" in root and root["compat-raw"]["is_dir"] is True


def test_get_missing_and_directory(server, prefix):
    r = get(server, f"{prefix}/nope.txt")
    assert error_of(r) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert put(server, f"{prefix}/dir/f.txt", b"x").status_code == 200
    r = get(server, f"{prefix}/dir")
    assert r.status_code == 400  # MLflow: a directory is not downloadable
    r = put(server, f"{prefix}/", b"no file name")
    assert r.status_code == 400  # MLflow: "Artifact path must include a filename"


def test_delete(server, prefix):
    for p in ("keep.txt", "gone.txt", "tree/x.txt", "tree/sub/y.txt"):
        assert put(server, f"{prefix}/{p}", p.encode()).status_code == 200
    r = requests.delete(f"{server}{ART}/{prefix}/gone.txt", timeout=30)
    assert r.status_code == 200, r.text
    assert error_of(get(server, f"{prefix}/gone.txt")) == (404, "RESOURCE_DOES_NOT_EXIST")
    # Deleting a directory removes it recursively.
    r = requests.delete(f"{server}{ART}/{prefix}/tree", timeout=30)
    assert r.status_code == 200, r.text
    assert listing(server, f"{prefix}/tree") == {}
    assert set(listing(server, prefix)) == {"keep.txt"}
    assert get(server, f"{prefix}/keep.txt").content == b"keep.txt"
    # Deleting something that does not exist is not an error in MLflow.
    r = requests.delete(f"{server}{ART}/{prefix}/never-existed.txt", timeout=30)
    assert r.status_code == 200


ESCAPES = [
    "../{name}",
    "../../{name}",
    "../../../{name}",
    "a/../../{name}",
    "%2e%2e/{name}",
    "%2E%2E/%2E%2E/{name}",
    "a/%2e%2e/%2e%2e/{name}",
    "..%2f{name}",
    "..%2F..%2F{name}",
    "a%2f..%2f..%2f{name}",
    "%252e%252e/{name}",  # double-encoded
    "/tmp/{name}",  # -> //tmp/... absolute
    "%2ftmp%2f{name}",
    "%2Ftmp%2F{name}",
    ".%2e/.%2e/{name}",
]


def _escape_targets(server_proc, name):
    """Everywhere a traversal could plausibly land."""
    roots = {server_proc.data_dir, server_proc.data_dir.parent, server_proc.artifacts_dir.parent,
             Path("/tmp"), Path("/")}
    return [r / name for r in roots]


def test_path_escape_refused(server, server_proc, prefix):
    token = uuid.uuid4().hex
    for i, pattern in enumerate(ESCAPES):
        name = f"kiln-escape-{token}-{i}.txt"
        rel = pattern.format(name=name)
        path = f"{ART}/{rel}"
        status, data = raw_request(server, "PUT", path, b"pwned")
        assert status == 400 and json_error_code(data) == "INVALID_PARAMETER_VALUE", (rel, status, data[:200])
        # The exact wording MLflow uses; clients and users match on it.
        assert json.loads(data)["message"] == "Invalid path", (rel, data[:200])
        status, data = raw_request(server, "GET", path)
        assert status == 400 and json.loads(data)["message"] == "Invalid path", (rel, status, data[:200])
        status, data, location = raw_request(server, "DELETE", path, with_location=True)
        if status == 308:
            # MLflow (Flask merge_slashes) answers DELETE //x with a redirect to the
            # merged path *inside* the artifact root rather than a 400. Either is safe.
            assert location and urlsplit(location).path.startswith(ART + "/") and ".." not in location, location
        else:
            assert status == 400, (rel, status, data[:200])
        status, data = raw_request(server, "GET", f"{ART}?path={rel}")
        assert status == 400 and json.loads(data)["message"] == "Invalid path", ("list", rel, status, data[:200])
        for target in _escape_targets(server_proc, name):
            assert not target.exists(), f"{rel!r} wrote {target}"

    # Nothing with the token anywhere under the server's temp tree.
    leaked = [p for p in server_proc.data_dir.parent.rglob(f"*{token}*")]
    assert leaked == []
    # The server still works.
    assert put(server, f"{prefix}/after.txt", b"ok").status_code == 200


def test_path_escape_cannot_read_or_delete_outside(server, server_proc):
    token = uuid.uuid4().hex
    victims = []
    for d in {server_proc.data_dir, server_proc.data_dir.parent}:
        v = d / f"victim-{token}.txt"
        v.write_text("secret")
        victims.append(v)
    name = f"victim-{token}.txt"
    for depth in range(1, 4):
        for sep in ("../", "%2e%2e/", "..%2f"):
            rel = sep * depth + name
            status, data = raw_request(server, "GET", f"{ART}/{rel}")
            assert status == 400 and b"secret" not in data, (rel, status)
            status, _ = raw_request(server, "DELETE", f"{ART}/{rel}")
            assert status == 400, (rel, status)
    for v in victims:
        assert v.read_text() == "secret"


def test_backslash_is_not_a_separator(server, server_proc):
    # MLflow (on POSIX) treats '\' as an ordinary character: the request either
    # is refused or stays inside the artifact root -- it never escapes.
    token = uuid.uuid4().hex
    rel = f"compat-raw/{token}/..%5c..%5c..%5cbs-{token}.txt"
    status, _ = raw_request(server, "PUT", f"{ART}/{rel}", b"bs")
    assert status in (200, 400), status
    outside = [p for p in server_proc.data_dir.parent.rglob(f"bs-{token}*")
               if server_proc.artifacts_dir not in p.parents]
    assert outside == []
    for target in _escape_targets(server_proc, f"bs-{token}.txt"):
        assert not target.exists()


# --------------------------------------------------------------------------
# large transfer
# --------------------------------------------------------------------------

class GeneratedBody:
    """A deterministic, non-repeating byte stream of known length, produced on the fly."""

    CHUNK = 1 << 20

    def __init__(self, size: int, seed: bytes):
        self.size = size
        self.pos = 0
        self.base = hashlib.sha256(seed).digest() * (self.CHUNK // 32)
        self.buf = b""
        self.chunk_index = 0
        self.sha = hashlib.sha256()

    def __len__(self):
        return self.size

    def _next_chunk(self) -> bytes:
        n = min(self.CHUNK, self.size - self.chunk_index * self.CHUNK)
        idx = self.chunk_index.to_bytes(8, "little")
        chunk = (idx + self.base[8:])[:n]
        self.chunk_index += 1
        self.sha.update(chunk)
        return chunk

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.size - self.pos
        while len(self.buf) < n and self.chunk_index * self.CHUNK < self.size:
            self.buf += self._next_chunk()
        out, self.buf = self.buf[:n], self.buf[n:]
        self.pos += len(out)
        return out


class RssSampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.max_kb = 0
        self.samples = 0
        self._stop_evt = threading.Event()

    def run(self):
        while not self._stop_evt.is_set():
            try:
                for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.max_kb = max(self.max_kb, int(line.split()[1]))
                        self.samples += 1
            except OSError:
                pass
            time.sleep(0.05)

    def stop(self):
        self._stop_evt.set()
        self.join(5)


RSS_LIMIT_MB = 200


@pytest.mark.parametrize(
    "size_mb",
    [
        64,
        pytest.param(1024, marks=[pytest.mark.kiln_only, pytest.mark.slow, pytest.mark.timeout_s(300)]),
    ],
)
def test_large_streaming_transfer(server, server_proc, size_mb):
    size = size_mb << 20
    path = f"compat-raw/{uuid.uuid4().hex}/large-{size_mb}.bin"
    sampler = RssSampler(server_proc.pid) if TARGET == "kiln" else None
    if sampler:
        sampler.start()
    t0 = time.monotonic()
    try:
        body = GeneratedBody(size, seed=path.encode())
        r = requests.put(f"{server}{ART}/{path}", data=body, timeout=600)
        assert r.status_code == 200, r.text[:500]
        assert body.pos == size
        uploaded = body.sha.hexdigest()
        t_up = time.monotonic() - t0

        entry = listing(server, path.rsplit("/", 1)[0])[path.rsplit("/", 1)[1]]
        assert int(entry["file_size"]) == size

        down = hashlib.sha256()
        got = 0
        with requests.get(f"{server}{ART}/{path}", stream=True, timeout=600) as r:
            assert r.status_code == 200
            for chunk in r.iter_content(chunk_size=1 << 20):
                down.update(chunk)
                got += len(chunk)
        t_total = time.monotonic() - t0
    finally:
        if sampler:
            sampler.stop()
    assert got == size
    assert down.hexdigest() == uploaded
    requests.delete(f"{server}{ART}/{path}", timeout=60)
    print(f"{size_mb} MiB: upload {t_up:.1f}s, total {t_total:.1f}s"
          + (f", max server RSS {sampler.max_kb / 1024:.0f} MB over {sampler.samples} samples" if sampler else ""))
    if sampler:
        assert sampler.samples > 0
        assert sampler.max_kb < RSS_LIMIT_MB * 1024, (
            f"kiln RSS reached {sampler.max_kb / 1024:.0f} MB during a {size_mb} MiB transfer "
            f"(limit {RSS_LIMIT_MB} MB): artifacts must be streamed, not buffered")
