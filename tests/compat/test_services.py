"""`kiln serve --services=...` runs a subset of kiln's services per
deployment (issue 13 item 4): a process answers the protocols of the
services it was given, 404 (or gRPC UNIMPLEMENTED) for the others, and the
operational routes always. Two processes with different roles on one data
store see each other's work: a model registered through a
tracking,registry process is deployed by a platform,serving process.
"""

from __future__ import annotations

import grpc
import mlflow
import numpy as np
import pandas as pd
import pytest
import requests
from mlflow.models import infer_signature

pytestmark = [pytest.mark.kiln_only]

COLUMNS = ["a", "b"]

# One cheap representative route per service.
PROBES = {
    "tracking": ("POST", "/api/2.0/mlflow/experiments/search", {"max_results": 1}),
    "registry": ("POST", "/api/2.0/mlflow/registered-models/search", {"max_results": 1}),
    "serving": ("GET", "/v2/health/ready", None),
    "features": ("POST", "/get-online-features", {"features": ["v:f"], "entities": {"id": [1]}}),
    "platform": ("GET", "/api/v1/endpoints", None),
}


def _route_exists(url: str, service: str) -> bool:
    """False only for the router's own 404 (an empty body): a mounted route
    may answer 404 too, for a missing object, but says which."""
    method, path, body = PROBES[service]
    r = requests.request(method, url + path, json=body, timeout=30)
    return not (r.status_code == 404 and not r.content)


@pytest.mark.parametrize("services", ["tracking", "registry", "serving", "features", "platform",
                                      "tracking,registry", "serving,platform"])
def test_a_process_mounts_only_its_services(kiln_factory, services):
    srv = kiln_factory("--services", services)
    wanted = set(services.split(","))
    for service in PROBES:
        assert _route_exists(srv.url, service) == (service in wanted), (services, service)
    # Operations are always there.
    assert requests.get(srv.url + "/health", timeout=30).status_code == 200
    assert requests.get(srv.url + "/health/live", timeout=30).status_code == 200
    assert "kiln_http_requests_total" in requests.get(srv.url + "/metrics", timeout=30).text


def test_grpc_carries_only_the_services_given(kiln_factory):
    from tritonclient.grpc import service_pb2, service_pb2_grpc

    srv = kiln_factory("--services", "features", "--grpc-port", "0")
    assert srv.grpc_port
    with grpc.insecure_channel(f"127.0.0.1:{srv.grpc_port}") as ch:
        with pytest.raises(grpc.RpcError) as e:
            service_pb2_grpc.GRPCInferenceServiceStub(ch).ServerLive(service_pb2.ServerLiveRequest(), timeout=10)
        assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_an_unknown_service_is_refused_at_startup(kiln_factory, compat_tmp_root):
    import subprocess

    from conftest import kiln_binary

    out = subprocess.run([str(kiln_binary()), "serve", "--port", "0", "--data-dir", str(compat_tmp_root / "svc-bad"),
                          "--services", "tracking,billing"], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "unknown service 'billing'" in out.stdout + out.stderr


def test_roles_split_over_processes_share_one_store(kiln_factory, compat_tmp_root, monkeypatch):
    """A model registered through the tracking,registry role is deployed and
    predicted through the platform,serving role on the same data."""
    import xgboost as xgb

    from conftest import BACKEND, SESSION_POSTGRES

    data = compat_tmp_root / "svc-shared"
    # On PostgreSQL the roles run side by side (own data dirs, one database,
    # one artifact folder); the embedded store is one process's, so there the
    # serving role starts on the same data dir after the writer stops.
    shared = []
    if BACKEND == "postgres":
        shared = ["--database-uri", SESSION_POSTGRES.uri_for(data),
                  "--artifacts-uri", f"file://{compat_tmp_root / 'svc-shared-artifacts'}"]
    writer = kiln_factory("--services", "tracking,registry", *shared, data_dir=data)
    X = pd.DataFrame(np.random.default_rng(3).normal(size=(32, 2)), columns=COLUMNS)
    booster = xgb.train({"objective": "reg:squarederror", "max_depth": 2},
                        xgb.DMatrix(X, label=X["a"] * 2 + 1), num_boost_round=3)
    expected = booster.predict(xgb.DMatrix(X.head(4)))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", writer.url)
    mlflow.set_tracking_uri(writer.url)
    mlflow.set_experiment("services-split")
    with mlflow.start_run():
        info = mlflow.xgboost.log_model(booster, name="model", signature=infer_signature(X, expected[:1]),
                                        pip_requirements=[f"xgboost=={xgb.__version__}"])
    version = mlflow.register_model(info.model_uri, "svc-model").version

    if shared:
        server = kiln_factory("--services", "platform,serving", *shared, data_dir=compat_tmp_root / "svc-shared-2")
    else:
        writer.stop(check=True)
        server = kiln_factory("--services", "platform,serving", data_dir=data)
    r = requests.post(server.url + "/api/v1/endpoints", timeout=60,
                      json={"name": "svc-ep", "routes": [{"model": "svc-model", "version": version}]})
    assert r.status_code == 200, r.text
    probe = X.head(4)
    r = requests.post(server.url + "/api/v1/endpoints/svc-ep/predict", timeout=60,
                      json={"inputs": {c: probe[c].tolist() for c in COLUMNS}})
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(np.asarray(r.json()["predictions"], dtype=np.float32).ravel(), expected, rtol=1e-6)
    # ... and it does not answer tracking calls.
    assert requests.post(server.url + "/api/2.0/mlflow/experiments/search", json={}, timeout=30).status_code == 404
