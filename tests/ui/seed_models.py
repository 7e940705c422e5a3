"""Seeds a kiln of tests/ui/models.spec.js's own (started with --auth) and
prints what it made as JSON on its last line.

Through the unmodified mlflow client (basic auth as `admin`): an experiment
"ui-models" with two training runs, each logging a small XGBoost booster with
mlflow.xgboost.log_model and a named-column signature, registered as
versions 1 and 2 of "fraud-detector" (description, tags, aliases
champion -> 1 and challenger -> 2, version 1 in Production); a second model
"churn-scorer" with one version that no endpoint serves; and 28 empty
registered models "sandbox-NN" so the model list has a second page.

Through the platform API over HTTP: endpoint "fraud" serving version 1
(revision 1), then version 2 as a canary at 20 % with a one-day bake
(revision 2, so the rollout stays pending while the tests run), then
PREDICTIONS predictions so both revisions have requests, error rate and p99.

    python seed_models.py http://127.0.0.1:PORT     (KILN_ADMIN_PASSWORD in the environment)
"""

from __future__ import annotations

import json
import os
import sys
import warnings

import numpy as np
import pandas as pd
import requests

warnings.filterwarnings("ignore")

COLUMNS = ["amount", "age_days", "merchant_risk", "velocity"]
MODEL = "fraud-detector"
OTHER = "churn-scorer"
ENDPOINT = "fraud"
SANDBOX_MODELS = 28
PREDICTIONS = 120


def frame(seed: int, rows: int = 64) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(rows, len(COLUMNS))), columns=COLUMNS)


def train_and_log(mlflow, seed: int, run_name: str):
    import xgboost as xgb
    from mlflow.models import infer_signature

    X = frame(seed)
    w = np.random.default_rng(seed + 100).normal(size=len(COLUMNS))
    y = (X.to_numpy() @ w > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2, "eta": 0.5, "seed": seed},
                        xgb.DMatrix(X, label=y), num_boost_round=3)
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_param("max_depth", 2)
        mlflow.log_param("seed", seed)
        mlflow.log_metric("train_rows", len(X))
        info = mlflow.xgboost.log_model(booster, name="model",
                                        signature=infer_signature(X, booster.predict(xgb.DMatrix(X))[:1]),
                                        pip_requirements=[f"xgboost=={xgb.__version__}"])
    return run.info.run_id, info.model_uri


def main() -> None:
    url = sys.argv[1].rstrip("/")
    password = os.environ["KILN_ADMIN_PASSWORD"]
    os.environ["MLFLOW_TRACKING_URI"] = url
    os.environ["MLFLOW_TRACKING_USERNAME"] = "admin"
    os.environ["MLFLOW_TRACKING_PASSWORD"] = password

    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient()
    mlflow.set_experiment("ui-models")
    runs = {}
    for version, seed in (("1", 1), ("2", 2)):
        run_id, uri = train_and_log(mlflow, seed, f"train-fraud-v{version}")
        mv = mlflow.register_model(uri, MODEL)
        assert mv.version == version, mv.version
        runs[version] = run_id
    client.update_registered_model(MODEL, description="Scores card transactions for fraud.")
    client.set_registered_model_tag(MODEL, "team", "risk")
    client.set_registered_model_tag(MODEL, "data", "transactions-2026")
    client.update_model_version(MODEL, "1", description="Baseline booster.")
    client.update_model_version(MODEL, "2", description="Retrained on new labels.")
    client.set_model_version_tag(MODEL, "2", "validated", "true")
    client.set_registered_model_alias(MODEL, "champion", "1")
    client.set_registered_model_alias(MODEL, "challenger", "2")
    client.transition_model_version_stage(MODEL, "1", "Production")

    other_run, other_uri = train_and_log(mlflow, 3, "train-churn")
    mlflow.register_model(other_uri, OTHER)
    client.update_registered_model(OTHER, description="Predicts churn within 30 days.")
    for i in range(SANDBOX_MODELS):
        client.create_registered_model(f"sandbox-{i:02d}")

    s = requests.Session()
    s.auth = ("admin", password)

    def call(method: str, path: str, body=None) -> dict:
        r = s.request(method, url + path, json=body, timeout=120)
        if r.status_code != 200:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text}")
        return r.json()

    call("POST", "/api/v1/endpoints", {
        "name": ENDPOINT, "description": "Card fraud scoring",
        "routes": [{"model": MODEL, "version": "1", "percent": 100}]})
    call("PATCH", f"/api/v1/endpoints/{ENDPOINT}", {
        "routes": [{"model": MODEL, "version": "2", "percent": 100}],
        "rollout": {"strategy": "canary", "step_percent": 20, "bake_s": 86400}})

    probe = frame(0, rows=4)
    inputs = {c: probe[c].tolist() for c in COLUMNS}
    answered = {}
    for _ in range(PREDICTIONS):
        out = call("POST", f"/api/v1/endpoints/{ENDPOINT}/predict", {"inputs": inputs})
        answered[out["model_version"]] = answered.get(out["model_version"], 0) + 1

    print(json.dumps({"model": MODEL, "other_model": OTHER, "endpoint": ENDPOINT, "runs": runs,
                      "other_run": other_run, "answered": answered, "columns": COLUMNS,
                      "sandbox_models": SANDBOX_MODELS}))


if __name__ == "__main__":
    main()
