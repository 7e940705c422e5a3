"""tritonclient.http, unmodified and with its defaults (binary tensors in both
directions), against kiln's V2 REST endpoint; predictions compared with the
xgboost and lightgbm packages. kiln-only: MLflow's server has no V2 API."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest
import tritonclient.http as httpclient
import xgboost as xgb
from tritonclient.utils import InferenceServerException

pytestmark = pytest.mark.kiln_only

ROWS = 1000
FEATURES = 6


@pytest.fixture(scope="module")
def triton(tmp_path_factory, compat_tmp_root):
    from conftest import ServerProcess

    rng = np.random.default_rng(7)
    X = rng.normal(size=(ROWS, FEATURES)).astype(np.float32)
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 0]) > 0).astype(int)
    root = tmp_path_factory.mktemp("triton-models")
    booster = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 4},
                        xgb.DMatrix(X, label=rng.integers(0, 3, ROWS)), 20)
    (root / "xgb" / "1").mkdir(parents=True)
    booster.save_model(str(root / "xgb" / "1" / "model.ubj"))
    lgbm = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1}, lgb.Dataset(X, label=y), 20)
    (root / "lgb" / "3").mkdir(parents=True)
    lgbm.save_model(str(root / "lgb" / "3" / "model.txt"))
    srv = ServerProcess("kiln", compat_tmp_root / "serving-triton", ["--model-repository", str(root)])
    srv.start()
    client = httpclient.InferenceServerClient(url=srv.url.removeprefix("http://"))
    yield client, X, booster, lgbm
    client.close()
    srv.stop(check=True)


def _close(got, expected):
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    err = np.abs(got - expected) / np.maximum(1.0, np.abs(expected))
    assert err.max() <= 1e-5, err.max()


def test_health_and_metadata(triton):
    client, *_ = triton
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("xgb") and client.is_model_ready("lgb", "3")
    assert not client.is_model_ready("nope")
    meta = client.get_model_metadata("xgb")
    assert meta["platform"] == "xgboost" and meta["inputs"][0]["shape"] == [-1, FEATURES]
    assert client.get_server_metadata()["name"] == "kiln"


@pytest.mark.parametrize("binary_in,binary_out", [(True, True), (False, False), (True, False), (False, True)])
def test_infer_xgboost(triton, binary_in, binary_out):
    client, X, booster, _ = triton
    inp = httpclient.InferInput("input-0", list(X.shape), "FP32")
    inp.set_data_from_numpy(X, binary_data=binary_in)
    out = httpclient.InferRequestedOutput("output-0", binary_data=binary_out)
    result = client.infer("xgb", [inp], outputs=[out], request_id="r1")
    got = result.as_numpy("output-0")
    if not binary_out:
        got = np.asarray(got, dtype=np.float32)
    _close(got, booster.predict(xgb.DMatrix(X)))
    assert result.get_response()["id"] == "r1"


def test_infer_lightgbm_default_outputs(triton):
    client, X, _, lgbm = triton
    inp = httpclient.InferInput("input-0", list(X.shape), "FP64")
    inp.set_data_from_numpy(X.astype(np.float64))
    result = client.infer("lgb", [inp], model_version="3")  # no outputs named: all, binary
    _close(result.as_numpy("output-0"), lgbm.predict(X))


def test_errors_reach_the_client(triton):
    client, X, *_ = triton
    bad = httpclient.InferInput("input-0", [2, FEATURES + 1], "FP32")
    bad.set_data_from_numpy(np.zeros((2, FEATURES + 1), dtype=np.float32))
    with pytest.raises(InferenceServerException, match=r"expected \[-1, 6\]"):
        client.infer("xgb", [bad])
    ok = httpclient.InferInput("input-0", [1, FEATURES], "FP32")
    ok.set_data_from_numpy(np.zeros((1, FEATURES), dtype=np.float32))
    with pytest.raises(InferenceServerException, match="not found"):
        client.infer("nope", [ok])
    with pytest.raises(InferenceServerException, match="unknown output"):
        client.infer("xgb", [ok], outputs=[httpclient.InferRequestedOutput("probs")])
    assert client.infer("xgb", [ok]).as_numpy("output-0").shape == (1, 3)


def test_triton_config_and_statistics(triton):
    client, X, *_ = triton
    config = client.get_model_config("xgb")
    assert config["max_batch_size"] > 0
    assert config["input"] == [{"name": "input-0", "data_type": "TYPE_FP32", "dims": [FEATURES]}]
    assert config["output"] == [{"name": "output-0", "data_type": "TYPE_FP32", "dims": [3]}]
    before = client.get_inference_statistics("lgb", "3")["model_stats"][0]
    inp = httpclient.InferInput("input-0", [5, FEATURES], "FP32")
    inp.set_data_from_numpy(X[:5])
    client.infer("lgb", [inp])
    after = client.get_inference_statistics("lgb", "3")["model_stats"][0]
    assert after["inference_count"] == before["inference_count"] + 5
    assert after["execution_count"] == before["execution_count"] + 1
    assert int(after["inference_stats"]["success"]["count"]) == int(before["inference_stats"]["success"]["count"]) + 1
    assert int(after["inference_stats"]["compute_infer"]["ns"]) > int(before["inference_stats"]["compute_infer"]["ns"])
    names = {m["name"] for m in client.get_inference_statistics()["model_stats"]}
    assert names == {"xgb", "lgb"}
    with pytest.raises(InferenceServerException):
        client.get_model_config("nope")


def test_load_with_config_and_files(triton, tmp_path):
    """What tritonclient's load_model(config=..., files=...) sends: the model
    comes from the request alone, under a name the repository never had."""
    client, X, booster, lgbm = triton
    path = tmp_path / "model.txt"
    lgbm.save_model(str(path))
    config = '{"backend": "lightgbm", "max_batch_size": 8, "dynamic_batching": {"max_queue_delay_microseconds": "100"}}'
    client.load_model("uploaded", config=config, files={"file:2/model.txt": path.read_bytes()})
    assert client.is_model_ready("uploaded", "2")
    inp = httpclient.InferInput("input-0", list(X.shape), "FP32")
    inp.set_data_from_numpy(X)
    got = client.infer("uploaded", [inp]).as_numpy(client.get_model_metadata("uploaded")["outputs"][0]["name"])
    _close(got.reshape(-1), lgbm.predict(X.astype(np.float64)))
    assert client.get_model_config("uploaded")["max_batch_size"] == 8

    # A reload with other files replaces the model; the old name keeps serving meanwhile.
    ubj = tmp_path / "model.ubj"
    booster.save_model(str(ubj))
    client.load_model("uploaded", config="{}", files={"file:1/model.ubj": ubj.read_bytes()})
    assert client.get_model_metadata("uploaded")["platform"] == "xgboost"
    assert client.get_model_metadata("uploaded")["versions"] == ["1"]
    client.unload_model("uploaded")
    assert not client.is_model_ready("uploaded")


def test_load_with_config_only_overrides_batching(triton):
    client, *_ = triton
    client.load_model("xgb", config='{"max_batch_size": 4, "dynamic_batching": {"default_queue_policy": {"max_queue_size": 3}}}')
    cfg = client.get_model_config("xgb")
    assert cfg["max_batch_size"] == 4
    assert cfg["dynamic_batching"]["default_queue_policy"]["max_queue_size"] == 3
    client.load_model("xgb")  # back to the repository's settings
    assert client.get_model_config("xgb")["max_batch_size"] != 4


@pytest.mark.parametrize("kwargs,needle", [
    ({"files": {"file:1/model.txt": b"tree\n"}}, "config"),                       # files need a config
    ({"config": "{", "files": {"file:1/model.txt": b"x"}}, "JSON"),               # malformed config
    ({"config": "{}", "files": {"file:../model.txt": b"x"}}, "<version>/<file name>"),  # escapes the directory
    ({"config": "{}", "files": {"file:1/../../x/model.txt": b"x"}}, "<version>/<file name>"),
    ({"config": "{}", "files": {"file:1/model.txt": b"not a model"}}, "failed to load"),
    ({"config": '{"max_batch_size": -1}', "files": {"file:1/model.txt": b"x"}}, "max_batch_size"),
])
def test_load_with_bad_files_is_refused_and_serving_continues(triton, kwargs, needle):
    client, X, booster, _ = triton
    with pytest.raises(InferenceServerException) as err:
        client.load_model("bad-upload", **kwargs)
    assert needle in str(err.value)
    assert not client.is_model_ready("bad-upload")
    inp = httpclient.InferInput("input-0", list(X.shape), "FP32")
    inp.set_data_from_numpy(X)
    _close(client.infer("xgb", [inp]).as_numpy("output-0"), booster.predict(xgb.DMatrix(X)))


def test_onnx_mlp_uploaded_with_load_model_matches_onnxruntime(triton, tmp_path):
    import onnxruntime as ort
    from skl2onnx import to_onnx
    from sklearn.neural_network import MLPClassifier

    client, X, *_ = triton
    Xc = np.nan_to_num(X)
    y = (Xc[:, 0] * Xc[:, 1] > 0).astype(int) + (Xc[:, 2] > 1).astype(int)
    mlp = MLPClassifier(hidden_layer_sizes=(16,), max_iter=200, random_state=0).fit(Xc, y)
    onx = to_onnx(mlp, Xc[:1], options={"zipmap": False}, target_opset=17).SerializeToString()
    client.load_model("onnx-mlp", config='{"max_batch_size": 16}', files={"file:1/model.onnx": onx})
    sess = ort.InferenceSession(onx)
    in_name = sess.get_inputs()[0].name
    want = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {in_name: Xc})))
    for binary in (True, False):
        inp = httpclient.InferInput(in_name, list(Xc.shape), "FP32")
        inp.set_data_from_numpy(Xc, binary_data=binary)
        outs = [httpclient.InferRequestedOutput(n, binary_data=binary) for n in ("label", "probabilities")]
        result = client.infer("onnx-mlp", [inp], outputs=outs)
        np.testing.assert_array_equal(np.asarray(result.as_numpy("label")).reshape(-1), want["label"].reshape(-1))
        _close(np.asarray(result.as_numpy("probabilities"), dtype=np.float32), want["probabilities"])
    client.unload_model("onnx-mlp")
