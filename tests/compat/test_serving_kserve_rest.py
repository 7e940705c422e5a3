"""kserve's own InferenceRESTClient (kserve 0.21, unmodified) against kiln:
V2 with binary and JSON tensors, V1 :predict, health and readiness, on
XGBoost, LightGBM and ONNX models, predictions compared with xgboost,
lightgbm and onnxruntime. The client runs in a child process (see
clients/kserve_rest.py for why). kiln-only: MLflow's server has no V2 API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import onnxruntime as ort
import pytest
import xgboost as xgb
from skl2onnx import to_onnx
from sklearn.neural_network import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.kiln_only

ROWS = 1000
FEATURES = 8
CLIENT = Path(__file__).parent / "clients" / "kserve_rest.py"


@pytest.fixture(scope="module")
def served(tmp_path_factory, compat_tmp_root):
    from conftest import ServerProcess

    rng = np.random.default_rng(11)
    X = rng.normal(size=(ROWS, FEATURES)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int)
    root = tmp_path_factory.mktemp("kserve-models")
    Xnan = X.copy()
    Xnan[rng.random(X.shape) < 0.1] = np.nan

    booster = xgb.train({"objective": "binary:logistic", "max_depth": 5}, xgb.DMatrix(Xnan, label=y), 30)
    (root / "xgb" / "1").mkdir(parents=True)
    booster.save_model(str(root / "xgb" / "1" / "model.json"))
    lgbm = lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1, "num_threads": 1},
                     lgb.Dataset(Xnan, label=rng.integers(0, 3, ROWS)), 15)
    (root / "lgb").mkdir()
    lgbm.save_model(str(root / "lgb" / "model.txt"))  # KServe's single-model layout
    clf = MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=300, random_state=0).fit(X, y)
    reg = MLPRegressor(hidden_layer_sizes=(16,), max_iter=300, random_state=0).fit(X, X[:, 2] * 3 - X[:, 3])
    for name, model, opts in (("mlp-clf", clf, {id(clf): {"zipmap": False}}), ("mlp-reg", reg, None)):
        onx = to_onnx(model, X[:1], options=opts, target_opset=17)
        (root / name / "1").mkdir(parents=True)
        (root / name / "1" / "model.onnx").write_bytes(onx.SerializeToString())

    def onnx_ref(name):
        sess = ort.InferenceSession(str(root / name / "1" / "model.onnx"))
        return {o.name: v for o, v in zip(sess.get_outputs(), sess.run(None, {sess.get_inputs()[0].name: X}))}

    def onnx_input(name):  # kiln serves the graph's own input name (skl2onnx: "X")
        return ort.InferenceSession(str(root / name / "1" / "model.onnx")).get_inputs()[0].name

    expected = {
        "xgb": {"X": Xnan, "out": {"output-0": booster.predict(xgb.DMatrix(Xnan))}},
        "lgb": {"X": Xnan, "out": {"output-0": lgbm.predict(Xnan.astype(np.float64))}},
        "mlp-clf": {"X": X, "out": onnx_ref("mlp-clf"), "input_name": onnx_input("mlp-clf")},
        "mlp-reg": {"X": X, "out": onnx_ref("mlp-reg"), "input_name": onnx_input("mlp-reg")},
    }
    for name, e in expected.items():
        e["path"] = str(root / f"{name}-input.npy")
        np.save(e["path"], e["X"])
    srv = ServerProcess("kiln", compat_tmp_root / "serving-kserve-rest", ["--model-repository", str(root)])
    srv.start()
    yield srv, expected
    srv.stop(check=True)


MODELS = ["xgb", "lgb", "mlp-clf", "mlp-reg"]
V1_MODELS = ["xgb", "lgb", "mlp-reg"]


@pytest.fixture(scope="module")
def results(served):
    """Every client call of this module, made in one child process (importing
    kserve takes seconds); the tests below each check their share."""
    srv, expected = served
    path = {m: e["path"] for m, e in expected.items()}
    name = {m: e.get("input_name", "input-0") for m, e in expected.items()}
    calls = {
        "server_ready": {"op": "server_ready"},
        "server_live": {"op": "server_live"},
        "server_live_v1": {"op": "server_live", "protocol": "v1"},
        "ready_xgb": {"op": "model_ready", "model": "xgb"},
        "ready_onnx": {"op": "model_ready", "model": "mlp-clf"},
        "ready_unknown": {"op": "model_ready", "model": "nope"},
        "ready_v1_lgb": {"op": "model_ready", "model": "lgb", "protocol": "v1"},
        "only_probabilities": {"op": "infer_v2", "model": "mlp-clf", "input": path["mlp-clf"],
                               "input_name": name["mlp-clf"], "outputs": ["probabilities"]},
        "err_unknown_model": {"op": "infer_v2", "model": "nope", "input": path["xgb"]},
        "err_input_name": {"op": "infer_v2", "model": "xgb", "input": path["xgb"], "input_name": "wrong"},
        "err_output": {"op": "infer_v2", "model": "xgb", "input": path["xgb"], "outputs": ["missing-output"]},
        "err_v1_unknown": {"op": "infer_v1", "model": "nope", "input": path["xgb"], "protocol": "v1"},
        "after_errors": {"op": "infer_v2", "model": "xgb", "input": path["xgb"]},
    }
    for m in MODELS:
        for binary in (True, False):
            calls[f"v2-{m}-{binary}"] = {"op": "infer_v2", "model": m, "input": path[m], "binary": binary,
                                         "input_name": name[m], "id": f"req-{m}"}
    for m in V1_MODELS:
        calls[f"v1-{m}"] = {"op": "infer_v1", "model": m, "input": path[m], "protocol": "v1"}
    keys = list(calls)
    proc = subprocess.run([sys.executable, str(CLIENT)],
                          input=json.dumps({"url": srv.url, "calls": [calls[k] for k in keys]}),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return dict(zip(keys, json.loads(proc.stdout)))


def _close(got, expected):
    got = np.asarray(got, dtype=np.float64).reshape(-1)
    expected = np.asarray(expected, dtype=np.float64).reshape(-1)
    assert got.shape == expected.shape
    err = np.abs(got - expected) / np.maximum(1.0, np.abs(expected))
    assert err.max() <= 1e-5, err.max()


def test_health_and_readiness(results):
    assert results["server_ready"]["value"] is True
    assert results["server_live"]["value"] is True
    assert results["server_live_v1"]["value"] is True  # GET / answers {"status": "alive"}
    assert results["ready_xgb"]["value"] is True
    assert results["ready_onnx"]["value"] is True
    assert results["ready_unknown"]["value"] is False
    assert results["ready_v1_lgb"]["value"] is True


@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("model", MODELS)
def test_v2_infer_matches_reference(served, results, model, binary):
    _, expected = served
    e = expected[model]
    res = results[f"v2-{model}-{binary}"]
    assert res.get("id") == f"req-{model}", res
    assert res["model_name"] == model
    assert set(res["outputs"]) == set(e["out"])
    for name, want in e["out"].items():
        _close(res["outputs"][name]["data"], want)
        assert res["outputs"][name]["shape"][0] == ROWS


def test_v2_requested_output_only(served, results):
    _, expected = served
    res = results["only_probabilities"]
    assert list(res["outputs"]) == ["probabilities"], res
    _close(res["outputs"]["probabilities"]["data"], expected["mlp-clf"]["out"]["probabilities"])


@pytest.mark.parametrize("model", V1_MODELS)
def test_v1_predict_matches_reference(served, results, model):
    _, expected = served
    preds = results[f"v1-{model}"]["value"]["predictions"]
    assert len(preds) == ROWS
    _close([np.nan if p is None else p for p in np.asarray(preds, dtype=object).reshape(-1)],
           next(iter(expected[model]["out"].values())))


def test_errors_reach_the_client_as_http_errors(served, results):
    _, expected = served
    got = results
    assert got["err_unknown_model"]["http_status"] == 404
    assert "nope" in json.loads(got["err_unknown_model"]["body"])["error"]
    assert got["err_input_name"]["http_status"] == 400
    assert "wrong" in json.loads(got["err_input_name"]["body"])["error"]
    assert got["err_output"]["http_status"] == 400
    assert "missing-output" in json.loads(got["err_output"]["body"])["error"]
    assert got["err_v1_unknown"]["http_status"] == 404 and "error" in json.loads(got["err_v1_unknown"]["body"])
    _close(got["after_errors"]["outputs"]["output-0"]["data"], expected["xgb"]["out"]["output-0"])
