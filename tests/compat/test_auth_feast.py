"""Feast's unmodified SDK and CLI (0.67) against kiln with --auth and
--default-role none, carrying a kiln API token the way Feast's own auth does:
feature_store.yaml `auth: {type: kubernetes, user_token: ...}` makes the SDK
send "authorization: Bearer <token>" unchanged on the registry's gRPC
metadata and on the remote online store's HTTP requests
(feast/permissions/client/kubernetes_auth_client_manager.py,
grpc_client_auth_interceptor.py, http_auth_requests_wrapper.py).

A user with editor on the global scope applies a new project and so manages
it; a viewer of the project lists and reads features but cannot apply or
write; a user with no grant sees no feature view and is refused reads; no
token and a wrong token are refused.
"""
from __future__ import annotations

import textwrap

import pandas as pd
import pytest
import requests

from feast_fixtures import PROJECT, feast_cli, feature_store, utc_now_s, write_default_data, write_feast_repo

pytestmark = pytest.mark.kiln_only

ADMIN_PW = "feast-auth-admin-pw"
FEATURES = ["driver_hourly_stats:conv_rate", "driver_hourly_stats:avg_daily_trips"]


class Kiln:
    def __init__(self, srv):
        self.srv = srv
        self.url = srv.url
        self.admin = ("admin", ADMIN_PW)

    def user_token(self, name: str) -> str:
        r = requests.post(self.url + "/api/v1/users", json={"name": name, "password": f"{name}-password-1"},
                          auth=self.admin, timeout=30)
        assert r.status_code == 201, r.text
        r = requests.post(self.url + "/api/v1/tokens", json={"user": name, "name": "feast"}, auth=self.admin,
                          timeout=30)
        assert r.status_code == 201, r.text
        return r.json()["secret"]

    def grant(self, auth, subject: str, kind: str, object_id: str, role: str, **kw):
        r = requests.post(self.url + "/api/v1/grants", json={"subject_kind": "user", "subject": subject,
                                                            "object_kind": kind, "object_id": object_id, "role": role},
                          auth=auth, timeout=30, **kw)
        return r


@pytest.fixture(scope="module")
def kiln(tmp_path_factory):
    from conftest import ServerProcess

    root = tmp_path_factory.mktemp("auth-feast")
    pw = root / "admin-password"
    pw.write_text(ADMIN_PW + "\n")
    srv = ServerProcess("kiln", root / "data", ["--auth", "--admin-password-file", str(pw), "--default-role", "none",
                                                "--grpc-port", "0"]).start()
    yield Kiln(srv)
    srv.stop(check=True)


def repo_with_token(kiln, tmp_path_factory, name: str, token: str | None):
    """A Feast repo on kiln whose SDK sends `token` (None: Feast's no_auth)."""
    repo = write_feast_repo(tmp_path_factory.mktemp(f"repo-{name}"), kiln.srv)
    write_default_data(repo)
    if token is not None:
        with open(repo / "feature_store.yaml", "a") as f:
            f.write(textwrap.dedent(f"""\
                auth:
                  type: kubernetes
                  user_token: {token}
                """))
    return repo


@pytest.fixture(scope="module")
def tokens(kiln):
    t = {name: kiln.user_token(name) for name in ("fe", "fv", "fx")}
    # fe may create projects; the creator of one manages it.
    assert kiln.grant(kiln.admin, "fe", "global", "", "editor").status_code == 200
    return t


@pytest.fixture(scope="module")
def applied(kiln, tokens, tmp_path_factory, monkeypatch_module):
    monkeypatch_module.delenv("INTRA_COMMUNICATION_BASE64", raising=False)
    repo = repo_with_token(kiln, tmp_path_factory, "fe", tokens["fe"])
    feast_cli(repo, "apply")
    store = feature_store(repo)
    now = utc_now_s()
    drivers = pd.DataFrame({"driver_id": [1001, 1002], "event_timestamp": [now, now], "created": [now, now],
                            "conv_rate": [0.5, 0.25], "acc_rate": [0.1, 0.2], "avg_daily_trips": [10, 20]})
    drivers["conv_rate"] = drivers["conv_rate"].astype("float32")
    store.write_to_online_store("driver_hourly_stats", drivers)
    return repo


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def online(repo):
    store = feature_store(repo)
    return store.get_online_features(features=FEATURES, entity_rows=[{"driver_id": 1001}, {"driver_id": 1002}]).to_dict()


def test_the_creator_of_a_project_applies_writes_reads_and_manages_it(kiln, tokens, applied):
    got = online(applied)
    assert got["conv_rate"] == [0.5, 0.25]
    assert got["avg_daily_trips"] == [10, 20]
    out = feast_cli(applied, "feature-views", "list")
    assert "driver_hourly_stats" in out.stdout and "customer_profile" in out.stdout
    # Its manager may grant on it; a global grant stays an administrator's.
    bearer = {"Authorization": f"Bearer {tokens['fe']}"}
    r = requests.post(kiln.url + "/api/v1/grants", json={"subject_kind": "user", "subject": "fv",
                                                        "object_kind": "feature_project", "object_id": PROJECT,
                                                        "role": "viewer"}, headers=bearer, timeout=30)
    assert r.status_code == 200, r.text
    r = requests.post(kiln.url + "/api/v1/grants", json={"subject_kind": "user", "subject": "fv",
                                                        "object_kind": "global", "role": "viewer"},
                      headers=bearer, timeout=30)
    assert r.status_code == 403, r.text


def test_a_viewer_reads_but_cannot_apply_or_write(kiln, tokens, applied, tmp_path_factory):
    r = kiln.grant(kiln.admin, "fv", "feature_project", PROJECT, "viewer")
    assert r.status_code == 200, r.text
    repo = repo_with_token(kiln, tmp_path_factory, "fv", tokens["fv"])
    assert online(repo)["conv_rate"] == [0.5, 0.25]
    out = feast_cli(repo, "feature-views", "list")
    assert "driver_hourly_stats" in out.stdout
    refused = feast_cli(repo, "apply", check=False)
    assert refused.returncode != 0
    assert "Permission" in refused.stdout + refused.stderr, refused.stderr[-2000:]
    store = feature_store(repo)
    now = utc_now_s()
    rows = pd.DataFrame({"driver_id": [1001], "event_timestamp": [now], "created": [now], "conv_rate": [0.9],
                         "acc_rate": [0.9], "avg_daily_trips": [99]})
    rows["conv_rate"] = rows["conv_rate"].astype("float32")
    with pytest.raises(Exception) as e:
        store.write_to_online_store("driver_hourly_stats", rows)
    assert "Permission" in str(e.value) or "403" in str(e.value), repr(e.value)
    assert online(repo)["conv_rate"] == [0.5, 0.25]  # nothing was written


def test_a_user_without_grants_sees_no_views_and_is_refused_reads(kiln, tokens, applied, tmp_path_factory):
    repo = repo_with_token(kiln, tmp_path_factory, "fx", tokens["fx"])
    out = feast_cli(repo, "feature-views", "list", check=False)
    assert "driver_hourly_stats" not in out.stdout and "customer_profile" not in out.stdout
    with pytest.raises(Exception) as e:
        online(repo)
    assert "Permission" in str(e.value) or "403" in str(e.value) or "not" in str(e.value), repr(e.value)
    # The feature server's route refuses it too, in Feast's error shape.
    r = requests.post(kiln.url + "/get-online-features", json={"features": FEATURES, "entities": {"driver_id": [1001]}},
                      headers={"Authorization": f"Bearer {tokens['fx']}"}, timeout=30)
    assert r.status_code == 403, r.text
    assert "FeastPermissionError" in r.json()


@pytest.mark.parametrize("token", [None, "kiln_not-a-real-token"], ids=["no-token", "wrong-token"])
def test_no_token_or_a_wrong_one_is_refused(kiln, tokens, applied, tmp_path_factory, token):
    repo = repo_with_token(kiln, tmp_path_factory, "anon", token)
    refused = feast_cli(repo, "apply", check=False)
    assert refused.returncode != 0
    with pytest.raises(Exception):
        online(repo)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = requests.post(kiln.url + "/get-online-features", json={"features": FEATURES, "entities": {"driver_id": [1001]}},
                      headers=headers, timeout=30)
    assert r.status_code == 401, r.text
    assert "WWW-Authenticate" in r.headers


def test_deleting_a_view_drops_the_grants_on_it(kiln, tokens, applied):
    view = f"{PROJECT}/customer_profile"
    assert kiln.grant(kiln.admin, "fx", "feature_view", view, "viewer").status_code == 200

    def grants_on_view():
        r = requests.get(kiln.url + "/api/v1/grants", params={"object_kind": "feature_view", "object_id": view},
                         auth=kiln.admin, timeout=30)
        assert r.status_code == 200, r.text
        return [g for g in r.json()["grants"] if g["subject"] == "fx"]

    assert len(grants_on_view()) == 1
    # The project's creator (its manager) deletes the view through the unmodified SDK.
    feature_store(applied).delete_feature_view("customer_profile")
    assert grants_on_view() == []
