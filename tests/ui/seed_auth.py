"""Seeds the kiln of tests/ui/auth.spec.js and audit.spec.js (started with
--auth --default-role none) and prints what it made as JSON on its last line.

Users through the unmodified mlflow client's user endpoints
(mlflow.server.auth.client.AuthServiceClient, signed in as `admin` with
MLFLOW_TRACKING_USERNAME/PASSWORD): carol (editor on everything, so she may
create experiments) and victor (no role but what he is granted). Grants
through kiln's API (POST /api/v1/grants): victor is a viewer of carol's
"team-shared" experiment only.

Experiments and runs through mlflow signed in as each user: carol's
"team-shared" (3 runs) and "carol-private" (1 run), admin's "ops-hidden"
(1 run). Then victor tries to log a metric to "team-shared" through mlflow,
which the server refuses (he is a viewer): a `denied` audit record.

An endpoint victor may look at but not change: admin logs two small XGBoost
boosters through mlflow (versions 1 and 2 of "auth-model"), creates endpoint
"auth-demo" serving version 1 and starts a canary of version 2 with a
one-day bake through the platform API (so a rollback target exists), and
grants victor viewer on it.

    python seed_auth.py http://127.0.0.1:PORT     (KILN_ADMIN_PASSWORD in the environment)
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

PASSWORDS = {"carol": "carol-password-12", "victor": "victor-password-12"}


def as_user(name: str, password: str) -> None:
    os.environ["MLFLOW_TRACKING_USERNAME"] = name
    os.environ["MLFLOW_TRACKING_PASSWORD"] = password


def log_booster(mlflow, seed: int) -> str:
    import xgboost as xgb
    from mlflow.models import infer_signature

    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(32, 3)), columns=["a", "b", "c"])
    y = (X["a"] + X["b"] > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2, "seed": seed},
                        xgb.DMatrix(X, label=y), num_boost_round=2)
    with mlflow.start_run(run_name=f"auth-model-{seed}"):
        info = mlflow.xgboost.log_model(booster, name="model",
                                        signature=infer_signature(X, booster.predict(xgb.DMatrix(X))[:1]),
                                        pip_requirements=[f"xgboost=={xgb.__version__}"])
    return info.model_uri


def main() -> None:
    url = sys.argv[1]
    admin_pw = os.environ["KILN_ADMIN_PASSWORD"]
    os.environ["MLFLOW_TRACKING_URI"] = url
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.server.auth.client import AuthServiceClient
    from mlflow.tracking import MlflowClient

    as_user("admin", admin_pw)
    users = AuthServiceClient(url)
    for name, pw in PASSWORDS.items():
        users.create_user(name, pw)
    admin = requests.Session()
    admin.auth = ("admin", admin_pw)

    def grant(user: str, kind: str, object_id: str, role: str) -> None:
        r = admin.post(f"{url}/api/v1/grants", json={"subject_kind": "user", "subject": user, "object_kind": kind,
                                                    "object_id": object_id, "role": role}, timeout=30)
        r.raise_for_status()

    grant("carol", "global", "", "editor")

    client = MlflowClient(tracking_uri=url)
    ids = {}
    as_user("carol", PASSWORDS["carol"])
    ids["team-shared"] = client.create_experiment("team-shared")
    for i, lr in enumerate(["0.1", "0.01", "0.001"]):
        run = client.create_run(ids["team-shared"], run_name=f"shared-{i}")
        client.log_param(run.info.run_id, "lr", lr)
        client.log_metric(run.info.run_id, "accuracy", 0.7 + 0.1 * i)
        client.set_terminated(run.info.run_id)
    ids["carol-private"] = client.create_experiment("carol-private")
    client.set_terminated(client.create_run(ids["carol-private"], run_name="private-0").info.run_id)

    as_user("admin", admin_pw)
    ids["ops-hidden"] = client.create_experiment("ops-hidden")
    client.set_terminated(client.create_run(ids["ops-hidden"], run_name="ops-0").info.run_id)

    grant("victor", "experiment", ids["team-shared"], "viewer")

    mlflow.set_experiment("ops-hidden")
    for seed in (1, 2):
        mlflow.register_model(log_booster(mlflow, seed), "auth-model")

    def call(method: str, path: str, body=None) -> dict:
        r = admin.request(method, url + path, json=body, timeout=120)
        if r.status_code != 200:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text}")
        return r.json()

    call("POST", "/api/v1/endpoints", {"name": "auth-demo", "description": "Rollback refused to viewers",
                                       "routes": [{"model": "auth-model", "version": "1", "percent": 100}]})
    call("PATCH", "/api/v1/endpoints/auth-demo", {
        "routes": [{"model": "auth-model", "version": "2", "percent": 100}],
        "rollout": {"strategy": "canary", "step_percent": 20, "bake_s": 86400}})
    grant("victor", "endpoint", "auth-demo", "viewer")

    # A viewer's write is refused by the server (and audited as denied).
    as_user("victor", PASSWORDS["victor"])
    shared_run = client.search_runs([ids["team-shared"]], max_results=1)[0].info.run_id
    refused = ""
    try:
        client.log_metric(shared_run, "accuracy", 0.0)
    except MlflowException as e:
        refused = e.error_code
    if refused != "PERMISSION_DENIED":
        raise SystemExit(f"victor's log_metric was not refused: {refused or 'it succeeded'}")

    as_user("admin", admin_pw)
    print(json.dumps({"users": PASSWORDS, "experiments": ids, "shared_run": shared_run, "endpoint": "auth-demo"}))


if __name__ == "__main__":
    main()
