"""TLS on kiln's HTTP and gRPC ports, driven by the unmodified clients with
their own TLS settings and certificates this test makes (a CA, a server
certificate for 127.0.0.1, client certificates):

- mlflow with MLFLOW_TRACKING_SERVER_CERT_PATH (and CLIENT_CERT_PATH for
  mTLS) creates an experiment and logs a run over https; a client that does
  not trust the CA refuses the server, which keeps serving;
- tritonclient.http (ssl=True) and tritonclient.grpc (ssl=True,
  root_certificates) run an inference compared with xgboost's own;
- mTLS: clients without a certificate (or with one from another CA) are
  refused on both ports;
- reload: new certificate files + SIGHUP -> new HTTPS connections see the new
  certificate; gRPC picks renewed files up by itself (file watcher).
kiln-only: MLflow's server has no TLS of its own.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import requests
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
import xgboost as xgb
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from tritonclient.utils import InferenceServerException

from conftest import REPO_ROOT, ServerProcess

pytestmark = pytest.mark.kiln_only

FEATURES = 4
POLL_S = 30.0  # upper bound for a reload to show; the loops end as soon as it does


# -- certificates -------------------------------------------------------------

def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(path: Path, key) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


class Ca:
    def __init__(self, cn: str, directory: Path):
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(hours=1))
                     .not_valid_after(now + datetime.timedelta(days=2))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                  content_commitment=False, key_encipherment=False,
                                                  data_encipherment=False, key_agreement=False,
                                                  encipher_only=False, decipher_only=False), critical=True)
                     .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
                     .sign(self.key, hashes.SHA256()))
        self.path = directory / f"{cn}.pem"
        _write_cert(self.path, self.cert)

    def issue(self, directory: Path, stem: str, cn: str, serial: int, server: bool) -> tuple[Path, Path]:
        """Writes <stem>.pem and <stem>.key; returns their paths."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(self.cert.subject)
                   .public_key(key.public_key()).serial_number(serial)
                   .not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(days=2))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                                  critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                         else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
        _write_cert(cert_path, cert)
        _write_key(key_path, key)
        return cert_path, key_path


class Pki:
    def __init__(self, directory: Path):
        self.dir = directory
        self.ca = Ca("kiln-test-ca", directory)
        self.server_cert, self.server_key = self.ca.issue(directory, "server", "localhost", 1001, server=True)
        self.client_cert, self.client_key = self.ca.issue(directory, "client", "alice", 2001, server=False)
        # MLFLOW_TRACKING_CLIENT_CERT_PATH takes one file: certificate and key.
        self.client_combined = directory / "client-combined.pem"
        self.client_combined.write_bytes(self.client_cert.read_bytes() + self.client_key.read_bytes())
        self.rogue = Ca("rogue-ca", directory)
        self.rogue_cert, self.rogue_key = self.rogue.issue(directory, "mallory", "mallory", 3001, server=False)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def model_repo(tmp_path_factory):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(64, FEATURES)).astype(np.float32)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3},
                        xgb.DMatrix(X, label=(X[:, 0] > 0).astype(int)), 8)
    root = tmp_path_factory.mktemp("tls-models")
    (root / "xgb" / "1").mkdir(parents=True)
    booster.save_model(str(root / "xgb" / "1" / "model.json"))
    return root, X, booster


# -- servers ------------------------------------------------------------------

@pytest.fixture
def tls_kiln(compat_tmp_root, request):
    """Start kiln with TLS files (and any extra flags); stopped with SIGTERM at teardown, exit 0 required."""
    started: list[ServerProcess] = []

    def start(pki: Pki, *extra: str, cert: Path | None = None, key: Path | None = None,
              mutual: bool = False) -> ServerProcess:
        args = ["--tls-cert-file", str(cert or pki.server_cert), "--tls-key-file", str(key or pki.server_key), *extra]
        if mutual:
            args += ["--tls-client-ca-file", str(pki.ca.path)]
        srv = ServerProcess("kiln", compat_tmp_root / f"tls-{request.node.name[:30]}-{uuid.uuid4().hex[:6]}", args)
        srv.tls_verify = str(pki.ca.path)
        if mutual:
            srv.tls_client_cert = (str(pki.client_cert), str(pki.client_key))
        started.append(srv)
        srv.start()
        assert srv.url.startswith("https://"), srv.log_text()
        return srv

    yield start
    for srv in started:
        srv.stop(check=True)


def _mlflow(url: str, env: dict[str, str], script: str) -> subprocess.CompletedProcess:
    """Runs the mlflow client in a child process: its TLS settings are read from the environment."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    full_env.update({"MLFLOW_TRACKING_URI": url, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", **env})
    return subprocess.run([sys.executable, "-c", script], env=full_env, capture_output=True, text=True, timeout=120)


LOG_A_RUN = r"""
import mlflow
from mlflow.tracking import MlflowClient
exp = mlflow.create_experiment("tls-exp")
with mlflow.start_run(experiment_id=exp) as run:
    mlflow.log_param("p", "1")
    mlflow.log_metric("m", 0.5)
    # Streamed upload and download (the proxied artifact routes) over the same TLS settings.
    mlflow.log_text("kiln over tls\n" * 200000, "notes/big.txt")
got = MlflowClient().get_run(run.info.run_id)
assert got.data.params == {"p": "1"} and got.data.metrics == {"m": 0.5}, got.data
assert mlflow.artifacts.load_text(run.info.artifact_uri + "/notes/big.txt") == "kiln over tls\n" * 200000
print("OK", exp)
"""


def _serial(port: int, ca: Path, client: tuple[Path, Path] | None = None) -> int:
    ctx = ssl.create_default_context(cafile=str(ca))
    if client:
        ctx.load_cert_chain(str(client[0]), str(client[1]))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return x509.load_der_x509_certificate(s.getpeercert(binary_form=True)).serial_number


def _infer_http(client, X):
    inp = httpclient.InferInput("input-0", list(X.shape), "FP32")
    inp.set_data_from_numpy(X)
    return client.infer("xgb", [inp]).as_numpy("output-0")


def _infer_grpc(client, X):
    inp = grpcclient.InferInput("input-0", list(X.shape), "FP32")
    inp.set_data_from_numpy(X)
    return client.infer("xgb", [inp]).as_numpy("output-0")


def _close(got, expected):
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64).reshape(-1),
                               np.asarray(expected, dtype=np.float64).reshape(-1), rtol=1e-5, atol=1e-6)


# -- tests --------------------------------------------------------------------

def test_mlflow_logs_a_run_over_https_with_the_test_ca(pki, tls_kiln):
    srv = tls_kiln(pki)
    done = _mlflow(srv.url, {"MLFLOW_TRACKING_SERVER_CERT_PATH": str(pki.ca.path)}, LOG_A_RUN)
    assert done.returncode == 0 and "OK" in done.stdout, done.stderr[-3000:]
    r = requests.get(srv.url + "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "tls-exp"},
                     verify=str(pki.ca.path), timeout=10)
    assert r.status_code == 200 and r.json()["experiment"]["name"] == "tls-exp"


def test_a_client_that_does_not_trust_the_ca_refuses_and_the_server_keeps_serving(pki, tls_kiln):
    srv = tls_kiln(pki)
    # The system's CAs (no SERVER_CERT_PATH), then a CA that did not sign the server's certificate.
    for env in ({}, {"MLFLOW_TRACKING_SERVER_CERT_PATH": str(pki.rogue.path)}):
        done = _mlflow(srv.url, env, LOG_A_RUN)
        assert done.returncode != 0, done.stdout
        assert "CERTIFICATE_VERIFY_FAILED" in done.stderr or "certificate verify failed" in done.stderr, \
            done.stderr[-3000:]
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(srv.url + "/health", timeout=10)
    # Plain HTTP to the TLS port is answered with a readable refusal, not a hang.
    plain = requests.get(srv.url.replace("https://", "http://") + "/health", timeout=10)
    assert plain.status_code == 400 and "HTTPS" in plain.text
    assert requests.get(srv.url + "/health", verify=str(pki.ca.path), timeout=10).status_code == 200


def test_tritonclient_http_and_grpc_infer_over_tls(pki, tls_kiln, model_repo):
    root, X, booster = model_repo
    srv = tls_kiln(pki, "--model-repository", str(root), "--grpc-port", "0")
    assert srv.grpc_port, srv.log_text()
    expected = booster.predict(xgb.DMatrix(X))

    http = httpclient.InferenceServerClient(url=srv.url.removeprefix("https://"), ssl=True,
                                            ssl_options={"ca_certs": str(pki.ca.path)})
    try:
        assert http.is_server_ready()
        _close(_infer_http(http, X), expected)
    finally:
        http.close()

    grpc = grpcclient.InferenceServerClient(url=f"127.0.0.1:{srv.grpc_port}", ssl=True,
                                            root_certificates=str(pki.ca.path))
    try:
        assert grpc.is_server_live()
        _close(_infer_grpc(grpc, X), expected)
    finally:
        grpc.close()

    # gRPC without TLS against the TLS port: refused, not answered in the clear.
    insecure = grpcclient.InferenceServerClient(url=f"127.0.0.1:{srv.grpc_port}")
    try:
        with pytest.raises(InferenceServerException) as err:
            insecure.is_server_live(client_timeout=5)
        assert err.value.status() in ("StatusCode.UNAVAILABLE", "StatusCode.DEADLINE_EXCEEDED"), err.value
    finally:
        insecure.close()


def test_mutual_tls_needs_a_client_certificate_from_the_ca(pki, tls_kiln, model_repo):
    root, X, booster = model_repo
    srv = tls_kiln(pki, "--model-repository", str(root), "--grpc-port", "0", mutual=True)
    ca = str(pki.ca.path)

    # mlflow with CLIENT_CERT_PATH: allowed; without: refused by the server.
    done = _mlflow(srv.url, {"MLFLOW_TRACKING_SERVER_CERT_PATH": ca,
                             "MLFLOW_TRACKING_CLIENT_CERT_PATH": str(pki.client_combined)}, LOG_A_RUN)
    assert done.returncode == 0 and "OK" in done.stdout, done.stderr[-3000:]
    done = _mlflow(srv.url, {"MLFLOW_TRACKING_SERVER_CERT_PATH": ca}, LOG_A_RUN.replace("tls-exp", "tls-exp-2"))
    assert done.returncode != 0 and "OK" not in done.stdout

    for cert in (None, (str(pki.rogue_cert), str(pki.rogue_key))):
        with pytest.raises(requests.exceptions.RequestException):
            requests.get(srv.url + "/health", verify=ca, cert=cert, timeout=10)
    r = requests.get(srv.url + "/health", verify=ca, cert=(str(pki.client_cert), str(pki.client_key)), timeout=10)
    assert r.status_code == 200

    expected = booster.predict(xgb.DMatrix(X))
    http = httpclient.InferenceServerClient(
        url=srv.url.removeprefix("https://"), ssl=True,
        ssl_options={"ca_certs": ca, "certfile": str(pki.client_cert), "keyfile": str(pki.client_key)})
    try:
        _close(_infer_http(http, X), expected)
    finally:
        http.close()

    with_cert = grpcclient.InferenceServerClient(url=f"127.0.0.1:{srv.grpc_port}", ssl=True, root_certificates=ca,
                                                 private_key=str(pki.client_key),
                                                 certificate_chain=str(pki.client_cert))
    try:
        _close(_infer_grpc(with_cert, X), expected)
    finally:
        with_cert.close()
    for kwargs in ({}, {"private_key": str(pki.rogue_key), "certificate_chain": str(pki.rogue_cert)}):
        refused = grpcclient.InferenceServerClient(url=f"127.0.0.1:{srv.grpc_port}", ssl=True, root_certificates=ca,
                                                   **kwargs)
        try:
            with pytest.raises(InferenceServerException) as err:
                _infer_grpc(refused, X)
            assert err.value.status() == "StatusCode.UNAVAILABLE", err.value
        finally:
            refused.close()
    # The server kept serving through the refusals.
    assert requests.get(srv.url + "/health", verify=ca, cert=(str(pki.client_cert), str(pki.client_key)),
                        timeout=10).status_code == 200


def _replace(src_cert: Path, src_key: Path, cert: Path, key: Path) -> None:
    # Renames are atomic: a reader sees the old file or the new one, never half.
    os.replace(src_key, key)
    os.replace(src_cert, cert)


def test_sighup_reloads_the_certificate_for_new_connections(pki, tls_kiln, model_repo, tmp_path):
    root, X, booster = model_repo
    live = tmp_path / "live"
    live.mkdir()
    cert, key = pki.ca.issue(live, "server", "localhost", 5001, server=True)
    srv = tls_kiln(pki, "--model-repository", str(root), "--grpc-port", "0", cert=cert, key=key)
    assert _serial(srv.port, pki.ca.path) == 5001
    assert _serial(srv.grpc_port, pki.ca.path) == 5001
    # A keep-alive connection opened before the reload keeps its session after it.
    kept = requests.Session()
    assert kept.get(srv.url + "/health", verify=str(pki.ca.path), timeout=10).status_code == 200

    # A broken file: SIGHUP keeps the old certificate and says why.
    broken = live / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    saved = live / "saved.pem"
    saved.write_bytes(cert.read_bytes())
    os.replace(broken, cert)
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + POLL_S
    while "TLS reload failed" not in srv.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "TLS reload failed" in srv.log_text(), srv.log_text()[-2000:]
    assert _serial(srv.port, pki.ca.path) == 5001
    os.replace(saved, cert)

    new_cert, new_key = pki.ca.issue(tmp_path, "renewed", "localhost", 5002, server=True)
    _replace(new_cert, new_key, cert, key)
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + POLL_S
    while _serial(srv.port, pki.ca.path) != 5002 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _serial(srv.port, pki.ca.path) == 5002
    assert "reloaded the TLS certificate" in srv.log_text()
    # gRPC's watcher re-reads the files on its own.
    while _serial(srv.grpc_port, pki.ca.path) != 5002 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _serial(srv.grpc_port, pki.ca.path) == 5002
    grpc = grpcclient.InferenceServerClient(url=f"127.0.0.1:{srv.grpc_port}", ssl=True,
                                            root_certificates=str(pki.ca.path))
    try:
        _close(_infer_grpc(grpc, X), booster.predict(xgb.DMatrix(X)))
    finally:
        grpc.close()
    assert kept.get(srv.url + "/health", verify=str(pki.ca.path), timeout=10).status_code == 200
    # SIGHUP did not stop the server, and the new certificate serves requests.
    assert requests.get(srv.url + "/health", verify=str(pki.ca.path), timeout=10).status_code == 200
    assert srv.proc.poll() is None



@pytest.mark.parametrize("case", ["missing-cert", "key-of-another-cert", "ca-without-cert"])
def test_unusable_tls_files_refuse_the_start_and_name_the_file(pki, tmp_path, case):
    from conftest import kiln_binary

    other_cert, other_key = pki.ca.issue(tmp_path, "other", "localhost", 9001, server=True)
    args, named = {
        "missing-cert": (["--tls-cert-file", str(tmp_path / "nope.pem"), "--tls-key-file", str(pki.server_key)],
                         "nope.pem"),
        "key-of-another-cert": (["--tls-cert-file", str(pki.server_cert), "--tls-key-file", str(other_key)],
                                "other.key"),
        "ca-without-cert": (["--tls-client-ca-file", str(pki.ca.path)], "--tls-cert-file"),
    }[case]
    done = subprocess.run([str(kiln_binary()), "serve", "--host", "127.0.0.1", "--port", "0", "--grpc-port", "0",
                           "--data-dir", str(tmp_path / "data"), *args],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0, done.stderr
    assert named in done.stderr and "listening on" not in done.stderr, done.stderr


def test_with_auth_on_tls_clients_pass_a_token(pki, tls_kiln, model_repo, tmp_path):
    root, X, booster = model_repo
    password = "tls-admin-password"
    pw_file = tmp_path / "admin-pw"
    pw_file.write_text(password + "\n")
    srv = tls_kiln(pki, "--auth", "--admin-password-file", str(pw_file), "--model-repository", str(root),
                   "--grpc-port", "0")
    ca = str(pki.ca.path)
    admin = ("admin", password)
    r = requests.post(srv.url + "/api/v1/users", json={"name": "svc-infer", "password": "svc-infer-password-1"},
                      auth=admin, verify=ca, timeout=30)
    assert r.status_code in (200, 201), r.text
    r = requests.post(srv.url + "/api/v1/tokens", json={"user": "svc-infer", "name": "tls"}, auth=admin,
                      verify=ca, timeout=30)
    assert r.status_code == 201, r.text
    token = r.json()["secret"]
    expected = booster.predict(xgb.DMatrix(X))

    http = httpclient.InferenceServerClient(url=srv.url.removeprefix("https://"), ssl=True,
                                            ssl_options={"ca_certs": ca})
    try:
        inp = httpclient.InferInput("input-0", list(X.shape), "FP32")
        inp.set_data_from_numpy(X)
        got = http.infer("xgb", [inp], headers={"Authorization": f"Bearer {token}"}).as_numpy("output-0")
        _close(got, expected)
        with pytest.raises(InferenceServerException) as err:
            http.infer("xgb", [inp])  # no token
        assert "401" in str(err.value.status()) or "UNAUTHENTICATED" in str(err.value), err.value
    finally:
        http.close()

    grpc = grpcclient.InferenceServerClient(url=f"127.0.0.1:{srv.grpc_port}", ssl=True, root_certificates=ca)
    try:
        inp = grpcclient.InferInput("input-0", list(X.shape), "FP32")
        inp.set_data_from_numpy(X)
        got = grpc.infer("xgb", [inp], headers={"authorization": f"Bearer {token}"}).as_numpy("output-0")
        _close(got, expected)
        with pytest.raises(InferenceServerException) as err:
            grpc.infer("xgb", [inp])
        assert err.value.status() == "StatusCode.UNAUTHENTICATED", err.value
        with pytest.raises(InferenceServerException) as err:
            grpc.infer("xgb", [inp], headers={"authorization": "Bearer not-a-token"})
        assert err.value.status() == "StatusCode.UNAUTHENTICATED", err.value
    finally:
        grpc.close()

    # mlflow over https with a token (MLFLOW_TRACKING_TOKEN) and with Basic.
    r = requests.post(srv.url + "/api/v1/tokens", json={"name": "mlflow"}, auth=admin, verify=ca, timeout=30)
    assert r.status_code == 201, r.text
    done = _mlflow(srv.url, {"MLFLOW_TRACKING_SERVER_CERT_PATH": ca, "MLFLOW_TRACKING_TOKEN": r.json()["secret"]},
                   LOG_A_RUN)
    assert done.returncode == 0 and "OK" in done.stdout, done.stderr[-3000:]
    done = _mlflow(srv.url, {"MLFLOW_TRACKING_SERVER_CERT_PATH": ca}, LOG_A_RUN.replace("tls-exp", "tls-anon"))
    assert done.returncode != 0 and "UNAUTHENTICATED" in done.stderr, done.stderr[-3000:]

    # kiln's own CLI reaches the https server with --ca-file (KILN_CA_FILE).
    from conftest import kiln_binary

    env = {**os.environ, "KILN_USERNAME": "admin", "KILN_PASSWORD": password}
    listed = subprocess.run([str(kiln_binary()), "users", "list", "--url", srv.url, "--ca-file", ca],
                            capture_output=True, text=True, timeout=60, env=env)
    assert listed.returncode == 0 and "svc-infer" in listed.stdout, listed.stderr
    untrusted = subprocess.run([str(kiln_binary()), "grants", "list", "--url", srv.url],
                               capture_output=True, text=True, timeout=60, env=env)
    assert untrusted.returncode != 0  # the test CA is not the system's
    trusted = subprocess.run([str(kiln_binary()), "grants", "list", "--url", srv.url],
                             capture_output=True, text=True, timeout=60, env={**env, "KILN_CA_FILE": ca})
    assert trusted.returncode == 0, trusted.stderr
