"""A real S3-compatible server for the S3 suites: versitygw (posix backend).

versitygw checks every request's SigV4 signature strictly (a wrong key or a
mis-signed header is refused), so kiln's requests are verified by a server
that is not kiln's code. scripts/setup.sh builds the pinned binary once into
third_party/versitygw/bin; KILN_VERSITYGW overrides the path.

The posix backend stores bucket/key as a file root/bucket/key, which lets the
tests see exactly what reached the server. Bucket creation and multipart
inspection go through curl's own SigV4 (`curl --aws-sigv4`), an independent
client.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VERSITYGW = Path(os.environ.get("KILN_VERSITYGW", REPO / "third_party/versitygw/bin/versitygw"))
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    def __init__(self, root: Path, access_key: str = "AKIAKILNTEST0001", secret_key: str = "kiln-test-secret/0001",
                 region: str = "us-east-1"):
        self.root = Path(root)
        self.data = self.root / "data"
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.log_path = self.root / "versitygw.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, same_port: bool = False) -> "S3Server":
        """Starts the gateway; same_port=True restarts it where clients already point."""
        if not VERSITYGW.exists():
            pytest.fail(f"versitygw not found at {VERSITYGW}: run scripts/setup.sh (or set KILN_VERSITYGW)",
                        pytrace=False)
        self.data.mkdir(parents=True, exist_ok=True)
        if not (same_port and self.port):
            self.port = _free_port()
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [str(VERSITYGW), "--access", self.access_key, "--secret", self.secret_key, "--region", self.region,
             "--port", f"127.0.0.1:{self.port}", "--keep-alive", "--quiet", "posix", str(self.data)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"versitygw exited with {self.proc.returncode}:\n{self.log_path.read_text()}", pytrace=False)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("versitygw did not listen within 30 s", pytrace=False)
                time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    # -- an independent client (curl's SigV4) --------------------------------
    def curl(self, method: str, path: str, *extra: str, secret: str | None = None) -> tuple[int, bytes]:
        out = subprocess.run(
            ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-X", method,
             "--aws-sigv4", f"aws:amz:{self.region}:s3", "--user", f"{self.access_key}:{secret or self.secret_key}",
             "-H", f"x-amz-content-sha256: {EMPTY_SHA256}", *extra, self.endpoint + path],
            check=True, capture_output=True, timeout=60)
        body, _, code = out.stdout.rpartition(b"\n")
        return int(code), body

    def create_bucket(self, name: str) -> None:
        code, body = self.curl("PUT", "/" + name)
        assert code == 200, body

    def multipart_uploads(self, bucket: str) -> bytes:
        code, body = self.curl("GET", f"/{bucket}?uploads=")
        assert code == 200, body
        return body

    def object_file(self, bucket: str, key: str) -> Path:
        """Where the posix backend keeps an object."""
        return self.data / bucket / key

    def env(self, **overrides: str) -> dict[str, str]:
        """What a kiln process needs to reach this server, as AWS SDKs read it."""
        env = {"AWS_ENDPOINT_URL_S3": self.endpoint, "AWS_ACCESS_KEY_ID": self.access_key,
               "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_REGION": self.region}
        env.update(overrides)
        return env
