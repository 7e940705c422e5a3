"""kiln's platform API (/api/v1/endpoints, /api/v1/models/deploy|rollback)
against the real binary, with models registered by the unmodified mlflow
client (xgboost boosters trained here, logged with mlflow.xgboost.log_model).

Rollouts are observed over time through GET status and the event history,
with short bakes and intervals (the controller ticks every 200 ms by
default); waits poll with a generous deadline, nothing asserts a duration.
"""

from __future__ import annotations

import csv
import time
import uuid

import mlflow
import numpy as np
import pandas as pd
import pytest
import requests
from mlflow import MlflowClient
from mlflow.models import infer_signature

pytestmark = [pytest.mark.kiln_only, pytest.mark.filterwarnings("ignore::FutureWarning")]

COLUMNS = ["f0", "f1", "f2", "f3"]
DEADLINE_S = 60


# --------------------------------------------------------------------------
# models: each version predicts differently, so an answer tells who answered
# --------------------------------------------------------------------------

def _frame(seed: int, rows: int = 64, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(loc=shift, size=(rows, len(COLUMNS))), columns=COLUMNS)


def _register(name: str, seed: int):
    """Trains a booster on a labelling that depends on `seed`, logs it with a
    named-column signature and registers it under `name`; returns
    (version string, the booster's predictions on _frame(0))."""
    import xgboost as xgb

    X = _frame(seed)
    w = np.random.default_rng(seed + 100).normal(size=len(COLUMNS))
    y = (X.to_numpy() @ w > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2, "eta": 0.5, "seed": seed},
                        xgb.DMatrix(X, label=y), num_boost_round=3)
    probe = _frame(0, rows=8)
    expected = booster.predict(xgb.DMatrix(probe))
    with mlflow.start_run():
        info = mlflow.xgboost.log_model(booster, name="model", signature=infer_signature(X, expected[:1]),
                                        pip_requirements=[f"xgboost=={xgb.__version__}"])
    mv = mlflow.register_model(info.model_uri, name)
    return mv.version, expected


@pytest.fixture
def model(unique):
    """A registered model with two versions: (name, {version: expected on the probe})."""
    name = unique("plat-model")
    v1, e1 = _register(name, seed=1)
    v2, e2 = _register(name, seed=2)
    assert not np.allclose(e1, e2), "the two versions must predict differently"
    return name, {v1: e1, v2: e2}


@pytest.fixture
def api(server):
    def call(method: str, path: str, json_body=None, actor: str | None = None, **kw):
        headers = {"X-Kiln-Actor": actor} if actor else {}
        return requests.request(method, server + path, json=json_body, headers=headers, timeout=60, **kw)
    return call


def probe_inputs() -> dict:
    probe = _frame(0, rows=8)
    return {c: probe[c].tolist() for c in COLUMNS}


def _ok(r) -> dict:
    assert r.status_code == 200, f"{r.status_code}: {r.text}"
    return r.json()


def _error(r, status: int, code: str, needle: str = ""):
    assert r.status_code == status, f"{r.status_code}: {r.text}"
    body = r.json()
    assert set(body) == {"error_code", "message"}, body
    assert body["error_code"] == code, body
    assert needle in body["message"], body
    return body


def wait_for(fn, what: str, deadline_s: float = DEADLINE_S, every_s: float = 0.1):
    end = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < end:
        last = fn()
        if last:
            return last
        time.sleep(every_s)
    pytest.fail(f"timed out waiting for {what} (last: {last!r})")


def route(model_name: str, version: str, percent: int = 100) -> dict:
    return {"model": model_name, "version": version, "percent": percent}


def create(api, name: str, routes: list, actor: str | None = None, **fields) -> dict:
    return _ok(api("POST", "/api/v1/endpoints", {"name": name, "routes": routes, **fields}, actor=actor))


def status(api, name: str) -> dict:
    return _ok(api("GET", f"/api/v1/endpoints/{name}"))["status"]


def events(api, name: str) -> list[dict]:
    return _ok(api("GET", f"/api/v1/endpoints/{name}/events"))["events"]


def do_predict(server: str, name: str, headers=None):
    return requests.post(f"{server}/api/v1/endpoints/{name}/predict", json={"inputs": probe_inputs()},
                         headers=headers or {}, timeout=60)


# --------------------------------------------------------------------------
# CRUD, validation, health
# --------------------------------------------------------------------------

def test_crud_and_prediction(api, server, model, unique):
    name, versions = model
    v1, v2 = sorted(versions, key=int)
    ep_name = unique("ep")
    ep = create(api, ep_name, [route(name, v1)], actor="alice", description="fraud scoring")
    assert ep["name"] == ep_name and ep["description"] == "fraud scoring" and ep["created_by"] == "alice"
    assert ep["config_version"] >= 1
    assert ep["revisions"][0]["routes"] == [
        {"model": name, "ref_kind": "version", "ref": v1, "version": int(v1), "percent": 100}]
    st = ep["status"]
    assert st["latest_revision"] == st["latest_ready_revision"] == st["rolled_out_revision"] == 1
    assert st["pending"] is False and st["rollout"] is None
    assert [(t["revision"], t["version"], t["percent"], t["ready"]) for t in st["traffic"]] == [(1, int(v1), 100, True)]

    out = _ok(do_predict(server, ep_name))
    assert out["model_name"] == name and out["model_version"] == v1 and out["revision"] == 1
    np.testing.assert_allclose(out["predictions"], versions[v1], rtol=1e-6)

    # Rows and records give the same answer as columns.
    probe = _frame(0, rows=8)
    rows = _ok(requests.post(f"{server}/api/v1/endpoints/{ep_name}/predict",
                             json={"inputs": probe[COLUMNS].values.tolist()}, timeout=60))
    records = _ok(requests.post(f"{server}/api/v1/endpoints/{ep_name}/predict",
                                json={"inputs": probe.to_dict(orient="records")}, timeout=60))
    assert rows["predictions"] == out["predictions"] == records["predictions"]

    listed = _ok(api("GET", "/api/v1/endpoints"))["endpoints"]
    assert ep_name in [e["name"] for e in listed]

    # Settings alone change no revision.
    ep = _ok(api("PATCH", f"/api/v1/endpoints/{ep_name}", {"description": "v2", "follow_aliases": True}))
    assert ep["description"] == "v2" and ep["follow_aliases"] is True and len(ep["revisions"]) == 1

    # A new revision, all at once.
    ep = _ok(api("PATCH", f"/api/v1/endpoints/{ep_name}", {"routes": [route(name, v2)]}, actor="bob"))
    assert ep["status"]["rolled_out_revision"] == 2 and ep["status"]["previous_rolled_out_revision"] == 1
    assert ep["description"] == "v2"
    assert _ok(do_predict(server, ep_name))["model_version"] == v2

    assert _ok(api("DELETE", f"/api/v1/endpoints/{ep_name}", actor="carol")) == {}
    _error(api("GET", f"/api/v1/endpoints/{ep_name}"), 404, "RESOURCE_DOES_NOT_EXIST")
    _error(do_predict(server, ep_name), 404, "RESOURCE_DOES_NOT_EXIST")
    _error(api("DELETE", f"/api/v1/endpoints/{ep_name}"), 404, "RESOURCE_DOES_NOT_EXIST")


def test_health_is_unchanged(server):
    body = _ok(requests.get(server + "/health", timeout=10))
    assert {"status", "version"} <= set(body), body  # the runbook's fields (kiln adds its store checks)
    assert body["status"] == "healthy" and body["version"]


@pytest.mark.parametrize("fields, needle", [
    ({"routes": []}, "routes must be a non-empty array"),
    ({"routs": []}, "unknown field 'routs'"),
    ({"routes": [{"model": "@M"}]}, "routes[0] needs exactly one of version, alias or stage"),
    ({"routes": [{"model": "@M", "version": "1", "percent": 70}, {"model": "@M", "version": "2", "percent": 20}]},
     "sum to 90"),
    ({"routes": [{"model": "@M", "version": "x"}]}, "routes[0].version must be a version number"),
    ({"routes": [{"model": "@M", "stage": "Archived"}]}, "routes[0].stage must be Staging or Production"),
    ({"routes": [{"model": "@M", "version": "1"}], "rollout": {"strategy": "canary"}},
     "rollout.step_percent is required for canary"),
    ({"routes": [{"model": "@M", "version": "1"}], "rollout": {"strategy": "blue_green"}}, "rollout.strategy"),
    ({"routes": [{"model": "@M", "version": "1"}],
      "rollout": {"strategy": "linear", "step_percent": 10, "rollback_on": [{"metric": "latency", "threshold": 1}]}},
     "rollout.rollback_on[0].metric"),
    ({"routes": [{"model": "@M", "version": "1"}], "mirror": {"model": "@M", "version": "2"}}, "mirror.percent is required"),
    ({"routes": [{"model": "@M", "version": "1"}], "batching": {"max_batch_rows": 0}}, "batching.max_batch_rows"),
    ({"routes": [{"model": "@M", "version": "1"}], "capture": {"percent": -1}}, "capture.percent"),
    ({"routes": [{"model": "@M", "version": "1"}], "features": {"project": "p"}},
     "features needs exactly one of feature_service or features"),
])
def test_validation_errors_name_the_field(api, model, unique, fields, needle):
    name, _ = model
    body = {"name": unique("ep")}
    for k, v in fields.items():
        body[k] = [dict(r, model=name) if isinstance(r, dict) and r.get("model") == "@M" else r for r in v] \
            if k == "routes" else (dict(v, model=name) if isinstance(v, dict) and v.get("model") == "@M" else v)
    _error(api("POST", "/api/v1/endpoints", body), 400, "INVALID_PARAMETER_VALUE", needle)


def test_unknown_model_version_and_duplicate(api, model, unique):
    name, versions = model
    v1 = min(versions, key=int)
    _error(api("POST", "/api/v1/endpoints", {"name": unique("ep"), "routes": [route(unique("nope"), "1")]}),
           404, "RESOURCE_DOES_NOT_EXIST")
    _error(api("POST", "/api/v1/endpoints", {"name": unique("ep"), "routes": [route(name, "99")]}),
           404, "RESOURCE_DOES_NOT_EXIST")
    _error(api("POST", "/api/v1/endpoints", {"name": "bad name", "routes": [route(name, v1)]}),
           400, "INVALID_PARAMETER_VALUE", "name")
    ep_name = unique("ep")
    create(api, ep_name, [route(name, v1)])
    _error(api("POST", "/api/v1/endpoints", {"name": ep_name, "routes": [route(name, v1)]}),
           409, "RESOURCE_ALREADY_EXISTS")
    _error(api("POST", f"/api/v1/endpoints/{ep_name}:promote"), 409, "RESOURCE_CONFLICT")


# --------------------------------------------------------------------------
# rollouts
# --------------------------------------------------------------------------

def test_canary_step_bake_then_full_and_409_meanwhile(api, server, model, unique):
    name, versions = model
    v1, v2 = sorted(versions, key=int)
    ep_name = unique("ep")
    create(api, ep_name, [route(name, v1)])
    ep = _ok(api("PATCH", f"/api/v1/endpoints/{ep_name}",
                 {"routes": [route(name, v2)], "rollout": {"strategy": "canary", "step_percent": 30, "bake_s": 2}},
                 actor="dave"))
    st = ep["status"]
    assert st["pending"] is True and st["rollout"]["to_revision"] == 2 and st["rollout"]["percent"] == 30
    shares = {t["revision"]: t["percent"] for t in st["traffic"]}
    assert shares == {1: 70, 2: 30}
    # One change at a time.
    _error(api("PATCH", f"/api/v1/endpoints/{ep_name}", {"routes": [route(name, v1)]}), 409, "RESOURCE_CONFLICT")
    # Both versions answer during the canary.
    answered = {_ok(do_predict(server, ep_name))["model_version"] for _ in range(60)}
    assert answered == {v1, v2}
    st = wait_for(lambda: (s := status(api, ep_name)) and not s["pending"] and s, "the canary to finish")
    assert st["rolled_out_revision"] == 2 and st["previous_rolled_out_revision"] == 1
    assert [(t["revision"], t["percent"]) for t in st["traffic"]] == [(2, 100)]
    ev = events(api, ep_name)
    actions = [(e["action"], e["actor"]) for e in ev]
    assert ("update", "dave") in actions
    assert any(a == "rolled_out" and who == "kiln" for a, who in actions), actions
    assert _ok(do_predict(server, ep_name))["model_version"] == v2


def test_linear_steps_observed_over_time(api, model, unique):
    name, versions = model
    v1, v2 = sorted(versions, key=int)
    ep_name = unique("ep")
    create(api, ep_name, [route(name, v1)])
    _ok(api("PATCH", f"/api/v1/endpoints/{ep_name}",
            {"routes": [route(name, v2)],
             "rollout": {"strategy": "linear", "step_percent": 40, "interval_s": 1, "bake_s": 1}}))
    seen = []

    def observe():
        s = status(api, ep_name)
        pct = s["rollout"]["percent"] if s["rollout"] else None
        if pct is not None and (not seen or seen[-1] != pct):
            seen.append(pct)
        return not s["pending"] and s

    st = wait_for(observe, "the linear rollout to finish", every_s=0.05)
    assert st["rolled_out_revision"] == 2
    assert seen[0] == 40 and seen == sorted(seen), seen
    assert 80 in seen, seen  # 40 -> 80 -> 100 (then rolled out)
    steps = [e for e in events(api, ep_name) if e["action"] == "rollout_step"]
    assert len(steps) >= 2, steps
    assert all(e["actor"] == "kiln" for e in steps)


def test_guardrail_rolls_back_automatically(api, server, model, unique):
    name, versions = model
    v1, v2 = sorted(versions, key=int)
    ep_name = unique("ep")
    create(api, ep_name, [route(name, v1)])
    # Any request is slower than 1 microsecond: the guardrail trips as soon as traffic reaches v2.
    _ok(api("PATCH", f"/api/v1/endpoints/{ep_name}",
            {"routes": [route(name, v2)],
             "rollout": {"strategy": "canary", "step_percent": 50, "bake_s": 600,
                         "rollback_on": [{"metric": "p99_ms", "op": ">", "threshold": 0.001, "window_s": 60,
                                          "min_requests": 1}]}}))

    def rolled_back():
        for _ in range(5):
            assert do_predict(server, ep_name).status_code == 200
        s = status(api, ep_name)
        return not s["pending"] and s

    st = wait_for(rolled_back, "the guardrail to roll back")
    assert st["rolled_out_revision"] == 1
    assert [(t["revision"], t["percent"]) for t in st["traffic"]] == [(1, 100)]
    rb = [e for e in events(api, ep_name) if e["action"] == "rollback"]
    assert rb and rb[-1]["reason"] == "guardrail" and rb[-1]["actor"] == "kiln", rb
    assert rb[-1]["detail"], rb  # the reading that tripped it
    assert _ok(do_predict(server, ep_name))["model_version"] == v1


def test_manual_rollback_and_promote(api, server, model, unique):
    name, versions = model
    v1, v2 = sorted(versions, key=int)
    ep_name = unique("ep")
    create(api, ep_name, [route(name, v1)])
    _error(api("POST", f"/api/v1/endpoints/{ep_name}:rollback"), 409, "RESOURCE_CONFLICT")
    _ok(api("PATCH", f"/api/v1/endpoints/{ep_name}", {"routes": [route(name, v2)]}))
    ep = _ok(api("POST", f"/api/v1/endpoints/{ep_name}:rollback", {"reason": "bad calibration"}, actor="erin"))
    assert ep["status"]["rolled_out_revision"] == 1
    assert _ok(do_predict(server, ep_name))["model_version"] == v1
    rb = [e for e in events(api, ep_name) if e["action"] == "rollback"][-1]
    assert rb["actor"] == "erin" and rb["reason"] == "bad calibration"

    # Promote ends a canary early.
    _ok(api("PATCH", f"/api/v1/endpoints/{ep_name}",
            {"routes": [route(name, v2)], "rollout": {"strategy": "canary", "step_percent": 10, "bake_s": 3600}}))
    assert status(api, ep_name)["pending"] is True
    ep = _ok(api("POST", f"/api/v1/endpoints/{ep_name}:promote", actor="frank"))
    assert ep["status"]["pending"] is False and ep["status"]["traffic"][0]["version"] == int(v2)
    pr = [e for e in events(api, ep_name) if e["action"] == "promote"][-1]
    assert pr["actor"] == "frank"
    # Rollback during a canary goes back to where it started.
    _ok(api("PATCH", f"/api/v1/endpoints/{ep_name}",
            {"routes": [route(name, v1)], "rollout": {"strategy": "canary", "step_percent": 10, "bake_s": 3600}}))
    ep = _ok(api("POST", f"/api/v1/endpoints/{ep_name}:rollback"))
    assert ep["status"]["pending"] is False
    assert [t["version"] for t in ep["status"]["traffic"]] == [int(v2)]
    assert [e["actor"] for e in events(api, ep_name) if e["action"] == "rollback"][-1] == "anonymous"


def test_follow_aliases_creates_a_revision_when_the_alias_moves(api, server, model, unique):
    name, versions = model
    v1, v2 = sorted(versions, key=int)
    client = MlflowClient()
    client.set_registered_model_alias(name, "champion", v1)
    ep_name = unique("ep")
    ep = create(api, ep_name, [{"model": name, "alias": "champion"}], follow_aliases=True)
    assert ep["revisions"][0]["routes"][0]["ref_kind"] == "alias"
    assert ep["revisions"][0]["routes"][0]["version"] == int(v1)
    client.set_registered_model_alias(name, "champion", v2)
    st = wait_for(lambda: (s := status(api, ep_name)) and s["rolled_out_revision"] == 2 and s,
                  "a revision for the moved alias")
    assert [t["version"] for t in st["traffic"]] == [int(v2)]
    # The stored revision is published to the route table right after its
    # commit: a prediction in between is still answered by (and labelled) v1.
    wait_for(lambda: _ok(do_predict(server, ep_name))["model_version"] == v2, "predictions from the moved alias")
    ev = [e for e in events(api, ep_name) if e["reason"] == "alias_move"]
    assert ev, events(api, ep_name)
    # Without follow_aliases nothing moves.
    other = unique("ep")
    create(api, other, [{"model": name, "alias": "@champion"}])
    client.set_registered_model_alias(name, "champion", v1)
    wait_for(lambda: status(api, ep_name)["rolled_out_revision"] == 3, "the followed endpoint to move back")
    assert status(api, other)["latest_revision"] == 1


# --------------------------------------------------------------------------
# the runbook's calls
# --------------------------------------------------------------------------

def test_models_deploy_and_rollback_as_the_runbook_says(api, server, model, unique):
    name, versions = model
    v1, v2 = sorted(versions, key=int)
    client = MlflowClient()
    out = _ok(api("POST", "/api/v1/models/deploy", {"model_name": name, "model_version": v1, "target_stage": "staging"},
                  actor="ops"))
    assert out["model_name"] == name and out["model_version"] == v1 and out["stage"] == "Staging"
    assert out["created"] is True and out["revision"] == 1
    endpoint = out["endpoint"]
    assert client.get_model_version(name, v1).current_stage == "Staging"
    assert _ok(do_predict(server, endpoint))["model_version"] == v1

    out = _ok(api("POST", "/api/v1/models/deploy", {"model_name": name, "model_version": v2, "target_stage": "STAGING"}))
    assert out["endpoint"] == endpoint and out["created"] is False and out["model_version"] == v2
    assert client.get_model_version(name, v2).current_stage == "Staging"
    assert _ok(do_predict(server, endpoint))["model_version"] == v2

    out = _ok(api("POST", "/api/v1/models/rollback", {"model_name": name, "target_stage": "staging"}))
    assert out["endpoint"] == endpoint and out["model_version"] == v1
    assert client.get_model_version(name, v1).current_stage == "Staging"
    assert _ok(do_predict(server, endpoint))["model_version"] == v1
    assert any(e["actor"] == "ops" for e in events(api, endpoint))

    # Production is another endpoint.
    prod = _ok(api("POST", "/api/v1/models/deploy", {"model_name": name, "model_version": v2,
                                                     "target_stage": "Production"}))
    assert prod["endpoint"] != endpoint and prod["stage"] == "Production"


@pytest.mark.parametrize("body, status_code, code, needle", [
    ({"model_version": "1", "target_stage": "staging"}, 400, "INVALID_PARAMETER_VALUE", "model_name"),
    ({"model_name": "@M", "target_stage": "staging"}, 400, "INVALID_PARAMETER_VALUE", "model_version"),
    ({"model_name": "@M", "model_version": "1", "target_stage": "qa"}, 400, "INVALID_PARAMETER_VALUE", "target_stage"),
    ({"model_name": "@M", "model_version": "1", "target_stage": "archived"}, 400, "INVALID_PARAMETER_VALUE",
     "target_stage"),
    ({"model_name": "@M", "model_version": "99", "target_stage": "staging"}, 404, "RESOURCE_DOES_NOT_EXIST", ""),
    ({"model_name": "@UNKNOWN", "model_version": "1", "target_stage": "staging"}, 404, "RESOURCE_DOES_NOT_EXIST", ""),
])
def test_models_deploy_errors(api, model, unique, body, status_code, code, needle):
    name, _ = model
    body = {k: (name if v == "@M" else unique("nope") if v == "@UNKNOWN" else v) for k, v in body.items()}
    _error(api("POST", "/api/v1/models/deploy", body), status_code, code, needle)


def test_models_deploy_refuses_an_unservable_version_with_the_reason(api, unique):
    from sklearn.linear_model import LogisticRegression

    X = _frame(3)
    y = (X["f0"] > 0).astype(int)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(LogisticRegression(max_iter=100).fit(X, y), name="skl",
                                        pip_requirements=["scikit-learn"])
    name = unique("plat-skl")
    mv = mlflow.register_model(info.model_uri, name)
    body = _error(api("POST", "/api/v1/models/deploy",
                      {"model_name": name, "model_version": mv.version, "target_stage": "production"}),
                  400, "INVALID_PARAMETER_VALUE")
    assert "sklearn" in body["message"].lower(), body
    # Nothing moved: the version is not in Production.
    assert MlflowClient().get_model_version(name, mv.version).current_stage != "Production"
    _error(api("POST", "/api/v1/models/rollback", {"model_name": name, "target_stage": "production"}),
           404, "RESOURCE_DOES_NOT_EXIST")


# --------------------------------------------------------------------------
# metrics, capture, drift
# --------------------------------------------------------------------------

def test_metrics_show_endpoint_series(api, server, model, unique):
    name, versions = model
    v1 = min(versions, key=int)
    ep_name = unique("ep")
    create(api, ep_name, [route(name, v1)])
    for _ in range(3):
        _ok(do_predict(server, ep_name))
    text = requests.get(server + "/metrics", timeout=30).text
    series = [line for line in text.splitlines() if line.startswith("kiln_endpoint_") and f'endpoint="{ep_name}"' in line]
    names = {line.split("{")[0] for line in series}
    assert {"kiln_endpoint_requests_total", "kiln_endpoint_traffic_percent"} <= names, series
    req = [line for line in series if line.startswith("kiln_endpoint_requests_total")]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in req) >= 3


def test_capture_listing_and_jsonl_export(api, server, model, unique):
    name, versions = model
    v1 = min(versions, key=int)
    ep_name = unique("ep")
    create(api, ep_name, [route(name, v1)], capture={"percent": 100})
    for _ in range(3):
        _ok(do_predict(server, ep_name))
    _error(requests.post(f"{server}/api/v1/endpoints/{ep_name}/predict", json={"inputs": {"f0": ["x"]}}, timeout=30),
           400, "INVALID_PARAMETER_VALUE", "inputs.f0[0]")
    page = _ok(api("GET", f"/api/v1/endpoints/{ep_name}/predictions", params={"max_results": 2}))
    assert len(page["predictions"]) == 2
    first = page["predictions"][0]
    assert first["status"] == 200 and first["model_name"] == name and first["model_version"] == v1
    assert first["revision"] == 1 and first["latency_ms"] > 0
    assert first["request"] == {"inputs": probe_inputs()}
    assert first["response"]["model_version"] == v1
    rest = _ok(api("GET", f"/api/v1/endpoints/{ep_name}/predictions", params={"after_id": page["next_after_id"]}))
    assert [p["status"] for p in rest["predictions"]] == [200, 400]
    r = api("GET", f"/api/v1/endpoints/{ep_name}/predictions", params={"format": "jsonl"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/x-ndjson")
    import json
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [p["id"] for p in lines] == sorted(p["id"] for p in lines) and len(lines) == 4
    _error(api("GET", f"/api/v1/endpoints/{ep_name}/predictions", params={"format": "xml"}), 400,
           "INVALID_PARAMETER_VALUE", "format")


def test_drift_status_against_a_csv_baseline(api, server, model, unique, tmp_path):
    name, versions = model
    v1 = min(versions, key=int)
    baseline = tmp_path / "baseline.csv"
    frame = _frame(7, rows=500)
    with open(baseline, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerows(frame.values.tolist())
    ep_name = unique("ep")
    create(api, ep_name, [route(name, v1)], drift={"baseline": str(baseline), "threshold": 0.1})
    # f0 shifted far from the baseline, the others from the same distribution.
    live = _frame(8, rows=200)
    live["f0"] = live["f0"] + 3.0
    _ok(requests.post(f"{server}/api/v1/endpoints/{ep_name}/predict",
                      json={"inputs": {c: live[c].tolist() for c in COLUMNS}}, timeout=60))
    st = status(api, ep_name)
    assert st["drift_error"] == ""
    drift = {d["feature"]: d for d in st["drift"]}
    assert set(drift) == set(COLUMNS)
    assert drift["f0"]["drifted"] is True and drift["f0"]["psi"] > 0.25 and drift["f0"]["current_rows"] == 200
    assert drift["f1"]["psi"] < drift["f0"]["psi"]
    text = requests.get(server + "/metrics", timeout=30).text
    assert any(line.startswith("kiln_endpoint_feature_psi") and f'endpoint="{ep_name}"' in line and 'feature="f0"' in line
               for line in text.splitlines())
    _error(api("POST", "/api/v1/endpoints", {"name": unique("ep"), "routes": [route(name, v1)],
                                              "drift": {"baseline": "relative.csv"}}),
           400, "INVALID_PARAMETER_VALUE", "drift.baseline")
