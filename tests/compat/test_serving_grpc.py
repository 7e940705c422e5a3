"""tritonclient.grpc, unmodified and with its defaults (raw tensor contents),
against kiln's Open Inference Protocol gRPC service (`--grpc-port 0`):
health, metadata, Triton's model config and statistics, the repository
extension, inference compared with the xgboost and lightgbm packages, and
the error codes (NOT_FOUND, INVALID_ARGUMENT, UNAVAILABLE, RESOURCE_EXHAUSTED).
kiln-only: MLflow's server has no inference protocol.

kserve's client lives in test_serving_kserve_grpc.py, in its own process:
tritonclient.grpc and kserve register the same `inference.*` protobuf names.
"""

from __future__ import annotations

import json
import threading

import lightgbm as lgb
import numpy as np
import pytest
import requests
import tritonclient.grpc as grpcclient
import xgboost as xgb
from tritonclient.utils import InferenceServerException

pytestmark = pytest.mark.kiln_only

ROWS = 1000
FEATURES = 6


@pytest.fixture(scope="module")
def triton_grpc(tmp_path_factory, compat_tmp_root):
    from conftest import ServerProcess

    rng = np.random.default_rng(11)
    X = rng.normal(size=(ROWS, FEATURES)).astype(np.float32)
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 0]) > 0).astype(int)
    root = tmp_path_factory.mktemp("grpc-models")
    softprob = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 4},
                         xgb.DMatrix(X, label=rng.integers(0, 3, ROWS)), 20)
    logistic = xgb.train({"objective": "binary:logistic", "max_depth": 3}, xgb.DMatrix(X, label=y), 10)
    (root / "xgb" / "1").mkdir(parents=True)
    logistic.save_model(str(root / "xgb" / "1" / "model.json"))
    (root / "xgb" / "2").mkdir(parents=True)
    softprob.save_model(str(root / "xgb" / "2" / "model.ubj"))
    lgbm = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1}, lgb.Dataset(X, label=y), 20)
    (root / "lgb" / "3").mkdir(parents=True)
    lgbm.save_model(str(root / "lgb" / "3" / "model.txt"))
    # One request at a time, one waiting: a burst must overflow its queue.
    big = xgb.train({"objective": "multi:softprob", "num_class": 5, "max_depth": 8},
                    xgb.DMatrix(X, label=rng.integers(0, 5, ROWS)), 100)
    (root / "tiny-queue" / "1").mkdir(parents=True)
    big.save_model(str(root / "tiny-queue" / "1" / "model.ubj"))
    (root / "tiny-queue" / "config.json").write_text(json.dumps({"max_batch_size": 1, "max_queue_size": 1}))
    (root / "broken" / "1").mkdir(parents=True)
    (root / "broken" / "1" / "model.json").write_text("{not a model")

    srv = ServerProcess("kiln", compat_tmp_root / "serving-grpc",
                        ["--model-repository", str(root), "--grpc-port", "0"])
    srv.start()
    assert srv.grpc_port, srv.log_text()
    client = grpcclient.InferenceServerClient(url=f"127.0.0.1:{srv.grpc_port}")
    yield client, srv, X, {"xgb/1": logistic, "xgb/2": softprob, "lgb": lgbm, "big": big}, root
    client.close()
    srv.stop(check=True)  # SIGTERM with the gRPC server running: kiln must exit 0


def _close(got, expected):
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    err = np.abs(got - expected) / np.maximum(1.0, np.abs(expected))
    assert err.max() <= 1e-5, err.max()


def _input(X, dtype="FP32"):
    inp = grpcclient.InferInput("input-0", list(X.shape), dtype)
    inp.set_data_from_numpy(X.astype(np.float32 if dtype == "FP32" else np.float64))
    return inp


def _status(err) -> str:
    return err.value.status()


def test_health_and_server_metadata(triton_grpc):
    client, srv, *_ = triton_grpc
    assert client.is_server_live() and client.is_server_ready()
    meta = client.get_server_metadata(as_json=True)
    assert meta["name"] == "kiln"
    assert meta["version"] == requests.get(srv.url + "/v2", timeout=10).json()["version"]
    assert "model_repository" in meta["extensions"]


def test_model_ready(triton_grpc):
    client, *_ = triton_grpc
    assert client.is_model_ready("xgb") and client.is_model_ready("xgb", "1") and client.is_model_ready("lgb", "3")
    assert not client.is_model_ready("nope")
    assert not client.is_model_ready("xgb", "7")
    assert not client.is_model_ready("broken")


def test_model_metadata(triton_grpc):
    client, *_ = triton_grpc
    meta = client.get_model_metadata("xgb", as_json=True)
    assert meta["name"] == "xgb" and meta["platform"] == "xgboost"
    assert meta["versions"] == ["1", "2"]
    assert meta["inputs"] == [{"name": "input-0", "datatype": "FP32", "shape": ["-1", str(FEATURES)]}]
    assert meta["outputs"] == [{"name": "output-0", "datatype": "FP32", "shape": ["-1", "3"]}]  # version 2: softprob
    pb = client.get_model_metadata("lgb", "3")
    assert pb.platform == "lightgbm" and list(pb.inputs[0].shape) == [-1, FEATURES]
    with pytest.raises(InferenceServerException) as err:
        client.get_model_metadata("nope")
    assert _status(err) == "StatusCode.NOT_FOUND"


def test_model_config(triton_grpc):
    client, *_ = triton_grpc
    config = client.get_model_config("xgb", "2").config
    assert config.name == "xgb" and config.platform == "xgboost" and config.backend == "xgboost"
    assert config.max_batch_size > 0
    assert [(i.name, i.data_type, list(i.dims)) for i in config.input] == [("input-0", 11, [FEATURES])]  # TYPE_FP32
    assert [(o.name, o.data_type, list(o.dims)) for o in config.output] == [("output-0", 11, [3])]
    as_json = client.get_model_config("tiny-queue", as_json=True)["config"]
    assert as_json["max_batch_size"] == 1
    assert as_json["input"][0]["data_type"] == "TYPE_FP32"
    assert as_json["dynamic_batching"]["default_queue_policy"]["max_queue_size"] == 1
    with pytest.raises(InferenceServerException) as err:
        client.get_model_config("nope")
    assert _status(err) == "StatusCode.NOT_FOUND"


def test_infer_xgboost_raw_contents(triton_grpc):
    client, _, X, models, _ = triton_grpc
    result = client.infer("xgb", [_input(X)], outputs=[grpcclient.InferRequestedOutput("output-0")], request_id="r1")
    _close(result.as_numpy("output-0"), models["xgb/2"].predict(xgb.DMatrix(X)))  # highest version
    response = result.get_response()
    assert response.id == "r1" and response.model_name == "xgb" and response.model_version == "2"
    assert len(response.raw_output_contents) == 1  # Triton's form: raw outputs for raw inputs


def test_infer_model_versions(triton_grpc):
    client, _, X, models, _ = triton_grpc
    v1 = client.infer("xgb", [_input(X)], model_version="1")
    _close(v1.as_numpy("output-0"), models["xgb/1"].predict(xgb.DMatrix(X)))
    assert v1.get_response().model_version == "1"
    v2 = client.infer("xgb", [_input(X[:7])], model_version="2")
    _close(v2.as_numpy("output-0"), models["xgb/2"].predict(xgb.DMatrix(X[:7])))


def test_infer_lightgbm_fp64_all_outputs(triton_grpc):
    client, _, X, models, _ = triton_grpc
    result = client.infer("lgb", [_input(X, "FP64")], model_version="3")  # no outputs named: all
    _close(result.as_numpy("output-0"), models["lgb"].predict(X))


def test_infer_one_row_with_rank_one_shape(triton_grpc):
    client, _, X, models, _ = triton_grpc
    inp = grpcclient.InferInput("input-0", [FEATURES], "FP32")
    inp.set_data_from_numpy(X[5])
    got = client.infer("lgb", [inp]).as_numpy("output-0")
    _close(got.reshape(-1), models["lgb"].predict(X[5:6]))


def test_statistics_count_grpc_inferences(triton_grpc):
    client, srv, X, *_ = triton_grpc
    before = client.get_inference_statistics("lgb", "3", as_json=True)["model_stats"][0]
    client.infer("lgb", [_input(X[:5])])
    after = client.get_inference_statistics("lgb", "3", as_json=True)["model_stats"][0]
    assert int(after["inference_count"]) == int(before.get("inference_count", 0)) + 5
    assert int(after["execution_count"]) == int(before.get("execution_count", 0)) + 1
    success = lambda s: int(s["inference_stats"]["success"].get("count", 0))  # noqa: E731
    assert success(after) == success(before) + 1
    assert int(after["inference_stats"]["compute_infer"]["ns"]) > 0
    names = {m["name"] for m in client.get_inference_statistics(as_json=True)["model_stats"]}
    assert names == {"xgb", "lgb", "tiny-queue"}
    # The REST view reads the same counters.
    rest = requests.get(srv.url + "/v2/models/lgb/versions/3/stats", timeout=10).json()["model_stats"][0]
    assert rest["inference_count"] == int(after["inference_count"])
    with pytest.raises(InferenceServerException) as err:
        client.get_inference_statistics("nope")
    assert _status(err) == "StatusCode.NOT_FOUND"


def test_repository_index(triton_grpc):
    client, *_ = triton_grpc
    index = {m["name"]: m for m in client.get_model_repository_index(as_json=True)["models"]}
    assert index["xgb"]["state"] == "READY" and index["lgb"]["version"] == "3"
    assert index["broken"]["state"] == "UNAVAILABLE" and index["broken"]["reason"]


def test_load_and_unload(triton_grpc, tmp_path):
    client, srv, X, models, root = triton_grpc
    client.unload_model("lgb")
    assert not client.is_model_ready("lgb")
    with pytest.raises(InferenceServerException) as err:
        client.infer("lgb", [_input(X[:2])])
    assert _status(err) == "StatusCode.UNAVAILABLE"
    client.load_model("lgb")
    assert client.is_model_ready("lgb", "3")
    _close(client.infer("lgb", [_input(X)]).as_numpy("output-0"), models["lgb"].predict(X))

    # Triton's load with a config and the model's files in the request.
    path = tmp_path / "model.txt"
    models["lgb"].save_model(str(path))
    client.load_model("uploaded", config='{"backend": "lightgbm", "max_batch_size": 8}',
                      files={"file:4/model.txt": path.read_bytes()})
    assert client.is_model_ready("uploaded", "4")
    assert client.get_model_config("uploaded").config.max_batch_size == 8
    _close(client.infer("uploaded", [_input(X)]).as_numpy("output-0"), models["lgb"].predict(X))
    client.unload_model("uploaded")
    assert not client.is_model_ready("uploaded")

    with pytest.raises(InferenceServerException) as err:
        client.load_model("never-there")
    assert _status(err) == "StatusCode.NOT_FOUND"
    with pytest.raises(InferenceServerException) as err:
        client.load_model("bad-upload", config="{", files={"file:1/model.txt": b"x"})
    assert _status(err) == "StatusCode.INVALID_ARGUMENT"


def test_errors_carry_grpc_codes_and_the_server_keeps_serving(triton_grpc):
    client, _, X, models, _ = triton_grpc
    ok = _input(X[:3])

    def code_of(*args, **kwargs):
        with pytest.raises(InferenceServerException) as err:
            client.infer(*args, **kwargs)
        return _status(err), err.value.message()

    assert code_of("nope", [ok])[0] == "StatusCode.NOT_FOUND"
    assert code_of("xgb", [ok], model_version="9")[0] == "StatusCode.NOT_FOUND"
    assert code_of("broken", [ok])[0] == "StatusCode.UNAVAILABLE"

    wide = grpcclient.InferInput("input-0", [2, FEATURES + 1], "FP32")
    wide.set_data_from_numpy(np.zeros((2, FEATURES + 1), dtype=np.float32))
    status, message = code_of("xgb", [wide])
    assert status == "StatusCode.INVALID_ARGUMENT" and "expected [-1, 6]" in message

    ints = grpcclient.InferInput("input-0", [1, FEATURES], "INT32")
    ints.set_data_from_numpy(np.zeros((1, FEATURES), dtype=np.int32))
    assert code_of("xgb", [ints])[0] == "StatusCode.INVALID_ARGUMENT"

    # Raw contents that do not match the declared shape (set_shape after the
    # data bypasses the client's own check).
    short = _input(X[:3])
    short.set_shape([4, FEATURES])
    status, message = code_of("xgb", [short])
    assert status == "StatusCode.INVALID_ARGUMENT" and "raw contents" in message

    odd = _input(X[:1])
    odd._get_tensor().datatype = "FP99"  # the client refuses unknown datatypes itself
    status, message = code_of("xgb", [odd])
    assert status == "StatusCode.INVALID_ARGUMENT" and "FP99" in message

    other = grpcclient.InferInput("features", [1, FEATURES], "FP32")
    other.set_data_from_numpy(np.zeros((1, FEATURES), dtype=np.float32))
    assert code_of("xgb", [other])[0] == "StatusCode.INVALID_ARGUMENT"

    status, message = code_of("xgb", [ok], outputs=[grpcclient.InferRequestedOutput("probs")])
    assert status == "StatusCode.INVALID_ARGUMENT" and "unknown output" in message

    # Still serving, with the right answers.
    _close(client.infer("xgb", [ok]).as_numpy("output-0"), models["xgb/2"].predict(xgb.DMatrix(X[:3])))


def test_full_queue_is_resource_exhausted(triton_grpc):
    """tiny-queue runs one request at a time and lets one wait: a burst of
    concurrent requests gets RESOURCE_EXHAUSTED for the overflow at once, the
    rest the right predictions."""
    client, _, X, models, _ = triton_grpc
    expected = models["big"].predict(xgb.DMatrix(X))
    results = []
    done = threading.Semaphore(0)
    burst = 48

    def callback(result, error):
        results.append((result, error))
        done.release()

    for _ in range(burst):
        client.async_infer("tiny-queue", [_input(X)], callback)
    for _ in range(burst):
        assert done.acquire(timeout=60)
    errors = [e for _, e in results if e is not None]
    answers = [r for r, e in results if e is None]
    assert errors, "no request was refused"
    assert answers, "every request was refused"
    assert {e.status() for e in errors} == {"StatusCode.RESOURCE_EXHAUSTED"}, [str(e) for e in errors[:3]]
    assert all("queue is full" in e.message() for e in errors)
    for r in answers:
        _close(r.as_numpy("output-0"), expected)
    fail = client.get_inference_statistics("tiny-queue", as_json=True)["model_stats"][0]["inference_stats"]["fail"]
    assert int(fail["count"]) >= len(errors)
    # Once the burst is over the model serves again.
    _close(client.infer("tiny-queue", [_input(X[:4])]).as_numpy("output-0"), expected[:4])


def test_unknown_method_is_unimplemented(triton_grpc):
    client, *_ = triton_grpc
    with pytest.raises(InferenceServerException) as err:
        client.get_system_shared_memory_status()
    assert _status(err) == "StatusCode.UNIMPLEMENTED"


def test_grpc_is_off_without_the_flag(triton_grpc, kiln_factory):
    srv = kiln_factory()
    assert srv.grpc_port is None
    assert "gRPC" not in srv.log_text()


def test_sigterm_with_grpc_calls_in_flight_exits_cleanly(triton_grpc, kiln_factory):
    """SIGTERM while gRPC inferences are queued: every call gets an answer
    (a result or an error, never a hang) and kiln exits 0."""
    _, _, X, models, root = triton_grpc
    srv = kiln_factory("--model-repository", str(root), "--grpc-port", "0", "--shutdown-grace-ms", "5000")
    client = grpcclient.InferenceServerClient(url=f"127.0.0.1:{srv.grpc_port}")
    answered = threading.Semaphore(0)
    outcomes = []

    def callback(result, error):
        outcomes.append(error)
        answered.release()

    for _ in range(16):
        client.async_infer("xgb", [_input(X)], callback, model_version="2")
    assert srv.stop(check=True) == 0
    for _ in range(16):
        assert answered.acquire(timeout=30), "a gRPC call was never answered"
    client.close()


def test_onnx_model_uploaded_with_load_model_matches_onnxruntime(triton_grpc, tmp_path):
    """An sklearn pipeline exported with skl2onnx, sent as file:1/model.onnx
    through RepositoryModelLoad, inferred with raw contents (the default)."""
    import onnxruntime as ort
    from skl2onnx import to_onnx
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    client, _, X, *_ = triton_grpc
    y = (np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) > 0).astype(int)
    model = make_pipeline(SimpleImputer(), RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0))
    model.fit(X, y)
    onx = to_onnx(model, X[:1], options={"zipmap": False}, target_opset={"": 17, "ai.onnx.ml": 3}).SerializeToString()
    client.load_model("onnx-rf", config="{}", files={"file:1/model.onnx": onx})
    meta = client.get_model_metadata("onnx-rf", as_json=True)
    assert meta["platform"] == "onnx"
    sess = ort.InferenceSession(onx)
    in_name = sess.get_inputs()[0].name
    want = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {in_name: X})))
    inp = grpcclient.InferInput(in_name, list(X.shape), "FP32")
    inp.set_data_from_numpy(X)
    result = client.infer("onnx-rf", [inp])
    np.testing.assert_array_equal(result.as_numpy("label").reshape(-1), want["label"].reshape(-1))
    _close(result.as_numpy("probabilities"), want["probabilities"])
    client.unload_model("onnx-rf")
