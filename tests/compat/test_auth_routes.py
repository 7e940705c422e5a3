"""Every route has an access decision, and none is fail-open.

The server lists its whole router at GET /api/v1/routes (admins only). This
suite walks that list against a kiln started with --auth: every route must
declare a decision, every route that is not public must answer an anonymous
caller 401 (with WWW-Authenticate) before doing anything, and every
admin-only route must answer an authenticated non-admin 403. A route added
without a decision makes the server refuse to start (also tested), so the
list below is the whole router, not a sample.

The gRPC services are walked the same way from their service descriptors:
every method, called anonymously, answers UNAUTHENTICATED -- except the
health probes KServe's protocol defines as public.
"""
from __future__ import annotations

import re

import grpc
import pytest
import requests

pytestmark = pytest.mark.kiln_only

ADMIN_PASSWORD = "route-coverage-admin-pw"
USER_PASSWORD = "route-coverage-user-pw"

# Public by design, as their REST twins (GET /v2/health/*, GET /v2): health
# probes and the server's name/version.
PUBLIC_GRPC = {"ServerLive", "ServerReady", "ServerMetadata", "GetFeastServingInfo"}
# Triton extensions kiln does not implement: they answer UNIMPLEMENTED to
# everyone and do nothing.
UNIMPLEMENTED_GRPC = {"SystemSharedMemoryStatus", "SystemSharedMemoryRegister", "SystemSharedMemoryUnregister",
                      "CudaSharedMemoryStatus", "CudaSharedMemoryRegister", "CudaSharedMemoryUnregister",
                      "TraceSetting", "LogSettings"}


def _concrete(pattern: str) -> str:
    """A path that matches the pattern, with placeholder values."""
    path = re.sub(r"\{[^}/]+\.\.\.\}", "x/y", pattern)
    path = re.sub(r"\{[^}/]+\}", "x", path)
    return path


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    from conftest import ServerProcess

    root = tmp_path_factory.mktemp("auth-routes")
    pw = root / "admin-password"
    pw.write_text(ADMIN_PASSWORD + "\n")
    srv = ServerProcess("kiln", root / "data", ["--auth", "--admin-password-file", str(pw),
                                                "--default-role", "none", "--grpc-port", "0"]).start()
    admin = requests.Session()
    admin.auth = ("admin", ADMIN_PASSWORD)
    r = admin.post(f"{srv.url}/api/2.0/mlflow/users/create", json={"username": "bob", "password": USER_PASSWORD})
    assert r.status_code == 200, r.text
    yield srv, admin
    srv.stop(check=True)


@pytest.fixture(scope="module")
def routes(secured):
    srv, admin = secured
    r = admin.get(f"{srv.url}/api/v1/routes")
    assert r.status_code == 200, r.text
    listed = r.json()["routes"]
    assert len(listed) > 150  # the whole router: MLflow, Feast, V2/V1, platform, security, ops
    return listed


def test_every_route_declares_a_decision(routes):
    unset = [f"{r['method']} {r['pattern']}" for r in routes if r["access"] == "unset"]
    assert unset == []


def test_anonymous_callers_get_401_on_every_non_public_route(secured, routes):
    srv, _ = secured
    wrong = []
    for r in routes:
        url = srv.url + _concrete(r["pattern"])
        resp = requests.request(r["method"], url, json={} if r["method"] in ("POST", "PUT", "PATCH") else None,
                                headers={"Accept": "application/json"}, timeout=30)
        if r["access"] == "public":
            if resp.status_code == 401:
                wrong.append(f"{r['method']} {r['pattern']}: public route answered 401")
            continue
        if resp.status_code != 401:
            wrong.append(f"{r['method']} {r['pattern']} ({r['access']}): {resp.status_code} {resp.text[:120]}")
        elif "WWW-Authenticate" not in resp.headers:
            wrong.append(f"{r['method']} {r['pattern']}: 401 without WWW-Authenticate")
    assert wrong == []


def test_wrong_credentials_are_refused_everywhere(routes, kiln_factory, tmp_path):
    # A server of its own: the failures below trip the login rate limit for
    # this source address, which would refuse the other tests' good logins.
    pw = tmp_path / "pw"
    pw.write_text(ADMIN_PASSWORD)
    srv = kiln_factory("--auth", "--admin-password-file", str(pw))
    statuses = []
    wrong = []
    for r in routes:
        if r["access"] == "public":
            continue
        url = srv.url + _concrete(r["pattern"])
        for kwargs in ({"auth": ("admin", "not-the-password")}, {"headers": {"Authorization": "Bearer kiln_0000"}}):
            resp = requests.request(r["method"], url, timeout=30, **kwargs)
            statuses.append(resp.status_code)
            if resp.status_code not in (401, 429):
                wrong.append(f"{r['method']} {r['pattern']} {kwargs}: {resp.status_code}")
    assert wrong == []
    # The first failures are 401s; once the limit is reached, 429s.
    assert statuses[0] == 401 and 429 in statuses


def test_admin_routes_refuse_non_admins(secured, routes):
    srv, _ = secured
    admin_only = [r for r in routes if r["access"].startswith("admin")]
    assert len(admin_only) >= 5  # users, grants on everything, audit, routes, repository control
    wrong = []
    for r in admin_only:
        url = srv.url + _concrete(r["pattern"])
        resp = requests.request(r["method"], url, auth=("bob", USER_PASSWORD),
                                json={} if r["method"] in ("POST", "PUT", "PATCH") else None, timeout=30)
        if resp.status_code != 403:
            wrong.append(f"{r['method']} {r['pattern']}: {resp.status_code} {resp.text[:120]}")
    assert wrong == []


def test_the_route_listing_itself_is_admin_only(secured):
    srv, _ = secured
    assert requests.get(f"{srv.url}/api/v1/routes", timeout=30).status_code == 401
    assert requests.get(f"{srv.url}/api/v1/routes", auth=("bob", USER_PASSWORD), timeout=30).status_code == 403


def _grpc_methods():
    from feast.protos.feast.registry import RegistryServer_pb2
    from feast.protos.feast.serving import ServingService_pb2
    from tritonclient.grpc import service_pb2

    out = []
    for module, name in ((RegistryServer_pb2, "RegistryServer"), (ServingService_pb2, "ServingService"),
                         (service_pb2, "GRPCInferenceService")):
        service = module.DESCRIPTOR.services_by_name[name]
        for m in service.methods:
            if m.client_streaming or m.server_streaming:
                continue
            out.append((service.full_name, m.name, m.input_type._concrete_class, m.output_type._concrete_class))
    return out


def test_every_grpc_method_refuses_anonymous_callers(secured):
    srv, _ = secured
    methods = _grpc_methods()
    assert len(methods) > 60
    channel = grpc.insecure_channel(f"127.0.0.1:{srv.grpc_port}")
    wrong = []
    for service, method, req_cls, res_cls in methods:
        call = channel.unary_unary(f"/{service}/{method}", request_serializer=req_cls.SerializeToString,
                                   response_deserializer=res_cls.FromString)
        try:
            call(req_cls(), timeout=30)
            code = grpc.StatusCode.OK
        except grpc.RpcError as e:
            code = e.code()
        if method in UNIMPLEMENTED_GRPC:
            if code != grpc.StatusCode.UNIMPLEMENTED:
                wrong.append(f"{service}/{method}: {code} (expected UNIMPLEMENTED)")
        elif method in PUBLIC_GRPC:
            if code == grpc.StatusCode.UNAUTHENTICATED:
                wrong.append(f"{service}/{method}: public method refused")
        elif code != grpc.StatusCode.UNAUTHENTICATED:
            wrong.append(f"{service}/{method}: {code}")
    channel.close()
    assert wrong == [], "\n".join(wrong)


def test_server_refuses_to_start_with_auth_and_no_admin_password(tmp_path):
    from conftest import ServerProcess

    srv = ServerProcess("kiln", tmp_path / "data", ["--auth"])
    import subprocess

    proc = subprocess.run(srv._command(), capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in __import__("os").environ.items() if k != "KILN_ADMIN_PASSWORD"})
    assert proc.returncode != 0
    assert "admin" in (proc.stderr + proc.stdout).lower() and "password" in (proc.stderr + proc.stdout).lower()
