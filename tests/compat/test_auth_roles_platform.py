"""kiln's platform API and Open Inference Protocol with --auth and
--default-role none: each role on a deployment endpoint allowed and refused
(read, predict, patch, :rollback, delete, grants), creating endpoints (and
deploy's stage endpoint) only with editor on the global scope and the model,
the creator becoming manager; V2 infer over REST and gRPC with the
unmodified tritonclient carrying a token header; and lists that show nobody
what they were not granted.

Models are trained with xgboost and registered by the unmodified mlflow
client as the creating user.
"""
from __future__ import annotations

import contextlib
import os
import uuid

import numpy as np
import pandas as pd
import pytest
import requests

pytestmark = [pytest.mark.kiln_only, pytest.mark.filterwarnings("ignore::FutureWarning")]

ADMIN_PW = "platform-auth-admin-pw"
COLS = ["a", "b", "c", "d"]
USERS = ["creator", "vera", "ed", "max", "outsider", "nobody"]


def _pw(user: str) -> str:
    return f"{user}-secret-pw"


@contextlib.contextmanager
def as_user(user: str):
    keys = ["MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"]
    saved = {k: os.environ.get(k) for k in keys}
    for k in keys:
        os.environ.pop(k, None)
    os.environ["MLFLOW_TRACKING_USERNAME"] = user
    os.environ["MLFLOW_TRACKING_PASSWORD"] = _pw(user)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class Secured:
    def __init__(self, srv):
        self.srv = srv
        self.url = srv.url
        self.tokens: dict[str, str] = {}

    def auth(self, user: str):
        return ("admin", ADMIN_PW) if user == "admin" else (user, _pw(user))

    def call(self, user: str | None, method: str, path: str, body=None):
        return requests.request(method, self.url + path, json=body, auth=self.auth(user) if user else None,
                                timeout=60)

    def grant(self, by: str, user: str, kind: str, object_id: str, role: str):
        return self.call(by, "POST", "/api/v1/grants", {"subject_kind": "user", "subject": user, "object_kind": kind,
                                                        "object_id": object_id, "role": role})

    def register(self, user: str, name: str, seed: int) -> int:
        import mlflow
        import xgboost as xgb
        from mlflow.models import infer_signature

        rng = np.random.default_rng(seed)
        X = pd.DataFrame(rng.normal(size=(64, len(COLS))).astype(np.float32), columns=COLS)
        y = (X.iloc[:, 0] > 0).astype(int)
        booster = xgb.train({"objective": "binary:logistic", "max_depth": 2, "seed": seed}, xgb.DMatrix(X, label=y),
                            num_boost_round=3)
        with as_user(user):
            mlflow.set_tracking_uri(self.url)
            eid = mlflow.MlflowClient(self.url).create_experiment(f"auth-platform-{name}-{seed}")
            with mlflow.start_run(experiment_id=eid):
                info = mlflow.xgboost.log_model(booster, name="model",
                                                signature=infer_signature(X, booster.predict(xgb.DMatrix(X))),
                                                pip_requirements=[f"xgboost=={xgb.__version__}"])
            return int(mlflow.register_model(info.model_uri, name).version)


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    from conftest import ServerProcess

    root = tmp_path_factory.mktemp("auth-platform")
    pw = root / "admin-password"
    pw.write_text(ADMIN_PW + "\n")
    srv = ServerProcess("kiln", root / "data", ["--auth", "--admin-password-file", str(pw), "--default-role", "none",
                                                "--grpc-port", "0"]).start()
    s = Secured(srv)
    for u in USERS:
        r = s.call("admin", "POST", "/api/v1/users", {"name": u, "password": _pw(u)})
        assert r.status_code == 201, r.text
        r = s.call("admin", "POST", "/api/v1/tokens", {"user": u, "name": "tritonclient"})
        assert r.status_code == 201, r.text
        s.tokens[u] = r.json()["secret"]
    assert s.grant("admin", "creator", "global", "", "editor").status_code == 200
    yield s
    srv.stop(check=True)


@pytest.fixture(scope="module")
def endpoint(secured):
    """An endpoint the creator made (and so manages), with vera viewer, ed editor and max manager on it."""
    model = f"authm-{uuid.uuid4().hex[:6]}"
    v = secured.register("creator", model, seed=3)
    secured.register("creator", model, seed=4)
    name = f"authep-{uuid.uuid4().hex[:6]}"
    r = secured.call("creator", "POST", "/api/v1/endpoints", {"name": name, "routes": [{"model": model, "version": v}]})
    assert r.status_code == 200, r.text
    assert r.json()["created_by"] == "creator"
    for user, role in (("vera", "viewer"), ("ed", "editor"), ("max", "manager")):
        r = secured.grant("creator", user, "endpoint", name, role)  # the creator manages it
        assert r.status_code == 200, r.text
    return {"name": name, "model": model, "version": v}


def status(r) -> int:
    return r.status_code


def test_creating_endpoints_needs_editor_on_global_and_the_model(secured, endpoint):
    body = {"name": f"x-{uuid.uuid4().hex[:6]}", "routes": [{"model": endpoint["model"], "version": endpoint["version"]}]}
    r = secured.call("outsider", "POST", "/api/v1/endpoints", body)
    assert r.status_code == 403, r.text
    assert r.json()["error_code"] == "PERMISSION_DENIED"
    assert secured.call(None, "POST", "/api/v1/endpoints", body).status_code == 401
    # Editor on the global scope is editor on every model too.
    assert secured.grant("admin", "outsider", "global", "", "editor").status_code == 200
    try:
        other = f"other-{uuid.uuid4().hex[:6]}"
        secured.register("creator", other, seed=5)
        r = secured.call("outsider", "POST", "/api/v1/endpoints", {"name": body["name"],
                                                                   "routes": [{"model": other, "version": 1}]})
        assert r.status_code == 200, r.text  # global editor covers the model too
    finally:
        assert secured.grant("admin", "outsider", "global", "", "none").status_code == 200
    # ed edits the endpoint but has no role on the model: cannot route a new endpoint to it.
    r = secured.call("ed", "POST", "/api/v1/endpoints", {"name": f"y-{uuid.uuid4().hex[:6]}",
                                                         "routes": [{"model": endpoint["model"], "version": 1}]})
    assert r.status_code == 403, r.text


def test_each_role_on_an_endpoint(secured, endpoint):
    name = endpoint["name"]
    path = f"/api/v1/endpoints/{name}"
    predict = {"inputs": {c: [0.5] for c in COLS}}
    # Reads: viewer and up; nobody else.
    for user in ("vera", "ed", "max", "creator"):
        assert status(secured.call(user, "GET", path)) == 200, user
        assert status(secured.call(user, "GET", path + "/events")) == 200, user
        r = secured.call(user, "POST", path + "/predict", predict)
        assert r.status_code == 200, (user, r.text)
    assert status(secured.call("outsider", "GET", path)) == 403
    assert status(secured.call("outsider", "POST", path + "/predict", predict)) == 403
    assert status(secured.call("outsider", "GET", path + "/predictions")) == 403
    r = secured.call(None, "GET", path)
    assert r.status_code == 401 and "Bearer" in r.headers.get("WWW-Authenticate", "")
    # Changes: editor and up.
    assert status(secured.call("vera", "PATCH", path, {"description": "v"})) == 403
    r = secured.call("ed", "PATCH", path, {"description": "edited"})
    assert r.status_code == 200, r.text
    assert status(secured.call("vera", "POST", path + ":rollback")) == 403
    r = secured.call("ed", "POST", path + ":rollback")
    assert r.status_code == 409, r.text  # allowed, but nothing to roll back to
    # Grants on it: its managers only.
    assert status(secured.grant("ed", "outsider", "endpoint", name, "viewer")) == 403
    assert status(secured.grant("max", "outsider", "endpoint", name, "viewer")) == 200
    assert status(secured.call("outsider", "GET", path)) == 200
    assert status(secured.grant("max", "outsider", "endpoint", name, "none")) == 200
    assert status(secured.call("outsider", "GET", path)) == 403
    assert status(secured.grant("max", "outsider", "global", "", "viewer")) == 403


def test_deleting_needs_manager_and_drops_the_grants(secured, endpoint):
    name = f"del-{uuid.uuid4().hex[:6]}"
    r = secured.call("creator", "POST", "/api/v1/endpoints",
                     {"name": name, "routes": [{"model": endpoint["model"], "version": endpoint["version"]}]})
    assert r.status_code == 200, r.text
    assert secured.grant("creator", "ed", "endpoint", name, "editor").status_code == 200
    assert status(secured.call("ed", "DELETE", f"/api/v1/endpoints/{name}")) == 403
    assert status(secured.call("creator", "DELETE", f"/api/v1/endpoints/{name}")) == 200
    grants = secured.call("admin", "GET", f"/api/v1/grants?object_kind=endpoint&object_id={name}").json()["grants"]
    assert grants == []


def test_model_deploy_creates_the_stage_endpoint_for_its_creator(secured, endpoint):
    body = {"model_name": endpoint["model"], "model_version": str(endpoint["version"]), "target_stage": "Staging"}
    assert status(secured.call("ed", "POST", "/api/v1/models/deploy", body)) == 403
    r = secured.call("creator", "POST", "/api/v1/models/deploy", body)
    assert r.status_code == 200, r.text
    stage_ep = r.json()["endpoint"]
    assert r.json()["created"] is True
    mine = secured.call("admin", "GET", f"/api/v1/grants?object_kind=endpoint&object_id={stage_ep}").json()["grants"]
    assert [(g["subject"], g["role"]) for g in mine] == [("creator", "manager")]
    assert status(secured.call("vera", "GET", f"/api/v1/endpoints/{stage_ep}")) == 403


def test_lists_do_not_leak(secured, endpoint):
    names = lambda user: sorted(e["name"] for e in secured.call(user, "GET", "/api/v1/endpoints").json()["endpoints"])
    assert names("nobody") == []
    # outsider sees the one endpoint it created while it was a global editor, nothing else.
    assert endpoint["name"] not in names("outsider") and len(names("outsider")) == 1
    assert names("vera") == [endpoint["name"]]
    assert endpoint["name"] in names("creator") and len(names("creator")) >= 2
    assert len(names("admin")) == len(names("creator"))
    # A repository model is checked as the registered model of its name: only
    # an admin loads one; its model's creator sees it, nobody else does.
    model = endpoint["model"]
    load = {"parameters": {"model_uri": f"models:/{model}/{endpoint['version']}"}}
    assert status(secured.call("creator", "POST", f"/v2/repository/models/{model}/load", load)) == 403
    r = secured.call("admin", "POST", f"/v2/repository/models/{model}/load", load)
    assert r.status_code == 200, r.text
    for path in ("/v2/models", "/v1/models"):
        r = secured.call("nobody", "GET", path)
        assert r.status_code == 200 and r.json()["models"] == [], r.text
        assert secured.call("creator", "GET", path).json()["models"] == [model]
    r = secured.call("nobody", "POST", "/v2/repository/index")
    assert r.status_code == 200 and r.json() == [], r.text
    assert [m["name"] for m in secured.call("creator", "POST", "/v2/repository/index").json()] == [model]
    assert status(secured.call("nobody", "GET", f"/v2/models/{model}")) == 403
    assert status(secured.call("creator", "GET", f"/v2/models/{model}")) == 200
    stats = secured.call("nobody", "GET", "/v2/models/stats").json()["model_stats"]
    assert stats == []
    assert status(secured.call("outsider", "POST", f"/v2/repository/models/{model}/unload")) == 403
    assert status(secured.call(None, "GET", "/v2/health/ready")) == 200  # probes stay public
    assert status(secured.call(None, "GET", "/api/v1/openapi.json")) == 200


def test_v2_infer_over_rest_and_grpc_with_a_token(secured, endpoint):
    import tritonclient.grpc as grpcclient
    import tritonclient.http as httpclient
    from tritonclient.utils import InferenceServerException

    name = endpoint["name"]
    rows = np.full((2, len(COLS)), 0.5, dtype=np.float32)
    http = httpclient.InferenceServerClient(url=secured.url.removeprefix("http://"))
    grpc = grpcclient.InferenceServerClient(url=f"127.0.0.1:{secured.srv.grpc_port}")

    def infer(mod, client, headers):
        inp = mod.InferInput("input-0", list(rows.shape), "FP32")
        inp.set_data_from_numpy(rows)
        return client.infer(name, [inp], headers=headers)

    for mod, client in ((httpclient, http), (grpcclient, grpc)):
        vera = {"authorization": f"Bearer {secured.tokens['vera']}"}
        res = infer(mod, client, vera)
        assert res.as_numpy("output-0").shape[0] == 2
        assert client.is_model_ready(name, headers=vera)
        with pytest.raises(InferenceServerException) as e:
            infer(mod, client, {"authorization": f"Bearer {secured.tokens['outsider']}"})
        assert "403" in str(e.value) or "PERMISSION_DENIED" in str(e.value) or "permission denied" in str(e.value), e.value
        with pytest.raises(InferenceServerException) as e:
            infer(mod, client, {})
        assert "401" in str(e.value) or "UNAUTHENTICATED" in str(e.value) or "authentication" in str(e.value), e.value
        with pytest.raises(InferenceServerException):
            infer(mod, client, {"authorization": "Bearer kiln_wrong"})
    # Probes need no credentials on either protocol.
    assert http.is_server_live() and grpc.is_server_live()
