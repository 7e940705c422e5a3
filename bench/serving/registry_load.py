"""Time from `POST /v2/repository/models/<m>/load {"parameters": {"model_uri": "models:/…@champion"}}`
to the model answering inference, for the issue's XGBoost model (100 trees, depth 6, 20 features)
registered through the mlflow client. Usage: .venv/bin/python bench/serving/registry_load.py [runs]
Starts build/release/kiln on a free port with a temporary data dir; prints p50/min/max in ms."""

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import mlflow
import numpy as np
import requests
import xgboost as xgb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([os.path.join(ROOT, "build/release/kiln"), "serve", "--port", "0", "--data-dir", tmp,
                                 "--access-log=false"], stderr=subprocess.PIPE, text=True)
        port = None
        for line in proc.stderr:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        url = f"http://127.0.0.1:{port}"
        try:
            mlflow.set_tracking_uri(url)
            rng = np.random.default_rng(0)
            X = rng.normal(size=(5000, 20)).astype(np.float32)
            y = (X[:, 0] + rng.normal(size=5000) > 0).astype(int)
            booster = xgb.train({"objective": "binary:logistic", "max_depth": 6}, xgb.DMatrix(X, label=y), 100)
            with mlflow.start_run():
                info = mlflow.xgboost.log_model(booster, name="model", pip_requirements=["xgboost"])
            mv = mlflow.register_model(info.model_uri, "fraud")
            mlflow.MlflowClient().set_registered_model_alias("fraud", "champion", mv.version)
            body = {"inputs": [{"name": "input-0", "shape": [1, 20], "datatype": "FP32", "data": X[0].tolist()}]}
            s = requests.Session()
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                r = s.post(url + "/v2/repository/models/fraud/load",
                           json={"parameters": {"model_uri": "models:/fraud@champion"}}, timeout=30)
                r.raise_for_status()
                r = s.post(url + "/v2/models/fraud/infer", json=body, timeout=30)
                r.raise_for_status()
                times.append((time.perf_counter() - t0) * 1000)
            expected = float(booster.predict(xgb.DMatrix(X[:1]))[0])
            got = r.json()["outputs"][0]["data"][0]
            assert abs(got - expected) <= 1e-5 * max(1, abs(expected)), (got, expected)
            print(f"registry load to first inference, {runs} runs: p50 {statistics.median(times):.1f} ms, "
                  f"min {min(times):.1f} ms, max {max(times):.1f} ms")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
