"""kiln-only model-registry behaviour (skipped when KILN_COMPAT_TARGET=mlflow).

kiln spec under test:
a) Durable storage: creating a model version copies the model's files into
   registry-owned storage, `mlflow-artifacts:/_registry/...`. The version keeps
   loading after the source run's (or logged model's) artifacts and the run are
   deleted. That storage is read-only through the artifact proxy: PUT/DELETE
   under `_registry/` answer 403 PERMISSION_DENIED and change nothing.
b) `GET /api/2.0/kiln/model-versions/get-package?name=N&version=V` ->
   {"package": {artifact_uri, flavors, runtime, model_file, servable, reason,
   files[{path,size}] (sorted), signature{inputs,outputs}|null, requirements}}.
c) `GET /api/2.0/kiln/registry/events?max_results&page_token&name` -> an audit
   log of successful registry mutations, oldest first, with before/after as
   the MLflow API renders the entity and the actor from basic auth, else
   X-Kiln-User, else "".
d) Versions from `mlflow-artifacts:/...` (+ run_id) and from `models:/name/V`
   (a copy of another registered version) load, also after the source is gone.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, urlsplit

import mlflow
import numpy as np
import pytest
import requests
import yaml
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from conftest import error_of
from test_registry import _data, log_fresh_xgb, logged, train_xgb, xgb_requirements  # noqa: F401

pytestmark = [pytest.mark.kiln_only, pytest.mark.filterwarnings("ignore::FutureWarning")]

ART = "/api/2.0/mlflow-artifacts/artifacts"
PACKAGE = "/api/2.0/kiln/model-versions/get-package"
EVENTS = "/api/2.0/kiln/registry/events"
REGISTRY_PREFIX = "mlflow-artifacts:/_registry/"


def proxy_path(uri: str) -> str:
    """`mlflow-artifacts:/a/b` -> `a/b` (the path under the artifact proxy)."""
    u = urlsplit(uri)
    assert u.scheme == "mlflow-artifacts", uri
    return u.path.lstrip("/")


def art_url(server: str, path: str) -> str:
    return f"{server}{ART}/{quote(path, safe='/')}"


def local_files(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_size for p in sorted(root.rglob("*")) if p.is_file()}


def predicts(uri: str, X, expected):
    model = mlflow.pyfunc.load_model(uri)
    np.testing.assert_allclose(np.asarray(model.predict(X)).ravel(), expected, rtol=0, atol=0)


# --------------------------------------------------------------------------
# a) durable registry storage
# --------------------------------------------------------------------------

def test_version_survives_deletion_of_its_source(client, server, unique):
    run, info, X, expected = log_fresh_xgb(client, unique, seed=21)
    name = unique("kreg-durable")
    mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    assert mv.version == "1"
    uri = client.get_model_version_download_uri(name, "1")
    assert uri.startswith(REGISTRY_PREFIX), uri
    predicts(f"models:/{name}/1", X, expected)

    # Delete the logged model's files and the run's artifact root through the proxy, then the run.
    src = proxy_path(client.get_logged_model(info.model_id).artifact_location)
    assert requests.get(art_url(server, f"{src}/MLmodel"), timeout=30).status_code == 200
    r = requests.delete(art_url(server, src), timeout=30)
    assert r.status_code == 200, r.text
    assert error_of(requests.get(art_url(server, f"{src}/MLmodel"), timeout=30)) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert requests.delete(art_url(server, proxy_path(run.info.artifact_uri)), timeout=30).status_code == 200
    client.delete_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"

    predicts(f"models:/{name}/1", X, expected)
    predicts(f"models:/{name}@latest", X, expected)
    assert client.get_model_version_download_uri(name, "1") == uri


def test_registry_storage_is_read_only_through_the_proxy(client, server, logged, unique, tmp_path):  # noqa: F811
    m = logged
    name = unique("kreg-ro")
    mlflow.register_model(f"models:/{m.xgb_model_id}", name)
    uri = client.get_model_version_download_uri(name, "1")
    assert uri.startswith(REGISTRY_PREFIX), uri
    reg = proxy_path(uri)
    original = requests.get(art_url(server, f"{reg}/MLmodel"), timeout=30)
    assert original.status_code == 200 and b"flavors" in original.content
    before = local_files(Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp_path / "b"))))

    attempts = [
        ("PUT", f"{reg}/evil.txt", b"x"),
        ("PUT", f"{reg}/MLmodel", b"overwritten"),
        ("PUT", "_registry/brand-new/file.txt", b"x"),
        ("DELETE", f"{reg}/MLmodel", None),
        ("DELETE", reg, None),
        ("DELETE", "_registry", None),
    ]
    for method, path, body in attempts:
        r = requests.request(method, art_url(server, path), data=body, timeout=30)
        assert error_of(r) == (403, "PERMISSION_DENIED"), (method, path, r.status_code, r.text[:300])

    assert requests.get(art_url(server, f"{reg}/MLmodel"), timeout=30).content == original.content
    for gone in (f"{reg}/evil.txt", "_registry/brand-new/file.txt"):
        assert requests.get(art_url(server, gone), timeout=30).status_code == 404
    after = local_files(Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp_path / "a"))))
    assert after == before
    model = mlflow.pyfunc.load_model(f"models:/{name}/1")
    np.testing.assert_allclose(np.asarray(model.predict(m.X)).ravel(), m.xgb_expected, rtol=0, atol=0)


# --------------------------------------------------------------------------
# b) package endpoint
# --------------------------------------------------------------------------

def get_package(api, name, version):
    return api.raw("GET", PACKAGE, params={"name": name, "version": version})


def requirement_lines(path: Path) -> list[str]:
    lines = [ln.strip() for ln in path.read_text().splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("#")]


def check_package_against_files(client, api, name, version, tmp_path) -> tuple[dict, dict]:
    """Common package checks; returns (package, parsed MLmodel)."""
    r = get_package(api, name, version)
    assert r.status_code == 200, r.text[:500]
    pkg = r.json()["package"]
    uri = client.get_model_version_download_uri(name, version)
    assert pkg["artifact_uri"] == uri
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp_path / f"{name}-{version}")))
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())

    assert isinstance(pkg["flavors"], list)
    assert sorted(pkg["flavors"]) == sorted(mlmodel["flavors"])
    assert isinstance(pkg["servable"], bool)
    assert isinstance(pkg["reason"], str) and isinstance(pkg["runtime"], str)
    paths = [f["path"] for f in pkg["files"]]
    assert paths == sorted(paths)
    assert "MLmodel" in paths
    assert {f["path"]: f["size"] for f in pkg["files"]} == local_files(local)
    assert pkg["requirements"] == requirement_lines(local / "requirements.txt")
    return pkg, mlmodel


def test_package_xgboost(client, api, logged, unique, tmp_path):  # noqa: F811
    m = logged
    name = unique("kreg-pkg-xgb")
    mlflow.register_model(f"models:/{m.xgb_model_id}", name)
    pkg, mlmodel = check_package_against_files(client, api, name, "1", tmp_path)
    assert pkg["servable"] is True and pkg["runtime"] == "xgboost"
    assert set(pkg["flavors"]) == {"python_function", "xgboost"}
    # The file the runtime loads is the one the xgboost flavor names (mlflow 3.17 saves model.ubj).
    assert pkg["model_file"] == mlmodel["flavors"]["xgboost"]["data"]
    assert pkg["model_file"] in [f["path"] for f in pkg["files"]]
    sig = pkg["signature"]
    assert sig["inputs"] == json.loads(m.xgb_signature["inputs"])
    assert sig["outputs"] == json.loads(m.xgb_signature["outputs"])
    assert sig["inputs"][0]["tensor-spec"]["shape"] == [-1, 4]
    assert any(req.startswith("xgboost") for req in pkg["requirements"])


def test_package_onnx(client, api, logged, unique, tmp_path):  # noqa: F811
    m = logged
    name = unique("kreg-pkg-onnx")
    mlflow.register_model(f"runs:/{m.run_id}/onnx", name)
    pkg, mlmodel = check_package_against_files(client, api, name, "1", tmp_path)
    assert pkg["servable"] is True and pkg["runtime"] == "onnx"
    assert pkg["model_file"] == "model.onnx"
    assert set(pkg["flavors"]) == {"python_function", "onnx"}
    assert pkg.get("signature") is None  # logged without a signature
    assert any(req.startswith("onnxruntime") for req in pkg["requirements"])
    size = {f["path"]: f["size"] for f in pkg["files"]}["model.onnx"]
    assert size > 0


def test_package_sklearn_is_not_servable(client, api, unique, tmp_path):
    from sklearn.linear_model import LogisticRegression

    eid = client.create_experiment(unique("kreg-skl"))
    X, y = _data(seed=5)
    lr = LogisticRegression(max_iter=200).fit(X, y)
    signature = infer_signature(X, y)
    with mlflow.start_run(experiment_id=eid):
        info = mlflow.sklearn.log_model(lr, name="skl", signature=signature,
                                        pip_requirements=["scikit-learn", f"numpy=={np.__version__}"])
    name = unique("kreg-pkg-skl")
    mlflow.register_model(info.model_uri, name)
    pkg, _ = check_package_against_files(client, api, name, "1", tmp_path)
    assert pkg["servable"] is False
    assert pkg["runtime"] == ""
    assert pkg["reason"] and "sklearn" in pkg["reason"].lower()
    assert set(pkg["flavors"]) == {"python_function", "sklearn"}
    sd = signature.to_dict()
    assert pkg["signature"]["inputs"] == json.loads(sd["inputs"])
    assert pkg["signature"]["outputs"] == json.loads(sd["outputs"])
    assert any(req.startswith("scikit-learn") for req in pkg["requirements"])


def test_package_unknown(api, logged, unique):  # noqa: F811
    name = unique("kreg-pkg-missing")
    assert error_of(get_package(api, name, "1")) == (404, "RESOURCE_DOES_NOT_EXIST")
    mlflow.register_model(f"models:/{logged.xgb_model_id}", name)
    r = get_package(api, name, "2")
    assert error_of(r) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert isinstance(r.json().get("message"), str)
    assert get_package(api, name, "1").status_code == 200
    MlflowClient().delete_model_version(name, "1")
    assert error_of(get_package(api, name, "1")) == (404, "RESOURCE_DOES_NOT_EXIST")


# --------------------------------------------------------------------------
# c) registry events
# --------------------------------------------------------------------------

def fetch_events(api, page_size: int, **params) -> list[dict]:
    out, token, pages = [], None, 0
    while True:
        q = {"max_results": page_size, **params}
        if token:
            q["page_token"] = token
        r = api.raw("GET", EVENTS, params=q)
        assert r.status_code == 200, r.text[:500]
        body = r.json()
        page = body.get("events", [])
        assert len(page) <= page_size
        out += page
        pages += 1
        token = body.get("next_page_token")
        if not token:
            return out
        assert pages < 2000


def _tags(obj):
    return {t["key"]: t["value"] for t in (obj or {}).get("tags", []) or []}


def _aliases(obj):
    """Alias names from a registered_model ([{alias, version}]) or model_version ([names])."""
    return {a["alias"] if isinstance(a, dict) else a for a in (obj or {}).get("aliases", []) or []}


def _desc(obj):
    return (obj or {}).get("description", "") or ""


def check_event_shape(events):
    ids = [e["id"] for e in events]
    assert all(isinstance(i, str) and i for i in ids) and len(set(ids)) == len(ids)
    for e in events:
        assert isinstance(e["timestamp"], int) and e["timestamp"] > 0
        for key in ("actor", "action", "name", "version"):
            assert isinstance(e[key], str), (key, e)
        assert e["before"] is None or isinstance(e["before"], dict)
        assert e["after"] is None or isinstance(e["after"], dict)
    ts = [e["timestamp"] for e in events]
    assert ts == sorted(ts)  # oldest first


def test_events_record_mutations_with_before_after(api, logged, unique, monkeypatch):  # noqa: F811
    m = logged
    name, new_name, other = unique("kreg-ev"), unique("kreg-ev-renamed"), unique("kreg-ev-other")
    assert api.post("registered-models/create", {"name": other}).status_code == 200
    # The mlflow client sends HTTP basic auth when these are set.
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "s3cret")
    c = MlflowClient()

    def fails(fn, *args, **kw):
        with pytest.raises(MlflowException):
            fn(*args, **kw)

    c.create_registered_model(name, tags={"a": "1"}, description="d0")
    fails(c.create_registered_model, name)  # duplicate
    c.set_registered_model_tag(name, "team", "core")
    fails(c.set_registered_model_tag, name, "k" * 251, "v")
    c.delete_registered_model_tag(name, "a")
    c.update_registered_model(name, description="d1")
    src = dict(run_id=m.run_id, model_id=m.xgb_model_id)
    c.create_model_version(name, f"models:/{m.xgb_model_id}", **src)
    c.create_model_version(name, f"models:/{m.xgb_model_id}", **src)
    c.set_model_version_tag(name, "1", "k", "v")
    fails(c.set_model_version_tag, name, "99", "k", "v")
    c.delete_model_version_tag(name, "1", "k")
    c.update_model_version(name, "1", description="vd")
    fails(c.transition_model_version_stage, name, "1", "Bogus")
    c.transition_model_version_stage(name, "1", "Production")
    fails(c.set_registered_model_alias, name, "champion", "99")
    fails(c.set_registered_model_alias, name, "latest", "1")
    c.set_registered_model_alias(name, "champion", "1")
    c.delete_registered_model_alias(name, "champion")
    fails(c.rename_registered_model, name, other)
    c.rename_registered_model(name, new_name)
    fails(c.delete_model_version, new_name, "99")
    c.delete_model_version(new_name, "2")
    c.delete_model_version(new_name, "1")
    c.delete_registered_model(new_name)
    fails(c.delete_registered_model, new_name)

    everything = fetch_events(api, 50)
    check_event_shape(everything)
    ev = [e for e in everything if e["name"] in (name, new_name)]
    assert [e["action"] for e in ev] == [
        "create_registered_model", "set_registered_model_tag", "delete_registered_model_tag",
        "update_registered_model", "create_model_version", "create_model_version",
        "set_model_version_tag", "delete_model_version_tag", "update_model_version",
        "transition_model_version_stage", "set_registered_model_alias", "delete_registered_model_alias",
        "rename_registered_model", "delete_model_version", "delete_model_version", "delete_registered_model",
    ]
    assert {e["actor"] for e in ev} == {"alice"}
    (create, set_tag, del_tag, update, mv1, mv2, set_vtag, del_vtag, update_v, transition, set_alias,
     del_alias, rename, del_v2, del_v1, delete) = ev

    assert create["before"] is None
    assert create["after"]["name"] == name and _desc(create["after"]) == "d0" and _tags(create["after"]) == {"a": "1"}
    assert create["version"] == ""
    assert _tags(set_tag["before"]) == {"a": "1"} and _tags(set_tag["after"]) == {"a": "1", "team": "core"}
    assert _tags(del_tag["before"]) == {"a": "1", "team": "core"} and _tags(del_tag["after"]) == {"team": "core"}
    assert _desc(update["before"]) == "d0" and _desc(update["after"]) == "d1"
    for e, v in ((mv1, "1"), (mv2, "2")):
        assert e["before"] is None and e["version"] == v
        assert (e["after"]["name"], e["after"]["version"]) == (name, v)
        assert e["after"]["source"] == f"models:/{m.xgb_model_id}" and e["after"]["run_id"] == m.run_id
    assert set_vtag["version"] == "1" and _tags(set_vtag["before"]) == {} and _tags(set_vtag["after"]) == {"k": "v"}
    assert del_vtag["version"] == "1" and _tags(del_vtag["before"]) == {"k": "v"} and _tags(del_vtag["after"]) == {}
    assert update_v["version"] == "1" and _desc(update_v["before"]) == "" and _desc(update_v["after"]) == "vd"
    assert transition["version"] == "1"
    assert transition["before"]["current_stage"] == "None" and transition["after"]["current_stage"] == "Production"
    assert "champion" not in _aliases(set_alias["before"]) and "champion" in _aliases(set_alias["after"])
    assert "champion" in _aliases(del_alias["before"]) and "champion" not in _aliases(del_alias["after"])
    assert rename["before"]["name"] == name and rename["after"]["name"] == new_name
    assert _tags(rename["after"]) == {"team": "core"} and _desc(rename["after"]) == "d1"
    for e, v in ((del_v2, "2"), (del_v1, "1")):
        assert e["name"] == new_name and e["version"] == v
        assert e["before"]["version"] == v and e["before"]["name"] == new_name and e["after"] is None
    assert del_v1["before"]["current_stage"] == "Production"
    assert delete["name"] == new_name and delete["before"]["name"] == new_name and delete["after"] is None

    # The name filter returns the same events for a model that was never renamed.
    others = fetch_events(api, 10, name=other)
    assert [e["action"] for e in others] == ["create_registered_model"]
    assert others[0]["actor"] == ""  # no basic auth, no X-Kiln-User


def test_events_actor_and_paging(api, unique):
    name = unique("kreg-actor")
    base = f"{api.base}/api/2.0/mlflow"
    s = requests.Session()
    r = s.post(f"{base}/registered-models/create", json={"name": name}, headers={"X-Kiln-User": "bob"}, timeout=30)
    assert r.status_code == 200, r.text
    r = s.post(f"{base}/registered-models/set-tag", json={"name": name, "key": "a", "value": "1"}, timeout=30)
    assert r.status_code == 200
    r = s.post(f"{base}/registered-models/set-tag", json={"name": name, "key": "b", "value": "2"},
               headers={"X-Kiln-User": "dave"}, auth=("carol", "pw"), timeout=30)
    assert r.status_code == 200  # basic auth wins over X-Kiln-User
    r = s.delete(f"{base}/registered-models/delete-tag", json={"name": name, "key": "a"}, auth=("erin", "pw"),
                 timeout=30)
    assert r.status_code == 200
    r = s.patch(f"{base}/registered-models/update", json={"name": name, "description": "x"},
                headers={"X-Kiln-User": "frank"}, timeout=30)
    assert r.status_code == 200
    # Failures record nothing, whoever sends them.
    r = s.post(f"{base}/registered-models/create", json={"name": name}, headers={"X-Kiln-User": "mallory"},
               timeout=30)
    assert error_of(r) == (400, "RESOURCE_ALREADY_EXISTS")
    r = s.post(f"{base}/registered-models/alias", json={"name": name, "alias": "x", "version": "1"}, timeout=30)
    assert error_of(r) == (404, "RESOURCE_DOES_NOT_EXIST")

    full = fetch_events(api, 100, name=name)
    check_event_shape(full)
    assert [(e["action"], e["actor"]) for e in full] == [
        ("create_registered_model", "bob"),
        ("set_registered_model_tag", ""),
        ("set_registered_model_tag", "carol"),
        ("delete_registered_model_tag", "erin"),
        ("update_registered_model", "frank"),
    ]
    assert all(e["name"] == name and e["version"] == "" for e in full)
    assert _tags(full[3]["before"]) == {"a": "1", "b": "2"} and _tags(full[3]["after"]) == {"b": "2"}
    for size in (1, 2, 3):
        assert fetch_events(api, size, name=name) == full
    # Page by page: each token continues exactly where the previous page stopped.
    r = api.raw("GET", EVENTS, params={"name": name, "max_results": 2})
    first = r.json()
    assert [e["id"] for e in first["events"]] == [e["id"] for e in full[:2]]
    assert first.get("next_page_token")
    r = api.raw("GET", EVENTS, params={"name": name, "max_results": 2, "page_token": first["next_page_token"]})
    assert [e["id"] for e in r.json()["events"]] == [e["id"] for e in full[2:4]]
    # Unfiltered listing contains them in the same relative order.
    everything = fetch_events(api, 100)
    mine = [e["id"] for e in everything if e["name"] == name]
    assert mine == [e["id"] for e in full]


# --------------------------------------------------------------------------
# d) version sources: run artifacts and registered copies
# --------------------------------------------------------------------------

def test_versions_from_run_artifacts_and_copies_outlive_their_sources(client, server, unique, tmp_path):
    eid = client.create_experiment(unique("kreg-src"))
    X, y = _data(seed=33)
    booster, expected = train_xgb(X, y)
    model_dir = tmp_path / "xgb-model"
    mlflow.xgboost.save_model(booster, str(model_dir), pip_requirements=xgb_requirements())
    with mlflow.start_run(experiment_id=eid) as run:
        mlflow.log_artifacts(str(model_dir), artifact_path="model")
    rid = run.info.run_id
    source = f"{run.info.artifact_uri}/model"
    assert source.startswith("mlflow-artifacts:/")

    a, b = unique("kreg-src-a"), unique("kreg-src-b")
    client.create_registered_model(a)
    mv1 = client.create_model_version(a, source, run_id=rid)
    assert (mv1.version, mv1.source, mv1.run_id) == ("1", source, rid)
    mv2 = mlflow.register_model(f"runs:/{rid}/model", a)  # the fluent API resolves to the same source
    assert (mv2.version, mv2.source, mv2.run_id) == ("2", source, rid)
    for v in ("1", "2"):
        assert client.get_model_version_download_uri(a, v).startswith(REGISTRY_PREFIX)
        predicts(f"models:/{a}/{v}", X, expected)

    cp = client.copy_model_version(f"models:/{a}/1", b)
    assert (cp.name, cp.version, cp.source) == (b, "1", f"models:/{a}/1")
    mv3 = client.create_model_version(a, f"models:/{a}/2", run_id=rid)
    assert (mv3.version, mv3.source) == ("3", f"models:/{a}/2")
    copy_uri = client.get_model_version_download_uri(b, "1")
    assert copy_uri.startswith(REGISTRY_PREFIX)
    predicts(f"models:/{b}/1", X, expected)
    predicts(f"models:/{a}/3", X, expected)

    # Remove every source: the run's files, the run, and the registered model copied from.
    r = requests.delete(art_url(server, proxy_path(run.info.artifact_uri)), timeout=30)
    assert r.status_code == 200, r.text
    assert requests.get(art_url(server, proxy_path(source) + "/MLmodel"), timeout=30).status_code == 404
    client.delete_run(rid)
    client.delete_registered_model(a)

    predicts(f"models:/{b}/1", X, expected)
    assert client.get_model_version_download_uri(b, "1") == copy_uri
    local = Path(mlflow.artifacts.download_artifacts(f"models:/{b}/1", dst_path=str(tmp_path / "copy")))
    assert (local / "MLmodel").is_file()
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    assert (local / mlmodel["flavors"]["xgboost"]["data"]).is_file()


# --------------------------------------------------------------------------
# e) versions registered by reference (sources kiln cannot copy)
# --------------------------------------------------------------------------

def test_external_version_is_marked_refused_for_serving_and_owns_no_files(client, api, server, server_proc, unique):
    name = unique("kreg-ext")
    client.create_registered_model(name)
    registry_dir = server_proc.artifacts_dir / "_registry"
    before = sorted(p.name for p in registry_dir.iterdir()) if registry_dir.exists() else []
    mv = client.create_model_version(name, "s3://kiln-ext-bucket/model")
    assert (mv.status, mv.source) == ("READY", "s3://kiln-ext-bucket/model")
    # Marked in MLflow's own field, so MLflow clients see it too.
    assert mv.status_message.startswith("External reference: kiln holds no copy of this version")
    assert "s3://kiln-ext-bucket/model" in mv.status_message
    after = sorted(p.name for p in registry_dir.iterdir()) if registry_dir.exists() else []
    assert after == before, "nothing was copied"

    r = get_package(api, name, mv.version)
    assert r.status_code == 200, r.text
    pkg = r.json()["package"]
    assert pkg == {"artifact_uri": "s3://kiln-ext-bucket/model", "storage": "external", "external": True,
                   "servable": False, "reason": pkg["reason"]}
    assert "registered by reference to 's3://kiln-ext-bucket/model'" in pkg["reason"]
    # A copied version says so too.
    copied = mlflow.register_model(f"models:/{log_fresh_xgb(client, unique, seed=31)[1].model_id}", name)
    r = get_package(api, name, copied.version)
    assert (r.json()["package"]["storage"], r.json()["package"]["external"]) == ("copy", False)

    events = [e for e in fetch_events(api, 100, name=name) if e["action"] == "create_model_version"]
    assert events[0]["version"] == mv.version
    assert events[0]["after"]["source"] == "s3://kiln-ext-bucket/model"
    assert events[0]["after"]["status_message"] == mv.status_message

    # Serving refuses it with the reason instead of loading anything.
    r = requests.post(f"{server}/v2/repository/models/{name}/load",
                      json={"parameters": {"model_uri": f"models:/{name}/{mv.version}"}}, timeout=60)
    assert r.status_code == 400, r.text
    assert "cannot be served" in r.json()["error"] and "s3://kiln-ext-bucket/model" in r.json()["error"]

    client.delete_model_version(name, mv.version)
    remaining = sorted(p.name for p in registry_dir.iterdir())
    assert set(before) <= set(remaining) and len(remaining) == len(before) + 1  # only the copied version's folder
    deleted = [e for e in fetch_events(api, 100, name=name) if e["action"] == "delete_model_version"]
    assert deleted[-1]["before"]["status_message"] == mv.status_message and deleted[-1]["after"] is None
