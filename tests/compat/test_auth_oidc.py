"""OIDC JWTs against an issuer of the test's own.

The issuer is a ThreadingHTTPServer on port 0 serving
/.well-known/openid-configuration and a JWKS that the test changes (key
rotation); keys are generated with `cryptography`, tokens signed with PyJWT.
kiln runs with --auth --oidc-issuer <it> --oidc-audience kiln:

- valid RS256 and ES256 tokens are accepted by the unmodified mlflow client
  (MLFLOW_TRACKING_TOKEN) and by raw requests; the roles claim carries the
  global role (editor may create experiments, a token without roles may not);
- expired, wrong audience, wrong issuer, unknown key, alg none, missing nbf,
  HMAC signed with the RSA public key (alg confusion), tampered payload and a
  key-type mismatch are all 401 with WWW-Authenticate, and the audit log
  (GET /api/v1/audit) holds each denial with its precise reason;
- the same JWT in gRPC metadata (tritonclient.grpc) is accepted, and bad ones
  answer UNAUTHENTICATED;
- the groups claim: a grant to a group on one experiment gives its members
  access there and nowhere else (--default-role none);
- rotation: keys the issuer publishes ahead work at once; an unannounced new
  key is picked up at the next refetch (one per refresh interval, 30 s by
  default), and the withdrawn key stops working.

kiln rate-limits failed credentials per source (10 per minute), so each test
sends at most a handful of refused tokens to its own kiln.
kiln-only: MLflow's server has no OIDC.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.kiln_only

ADMIN_PASSWORD = "oidc-suite-admin-pw"
AUDIENCE = "kiln"
REFRESH_INTERVAL_S = 30  # kiln's default OidcOptions::refresh_interval_s


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uint(n: int, size: int | None = None) -> str:
    size = size or (n.bit_length() + 7) // 8
    return _b64url(n.to_bytes(size, "big"))


class Key:
    def __init__(self, kind: str):
        self.kid = f"{kind}-{uuid.uuid4().hex[:8]}"
        self.alg = "RS256" if kind == "rsa" else "ES256"
        self.private = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "rsa"
                        else ec.generate_private_key(ec.SECP256R1()))

    def jwk(self) -> dict:
        pub = self.private.public_key().public_numbers()
        if self.alg == "RS256":
            return {"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256", "n": _uint(pub.n), "e": _uint(pub.e)}
        return {"kty": "EC", "kid": self.kid, "use": "sig", "alg": "ES256", "crv": "P-256",
                "x": _uint(pub.x, 32), "y": _uint(pub.y, 32)}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, claims: dict, headers: dict | None = None) -> str:
        return jwt.encode(claims, self.private, algorithm=self.alg, headers={"kid": self.kid, **(headers or {})})


class Issuer:
    """Discovery document + JWKS over http.server; counts JWKS fetches."""

    def __init__(self):
        self.published: list[dict] = []
        self.jwks_fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks.json",
                            "id_token_signing_alg_values_supported": ["RS256", "ES256"]}
                elif self.path == "/jwks.json":
                    issuer.jwks_fetches += 1
                    body = {"keys": list(issuer.published)}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, *keys: Key) -> None:
        self.published = [k.jwk() for k in keys]

    def claims(self, **overrides) -> dict:
        now = int(time.time())
        c = {"iss": self.url, "aud": AUDIENCE, "sub": "u-" + uuid.uuid4().hex[:6], "preferred_username": "alice",
             "iat": now, "nbf": now - 5, "exp": now + 600, "jti": uuid.uuid4().hex}
        c.update(overrides)
        return {k: v for k, v in c.items() if v is not None}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def issuer():
    i = Issuer()
    yield i
    i.close()


@pytest.fixture
def oidc_kiln(kiln_factory, tmp_path, issuer):
    def start(*extra: str):
        pw = tmp_path / f"admin-password-{uuid.uuid4().hex[:6]}"
        pw.write_text(ADMIN_PASSWORD + "\n")
        return kiln_factory("--auth", "--admin-password-file", str(pw), "--oidc-issuer", issuer.url,
                            "--oidc-audience", AUDIENCE, *extra)
    return start


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _search(srv, token: str) -> requests.Response:
    return requests.post(f"{srv.url}/api/2.0/mlflow/experiments/search", json={"max_results": 10},
                         headers=_bearer(token), timeout=30)


def _assert_401(resp: requests.Response, case: str) -> None:
    assert resp.status_code == 401, f"{case}: {resp.status_code} {resp.text}"
    assert "Bearer" in resp.headers.get("WWW-Authenticate", ""), f"{case}: {resp.headers}"


def _denial_reasons(srv) -> list[str]:
    """The reasons of the denials kiln audited, oldest first (read as the bootstrap admin)."""
    r = requests.get(f"{srv.url}/api/v1/audit", params={"decision": "deny", "max_results": 1000},
                     auth=("admin", ADMIN_PASSWORD), timeout=30)
    assert r.status_code == 200, r.text
    return [rec.get("reason", "") for rec in r.json()["records"]]


def _swap_payload(token: str, claims: dict) -> str:
    head, _, sig = token.split(".")
    return f"{head}.{_b64url(json.dumps(claims).encode())}.{sig}"


def _hs256(header: dict, claims: dict, secret: bytes) -> str:
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(mac)}"


def test_valid_tokens_work_with_mlflow_client_and_raw_requests(issuer, oidc_kiln, monkeypatch, unique):
    rsa_key, ec_key = Key("rsa"), Key("ec")
    issuer.publish(rsa_key, ec_key)
    srv = oidc_kiln()

    editor = rsa_key.sign(issuer.claims(roles=["editor"]))
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", editor)
    client = MlflowClient(tracking_uri=srv.url)
    exp_id = client.create_experiment(unique("oidc"))
    run = client.create_run(exp_id)
    client.log_metric(run.info.run_id, "m", 1.5)
    assert client.get_run(run.info.run_id).data.metrics == {"m": 1.5}

    # ES256 over raw requests; the default role (viewer) lets it read.
    viewer = ec_key.sign(issuer.claims(preferred_username="bob"))
    r = _search(srv, viewer)
    assert r.status_code == 200, r.text
    assert exp_id in [e["experiment_id"] for e in r.json()["experiments"]]
    # No roles claim: bob may read but not create experiments.
    r = requests.post(f"{srv.url}/api/2.0/mlflow/experiments/create", json={"name": unique("bob")},
                      headers=_bearer(viewer), timeout=30)
    assert r.status_code == 403, r.text
    assert r.json()["error_code"] == "PERMISSION_DENIED"

    # The same token again is served (kiln caches verified tokens) and the JWKS was fetched once.
    for _ in range(3):
        assert _search(srv, viewer).status_code == 200
    assert issuer.jwks_fetches == 1


def test_time_audience_and_issuer_violations_are_401(issuer, oidc_kiln):
    key = Key("rsa")
    issuer.publish(key)
    srv = oidc_kiln()
    now = int(time.time())
    # case -> (token, the reason kiln audits; callers only see 401)
    cases = {
        "expired": (key.sign(issuer.claims(exp=now - 3600, nbf=now - 7200, iat=now - 7200)), "token expired"),
        "wrong audience": (key.sign(issuer.claims(aud="someone-else")), "audience mismatch"),
        "wrong issuer": (key.sign(issuer.claims(iss="https://evil.example")), "issuer mismatch"),
        "missing nbf": (key.sign(issuer.claims(nbf=None)), "token has no nbf"),
        "missing exp": (key.sign(issuer.claims(exp=None)), "token has no exp"),
        "nbf in the future": (key.sign(issuer.claims(nbf=now + 3600)), "token not yet valid (nbf)"),
    }
    assert _search(srv, key.sign(issuer.claims())).status_code == 200
    for case, (token, _) in cases.items():
        _assert_401(_search(srv, token), case)
    assert _denial_reasons(srv) == [reason for _, reason in cases.values()]


def test_forged_tokens_are_401(issuer, oidc_kiln, monkeypatch):
    rsa_key, ec_key = Key("rsa"), Key("ec")
    issuer.publish(rsa_key, ec_key)
    srv = oidc_kiln()
    good_claims = issuer.claims()
    good = rsa_key.sign(good_claims)
    assert _search(srv, good).status_code == 200
    stranger = Key("rsa")
    cases = {
        "unknown key": (stranger.sign(issuer.claims()), f"unknown signing key {stranger.kid}"),
        "alg none": (jwt.encode(issuer.claims(), None, algorithm="none", headers={"kid": rsa_key.kid}),
                     "alg none is not accepted"),
        "HS256 with the RSA public key": (_hs256({"alg": "HS256", "typ": "JWT", "kid": rsa_key.kid},
                                                 issuer.claims(roles=["admin"]), rsa_key.public_pem()),
                                          "alg HS256 is not accepted (RS256 and ES256 only)"),
        "tampered payload": (_swap_payload(good, {**good_claims, "roles": ["admin"]}), "signature verification failed"),
        "ES256 naming the RSA key": (ec_key.sign(issuer.claims(), headers={"kid": rsa_key.kid}),
                                     f"alg ES256 does not match signing key {rsa_key.kid} of type RSA"),
    }
    for case, (token, _) in cases.items():
        _assert_401(_search(srv, token), case)
    assert _denial_reasons(srv) == [reason for _, reason in cases.values()]
    # The mlflow client reports the refusal as an authentication error.
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", cases["alg none"][0])
    with pytest.raises(MlflowException) as err:
        MlflowClient(tracking_uri=srv.url).search_experiments()
    assert "401" in str(err.value) or "UNAUTHENTICATED" in str(err.value), str(err.value)


def test_group_claim_and_a_group_grant_give_access(issuer, oidc_kiln, unique):
    key = Key("ec")
    issuer.publish(key)
    srv = oidc_kiln("--default-role", "none")
    admin = requests.Session()
    admin.auth = ("admin", ADMIN_PASSWORD)
    r = admin.post(f"{srv.url}/api/2.0/mlflow/experiments/create", json={"name": unique("team")}, timeout=30)
    assert r.status_code == 200, r.text
    exp_id = r.json()["experiment_id"]
    r = admin.post(f"{srv.url}/api/2.0/mlflow/experiments/create", json={"name": unique("other")}, timeout=30)
    other_id = r.json()["experiment_id"]

    member = key.sign(issuer.claims(preferred_username="carol", groups=["ml-team", "staff"]))
    outsider = key.sign(issuer.claims(preferred_username="dave", groups=["staff"]))

    def get(token, eid):
        return requests.get(f"{srv.url}/api/2.0/mlflow/experiments/get", params={"experiment_id": eid},
                            headers=_bearer(token), timeout=30)

    assert get(member, exp_id).status_code == 403
    r = admin.post(f"{srv.url}/api/v1/grants", json={"subject_kind": "group", "subject": "ml-team",
                                                    "object_kind": "experiment", "object_id": exp_id,
                                                    "role": "editor"}, timeout=30)
    assert r.status_code in (200, 201), r.text

    assert get(member, exp_id).status_code == 200
    r = requests.post(f"{srv.url}/api/2.0/mlflow/runs/create",
                      json={"experiment_id": exp_id, "start_time": int(time.time() * 1000)},
                      headers=_bearer(member), timeout=30)
    assert r.status_code == 200, r.text
    assert get(member, other_id).status_code == 403
    assert get(outsider, exp_id).status_code == 403
    # Searches show members the granted experiment only.
    r = _search(srv, member)
    assert r.status_code == 200, r.text
    assert [e["experiment_id"] for e in r.json().get("experiments", [])] == [exp_id]


def test_roles_claim_admin_is_an_administrator(issuer, oidc_kiln):
    key = Key("rsa")
    issuer.publish(key)
    srv = oidc_kiln("--default-role", "none")
    admin_token = key.sign(issuer.claims(preferred_username="root-from-idp", roles=["offline_access", "admin"]))
    plain = key.sign(issuer.claims(preferred_username="erin", roles=["offline_access"]))
    # Grants on the global scope are for administrators only.
    r = requests.post(f"{srv.url}/api/v1/grants", headers=_bearer(plain), timeout=30,
                      json={"subject_kind": "user", "subject": "erin", "object_kind": "global", "role": "editor"})
    assert r.status_code == 403, r.text
    r = requests.post(f"{srv.url}/api/v1/grants", headers=_bearer(admin_token), timeout=30,
                      json={"subject_kind": "user", "subject": "erin", "object_kind": "global", "role": "editor"})
    assert r.status_code in (200, 201), r.text
    # erin's token carries no role, but the grant to her name now lets her create.
    r = requests.post(f"{srv.url}/api/2.0/mlflow/experiments/create", json={"name": "erin-" + uuid.uuid4().hex[:6]},
                      headers=_bearer(plain), timeout=30)
    assert r.status_code == 200, r.text


@pytest.mark.timeout_s(180)
def test_key_rotation(issuer, oidc_kiln):
    old, ahead = Key("rsa"), Key("ec")
    issuer.publish(old, ahead)  # the next key published ahead of use, as IdPs do
    srv = oidc_kiln()
    old_token = old.sign(issuer.claims())
    assert _search(srv, old_token).status_code == 200
    first_fetch = time.monotonic()

    # The issuer switches to the key it announced: new tokens work at once.
    issuer.publish(ahead)
    assert _search(srv, ahead.sign(issuer.claims())).status_code == 200
    assert issuer.jwks_fetches == 1

    # An unannounced rotation: the unknown kid makes kiln look again, but not
    # more than once per refresh interval (random kids must not hammer the issuer).
    surprise = Key("rsa")
    issuer.publish(surprise)
    new_token = surprise.sign(issuer.claims())
    _assert_401(_search(srv, new_token), "new key within the refresh interval")
    assert issuer.jwks_fetches == 1
    time.sleep(max(0.0, first_fetch + REFRESH_INTERVAL_S + 1 - time.monotonic()))
    r = _search(srv, new_token)
    assert r.status_code == 200, r.text
    assert issuer.jwks_fetches == 2
    # The withdrawn key no longer vouches, even for a token it verified before.
    _assert_401(_search(srv, old_token), "token of a withdrawn key")
    assert _denial_reasons(srv) == [f"unknown signing key {surprise.kid}", f"unknown signing key {old.kid}"]


def test_jwt_in_grpc_metadata(issuer, oidc_kiln):
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    key = Key("ec")
    issuer.publish(key)
    srv = oidc_kiln("--grpc-port", "0")
    client = grpcclient.InferenceServerClient(url=f"127.0.0.1:{srv.grpc_port}")
    # ModelReady is gated (server metadata and liveness are public); no such
    # model is an ordinary "not ready" once the token is accepted.
    assert client.is_model_ready("no-such-model", headers={"authorization": f"Bearer {key.sign(issuer.claims())}"}) \
        is False
    for token in (jwt.encode(issuer.claims(), None, algorithm="none", headers={"kid": key.kid}),
                  key.sign(issuer.claims(aud="someone-else"))):
        with pytest.raises(InferenceServerException) as e:
            client.is_model_ready("no-such-model", headers={"authorization": f"Bearer {token}"})
        assert "UNAUTHENTICATED" in str(e.value) or "Unauthenticated" in str(e.value), str(e.value)
    assert _denial_reasons(srv) == ["alg none is not accepted", "audience mismatch"]


def test_an_oidc_user_cannot_take_a_local_users_name(issuer, oidc_kiln):
    key = Key("rsa")
    issuer.publish(key)
    srv = oidc_kiln("--default-role", "none")
    admin = ("admin", ADMIN_PASSWORD)
    r = requests.post(f"{srv.url}/api/2.0/mlflow/users/create", auth=admin, timeout=30,
                      json={"username": "ci-bot", "password": "ci-bot-password-1"})
    assert r.status_code == 200, r.text
    r = requests.post(f"{srv.url}/api/v1/grants", auth=admin, timeout=30,
                      json={"subject_kind": "user", "subject": "ci-bot", "object_kind": "global", "role": "editor"})
    assert r.status_code in (200, 201), r.text
    # A token whose preferred_username names the local user would inherit its
    # grants: refused instead, for the local names "ci-bot" and "admin".
    for name in ("ci-bot", "admin"):
        token = key.sign(issuer.claims(preferred_username=name))
        _assert_401(_search(srv, token), f"local name {name}")
    assert any("is a local user's name" in reason for reason in _denial_reasons(srv))
    # Another name from the same issuer is accepted.
    assert _search(srv, key.sign(issuer.claims(preferred_username="dana"))).status_code == 200
