"""Small MLflow conformance points, through the real client and raw REST (target-agnostic).

Every test passes against `mlflow server` 3.17.2 (KILN_COMPAT_TARGET=mlflow).
Facts measured on that server:
* Model-version sources it cannot read are accepted as given: `s3://`, `gs://`,
  `wasbs://`, `dbfs:/` without any run, `runs:/<id>/…` of a run it does not
  hold (with that run_id); status READY, and get-download-uri answers the
  source. A version made from `models:/<name>/<v>` of such a version downloads
  from the same place; `models:/<name>@<alias>` is stored as
  `models:/<name>/<v>`.
* Refused (400 INVALID_PARAMETER_VALUE): schemes that address a host
  (`http`, `https`, `ftp`, `hdfs`: "'source' cannot use the 'http' scheme…"),
  paths with `..` or no absolute path (`s3://bucket`), and local paths outside
  the local artifact directory of the run named with them.
* A local (`file:`) source inside the artifact directory of its run is
  accepted: an experiment created with a `file:` artifact_location.
* Registry tag values may be empty or absent (stored as "").
* `mlflow.modelVersions` on a logged model: the server appends
  `{"name": n, "version": 1}` (a number), the fluent register_model then
  appends `{"name": n, "version": "1"}` (a string).
* Logged-model metrics keep dataset_name / dataset_digest; search_logged_models
  honours `datasets` (alone: models with any metric on them; with a metric
  filter: the values on them) and orders by a metric on one dataset. A
  `datasets` entry without a digest matches nothing on MLflow's server (it
  asks for a NULL digest); kiln matches any digest then, so that case is not
  tested.
* experiments/create resolves a relative local artifact_location against the
  server's working directory.
* Wording: "Missing value for required parameter 'run_ids'. See the API docs
  for more information about request parameters."
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import mlflow
import numpy as np
import pytest

from conftest import error_of
from test_registry import _data, train_xgb, xgb_requirements

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

IPV = "INVALID_PARAMETER_VALUE"
UNKNOWN_RUN = "0123456789abcdef0123456789abcdef"


def _new_model(api, unique) -> str:
    name = unique("gap-ext")
    r = api.post("registered-models/create", {"name": name})
    assert r.status_code == 200, r.text
    return name


def _create_version(api, name, source, **extra):
    return api.post("model-versions/create", {"name": name, "source": source, **extra})


def _download_uri(api, name, version) -> str:
    r = api.get("model-versions/get-download-uri", {"name": name, "version": version})
    assert r.status_code == 200, r.text
    return r.json()["artifact_uri"]


# --------------------------------------------------------------------------
# sources kiln cannot copy: registered by reference
# --------------------------------------------------------------------------

EXTERNAL = [
    ("s3://gap-bucket/models/m1", {}),
    ("gs://gap-bucket/m2", {}),
    ("wasbs://container@account.blob.core.windows.net/m3", {}),
    ("dbfs:/gap/m4", {}),
    (f"runs:/{UNKNOWN_RUN}/model", {"run_id": UNKNOWN_RUN}),
    ("s3://gap-bucket/with-run", {"run_id": UNKNOWN_RUN}),
]


def test_external_sources_are_registered_by_reference(api, unique):
    name = _new_model(api, unique)
    for i, (source, extra) in enumerate(EXTERNAL, start=1):
        r = _create_version(api, name, source, **extra)
        assert r.status_code == 200, (source, r.text)
        mv = r.json()["model_version"]
        assert (mv["version"], mv["source"], mv["status"]) == (str(i), source, "READY")
        assert mv.get("run_id", "") == extra.get("run_id", "")
        got = api.get("model-versions/get", {"name": name, "version": str(i)}).json()["model_version"]
        assert (got["source"], got["status"]) == (source, "READY")
        assert _download_uri(api, name, str(i)) == source


def test_versions_of_an_external_version_download_from_its_location(api, unique):
    name = _new_model(api, unique)
    assert _create_version(api, name, "s3://gap-bucket/chain/model").status_code == 200
    r = _create_version(api, name, f"models:/{name}/1")
    assert r.status_code == 200, r.text
    assert r.json()["model_version"]["source"] == f"models:/{name}/1"
    assert _download_uri(api, name, "2") == "s3://gap-bucket/chain/model"
    assert api.post("registered-models/alias", {"name": name, "alias": "champ", "version": "1"}).status_code == 200
    r = _create_version(api, name, f"models:/{name}@champ")
    assert r.status_code == 200, r.text
    # MLflow pins an alias source to the version it named at registration.
    assert r.json()["model_version"]["source"] == f"models:/{name}/1"
    assert _download_uri(api, name, "3") == "s3://gap-bucket/chain/model"
    # Deleting the first version leaves the others' locations as they were.
    r = api.s.delete(f"{api.base}/api/2.0/mlflow/model-versions/delete", json={"name": name, "version": "1"},
                     timeout=60)
    assert r.status_code == 200, r.text
    assert _download_uri(api, name, "2") == "s3://gap-bucket/chain/model"


REFUSED = [
    ("http://example.com/model", {}, "'source' cannot use the 'http' scheme"),
    ("https://example.com/model", {}, "'source' cannot use the 'https' scheme"),
    ("ftp://example.com/model", {}, "'source' cannot use the 'ftp' scheme"),
    ("hdfs://namenode/model", {}, "'source' cannot use the 'hdfs' scheme"),
    ("mlflow-artifacts://127.0.0.1:1/0/model", {}, "'source' cannot use the 'mlflow-artifacts' scheme"),
    ("s3://gap-bucket/a/../../etc", {}, "an absolute path must be provided without relative path references"),
    ("s3://gap-bucket/a/%2e%2e/b", {}, "an absolute path must be provided without relative path references"),
    ("s3://gap-bucket", {}, "an absolute path must be provided without relative path references"),
    ("file:///tmp/gap-model", {}, "To use a local path as a model version source, the run_id request parameter"),
    ("/tmp/gap-model", {"run_id": UNKNOWN_RUN}, "The run_id request parameter must identify the resource"),
    (f"runs:/{UNKNOWN_RUN}/model", {}, "The run_id request parameter must identify the resource"),
]


@pytest.mark.parametrize("source,extra,message", REFUSED, ids=[s for s, _, _ in REFUSED])
def test_sources_mlflow_refuses(api, unique, source, extra, message):
    name = _new_model(api, unique)
    r = _create_version(api, name, source, **extra)
    assert error_of(r) == (400, IPV), r.text
    assert message in r.json()["message"], r.json()["message"]
    r = api.get("model-versions/search", {"filter": f"name = '{name}'"})
    assert r.status_code == 200 and not r.json().get("model_versions"), r.text


def _file_experiment(client, unique, tmp_path) -> tuple[str, Path]:
    root = tmp_path / "file-store"
    root.mkdir()
    eid = client.create_experiment(unique("gap-file"), artifact_location=root.as_uri())
    return eid, root


def test_local_sources_inside_a_file_experiment(client, api, unique, tmp_path):
    # An experiment whose artifacts the client writes to a local directory:
    # its runs' files can be registered by path, as MLflow allows.
    eid, root = _file_experiment(client, unique, tmp_path)
    X, y = _data(5)
    booster, expected = train_xgb(X, y)
    local = tmp_path / "xgb-local"
    mlflow.xgboost.save_model(booster, str(local), pip_requirements=xgb_requirements())
    with mlflow.start_run(experiment_id=eid) as run:
        mlflow.log_artifacts(str(local), artifact_path="model")
    artifact_uri = client.get_run(run.info.run_id).info.artifact_uri
    assert artifact_uri.startswith("file://"), artifact_uri
    name = unique("gap-local")
    mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    assert mv.source == f"{artifact_uri}/model" and mv.status == "READY"
    assert _download_uri(api, name, mv.version) == f"{artifact_uri}/model"
    model = mlflow.pyfunc.load_model(f"models:/{name}/{mv.version}")
    np.testing.assert_allclose(np.asarray(model.predict(X)).ravel(), expected, rtol=0, atol=0)

    # The run's directory is the limit: a path outside it, or no run, is refused.
    outside = tmp_path.as_uri() + "/xgb-local"
    r = _create_version(api, name, outside, run_id=run.info.run_id)
    assert error_of(r) == (400, IPV)
    assert "has to be contained within the artifact directory of the run" in r.json()["message"]
    r = _create_version(api, name, f"{artifact_uri}/model")
    assert error_of(r) == (400, IPV)
    # Deleting the version leaves the run's files alone.
    client.delete_model_version(name, mv.version)
    assert (Path(artifact_uri[len("file://"):]) / "model" / "MLmodel").is_file()


def test_logged_model_of_a_file_experiment_registers_by_reference(client, api, unique, tmp_path):
    eid, root = _file_experiment(client, unique, tmp_path)
    X, y = _data(6)
    booster, expected = train_xgb(X, y)
    with mlflow.start_run(experiment_id=eid):
        info = mlflow.xgboost.log_model(booster, name="model", pip_requirements=xgb_requirements())
    location = client.get_logged_model(info.model_id).artifact_location
    assert location.startswith("file://"), location
    name = unique("gap-lm-local")
    mv = mlflow.register_model(info.model_uri, name)
    assert (mv.source, mv.status) == (f"models:/{info.model_id}", "READY")
    assert _download_uri(api, name, mv.version) == location
    model = mlflow.pyfunc.load_model(f"models:/{name}/{mv.version}")
    np.testing.assert_allclose(np.asarray(model.predict(X)).ravel(), expected, rtol=0, atol=0)


# --------------------------------------------------------------------------
# empty registry tag values
# --------------------------------------------------------------------------

def test_registry_tags_may_be_empty(client, api, unique, tmp_path):
    name = unique("gap-tags")
    client.create_registered_model(name, tags={"created-empty": ""})
    client.set_registered_model_tag(name, "empty", "")
    r = api.post("registered-models/set-tag", {"name": name, "key": "absent"})
    assert r.status_code == 200, r.text
    client.create_model_version(name, "s3://gap-bucket/tags", tags={"v-created-empty": ""})
    client.set_model_version_tag(name, "1", "empty", "")
    r = api.post("model-versions/set-tag", {"name": name, "version": "1", "key": "absent"})
    assert r.status_code == 200, r.text
    assert client.get_registered_model(name).tags == {"created-empty": "", "empty": "", "absent": ""}
    assert client.get_model_version(name, "1").tags == {"v-created-empty": "", "empty": "", "absent": ""}
    # An empty value replaces a set one.
    client.set_registered_model_tag(name, "team", "core")
    client.set_registered_model_tag(name, "team", "")
    assert client.get_registered_model(name).tags["team"] == ""


# --------------------------------------------------------------------------
# logged models: mlflow.modelVersions, metrics on datasets
# --------------------------------------------------------------------------

def test_model_versions_tag_has_mlflows_value_types(client, unique):
    eid = client.create_experiment(unique("gap-mvtag"))
    X, y = _data(7)
    booster, _ = train_xgb(X, y)
    with mlflow.start_run(experiment_id=eid):
        info = mlflow.xgboost.log_model(booster, name="model", pip_requirements=xgb_requirements())
    name = unique("gap-mvtag")
    mlflow.register_model(info.model_uri, name)
    raw = client.get_logged_model(info.model_id).tags["mlflow.modelVersions"]
    assert json.loads(raw) == [{"name": name, "version": 1}, {"name": name, "version": "1"}]
    assert raw == json.dumps([{"name": name, "version": 1}, {"name": name, "version": "1"}])
    # A plain create_model_version is the server's append alone.
    client.create_model_version(name, info.model_uri, run_id=info.run_id, model_id=info.model_id)
    raw = client.get_logged_model(info.model_id).tags["mlflow.modelVersions"]
    assert json.loads(raw)[-1] == {"name": name, "version": 2}


@pytest.fixture
def dataset_models(client, unique):
    """Three logged models with `acc` on datasets a/b (digests known)."""
    eid = client.create_experiment(unique("gap-ds"))
    rng = np.random.default_rng(3)
    ds_a = mlflow.data.from_numpy(rng.normal(size=(8, 2)), name="eval-a")
    ds_b = mlflow.data.from_numpy(rng.normal(size=(8, 2)), name="eval-b")
    m = [client.create_logged_model(eid, name=f"m{i}") for i in range(3)]
    with mlflow.start_run(experiment_id=eid):
        mlflow.log_metric("acc", 0.9, model_id=m[0].model_id, dataset=ds_a)
        mlflow.log_metric("acc", 0.2, model_id=m[0].model_id, dataset=ds_b)
        mlflow.log_metric("acc", 0.5, model_id=m[1].model_id, dataset=ds_a)
        mlflow.log_metric("acc", 0.7, model_id=m[2].model_id, dataset=ds_b)
        mlflow.log_metric("loss", 0.1, model_id=m[2].model_id)
    return eid, [x.model_id for x in m], ds_a, ds_b


def test_logged_model_metrics_keep_their_dataset(client, dataset_models):
    eid, ids, ds_a, ds_b = dataset_models
    metrics = client.get_logged_model(ids[0]).metrics
    got = sorted((x.key, x.value, x.dataset_name, x.dataset_digest, x.model_id) for x in metrics)
    assert got == sorted([("acc", 0.9, "eval-a", ds_a.digest, ids[0]), ("acc", 0.2, "eval-b", ds_b.digest, ids[0])])
    loss = [x for x in client.get_logged_model(ids[2]).metrics if x.key == "loss"]
    assert [(x.dataset_name, x.dataset_digest) for x in loss] == [(None, None)]


def _ids(models) -> list[str]:
    return [m.model_id for m in models]


def test_search_logged_models_by_dataset(client, dataset_models):
    # Dataset filters name the digest too: MLflow's server turns a filter
    # without one into "digest IS NULL", so it never matches a dataset that has
    # a digest (not copied by kiln, not tested here).
    eid, ids, ds_a, ds_b = dataset_models
    a = {"dataset_name": "eval-a", "dataset_digest": ds_a.digest}
    b = {"dataset_name": "eval-b", "dataset_digest": ds_b.digest}
    search = client.search_logged_models
    # datasets alone: models with any metric on one of them.
    assert set(_ids(search([eid], datasets=[a]))) == {ids[0], ids[1]}
    assert set(_ids(search([eid], datasets=[b]))) == {ids[0], ids[2]}
    assert _ids(search([eid], datasets=[{"dataset_name": "eval-b", "dataset_digest": "0000"}])) == []
    assert set(_ids(search([eid], datasets=[a, b]))) == set(ids)
    # with a metric filter: only the values on those datasets count.
    assert _ids(search([eid], filter_string="metrics.acc > 0.6", datasets=[a])) == [ids[0]]
    assert _ids(search([eid], filter_string="metrics.acc > 0.6", datasets=[b])) == [ids[2]]
    assert set(_ids(search([eid], filter_string="metrics.acc > 0.6"))) == {ids[0], ids[2]}
    assert _ids(search([eid], filter_string="metrics.acc < 0.3", datasets=[a])) == []
    # ordering by a metric on one dataset; models without it come last.
    order = [{"field_name": "metrics.acc", "ascending": False, "dataset_name": "eval-a"}]
    got = _ids(search([eid], order_by=order))
    assert got[:2] == [ids[0], ids[1]] and set(got) == set(ids)
    order = [{"field_name": "metrics.acc", "ascending": True, "dataset_name": "eval-b",
              "dataset_digest": ds_b.digest}]
    assert _ids(search([eid], order_by=order))[:2] == [ids[0], ids[2]]


def test_search_logged_models_datasets_need_a_name(api, dataset_models):
    eid, *_ = dataset_models
    r = api.post("logged-models/search", {"experiment_ids": [eid], "datasets": [{"dataset_digest": "abc"}]})
    assert error_of(r) == (400, IPV), r.text
    assert r.json()["message"] == "`dataset_name` in the `datasets` clause must be specified."


# --------------------------------------------------------------------------
# experiments: relative artifact locations
# --------------------------------------------------------------------------

def test_relative_artifact_location_is_made_absolute(api, server_proc, unique):
    cwd = os.path.realpath(server_proc.data_dir)  # both servers run in their data dir
    cases = [("gap-rel/arts", f"{cwd}/gap-rel/arts"),
             ("./gap-rel/dot", f"{cwd}/gap-rel/dot"),
             ("file:gap-rel/uri", f"file://{cwd}/gap-rel/uri"),
             ("/abs/gap-rel", "/abs/gap-rel"),
             ("file:///abs/gap-uri", "file:///abs/gap-uri"),
             ("s3://gap-bucket/rel", "s3://gap-bucket/rel")]
    for given, expected in cases:
        r = api.post("experiments/create", {"name": unique("gap-rel"), "artifact_location": given})
        assert r.status_code == 200, (given, r.text)
        exp = api.get("experiments/get", {"experiment_id": r.json()["experiment_id"]}).json()["experiment"]
        assert exp["artifact_location"] == expected, given
    r = api.post("experiments/create", {"name": unique("gap-rel"), "artifact_location": f"runs:/{UNKNOWN_RUN}/x"})
    assert error_of(r) == (400, IPV), r.text
    assert r.json()["message"] == f"Artifact location cannot be a runs:/ URI. Given: 'runs:/{UNKNOWN_RUN}/x'"


LOCATION_REFUSALS = [
    ("http://example.com/arts", "'artifact_location' cannot use the 'http' scheme"),
    ("mlflow-artifacts://127.0.0.1:1/arts", "'artifact_location' cannot use the 'mlflow-artifacts' scheme"),
    ("s3://gap-bucket/arts#frag", "'artifact_location' URL can't include fragments or params."),
    ("/tmp/gap;params", "'artifact_location' URL can't include fragments or params."),
    ("s3://gap-bucket/arts?x=..", "Invalid query string"),
]


@pytest.mark.parametrize("location,message", LOCATION_REFUSALS, ids=[x for x, _ in LOCATION_REFUSALS])
def test_artifact_locations_mlflow_refuses(api, unique, location, message):
    name = unique("gap-loc")
    r = api.post("experiments/create", {"name": name, "artifact_location": location})
    assert error_of(r) == (400, IPV), r.text
    assert r.json()["message"].startswith(message), r.json()["message"]
    r = api.get("experiments/get-by-name", {"experiment_name": name})
    assert error_of(r) == (404, "RESOURCE_DOES_NOT_EXIST")


# --------------------------------------------------------------------------
# wording clients and users match on
# --------------------------------------------------------------------------

def test_bulk_interval_missing_parameters_wording(api):
    r = api.get("metrics/get-history-bulk-interval", {"metric_key": "m"})
    assert error_of(r) == (400, IPV)
    assert r.json()["message"] == ("Missing value for required parameter 'run_ids'. "
                                   "See the API docs for more information about request parameters.")
    r = api.get("metrics/get-history-bulk-interval", {})
    assert r.json()["message"].startswith("Missing value for required parameter 'run_ids'.")
    r = api.get("metrics/get-history-bulk-interval", {"run_ids": UNKNOWN_RUN})
    assert error_of(r) == (400, IPV)
    assert r.json()["message"] == ("Missing value for required parameter 'metric_key'. "
                                   "See the API docs for more information about request parameters.")
    r = api.get("metrics/get-history-bulk-interval", {"run_ids": [uuid.uuid4().hex for _ in range(101)],
                                                      "metric_key": "m"})
    assert error_of(r) == (400, IPV)
    assert r.json()["message"].startswith("GetMetricHistoryBulkInterval request must specify at most 100 run_ids.")
