"""The Open Inference Protocol's gRPC readiness follows kiln's graceful
shutdown: after SIGTERM, during --shutdown-delay-ms, tritonclient.grpc
(unmodified) sees ServerReady false while ServerLive stays true and the
model still answers, as /health answers 503 "draining" over HTTP. A second
SIGTERM ends the delay and kiln exits 0. kiln-only (MLflow serves no gRPC).
"""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest
import requests
import tritonclient.grpc as grpcclient
import xgboost as xgb

pytestmark = pytest.mark.kiln_only

DELAY_MS = 60000  # ended early by the second SIGTERM; only bounds a broken drain


def test_server_ready_turns_false_while_draining(tmp_path_factory, compat_tmp_root):
    from conftest import ServerProcess

    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2},
                        xgb.DMatrix(X, label=(X[:, 0] > 0).astype(int)), 3)
    root = tmp_path_factory.mktemp("grpc-drain-models")
    (root / "m" / "1").mkdir(parents=True)
    booster.save_model(str(root / "m" / "1" / "model.json"))

    srv = ServerProcess("kiln", compat_tmp_root / "serving-grpc-drain",
                        ["--model-repository", str(root), "--grpc-port", "0",
                         "--shutdown-delay-ms", str(DELAY_MS)]).start()
    try:
        client = grpcclient.InferenceServerClient(f"127.0.0.1:{srv.grpc_port}")
        assert client.is_server_live() and client.is_server_ready()

        srv.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + DELAY_MS / 1000
        while requests.get(srv.url + "/health", timeout=5).status_code != 503:
            assert time.monotonic() < deadline and srv.proc.poll() is None, "kiln never began draining"
            time.sleep(0.05)
        assert requests.get(srv.url + "/health", timeout=5).json()["status"] == "draining"

        assert client.is_server_ready() is False
        assert client.is_server_live() is True
        # Still serving: draining is about new traffic going elsewhere, not refusing it.
        inp = grpcclient.InferInput("input-0", list(X[:2].shape), "FP32")
        inp.set_data_from_numpy(X[:2])
        out = client.infer("m", [inp]).as_numpy("output-0")
        np.testing.assert_allclose(out.reshape(-1), booster.predict(xgb.DMatrix(X[:2])), rtol=1e-6)
        client.close()

        srv.proc.send_signal(signal.SIGTERM)  # ends the delay
        assert srv.proc.wait(60) == 0
    finally:
        if srv.proc is not None and srv.proc.poll() is None:
            srv.stop(check=False)
