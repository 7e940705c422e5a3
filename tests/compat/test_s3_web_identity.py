"""kiln's S3 credentials from web identity (EKS IRSA): AWS_ROLE_ARN +
AWS_WEB_IDENTITY_TOKEN_FILE, exchanged at STS (AssumeRoleWithWebIdentity)
for the keys kiln signs its S3 requests with.

The STS here is the test's own (http.server on a free loopback port, named
to kiln by AWS_ENDPOINT_URL_STS): it checks Action, Version, RoleArn,
RoleSessionName and the token exactly as the projected token file holds it,
records every call, and answers in STS's XML. The S3 server is a real
versitygw (s3_server.py) that checks every signature.

Why the STS hands out versitygw's own key pair, mostly without a session
token: versitygw 1.8 accepts a session token only for sessions that its
standalone IAM service minted, and that service mints them only through
AssumeRoleWithWebIdentity against an https OIDC issuer that it refuses to
reach on a loopback or private address (an SSRF guard), i.e. never on this
machine. Any other token is refused with InvalidToken, which is itself what
proves the session token STS returns is sent: when the STS adds one, versitygw
answers InvalidToken (not a signature error), so the header reached it on a
request signed with the STS's keys. The keys themselves are proven to be the
STS's by versitygw accepting them while kiln has no static keys at all, and
refusing kiln (SignatureDoesNotMatch) when the STS returns a wrong secret.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests

from conftest import ServerProcess, kiln_binary
from s3_server import S3Server

pytestmark = pytest.mark.kiln_only

BUCKET = "kiln-irsa"
ROLE = "arn:aws:iam::123456789012:role/kiln-artifacts"
ART = "/api/2.0/mlflow-artifacts/artifacts"


class FakeSts:
    """AssumeRoleWithWebIdentity as AWS answers it, for one role and token."""

    def __init__(self, access_key: str, secret_key: str):
        self.role = ROLE
        self.token = "eyJ-token-1"
        self.access_key = access_key
        self.secret_key = secret_key
        self.session_token: str | None = None  # None: the answer has no SessionToken
        self.lifetime = timedelta(hours=1)
        self.calls: list[dict[str, str]] = []
        self.lock = threading.Lock()
        sts = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(n).decode(), keep_blank_values=True).items()}
                status, body = sts.answer(self.path, self.headers.get("Content-Type", ""), form)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def error(status: int, code: str, message: str) -> tuple[int, str]:
        return status, ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
                        f"<Code>{code}</Code><Message>{message}</Message></Error>"
                        "<RequestId>fake-sts</RequestId></ErrorResponse>")

    def answer(self, path: str, content_type: str, form: dict[str, str]) -> tuple[int, str]:
        with self.lock:
            self.calls.append(form)
        if path != "/" or not content_type.startswith("application/x-www-form-urlencoded"):
            return self.error(400, "InvalidAction", f"unexpected {path} {content_type}")
        if form.get("Action") != "AssumeRoleWithWebIdentity" or form.get("Version") != "2011-06-15":
            return self.error(400, "InvalidAction", f"Could not find operation {form.get('Action')}")
        if not 2 <= len(form.get("RoleSessionName", "")) <= 64:
            return self.error(400, "ValidationError", "RoleSessionName is required")
        if form.get("WebIdentityToken") != self.token:
            return self.error(400, "InvalidIdentityToken", "The web identity token that was passed is not valid")
        if form.get("RoleArn") != self.role:
            return self.error(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
        expiration = (datetime.now(timezone.utc) + self.lifetime).strftime("%Y-%m-%dT%H:%M:%SZ")
        token = f"<SessionToken>{self.session_token}</SessionToken>" if self.session_token is not None else ""
        return 200, ('<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                     "<AssumeRoleWithWebIdentityResult>"
                     "<SubjectFromWebIdentityToken>system:serviceaccount:kiln:kiln</SubjectFromWebIdentityToken>"
                     f"<AssumedRoleUser><Arn>{self.role}/{form['RoleSessionName']}</Arn></AssumedRoleUser>"
                     f"<Credentials><AccessKeyId>{self.access_key}</AccessKeyId>"
                     f"<SecretAccessKey>{self.secret_key}</SecretAccessKey>{token}"
                     f"<Expiration>{expiration}</Expiration></Credentials>"
                     "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>")

    def tokens_seen(self) -> list[str]:
        with self.lock:
            return [c.get("WebIdentityToken", "") for c in self.calls]


@pytest.fixture(scope="module")
def s3(compat_tmp_root):
    srv = S3Server(compat_tmp_root / f"s3-wi-{uuid.uuid4().hex[:6]}").start()
    srv.create_bucket(BUCKET)
    yield srv
    srv.stop()


@pytest.fixture
def sts(s3):
    fake = FakeSts(s3.access_key, s3.secret_key)
    yield fake
    fake.stop()


def irsa_env(s3: S3Server, sts: FakeSts, token_file: Path, home: Path) -> dict[str, str]:
    """What EKS puts in a pod with an IRSA service account (no static keys)."""
    return {
        "AWS_ROLE_ARN": ROLE, "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file),
        "AWS_ROLE_SESSION_NAME": "kiln-compat", "AWS_REGION": s3.region, "AWS_STS_REGIONAL_ENDPOINTS": "regional",
        "AWS_ENDPOINT_URL_S3": s3.endpoint, "AWS_ENDPOINT_URL_STS": sts.endpoint,
        # No static keys and no credentials file: only the web identity can sign.
        "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"), "AWS_CONFIG_FILE": str(home / "no-config"),
        "HOME": str(home),
    }


def start_kiln(root: Path, uri: str, env: dict[str, str]) -> ServerProcess:
    srv = ServerProcess("kiln", root / f"kiln-wi-{uuid.uuid4().hex[:6]}", ["--artifacts-uri", uri])
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        srv.start()
    return srv


def run_kiln_expecting_failure(tmp_path: Path, uri: str, env: dict[str, str]) -> tuple[int, str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    full.update(env)
    p = subprocess.run([str(kiln_binary()), "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir",
                        str(tmp_path / "d"), "--artifacts-uri", uri], env=full, capture_output=True, text=True,
                       timeout=120)
    return p.returncode, p.stderr


@pytest.fixture
def token_file(tmp_path):
    p = tmp_path / "eks.amazonaws.com" / "serviceaccount" / "token"
    p.parent.mkdir(parents=True)
    p.write_text("eyJ-token-1")
    return p


def test_mlflow_logs_and_downloads_with_keys_from_sts(s3, sts, token_file, compat_tmp_root, tmp_path, monkeypatch):
    import mlflow
    from mlflow import MlflowClient

    srv = start_kiln(compat_tmp_root, f"s3://{BUCKET}/irsa", irsa_env(s3, sts, token_file, tmp_path))
    # mlflow-artifacts:/ URIs resolve against the global tracking URI (the
    # autouse _tracking_uri fixture points the next test back).
    monkeypatch.setenv("MLFLOW_TRACKING_URI", srv.url)
    mlflow.set_tracking_uri(srv.url)
    try:
        assert sts.tokens_seen() and set(sts.tokens_seen()) == {"eyJ-token-1"}
        call = sts.calls[0]
        assert call["RoleArn"] == ROLE and call["RoleSessionName"] == "kiln-compat"
        before = len(sts.calls)

        client = MlflowClient(tracking_uri=srv.url)
        eid = client.create_experiment(f"irsa-{uuid.uuid4().hex[:8]}")
        run = client.create_run(eid)
        src = tmp_path / "model.txt"
        payload = os.urandom(3000)
        src.write_bytes(payload)
        client.log_artifact(run.info.run_id, str(src), artifact_path="m")
        assert [f.path for f in client.list_artifacts(run.info.run_id, "m")] == ["m/model.txt"]
        got = Path(client.download_artifacts(run.info.run_id, "m/model.txt", str(tmp_path / "dl")))
        assert got.read_bytes() == payload
        # Written to versitygw with the STS's keys; an hour-long lifetime needs no new STS call.
        keys = [p for p in (s3.data / BUCKET / "irsa").rglob("model.txt")]
        assert len(keys) == 1 and keys[0].read_bytes() == payload
        assert len(sts.calls) == before
    finally:
        srv.stop(check=True)


def test_wrong_keys_from_sts_are_refused_by_s3(s3, sts, token_file, tmp_path):
    sts.secret_key = "not-the-secret"
    rc, err = run_kiln_expecting_failure(tmp_path, f"s3://{BUCKET}/x", irsa_env(s3, sts, token_file, tmp_path))
    assert rc != 0
    assert "SignatureDoesNotMatch" in err, err
    assert sts.tokens_seen() == ["eyJ-token-1"]


def test_the_session_token_from_sts_is_sent(s3, sts, token_file, tmp_path):
    # versitygw refuses a session token it did not mint (see the module doc):
    # InvalidToken means the STS's token reached it, signed with the STS's keys.
    sts.session_token = "FwoGZXIvYXdzEBYaDkiLnSeSsIoNtOkEn"
    rc, err = run_kiln_expecting_failure(tmp_path, f"s3://{BUCKET}/x", irsa_env(s3, sts, token_file, tmp_path))
    assert rc != 0
    assert "InvalidToken" in err, err
    assert "SignatureDoesNotMatch" not in err, err


def test_sts_refusing_the_token_stops_kiln_with_sts_reason(s3, sts, token_file, tmp_path):
    token_file.write_text("eyJ-stale-token")
    rc, err = run_kiln_expecting_failure(tmp_path, f"s3://{BUCKET}/x", irsa_env(s3, sts, token_file, tmp_path))
    assert rc != 0
    assert ROLE in err and "InvalidIdentityToken" in err and "web identity token that was passed is not valid" in err, err
    assert str(token_file) in err, err

    token_file.write_text("eyJ-token-1")
    sts.role = "arn:aws:iam::123456789012:role/someone-else"
    rc, err = run_kiln_expecting_failure(tmp_path, f"s3://{BUCKET}/x", irsa_env(s3, sts, token_file, tmp_path))
    assert rc != 0
    assert ROLE in err and "AccessDenied" in err and "sts:AssumeRoleWithWebIdentity" in err, err

    env = irsa_env(s3, sts, token_file, tmp_path)
    del env["AWS_WEB_IDENTITY_TOKEN_FILE"]
    rc, err = run_kiln_expecting_failure(tmp_path, f"s3://{BUCKET}/x", env)
    assert rc != 0 and "AWS_WEB_IDENTITY_TOKEN_FILE" in err, err


def test_refresh_rereads_the_rotated_token_file(s3, sts, token_file, compat_tmp_root, tmp_path):
    # Keys that expire within kiln's 5-minute refresh window are replaced at
    # the next S3 request, with the token file read again; with under a
    # minute left they are not used at all, so every request asks STS.
    sts.lifetime = timedelta(seconds=30)
    srv = start_kiln(compat_tmp_root, f"s3://{BUCKET}/rotate", irsa_env(s3, sts, token_file, tmp_path))
    try:
        assert set(sts.tokens_seen()) == {"eyJ-token-1"}
        r = requests.put(f"{srv.url}{ART}/a/one.txt", data=b"one", timeout=30)
        assert r.status_code == 200, r.text
        assert sts.tokens_seen()[-1] == "eyJ-token-1" and len(sts.calls) >= 2

        # kubelet rotates the projected token; the old one is no longer valid.
        token_file.write_text("eyJ-token-2")
        sts.token = "eyJ-token-2"
        n = len(sts.calls)
        r = requests.put(f"{srv.url}{ART}/a/two.txt", data=b"two", timeout=30)
        assert r.status_code == 200, r.text
        assert sts.tokens_seen()[n:] and set(sts.tokens_seen()[n:]) == {"eyJ-token-2"}
        r = requests.get(f"{srv.url}{ART}/a/one.txt", timeout=30)
        assert r.status_code == 200 and r.content == b"one"
        assert (s3.data / BUCKET / "rotate" / "a" / "two.txt").read_bytes() == b"two"

        # STS refusing now (a revoked role) and the keys all but expired: the
        # request fails as the server's fault (500, not the caller's 403 or
        # "Invalid path"), naming STS's reason, and nothing reaches S3.
        sts.role = "arn:aws:iam::123456789012:role/revoked"
        r = requests.put(f"{srv.url}{ART}/a/three.txt", data=b"three", timeout=30)
        assert r.status_code == 500, r.text
        assert "AccessDenied" in r.text and ROLE in r.text, r.text
        assert not (s3.data / BUCKET / "rotate" / "a" / "three.txt").exists()
    finally:
        srv.stop(check=True)
