"""kserve's own gRPC client (kserve.InferenceGRPCClient, asyncio) against
kiln's Open Inference Protocol gRPC service: readiness, and inference with
typed InferTensorContents (kserve's default for list data) and with raw
contents (numpy data), predictions compared with the xgboost and lightgbm
packages. kiln-only.

kserve and tritonclient.grpc both register the `inference.*` protobuf names
and cannot live in one Python process, and pytest imports every test module
into one. So the kserve calls run in a child process: this file run as a
script (`python test_serving_kserve_grpc.py PORT DATA.npy`), printing its
results as JSON; the tests check them. Nothing here imports kserve or
tritonclient.grpc at module level.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROWS = 600
FEATURES = 5


async def _client_session(port: int, data_path: str) -> dict:
    """Runs in the child process: every kserve call the tests check."""
    import grpc
    from kserve import InferenceGRPCClient, InferInput, InferRequest
    from kserve.protocol.infer_type import RequestedOutput

    X = np.load(data_path)
    out: dict = {}
    client = InferenceGRPCClient(url=f"127.0.0.1:{port}", timeout=60)

    async def code_of(coro):
        try:
            await coro
        except grpc.RpcError as e:
            return [e.code().name, e.details()]
        return ["OK", ""]

    out["server_ready"] = await client.is_server_ready()
    out["server_live"] = await client.is_server_live()
    out["model_ready"] = await client.is_model_ready("xgb")
    out["unknown_model_ready"] = await client.is_model_ready("nope")

    def result(response):
        o = response.outputs[0]
        return {"name": o.name, "datatype": o.datatype, "shape": list(o.shape),
                "raw": o._raw_data is not None, "data": o.as_numpy().astype(np.float64).tolist()}

    # Typed contents: data as a list (fp32_contents), kserve's default.
    typed = InferInput(name="input-0", shape=list(X.shape), datatype="FP32", data=X.reshape(-1).tolist())
    response = await client.infer(InferRequest(model_name="xgb", infer_inputs=[typed], request_id="typed-1"))
    out["xgb_typed"] = result(response)
    out["xgb_typed_id"] = response.id

    # Raw contents: numpy data (binary) travels in raw_input_contents.
    raw = InferInput(name="input-0", shape=list(X.shape), datatype="FP32")
    raw.set_data_from_numpy(X, binary_data=True)
    out["xgb_raw"] = result(await client.infer(InferRequest(model_name="xgb", infer_inputs=[raw])))

    # FP64 typed contents, a model version and a requested output.
    fp64 = InferInput(name="input-0", shape=list(X.shape), datatype="FP64",
                      data=X.astype(np.float64).reshape(-1).tolist())
    out["lgb_fp64"] = result(await client.infer(InferRequest(
        model_name="lgb", model_version="2", infer_inputs=[fp64], request_outputs=[RequestedOutput("output-0")])))

    # An ONNX model (sklearn pipeline via skl2onnx): its own input name, two outputs.
    onnx_in = InferInput(name="X", shape=list(X.shape), datatype="FP32", data=X.reshape(-1).tolist())
    onnx_res = await client.infer(InferRequest(model_name="onnx", infer_inputs=[onnx_in]))
    out["onnx_typed"] = {o.name: o.as_numpy().astype(np.float64).reshape(-1).tolist() for o in onnx_res.outputs}
    onnx_raw = InferInput(name="X", shape=list(X.shape), datatype="FP32")
    onnx_raw.set_data_from_numpy(X, binary_data=True)
    onnx_res = await client.infer(InferRequest(model_name="onnx", infer_inputs=[onnx_raw]))
    out["onnx_raw"] = {o.name: o.as_numpy().astype(np.float64).reshape(-1).tolist() for o in onnx_res.outputs}

    # Errors.
    one = InferInput(name="input-0", shape=[1, FEATURES], datatype="FP32", data=X[0].tolist())
    out["unknown_model"] = await code_of(client.infer(InferRequest(model_name="nope", infer_inputs=[one])))
    short = InferInput(name="input-0", shape=[2, FEATURES], datatype="FP32", data=X[0].tolist())
    out["short_contents"] = await code_of(client.infer(InferRequest(model_name="xgb", infer_inputs=[short])))
    wrong = InferInput(name="input-0", shape=[1, FEATURES], datatype="INT64", data=[1] * FEATURES)
    out["wrong_datatype"] = await code_of(client.infer(InferRequest(model_name="xgb", infer_inputs=[wrong])))
    out["after_errors"] = result(await client.infer(InferRequest(model_name="xgb", infer_inputs=[one])))
    await client.close()
    return out


if __name__ == "__main__":
    import asyncio

    print(json.dumps(asyncio.run(_client_session(int(sys.argv[1]), sys.argv[2]))))
    sys.exit(0)


import lightgbm as lgb  # noqa: E402  (the child process needs neither)
import pytest  # noqa: E402
import xgboost as xgb  # noqa: E402

pytestmark = pytest.mark.kiln_only


@pytest.fixture(scope="module")
def kserve_results(tmp_path_factory, compat_tmp_root):
    from conftest import ServerProcess

    rng = np.random.default_rng(23)
    X = rng.normal(size=(ROWS, FEATURES)).astype(np.float32)
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 2]) > 0).astype(int)
    root = tmp_path_factory.mktemp("kserve-grpc-models")
    booster = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 4},
                        xgb.DMatrix(X, label=rng.integers(0, 3, ROWS)), 15)
    (root / "xgb" / "1").mkdir(parents=True)
    booster.save_model(str(root / "xgb" / "1" / "model.json"))
    lgbm = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1}, lgb.Dataset(X, label=y), 15)
    (root / "lgb" / "2").mkdir(parents=True)
    lgbm.save_model(str(root / "lgb" / "2" / "model.txt"))
    from skl2onnx import to_onnx
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(SimpleImputer(), LogisticRegression()).fit(X, y)
    onx = to_onnx(pipe, X[:1], options={"zipmap": False}, target_opset=17)
    (root / "onnx" / "1").mkdir(parents=True)
    (root / "onnx" / "1" / "model.onnx").write_bytes(onx.SerializeToString())
    data = root / "X.npy"
    np.save(data, X)

    srv = ServerProcess("kiln", compat_tmp_root / "serving-kserve-grpc",
                        ["--model-repository", str(root), "--grpc-port", "0"])
    srv.start()
    try:
        assert srv.grpc_port, srv.log_text()
        child = subprocess.run([sys.executable, str(Path(__file__).resolve()), str(srv.grpc_port), str(data)],
                               capture_output=True, text=True, timeout=120)
        assert child.returncode == 0, f"kserve client failed:\n{child.stderr[-4000:]}"
        results = json.loads(child.stdout.strip().splitlines()[-1])
    finally:
        srv.stop(check=True)
    import onnxruntime as ort

    sess = ort.InferenceSession(str(root / "onnx" / "1" / "model.onnx"))
    onnx_ref = {o.name: v for o, v in zip(sess.get_outputs(), sess.run(None, {"X": X}))}
    return results, X, booster, lgbm, onnx_ref


def _close(got, expected):
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    err = np.abs(got - expected) / np.maximum(1.0, np.abs(expected))
    assert err.max() <= 1e-5, err.max()


def test_readiness(kserve_results):
    r, *_ = kserve_results
    assert r["server_ready"] is True and r["server_live"] is True
    assert r["model_ready"] is True
    assert r["unknown_model_ready"] is False


def test_typed_contents_infer_xgboost(kserve_results):
    r, X, booster, *_ = kserve_results
    out = r["xgb_typed"]
    assert out["name"] == "output-0" and out["datatype"] == "FP32" and out["shape"] == [ROWS, 3]
    assert out["raw"] is False  # typed request, typed answer (as KServe's own server answers)
    assert r["xgb_typed_id"] == "typed-1"
    _close(out["data"], booster.predict(xgb.DMatrix(X)))


def test_raw_contents_infer_xgboost(kserve_results):
    r, X, booster, *_ = kserve_results
    out = r["xgb_raw"]
    assert out["raw"] is True
    _close(out["data"], booster.predict(xgb.DMatrix(X)))


def test_fp64_typed_contents_infer_lightgbm(kserve_results):
    r, X, _, lgbm, _ = kserve_results
    out = r["lgb_fp64"]
    assert out["shape"] == [ROWS]
    _close(out["data"], lgbm.predict(X))


def test_errors_and_recovery(kserve_results):
    r, X, booster, *_ = kserve_results
    assert r["unknown_model"][0] == "NOT_FOUND"
    assert r["short_contents"][0] == "INVALID_ARGUMENT" and "its shape needs 10" in r["short_contents"][1]
    assert r["wrong_datatype"][0] == "INVALID_ARGUMENT"
    _close(r["after_errors"]["data"], booster.predict(xgb.DMatrix(X[:1])))


@pytest.mark.parametrize("form", ["onnx_typed", "onnx_raw"])
def test_onnx_matches_onnxruntime(kserve_results, form):
    r, *_, onnx_ref = kserve_results
    assert set(r[form]) == set(onnx_ref)
    np.testing.assert_array_equal(r[form]["label"], onnx_ref["label"].reshape(-1))
    _close(r[form]["probabilities"], onnx_ref["probabilities"].reshape(-1))
