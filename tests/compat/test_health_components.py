"""GET /api/v1/health/components: every store and service of the server with
its status and check latency (the web UI's Health page), admins only.

Against the real binary: the component list and verdicts with auth off, a
model that fails to load making the repository and the serving service
"degraded" (not "failing", and not hidden), and with --auth the route's
decision: anonymous 401, a signed-in non-admin 403 in kiln's error shape,
admin 200.
"""
from __future__ import annotations

import pytest
import requests
import xgboost as xgb
import numpy as np

from conftest import BACKEND

pytestmark = pytest.mark.kiln_only

STORES = ["metadata_store", "artifact_store", "online_store", "audit_log", "model_repository", "endpoint_models",
          "change_feed"]
SERVICES = ["tracking", "registry", "serving", "features", "platform"]


def _by_name(body):
    return {c["name"]: c for c in body["components"]}


def test_components_and_a_model_that_failed_to_load(kiln_factory, tmp_path):
    root = tmp_path / "models"
    rng = np.random.default_rng(3)
    X = rng.normal(size=(32, 3))
    booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, label=(X[:, 0] > 0).astype(int)), 2)
    (root / "good" / "1").mkdir(parents=True)
    booster.save_model(str(root / "good" / "1" / "model.json"))
    (root / "broken" / "1").mkdir(parents=True)
    (root / "broken" / "1" / "model.json").write_text("{not a model")
    srv = kiln_factory("--model-repository", str(root))
    r = requests.get(f"{srv.url}/api/v1/health/components", timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [c["name"] for c in body["components"]] == STORES + SERVICES
    c = _by_name(body)
    for name in ("metadata_store", "artifact_store", "online_store", "audit_log"):
        assert c[name]["status"] == "ok", c[name]
        assert c[name]["latency_ms"] >= 0
    assert c["audit_log"]["detail"]["last_seq"] >= 1  # the start-up record at least
    # Embedded storage is one process: no change feed. On PostgreSQL every
    # replica LISTENs for the others' changes, and the feed is checked.
    assert c["change_feed"]["status"] == ("ok" if BACKEND == "postgres" else "off"), c["change_feed"]
    repo = c["model_repository"]
    assert repo["status"] == "degraded", repo
    assert repo["message"] == "1 model is not loaded"
    states = {m["name"]: m["state"] for m in repo["detail"]["models"]}
    assert states == {"good": "READY", "broken": "UNAVAILABLE"}
    assert c["serving"]["status"] == "degraded"
    assert c["serving"]["message"] == "depends on model_repository"
    assert c["tracking"]["status"] == "ok" and c["tracking"]["message"] == ""
    assert body["status"] == "degraded"
    assert body["checked_ms"] > 1_600_000_000_000
    # The public probe is unaffected by a degraded model: it checks the stores.
    assert requests.get(f"{srv.url}/health", timeout=30).status_code == 200


def test_only_admins_read_component_health(kiln_factory, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("health-admin-password")
    srv = kiln_factory("--auth", "--admin-password-file", str(pw), "--services", "tracking,registry")
    url = f"{srv.url}/api/v1/health/components"
    anon = requests.get(url, timeout=30)
    assert anon.status_code == 401 and "WWW-Authenticate" in anon.headers
    admin = requests.Session()
    admin.auth = ("admin", "health-admin-password")
    r = admin.post(f"{srv.url}/api/2.0/mlflow/users/create",
                   json={"username": "hv", "password": "health-viewer-password"}, timeout=30)
    assert r.status_code == 200, r.text
    viewer = requests.get(url, auth=("hv", "health-viewer-password"), timeout=30)
    assert viewer.status_code == 403
    assert viewer.json()["error_code"] == "PERMISSION_DENIED" and viewer.json()["message"]
    ok = admin.get(url, timeout=30)
    assert ok.status_code == 200, ok.text
    c = _by_name(ok.json())
    # Only the mounted services are listed; serving is off in this process.
    assert [n for n in c if n in SERVICES] == ["tracking", "registry"]
    assert c["model_repository"]["status"] == "off"
    assert c["endpoint_models"]["status"] == "off"
    assert ok.json()["status"] == "ok"
