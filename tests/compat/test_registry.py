"""Model registry through the unmodified mlflow 3.17.2 client (target-agnostic).

Every test here passes against `mlflow server` 3.17.2 (sqlite backend, proxied
artifacts): KILN_COMPAT_TARGET=mlflow. Models are real and tiny: an xgboost
booster and a scikit-learn LogisticRegression converted to ONNX with skl2onnx,
trained in the test on random data and logged with `mlflow.<flavor>.log_model`
(explicit pip_requirements, so no slow requirement inference).

Facts measured on mlflow 3.17.2 that the tests rely on:
* `mlflow.register_model("runs:/<run>/<name>")` finds no files under the run's
  artifact root (MLflow 3 logs models as logged models) and registers
  `models:/<model_id>` with run_id and model_id set; the version's `source` is
  that URI.
* A deleted version's number is never reused (MLflow soft-deletes the row);
  a deleted and re-created registered model starts again at version 1.
* rename carries versions, stages, tags, aliases and descriptions.
* Every registration from `models:/<model_id>` is appended to the logged
  model's `mlflow.modelVersions` tag (by the server, and again by the fluent
  client via PATCH logged-models/<id>/tags); logged-model tag values have no
  length limit.
* `models:/<name>@latest` / alias "latest" resolves to the highest live version.
* search_registered_models orders by `name`, `last_updated_timestamp` (alias
  `timestamp`), ties broken by name ASC; search_model_versions filters on
  name / run_id (incl. IN) / version_number (numeric) / tags and orders by
  name, version_number, creation_timestamp, last_updated_timestamp.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pytest
import yaml
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

# --------------------------------------------------------------------------
# tiny real models, logged once per server (shared with the other registry files)
# --------------------------------------------------------------------------

N_FEATURES = 4
# Stages are deprecated in the client (FutureWarning) but still part of the protocol.
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@dataclass
class LoggedModels:
    experiment_id: str
    run_id: str  # run that logged "xgb" and "onnx" with log_model
    X: np.ndarray
    xgb_model_id: str
    xgb_artifact_uri: str  # the logged model's artifact location (mlflow-artifacts:/...)
    xgb_expected: np.ndarray  # booster.predict on X
    xgb_signature: dict  # ModelSignature.to_dict(): inputs/outputs as JSON strings
    onnx_model_id: str
    onnx_artifact_uri: str
    onnx_bytes: bytes
    onnx_expected: dict  # onnxruntime outputs of the original model on X, by output name
    copy_run_id: str  # second run whose artifacts hold a plain copy of the xgb model under model/
    copy_source: str  # mlflow-artifacts:/<exp>/<copy_run>/artifacts/model


_CACHE: dict[str, LoggedModels] = {}


def _data(seed: int = 11):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(64, N_FEATURES)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] - 0.25 * X[:, 3] > 0).astype(int)
    return X, y


def train_xgb(X, y):
    import xgboost as xgb

    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2, "eta": 0.5, "seed": 3},
                        xgb.DMatrix(X, label=y), num_boost_round=4)
    return booster, booster.predict(xgb.DMatrix(X))


def xgb_requirements() -> list[str]:
    import xgboost as xgb

    return [f"xgboost=={xgb.__version__}", f"numpy=={np.__version__}"]


def train_onnx(X, y):
    import onnxruntime as ort
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(max_iter=200).fit(X, y)
    proto = to_onnx(lr, X[:1], options={id(lr): {"zipmap": False}}, target_opset=17)
    data = proto.SerializeToString()
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    outs = sess.run(None, {sess.get_inputs()[0].name: X})
    expected = {o.name: v for o, v in zip(sess.get_outputs(), outs)}
    return lr, proto, data, expected


def onnx_requirements() -> list[str]:
    import onnx
    import onnxruntime

    return [f"onnx=={onnx.__version__}", f"onnxruntime=={onnxruntime.__version__}", f"numpy=={np.__version__}"]


def _log_models(tmp_dir: Path) -> LoggedModels:
    client = MlflowClient()
    eid = client.create_experiment(f"registry-models-{uuid.uuid4().hex[:10]}")
    X, y = _data()
    booster, xgb_expected = train_xgb(X, y)
    _, proto, onnx_bytes, onnx_expected = train_onnx(X, y)
    signature = infer_signature(X, xgb_expected)
    with mlflow.start_run(experiment_id=eid) as run:
        xgb_info = mlflow.xgboost.log_model(booster, name="xgb", signature=signature,
                                            pip_requirements=xgb_requirements())
        onnx_info = mlflow.onnx.log_model(proto, name="onnx", pip_requirements=onnx_requirements(),
                                          onnx_execution_providers=["CPUExecutionProvider"])
    xgb_lm = client.get_logged_model(xgb_info.model_id)
    onnx_lm = client.get_logged_model(onnx_info.model_id)

    # A second run holding a plain artifact copy of the xgb model (run-relative source).
    local = mlflow.artifacts.download_artifacts(artifact_uri=xgb_lm.artifact_location,
                                                dst_path=str(tmp_dir / "xgb-copy"))
    with mlflow.start_run(experiment_id=eid) as copy_run:
        mlflow.log_artifacts(local, artifact_path="model")
    return LoggedModels(
        experiment_id=eid, run_id=run.info.run_id, X=X,
        xgb_model_id=xgb_info.model_id, xgb_artifact_uri=xgb_lm.artifact_location,
        xgb_expected=xgb_expected, xgb_signature=signature.to_dict(),
        onnx_model_id=onnx_info.model_id, onnx_artifact_uri=onnx_lm.artifact_location,
        onnx_bytes=onnx_bytes, onnx_expected=onnx_expected,
        copy_run_id=copy_run.info.run_id, copy_source=f"{copy_run.info.artifact_uri}/model",
    )


def log_fresh_xgb(client, unique, seed: int):
    """A fresh xgboost model in its own experiment and run, for tests that
    delete or pile onto what they log. Returns (run, model_info, X, expected)."""
    eid = client.create_experiment(unique("reg-exp"))
    X, y = _data(seed)
    booster, expected = train_xgb(X, y)
    with mlflow.start_run(experiment_id=eid) as run:
        info = mlflow.xgboost.log_model(booster, name="model", pip_requirements=xgb_requirements())
    return run, info, X, expected


@pytest.fixture
def logged(server, tmp_path_factory) -> LoggedModels:
    """The tiny xgboost + ONNX models, logged once per server process."""
    if server not in _CACHE:
        _CACHE[server] = _log_models(tmp_path_factory.mktemp("logged-models"))
    return _CACHE[server]


def assert_xgb_predicts(model, m: LoggedModels):
    np.testing.assert_allclose(np.asarray(model.predict(m.X)).ravel(), m.xgb_expected, rtol=0, atol=0)


def assert_onnx_predicts(model, m: LoggedModels):
    got = model.predict(m.X)
    assert set(got) == set(m.onnx_expected)
    for k, v in m.onnx_expected.items():
        if np.issubdtype(v.dtype, np.floating):
            np.testing.assert_allclose(np.asarray(got[k]), v, rtol=1e-6, atol=1e-7)
        else:
            np.testing.assert_array_equal(np.asarray(got[k]), v)


def new_xgb_version(client, name, m: LoggedModels, **kw):
    """A version whose source is the logged xgb model (what register_model sends)."""
    return client.create_model_version(name, f"models:/{m.xgb_model_id}", run_id=m.run_id,
                                       model_id=m.xgb_model_id, **kw)


def versions_of(client, name) -> list[int]:
    return sorted(int(v.version) for v in client.search_model_versions(f"name = '{name}'"))


def error_code(excinfo) -> str:
    return excinfo.value.error_code


# --------------------------------------------------------------------------
# lifecycle
# --------------------------------------------------------------------------

def test_register_stage_alias_tag_rename_delete(client, logged, unique):
    m = logged
    name = unique("reg-life")

    mv1 = mlflow.register_model(f"runs:/{m.run_id}/xgb", name)
    assert mv1.name == name and mv1.version == "1"
    # MLflow 3: the run has no files at "xgb", so the client registers the logged model.
    assert mv1.source == f"models:/{m.xgb_model_id}"
    assert mv1.run_id == m.run_id
    assert mv1.status == "READY"
    assert mv1.current_stage == "None"
    mv2 = mlflow.register_model(f"models:/{m.xgb_model_id}", name)  # existing name: new version
    assert mv2.version == "2" and mv2.run_id == m.run_id
    mv3 = new_xgb_version(client, name, m, tags={"origin": "client"}, description="third")
    assert mv3.version == "3" and mv3.tags == {"origin": "client"} and mv3.description == "third"
    mv4 = client.create_model_version(name, m.copy_source, run_id=m.copy_run_id)
    assert mv4.version == "4" and mv4.source == m.copy_source and mv4.run_id == m.copy_run_id

    # "latest" is a reserved pseudo-alias: the highest live version.
    assert client.get_model_version_by_alias(name, "latest").version == "4"

    rm = client.get_registered_model(name)
    assert rm.name == name
    assert rm.creation_timestamp > 0 and rm.last_updated_timestamp >= rm.creation_timestamp
    assert [v.version for v in rm.latest_versions] == ["4"]  # one per stage; all in "None"

    # --- stages
    assert client.transition_model_version_stage(name, "1", "Staging").current_stage == "Staging"
    assert client.transition_model_version_stage(name, "2", "Production").current_stage == "Production"
    out = client.transition_model_version_stage(name, "3", "production", archive_existing_versions=True)
    assert out.current_stage == "Production"  # stage names are case-insensitive, stored canonical
    stages = {v: client.get_model_version(name, v).current_stage for v in ("1", "2", "3", "4")}
    assert stages == {"1": "Staging", "2": "Archived", "3": "Production", "4": "None"}
    # archive_existing_versions only touches the target stage: Staging v1 stays.
    client.transition_model_version_stage(name, "4", "Staging", archive_existing_versions=False)
    assert client.get_model_version(name, "1").current_stage == "Staging"

    def latest(*st):
        return sorted((v.version, v.current_stage) for v in client.get_latest_versions(name, list(st)))

    assert latest("Production") == [("3", "Production")]
    assert latest("Staging") == [("4", "Staging")]  # latest = highest version in the stage
    assert latest("Archived") == [("2", "Archived")]
    assert latest("None") == []
    assert latest() == [("2", "Archived"), ("3", "Production"), ("4", "Staging")]
    assert latest("Production", "Archived") == [("2", "Archived"), ("3", "Production")]
    rm = client.get_registered_model(name)
    assert sorted((v.version, v.current_stage) for v in rm.latest_versions) == latest()

    # --- aliases
    client.set_registered_model_alias(name, "champion", "3")
    client.set_registered_model_alias(name, "challenger", "1")
    assert client.get_model_version_by_alias(name, "champion").version == "3"
    assert client.get_model_version_by_alias(name, "challenger").version == "1"
    assert client.get_registered_model(name).aliases == {"champion": "3", "challenger": "1"}
    assert client.get_model_version(name, "3").aliases == ["champion"]
    client.set_registered_model_alias(name, "champion", "1")  # move
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    assert sorted(client.get_model_version(name, "1").aliases) == ["challenger", "champion"]
    assert client.get_model_version(name, "3").aliases == []
    client.delete_registered_model_alias(name, "challenger")
    assert client.get_registered_model(name).aliases == {"champion": "1"}
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias(name, "challenger")
    client.set_registered_model_alias(name, "to-be-dropped", "4")

    # --- tags
    client.set_registered_model_tag(name, "team", "vision")
    client.set_registered_model_tag(name, "tmp", "x")
    client.set_registered_model_tag(name, "team", "nlp")  # overwrite
    client.delete_registered_model_tag(name, "tmp")
    assert client.get_registered_model(name).tags == {"team": "nlp"}
    client.set_model_version_tag(name, "1", "validated", "yes")
    client.set_model_version_tag(name, "1", "tmp", "1")
    client.delete_model_version_tag(name, "1", "tmp")
    client.set_model_version_tag(name, "3", "origin", "overwritten")
    assert client.get_model_version(name, "1").tags == {"validated": "yes"}
    assert client.get_model_version(name, "3").tags == {"origin": "overwritten"}

    # --- descriptions
    before = client.get_registered_model(name).last_updated_timestamp
    rm = client.update_registered_model(name, description="xgb churn model")
    assert rm.description == "xgb churn model"
    assert rm.last_updated_timestamp >= before
    mv = client.update_model_version(name, "1", description="first and best")
    assert mv.description == "first and best" and mv.current_stage == "Staging"
    assert client.get_registered_model(name).description == "xgb churn model"
    assert client.get_model_version(name, "1").description == "first and best"

    # --- rename: everything follows the model
    new_name = unique("reg-life-renamed")
    client.rename_registered_model(name, new_name)  # the 3.17 client returns None here
    with pytest.raises(MlflowException) as ei:
        client.get_registered_model(name)
    assert error_code(ei) == "RESOURCE_DOES_NOT_EXIST"
    assert client.search_model_versions(f"name = '{name}'") == []
    rm = client.get_registered_model(new_name)
    assert rm.description == "xgb churn model"
    assert rm.tags == {"team": "nlp"}
    assert rm.aliases == {"champion": "1", "to-be-dropped": "4"}
    assert versions_of(client, new_name) == [1, 2, 3, 4]
    v1 = client.get_model_version(new_name, "1")
    assert (v1.name, v1.current_stage, v1.description, v1.tags) == (
        new_name, "Staging", "first and best", {"validated": "yes"})
    assert sorted(v1.aliases) == ["champion"]
    assert v1.source == f"models:/{m.xgb_model_id}" and v1.run_id == m.run_id
    assert client.get_model_version_by_alias(new_name, "champion").version == "1"
    assert client.get_model_version(new_name, "3").current_stage == "Production"

    # --- delete a version: its aliases go, its number is never reused
    client.delete_model_version(new_name, "4")
    with pytest.raises(MlflowException) as ei:
        client.get_model_version(new_name, "4")
    assert error_code(ei) == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_registered_model(new_name).aliases == {"champion": "1"}
    assert versions_of(client, new_name) == [1, 2, 3]
    assert client.get_model_version_by_alias(new_name, "latest").version == "3"
    # v4 was the latest Staging version; v1 is again.
    assert sorted(latest_of(client, new_name)) == [("1", "Staging"), ("2", "Archived"), ("3", "Production")]
    mv5 = new_xgb_version(client, new_name, m)
    assert mv5.version == "5"
    client.delete_model_version(new_name, "2")
    assert versions_of(client, new_name) == [1, 3, 5]
    assert new_xgb_version(client, new_name, m).version == "6"

    # --- delete the model: versions and aliases go with it
    client.delete_registered_model(new_name)
    with pytest.raises(MlflowException) as ei:
        client.get_registered_model(new_name)
    assert error_code(ei) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as ei:
        client.get_model_version(new_name, "1")
    assert error_code(ei) == "RESOURCE_DOES_NOT_EXIST"
    assert client.search_model_versions(f"name = '{new_name}'") == []
    assert client.search_registered_models(f"name = '{new_name}'") == []
    # The name is free again and numbering restarts.
    client.create_registered_model(new_name)
    assert new_xgb_version(client, new_name, m).version == "1"
    assert client.get_registered_model(new_name).aliases == {}


def latest_of(client, name):
    return [(v.version, v.current_stage) for v in client.get_latest_versions(name)]


def test_create_registered_model_with_tags_and_description(client, logged, unique):
    name = unique("reg-create")
    rm = client.create_registered_model(name, tags={"team": "ranking", "tier": "1"}, description="hello")
    assert rm.name == name and rm.description == "hello"
    assert rm.tags == {"team": "ranking", "tier": "1"}
    assert rm.latest_versions == [] and rm.aliases == {}
    got = client.get_registered_model(name)
    assert (got.name, got.description, got.tags) == (name, "hello", {"team": "ranking", "tier": "1"})
    assert got.creation_timestamp == rm.creation_timestamp
    with pytest.raises(MlflowException) as ei:
        client.create_registered_model(name)
    assert error_code(ei) == "RESOURCE_ALREADY_EXISTS"
    # Registering against an existing name just adds a version (no error).
    mv = mlflow.register_model(f"models:/{logged.onnx_model_id}", name)
    assert mv.version == "1" and mv.source == f"models:/{logged.onnx_model_id}"
    assert client.get_registered_model(name).tags == {"team": "ranking", "tier": "1"}


# --------------------------------------------------------------------------
# loading registered models back
# --------------------------------------------------------------------------

def test_load_registered_models_and_predict(client, logged, unique, tmp_path):
    m = logged
    xname, oname = unique("reg-load-xgb"), unique("reg-load-onnx")
    assert mlflow.register_model(f"runs:/{m.run_id}/xgb", xname).version == "1"
    assert mlflow.register_model(f"runs:/{m.run_id}/onnx", oname).version == "1"
    client.set_registered_model_alias(xname, "champion", "1")
    client.transition_model_version_stage(xname, "1", "Production")
    client.set_registered_model_alias(oname, "champion", "1")
    client.transition_model_version_stage(oname, "1", "Production")

    for uri in (f"models:/{xname}@champion", f"models:/{xname}/1", f"models:/{xname}/Production",
                f"models:/{xname}@latest"):
        assert_xgb_predicts(mlflow.pyfunc.load_model(uri), m)
    for uri in (f"models:/{oname}@champion", f"models:/{oname}/1", f"models:/{oname}/Production"):
        assert_onnx_predicts(mlflow.pyfunc.load_model(uri), m)

    # The native flavors load too.
    import onnxruntime as ort
    import xgboost as xgb

    booster = mlflow.xgboost.load_model(f"models:/{xname}@champion")
    np.testing.assert_allclose(booster.predict(xgb.DMatrix(m.X)), m.xgb_expected, rtol=0, atol=0)
    proto = mlflow.onnx.load_model(f"models:/{oname}/1")
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: m.X})
    for out, v in zip(sess.get_outputs(), got):
        np.testing.assert_allclose(v, m.onnx_expected[out.name], rtol=1e-6, atol=1e-7)

    # Download URI and full download.
    uri = client.get_model_version_download_uri(xname, "1")
    assert isinstance(uri, str) and uri
    local = Path(mlflow.artifacts.download_artifacts(f"models:/{xname}/1", dst_path=str(tmp_path / "x")))
    assert (local / "MLmodel").is_file()
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    assert {"python_function", "xgboost"} <= set(mlmodel["flavors"])
    assert (local / mlmodel["flavors"]["xgboost"]["data"]).is_file()
    same = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp_path / "u")))
    assert (same / "MLmodel").read_bytes() == (local / "MLmodel").read_bytes()
    olocal = Path(mlflow.artifacts.download_artifacts(f"models:/{oname}@champion", dst_path=str(tmp_path / "o")))
    assert (olocal / "MLmodel").is_file() and (olocal / "model.onnx").is_file()


def test_versions_from_run_artifacts_and_registered_copies(client, logged, unique):
    m = logged
    name, dst = unique("reg-src"), unique("reg-src-copy")
    client.create_registered_model(name)
    # Source inside a run's artifact root (mlflow-artifacts:/...), with the owning run id.
    mv = client.create_model_version(name, m.copy_source, run_id=m.copy_run_id, description="from run")
    assert (mv.version, mv.source, mv.run_id) == ("1", m.copy_source, m.copy_run_id)
    assert_xgb_predicts(mlflow.pyfunc.load_model(f"models:/{name}/1"), m)
    # The fluent API resolves runs:/ to the same URI when the run holds the files.
    other = unique("reg-src-runs")
    mv = mlflow.register_model(f"runs:/{m.copy_run_id}/model", other)
    assert (mv.version, mv.source, mv.run_id) == ("1", m.copy_source, m.copy_run_id)
    assert_xgb_predicts(mlflow.pyfunc.load_model(f"models:/{other}/1"), m)

    # copy_model_version registers `models:/<name>/<version>` as the source.
    cp = client.copy_model_version(f"models:/{name}/1", dst)
    assert cp.name == dst and cp.version == "1"
    assert cp.source == f"models:/{name}/1"
    assert cp.run_id == m.copy_run_id and cp.description == "from run"
    assert_xgb_predicts(mlflow.pyfunc.load_model(f"models:/{dst}/1"), m)
    # ...and by hand, into the same model.
    mv2 = client.create_model_version(name, f"models:/{name}/1", run_id=m.copy_run_id)
    assert mv2.version == "2" and mv2.source == f"models:/{name}/1"
    assert_xgb_predicts(mlflow.pyfunc.load_model(f"models:/{name}/2"), m)


# --------------------------------------------------------------------------
# search
# --------------------------------------------------------------------------

def _collect_pages(fetch, page_size):
    items, tokens, token = [], [], None
    while True:
        page = fetch(max_results=page_size, page_token=token)
        assert len(page) <= page_size
        items += list(page)
        token = page.token
        tokens.append(token)
        if not token:
            return items, tokens
        assert len(tokens) < 100


def test_search_registered_models(client, unique):
    prefix = unique("reg-search")
    teams = {}
    for i in range(25):
        team = ("red", "blue", "green")[i % 3]
        teams[i] = team
        client.create_registered_model(f"{prefix}-{i:02d}", tags={"team": team, "idx": str(i)})
    names = [f"{prefix}-{i:02d}" for i in range(25)]
    like = f"name LIKE '{prefix}-%'"

    got = client.search_registered_models(f"name = '{prefix}-07'")
    assert [r.name for r in got] == [f"{prefix}-07"]
    assert got[0].tags == {"team": teams[7], "idx": "7"}
    assert client.search_registered_models(f"name = '{prefix}-99'") == []

    assert [r.name for r in client.search_registered_models(like, max_results=100)] == names  # default name ASC
    assert len(client.search_registered_models(f"name LIKE '{prefix}-1%'")) == 10
    assert [r.name for r in client.search_registered_models(f"name ILIKE '{prefix.upper()}-2%'")] == \
        names[20:25]
    assert client.search_registered_models(f"name LIKE '{prefix.upper()}-%'") == []  # LIKE is case-sensitive
    reds = client.search_registered_models(f"{like} AND tags.team = 'red'", order_by=["name ASC"])
    assert [r.name for r in reds] == [n for i, n in enumerate(names) if teams[i] == "red"]
    assert [r.name for r in client.search_registered_models(f"{like} AND tags.team = 'red' AND tags.idx = '3'")] == \
        [names[3]]
    not_red = client.search_registered_models(f"{like} AND tags.team != 'red'")
    assert [r.name for r in not_red] == [n for i, n in enumerate(names) if teams[i] != "red"]
    assert len(client.search_registered_models(f"{like} AND tags.team LIKE 'b%'")) == 8
    assert client.search_registered_models(f"{like} AND tags.nosuch = 'x'") == []

    desc = client.search_registered_models(like, order_by=["name DESC"])
    assert [r.name for r in desc] == names[::-1]

    # last_updated_timestamp: touch two models; ordering must follow the timestamps
    # the server reports, ties broken by name ASC (MLflow's tie-breaker).
    client.update_registered_model(names[7], description="touched first")
    client.update_registered_model(names[3], description="touched last")
    by_time = client.search_registered_models(like, order_by=["last_updated_timestamp DESC"])
    assert sorted(r.name for r in by_time) == names
    keys = [(-r.last_updated_timestamp, r.name) for r in by_time]
    assert keys == sorted(keys)
    pos = {r.name: i for i, r in enumerate(by_time)}
    assert pos[names[3]] < pos[names[7]] < pos[names[24]]
    ts = {r.name: r.last_updated_timestamp for r in by_time}
    assert ts[names[3]] >= ts[names[7]] >= max(ts[n] for n in names if n not in (names[3], names[7]))
    # `timestamp` is MLflow's alias for last_updated_timestamp.
    assert [r.name for r in client.search_registered_models(like, order_by=["timestamp DESC"])] == \
        [r.name for r in by_time]
    asc = client.search_registered_models(like, order_by=["last_updated_timestamp ASC"])
    akeys = [(r.last_updated_timestamp, r.name) for r in asc]
    assert akeys == sorted(akeys)

    # Paging: 10 + 10 + 5, the last page has no token.
    items, tokens = _collect_pages(
        lambda **kw: client.search_registered_models(like, order_by=["name ASC"], **kw), 10)
    assert [r.name for r in items] == names
    assert len(tokens) == 3 and tokens[0] and tokens[1] and not tokens[2]
    items, _ = _collect_pages(lambda **kw: client.search_registered_models(like, order_by=["name DESC"], **kw), 7)
    assert [r.name for r in items] == names[::-1]
    first = client.search_registered_models(like, max_results=25)
    assert len(first) == 25 and not first.token

    # Deleted models disappear from search.
    client.delete_registered_model(names[0])
    assert [r.name for r in client.search_registered_models(like, max_results=100)] == names[1:]


def test_search_model_versions(client, logged, unique):
    m = logged
    prefix = unique("reg-mvs")
    a, b = f"{prefix}-a", f"{prefix}-b"
    client.create_registered_model(a)
    client.create_registered_model(b)
    for i in range(3):  # a/1..3 from the logged model (run m.run_id)
        new_xgb_version(client, a, m, tags={"kind": "logged", "i": str(i)})
    for i in range(2):  # a/4..5 from the artifact copy (run m.copy_run_id)
        client.create_model_version(a, m.copy_source, run_id=m.copy_run_id, tags={"kind": "copy"})
    new_xgb_version(client, b, m, tags={"kind": "logged"})  # b/1
    client.set_model_version_tag(a, "2", "validated", "true")

    def vs(filter_string, **kw):
        return [(v.name, int(v.version)) for v in client.search_model_versions(filter_string, **kw)]

    by_ver = ["version_number ASC"]
    assert vs(f"name = '{a}'", order_by=by_ver) == [(a, i) for i in range(1, 6)]
    assert vs(f"name='{b}'") == [(b, 1)]
    assert vs(f"name = '{a}' AND run_id = '{m.run_id}'", order_by=by_ver) == [(a, 1), (a, 2), (a, 3)]
    assert vs(f"name = '{a}' AND run_id = '{m.copy_run_id}'", order_by=by_ver) == [(a, 4), (a, 5)]
    # run_id alone spans models; everything returned belongs to that run.
    only_run = client.search_model_versions(f"run_id = '{m.copy_run_id}'")
    assert {(a, 4), (a, 5)} <= {(v.name, int(v.version)) for v in only_run}
    assert all(v.run_id == m.copy_run_id for v in only_run)
    assert vs(f"name = '{a}' AND run_id IN ('{m.run_id}', '{m.copy_run_id}')", order_by=by_ver) == \
        [(a, i) for i in range(1, 6)]
    assert vs(f"name = '{a}' AND run_id IN ('{m.copy_run_id}')", order_by=by_ver) == [(a, 4), (a, 5)]
    assert vs(f"name IN ('{a}', '{b}') AND run_id = '{m.run_id}'", order_by=["name ASC", "version_number ASC"]) == \
        [(a, 1), (a, 2), (a, 3), (b, 1)]
    assert vs(f"name = '{a}' AND tags.kind = 'copy'", order_by=by_ver) == [(a, 4), (a, 5)]
    assert vs(f"name = '{a}' AND tags.validated = 'true'") == [(a, 2)]
    assert vs(f"name LIKE '{prefix}-%' AND tags.kind = 'logged'", order_by=["name ASC", "version_number ASC"]) == \
        [(a, 1), (a, 2), (a, 3), (b, 1)]
    assert vs(f"name = '{a}' AND version_number > 1", order_by=by_ver) == [(a, i) for i in range(2, 6)]
    assert vs(f"name = '{a}' AND version_number <= 2", order_by=by_ver) == [(a, 1), (a, 2)]
    assert vs(f"name = '{a}' AND version_number = 3") == [(a, 3)]
    assert vs(f"name = '{a}' AND source_path = '{m.copy_source}'", order_by=by_ver) == [(a, 4), (a, 5)]
    assert vs(f"name ILIKE '{prefix.upper()}-%'", order_by=["name DESC", "version_number DESC"]) == \
        [(b, 1)] + [(a, i) for i in range(5, 0, -1)]
    assert vs(f"name = '{a}' AND tags.kind = 'nope'") == []

    # order_by
    assert vs(f"name = '{a}'", order_by=["version_number DESC"]) == [(a, i) for i in range(5, 0, -1)]
    ct = client.search_model_versions(f"name = '{a}'", order_by=["creation_timestamp ASC", "version_number ASC"])
    keys = [(v.creation_timestamp, int(v.version)) for v in ct]
    assert keys == sorted(keys) and [k[1] for k in keys] == [1, 2, 3, 4, 5]
    lu = client.search_model_versions(f"name = '{a}'", order_by=["last_updated_timestamp DESC"])
    # MLflow's tie-breakers: name ASC, then version DESC.
    lkeys = [(-v.last_updated_timestamp, -int(v.version)) for v in lu]
    assert lkeys == sorted(lkeys)

    # Paging: 2 + 2 + 1
    items, tokens = _collect_pages(
        lambda **kw: client.search_model_versions(f"name = '{a}'", order_by=by_ver, **kw), 2)
    assert [int(v.version) for v in items] == [1, 2, 3, 4, 5]
    assert len(tokens) == 3 and not tokens[-1]

    # Returned entities are complete.
    v = client.search_model_versions(f"name = '{a}' AND version_number = 2")[0]
    assert v.tags == {"kind": "logged", "i": "1", "validated": "true"}
    assert v.run_id == m.run_id and v.source == f"models:/{m.xgb_model_id}"
    assert v.current_stage == "None" and v.status == "READY"

    # Deleted versions disappear.
    client.delete_model_version(a, "2")
    assert vs(f"name = '{a}'", order_by=by_ver) == [(a, 1), (a, 3), (a, 4), (a, 5)]


# --------------------------------------------------------------------------
# concurrency
# --------------------------------------------------------------------------

@pytest.mark.timeout_s(240)
def test_concurrent_version_creation(client, unique):
    # Its own logged model: every version created from models:/<model_id> also
    # appends to that logged model's mlflow.modelVersions tag.
    run, info, _, _ = log_fresh_xgb(client, unique, seed=17)
    name = unique("reg-conc")
    client.create_registered_model(name)
    threads, per_thread = 8, 5

    def create(c, **kw):
        return c.create_model_version(name, f"models:/{info.model_id}", run_id=run.info.run_id,
                                      model_id=info.model_id, **kw)

    def work(t):
        c = MlflowClient()  # one client per thread, as independent processes would
        return [(t, create(c, tags={"thread": str(t), "seq": str(j)}).version) for j in range(per_thread)]

    with ThreadPoolExecutor(threads) as ex:
        results = [r for chunk in ex.map(work, range(threads)) for r in chunk]

    total = threads * per_thread
    numbers = sorted(int(v) for _, v in results)
    assert numbers == list(range(1, total + 1)), numbers  # no gaps, no duplicates
    assert versions_of(client, name) == list(range(1, total + 1))
    # Each returned version is the one that thread created.
    by_version = {int(v.version): v for v in client.search_model_versions(f"name = '{name}'", max_results=1000)}
    for t, v in results:
        assert by_version[int(v)].tags["thread"] == str(t)
    # Within a thread, versions increase (each call returned before the next began).
    for t in range(threads):
        mine = [int(v) for tt, v in results if tt == t]
        assert mine == sorted(mine)
    assert [v.version for v in client.get_registered_model(name).latest_versions] == [str(total)]
    assert create(client).version == str(total + 1)


def test_logged_model_lists_its_registered_versions(client, unique):
    # Each registration from models:/<model_id> records {"name", "version"} in
    # the logged model's mlflow.modelVersions tag (MLflow's server appends it,
    # and the fluent register_model appends again through
    # PATCH logged-models/<id>/tags with the whole JSON list). MLflow puts no
    # length limit on logged-model tag values, so a logged model registered
    # many times carries a tag far beyond the 8,000 characters of run tags,
    # and register_model keeps working.
    run, info, X, expected = log_fresh_xgb(client, unique, seed=23)
    long_name = (unique("reg-lm") + "-" + "n" * 250)[:240]
    short_name = unique("reg-lm-b")
    client.create_registered_model(long_name)
    n = 36
    for _ in range(n):
        client.create_model_version(long_name, f"models:/{info.model_id}", run_id=run.info.run_id,
                                    model_id=info.model_id)
    mv = mlflow.register_model(info.model_uri, short_name)
    assert (mv.version, mv.run_id) == ("1", run.info.run_id)
    raw = client.get_logged_model(info.model_id).tags["mlflow.modelVersions"]
    assert len(raw) > 8000
    # MLflow's server appends the version as a number, the fluent client then
    # appends its own entry with the version as a string.
    assert json.loads(raw) == ([{"name": long_name, "version": i} for i in range(1, n + 1)]
                               + [{"name": short_name, "version": 1}, {"name": short_name, "version": "1"}])
    model = mlflow.pyfunc.load_model(f"models:/{long_name}/{n}")
    np.testing.assert_allclose(np.asarray(model.predict(X)).ravel(), expected, rtol=0, atol=0)
    short = mlflow.pyfunc.load_model(f"models:/{short_name}/1")
    np.testing.assert_allclose(np.asarray(short.predict(X)).ravel(), expected, rtol=0, atol=0)
