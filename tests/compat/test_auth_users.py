"""Identities and credentials against kiln with --auth: MLflow's user endpoints
through MLflow's own AuthServiceClient (create, get, update-password,
update-admin, delete, with MLflow's error codes), the old password refused
the moment it changes (even though it was cached), API tokens created, used
by the unmodified mlflow client (MLFLOW_TRACKING_TOKEN), revoked and
expired, 401 with WWW-Authenticate, 429 after repeated failures, service
accounts that cannot use a password, the first start without an admin
password refused, and the `kiln users` / `kiln tokens` CLI.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import time
import uuid

import pytest
import requests

from conftest import kiln_binary

pytestmark = pytest.mark.kiln_only

ADMIN_PW = "users-admin-password"
SEARCH = "/api/2.0/mlflow/experiments/search"


@contextlib.contextmanager
def _env(**values):
    keys = ["MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"]
    saved = {k: os.environ.get(k) for k in keys}
    for k in keys:
        os.environ.pop(k, None)
    os.environ.update({k: v for k, v in values.items() if v is not None})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def as_admin():
    return _env(MLFLOW_TRACKING_USERNAME="admin", MLFLOW_TRACKING_PASSWORD=ADMIN_PW)


def start_secured(kiln_factory, tmp_path, *extra):
    pw_file = tmp_path / f"admin-pw-{uuid.uuid4().hex[:6]}"
    pw_file.write_text(ADMIN_PW + "\n")
    return kiln_factory("--auth", "--admin-password-file", str(pw_file), *extra)


def search(url, auth=None, headers=None):
    return requests.get(url + SEARCH, params={"max_results": 1}, auth=auth, headers=headers, timeout=30)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def rest_error(fn):
    from mlflow.exceptions import RestException

    with pytest.raises(RestException) as e:
        fn()
    return e.value


@pytest.fixture
def secured(kiln_factory, tmp_path, monkeypatch):
    monkeypatch.delenv("KILN_ADMIN_PASSWORD", raising=False)
    return start_secured(kiln_factory, tmp_path)


def test_mlflow_auth_client_user_lifecycle(secured):
    from mlflow.server.auth.client import AuthServiceClient

    url = secured.url
    client = AuthServiceClient(url)
    with as_admin():
        user = client.create_user("alice", "alice-password-1")
        assert user.username == "alice" and user.is_admin is False and isinstance(user.id, int)
        assert user.password_hash == "REDACTED"  # MLflow's client never sees a hash
        got = client.get_user("alice")
        assert (got.id, got.username, got.is_admin) == (user.id, "alice", False)

        e = rest_error(lambda: client.create_user("alice", "alice-password-1"))
        assert e.error_code == "RESOURCE_ALREADY_EXISTS"
        e = rest_error(lambda: client.get_user("nobody"))
        assert e.error_code == "RESOURCE_DOES_NOT_EXIST"
        assert "User with username=nobody not found" in e.message
        e = rest_error(lambda: client.create_user("shorty", "short"))
        assert e.error_code == "INVALID_PARAMETER_VALUE" and "at least 12 characters" in e.message

    # The old password works (and is now cached) until the admin changes it.
    assert search(url, auth=("alice", "alice-password-1")).status_code == 200
    with as_admin():
        client.update_user_password("alice", "alice-password-2")
    old = search(url, auth=("alice", "alice-password-1"))
    assert old.status_code == 401
    assert search(url, auth=("alice", "alice-password-2")).status_code == 200

    with _env(MLFLOW_TRACKING_USERNAME="alice", MLFLOW_TRACKING_PASSWORD="alice-password-2"):
        # Oneself: readable; another user: not; admin routes: not.
        assert client.get_user("alice").username == "alice"
        assert rest_error(lambda: client.get_user("admin")).error_code == "PERMISSION_DENIED"
        assert rest_error(lambda: client.create_user("mallory", "mallory-pass-1")).error_code == "PERMISSION_DENIED"
        assert rest_error(lambda: client.update_user_admin("alice", True)).error_code == "PERMISSION_DENIED"
        # Self-service password changes re-assert the current password (MLflow 3.17).
        e = rest_error(lambda: client.update_user_password("alice", "alice-password-3"))
        assert e.error_code == "INVALID_PARAMETER_VALUE" and "Current password is required" in e.message
        e = rest_error(lambda: client.update_user_password("alice", "alice-password-3", current_password="wrong-one-12"))
        assert "Current password does not match" in e.message
        client.update_user_password("alice", "alice-password-3", current_password="alice-password-2")
    assert search(url, auth=("alice", "alice-password-2")).status_code == 401
    assert search(url, auth=("alice", "alice-password-3")).status_code == 200

    with as_admin():
        client.update_user_admin("alice", True)
        assert client.get_user("alice").is_admin is True
        e = rest_error(lambda: client.delete_user("admin"))  # nobody deletes themselves
        assert e.error_code == "BAD_REQUEST"
    # The promotion is seen at once: alice may now list users.
    listed = requests.get(url + "/api/2.0/mlflow/users/list", auth=("alice", "alice-password-3"), timeout=30)
    assert listed.status_code == 200, listed.text
    assert {u["username"] for u in listed.json()["users"]} == {"admin", "alice"}
    with as_admin():
        client.update_user_admin("alice", False)
        client.delete_user("alice")
        assert rest_error(lambda: client.get_user("alice")).error_code == "RESOURCE_DOES_NOT_EXIST"
    assert search(url, auth=("alice", "alice-password-3")).status_code == 401


def test_ajax_paths_and_current_user(secured):
    url = secured.url
    admin = ("admin", ADMIN_PW)
    r = requests.post(url + "/ajax-api/2.0/mlflow/users/create", json={"username": "bob", "password": "bob-password-12"},
                      auth=admin, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["user"]["username"] == "bob"
    r = requests.get(url + "/ajax-api/2.0/mlflow/users/current", auth=("bob", "bob-password-12"), timeout=30)
    assert r.status_code == 200, r.text
    assert r.json() == {"user": {"id": r.json()["user"]["id"], "username": "bob", "is_admin": False},
                        "is_basic_auth": True}
    r = requests.post(url + "/api/2.0/mlflow/users/create", data="username=x", auth=admin,
                      headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = requests.patch(url + "/api/2.0/mlflow/users/update-admin", json={"username": "bob"}, auth=admin, timeout=30)
    assert r.status_code == 400
    assert r.json()["message"].startswith("Missing value for required parameter 'is_admin'")
    # MLflow's DELETE takes the username from the query when the body is not JSON.
    r = requests.delete(url + "/api/2.0/mlflow/users/delete", params={"username": "bob"}, auth=admin, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json() == {}


def test_wrong_password_is_401_with_www_authenticate(secured):
    for auth in [("admin", "not-the-password"), ("nobody", ADMIN_PW), None]:
        r = search(secured.url, auth=auth)
        assert r.status_code == 401, (auth, r.text)
        challenge = r.headers.get("WWW-Authenticate", "")
        assert "Basic" in challenge and "Bearer" in challenge, challenge
    assert search(secured.url, auth=("admin", ADMIN_PW)).status_code == 200


def test_tokens_create_use_revoke_and_expire(secured):
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    url = secured.url
    admin = ("admin", ADMIN_PW)
    r = requests.post(url + "/api/v1/users", json={"name": "carol", "password": "carol-password-1"}, auth=admin,
                      timeout=30)
    assert r.status_code == 201, r.text
    carol = ("carol", "carol-password-1")
    # Creating experiments needs editor on the global scope (viewer is the default role).
    r = requests.post(url + "/api/v1/grants", json={"subject_kind": "user", "subject": "carol", "object_kind": "global",
                                                   "role": "editor"}, auth=admin, timeout=30)
    assert r.status_code in (200, 201), r.text
    r = requests.post(url + "/api/v1/tokens", json={"name": "laptop"}, auth=carol, timeout=30)
    assert r.status_code == 201, r.text
    created = r.json()
    secret, token_id = created["secret"], created["token"]["id"]
    assert secret.startswith("kiln_") and token_id.startswith("tok_")
    assert created["token"]["user"] == "carol" and created["token"]["name"] == "laptop"

    # The unmodified mlflow client with MLFLOW_TRACKING_TOKEN.
    with _env(MLFLOW_TRACKING_TOKEN=secret):
        exp_id = MlflowClient(url).create_experiment(f"tok-{uuid.uuid4().hex[:8]}")
        assert MlflowClient(url).get_experiment(exp_id).experiment_id == exp_id
    who = requests.get(url + "/api/v1/whoami", headers=bearer(secret), timeout=30).json()
    assert who["name"] == "carol" and who["method"] == "token" and who["credential_id"] == token_id

    # Listed without the secret; others cannot see or revoke it.
    mine = requests.get(url + "/api/v1/tokens", auth=carol, timeout=30).json()["tokens"]
    assert [t["id"] for t in mine] == [token_id]
    assert all("secret" not in t and "hash" not in t for t in mine)
    r = requests.post(url + "/api/v1/users", json={"name": "dave", "password": "dave-password-1"}, auth=admin,
                      timeout=30)
    assert r.status_code == 201
    dave = ("dave", "dave-password-1")
    assert requests.get(url + "/api/v1/tokens", params={"all": "true"}, auth=dave, timeout=30).status_code == 403
    assert requests.delete(url + f"/api/v1/tokens/{token_id}", auth=dave, timeout=30).status_code == 404
    everyone = requests.get(url + "/api/v1/tokens", params={"all": "true"}, auth=admin, timeout=30).json()["tokens"]
    assert token_id in {t["id"] for t in everyone}

    r = requests.delete(url + f"/api/v1/tokens/{token_id}", auth=carol, timeout=30)
    assert r.status_code == 200 and r.json()["token"]["revoked_ms"] > 0
    # The reason (revoked, expired) goes to the audit log, not to the caller.
    r = search(url, headers=bearer(secret))
    assert r.status_code == 401 and r.json()["error_code"] == "UNAUTHENTICATED"
    with _env(MLFLOW_TRACKING_TOKEN=secret):
        with pytest.raises(MlflowException) as e:
            MlflowClient(url).get_experiment(exp_id)
        assert e.value.error_code == "UNAUTHENTICATED"

    # An expiring token works, then stops.
    r = requests.post(url + "/api/v1/tokens", json={"expires_in_s": 1}, auth=carol, timeout=30)
    assert r.status_code == 201
    short = r.json()
    assert search(url, headers=bearer(short["secret"])).status_code == 200
    time.sleep(max(0.0, short["token"]["expires_ms"] / 1000 - time.time()) + 0.3)
    assert search(url, headers=bearer(short["secret"])).status_code == 401

    # An unknown token is refused like any bad credential.
    assert search(url, headers=bearer("kiln_" + "0" * 64)).status_code == 401


def test_service_account_uses_tokens_never_passwords(secured):
    url = secured.url
    admin = ("admin", ADMIN_PW)
    r = requests.post(url + "/api/v1/users", json={"name": "ci-bot", "service_account": True}, auth=admin, timeout=30)
    assert r.status_code == 201, r.text
    assert r.json()["user"]["service_account"] is True
    r = requests.post(url + "/api/v1/users", json={"name": "ci-bot2", "service_account": True,
                                                  "password": "has-a-password"}, auth=admin, timeout=30)
    assert r.status_code == 400
    for pw in ["", "anything-at-all", ADMIN_PW]:
        assert search(url, auth=("ci-bot", pw)).status_code == 401
    r = requests.post(url + "/api/v1/tokens", json={"user": "ci-bot", "name": "pipeline"}, auth=admin, timeout=30)
    assert r.status_code == 201, r.text
    token = r.json()["secret"]
    assert search(url, headers=bearer(token)).status_code == 200
    who = requests.get(url + "/api/v1/whoami", headers=bearer(token), timeout=30).json()
    assert who["kind"] == "service_account" and who["name"] == "ci-bot"
    # Non-admins cannot mint tokens for others.
    requests.post(url + "/api/v1/users", json={"name": "erin", "password": "erin-password-1"}, auth=admin, timeout=30)
    r = requests.post(url + "/api/v1/tokens", json={"user": "ci-bot"}, auth=("erin", "erin-password-1"), timeout=30)
    assert r.status_code == 403


def test_last_admin_cannot_be_removed(secured):
    url = secured.url
    admin = ("admin", ADMIN_PW)
    r = requests.patch(url + "/api/v1/users/admin", json={"admin": False}, auth=admin, timeout=30)
    assert r.status_code == 400 and "last admin" in r.json()["message"]
    r = requests.patch(url + "/api/2.0/mlflow/users/update-admin", json={"username": "admin", "is_admin": False},
                       auth=admin, timeout=30)
    assert r.status_code == 400 and "last admin" in r.json()["message"]


def test_repeated_failures_are_rate_limited(secured):
    url = secured.url
    statuses = [search(url, auth=("admin", f"guess-number-{i}")).status_code for i in range(10)]
    assert statuses == [401] * 10
    r = search(url, auth=("admin", ADMIN_PW))  # even the right password, while blocked
    assert r.status_code == 429, r.text
    assert r.json()["error_code"] in ("RESOURCE_EXHAUSTED", "REQUEST_LIMIT_EXCEEDED")
    assert "too many failed logins" in r.json()["message"]


def test_first_start_without_admin_password_refuses(compat_tmp_root, monkeypatch):
    data_dir = compat_tmp_root / f"no-admin-{uuid.uuid4().hex[:6]}"
    data_dir.mkdir(parents=True)
    env = dict(os.environ)
    env.pop("KILN_ADMIN_PASSWORD", None)
    p = subprocess.run([str(kiln_binary()), "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data_dir),
                        "--auth"], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert p.returncode != 0
    assert "KILN_ADMIN_PASSWORD" in p.stderr and "admin-password-file" in p.stderr, p.stderr


def test_admin_password_from_environment_and_kept_on_restart(kiln_factory, compat_tmp_root, monkeypatch):
    monkeypatch.setenv("KILN_ADMIN_PASSWORD", "env-admin-password")
    data_dir = compat_tmp_root / f"env-admin-{uuid.uuid4().hex[:6]}"
    srv = kiln_factory("--auth", data_dir=data_dir)
    assert search(srv.url, auth=("admin", "env-admin-password")).status_code == 200
    srv.stop()
    # Later starts need no password and do not reset the stored one.
    monkeypatch.delenv("KILN_ADMIN_PASSWORD")
    srv = kiln_factory("--auth", data_dir=data_dir)
    assert search(srv.url, auth=("admin", "env-admin-password")).status_code == 200


def test_user_routes_refuse_without_auth(server):
    r = requests.get(server + "/api/v1/whoami", timeout=30)
    assert r.status_code == 400 and "auth is not enabled" in r.json()["message"]
    r = requests.post(server + "/api/2.0/mlflow/users/create", json={"username": "x", "password": "x" * 12}, timeout=30)
    assert r.status_code == 400 and "auth is not enabled" in r.json()["message"]


def kiln_cli(url, *args, stdin="", token=None, user=None, password=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KILN_")}
    if token:
        env["KILN_TOKEN"] = token
    if user:
        env["KILN_USERNAME"] = user
        env["KILN_PASSWORD"] = password
    return subprocess.run([str(kiln_binary()), *args, "--url", url], input=stdin, env=env, capture_output=True,
                          text=True, timeout=60)


def test_users_and_tokens_cli(secured):
    import json

    url = secured.url
    adm = {"user": "admin", "password": ADMIN_PW}
    p = kiln_cli(url, "users", "create", "frank", stdin="frank-password-1\n", **adm)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["user"]["name"] == "frank"
    assert "frank-password-1" not in p.stdout
    p = kiln_cli(url, "users", "create", "robot", "--service-account", "--groups", "ml,ops", **adm)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["user"]["groups"] == ["ml", "ops"]
    p = kiln_cli(url, "users", "list", **adm)
    assert p.returncode == 0 and {u["name"] for u in json.loads(p.stdout)["users"]} == {"admin", "frank", "robot"}
    assert kiln_cli(url, "users", "get", "frank", user="frank", password="frank-password-1").returncode == 0
    p = kiln_cli(url, "users", "list", user="frank", password="frank-password-1")
    assert p.returncode == 1 and "PERMISSION_DENIED" in p.stderr

    # Own password: the CLI sends the current one from KILN_PASSWORD.
    p = kiln_cli(url, "users", "set-password", "frank", stdin="frank-password-2\n", user="frank",
                 password="frank-password-1")
    assert p.returncode == 0, p.stderr
    assert search(url, auth=("frank", "frank-password-2")).status_code == 200
    p = kiln_cli(url, "users", "set-password", "frank", stdin="", **adm)
    assert p.returncode == 2 and "no password on stdin" in p.stderr
    assert kiln_cli(url, "users", "set-admin", "frank", "true", **adm).returncode == 0
    assert json.loads(kiln_cli(url, "users", "get", "frank", **adm).stdout)["user"]["admin"] is True
    assert kiln_cli(url, "users", "set-admin", "frank", "maybe", **adm).returncode == 2

    p = kiln_cli(url, "tokens", "create", "--user", "robot", "--name", "deploy", "--expires-in", "3600", **adm)
    assert p.returncode == 0, p.stderr
    created = json.loads(p.stdout)
    assert search(url, headers=bearer(created["secret"])).status_code == 200
    p = kiln_cli(url, "tokens", "list", token=created["secret"])
    assert p.returncode == 0 and [t["id"] for t in json.loads(p.stdout)["tokens"]] == [created["token"]["id"]]
    p = kiln_cli(url, "tokens", "list", "--all", **adm)
    assert created["token"]["id"] in {t["id"] for t in json.loads(p.stdout)["tokens"]}
    p = kiln_cli(url, "tokens", "revoke", created["token"]["id"], **adm)
    assert p.returncode == 0, p.stderr
    assert search(url, headers=bearer(created["secret"])).status_code == 401

    assert kiln_cli(url, "users", "delete", "robot", **adm).returncode == 0
    p = kiln_cli(url, "users", "get", "robot", **adm)
    assert p.returncode == 1 and "RESOURCE_DOES_NOT_EXIST" in p.stderr
    p = kiln_cli(url, "users", "list")  # no credentials
    assert p.returncode == 1 and "401" in p.stderr
