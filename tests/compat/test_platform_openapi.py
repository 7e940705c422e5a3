"""The platform API against its own OpenAPI document, fuzzed by schemathesis
(PyPI, pinned in requirements.txt): every operation of
/api/v1/openapi.json gets schema-valid and schema-invalid requests; none
may answer 5xx, every status and content type must be documented, and every
body (errors included) must match its documented schema, so every error is
{"error_code", "message"} with a documented code.

A real endpoint "fraud" (the document's example name) serving a model the
unmodified mlflow client registered exists before fuzzing, so the
operations reach the domain and not only "does not exist".
"""

from __future__ import annotations

import json
from pathlib import Path

import hypothesis
import mlflow
import numpy as np
import pandas as pd
import pytest
import requests
import schemathesis
from mlflow.models import infer_signature
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = [pytest.mark.kiln_only, pytest.mark.filterwarnings("ignore::FutureWarning")]

COLUMNS = ["f0", "f1", "f2", "f3"]
_SEEDED: set[str] = set()


def _seed_endpoint(server: str) -> None:
    """Registers a model and creates the endpoint "fraud" once per server."""
    import xgboost as xgb

    if server in _SEEDED:
        return
    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(64, len(COLUMNS))), columns=COLUMNS)
    y = (X["f0"] > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(X, label=y), num_boost_round=2)
    with mlflow.start_run():
        info = mlflow.xgboost.log_model(booster, name="model", signature=infer_signature(X, booster.predict(xgb.DMatrix(X))),
                                        pip_requirements=[f"xgboost=={xgb.__version__}"])
    mv = mlflow.register_model(info.model_uri, "fraud")
    r = requests.get(f"{server}/api/v1/endpoints/fraud", timeout=30)
    if r.status_code == 404:
        r = requests.post(f"{server}/api/v1/endpoints", timeout=60, json={
            "name": "fraud", "routes": [{"model": "fraud", "version": mv.version}], "capture": {"percent": 100}})
    assert r.status_code == 200, r.text
    r = requests.post(f"{server}/api/v1/endpoints/fraud/predict", timeout=60,
                      json={"inputs": X.head(2).to_dict(orient="list")})
    assert r.status_code == 200, r.text
    _SEEDED.add(server)


# The served document is this file (src/api/platform/openapi_test.cc checks
# the route serves exactly it), so operations are known at collection time.
SPEC = json.loads((Path(__file__).resolve().parents[2] / "src/api/platform/openapi.json").read_text())
OPERATIONS = [(method.upper(), path) for path, item in SPEC["paths"].items()
              for method in item if method in ("get", "post", "patch", "delete")]


def _has_inputs(method: str, path: str) -> bool:
    item = SPEC["paths"][path]
    op = item[method.lower()]
    return bool(item.get("parameters") or op.get("parameters") or op.get("requestBody"))


# Negative cases need something to break: operations without parameters or
# body have none (GET /api/v1/endpoints, GET /api/v1/openapi.json).
CASES = [(GenerationMode.POSITIVE, m, p) for m, p in OPERATIONS] + \
        [(GenerationMode.NEGATIVE, m, p) for m, p in OPERATIONS if _has_inputs(m, p)]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def platform_schema(server):
    _seed_endpoint(server)
    return schemathesis.openapi.from_url(server + "/api/v1/openapi.json")


# schemathesis' own pytest plugin (from_fixture) reads a private pytest
# attribute pytest 9 removed, so each operation is driven through its
# Hypothesis strategy directly, as schemathesis documents for custom runners.
@pytest.mark.timeout_s(300)
@pytest.mark.parametrize("mode, method, path", CASES, ids=[f"{mode.value}-{m} {p}" for mode, m, p in CASES])
def test_every_operation_fuzzed(platform_schema, server, mode, method, path):
    operation = platform_schema[path][method]
    seen = {"calls": 0}

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(max_examples=100, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck),
                         phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink])
    def fuzz(case):
        seen["calls"] += 1
        case.call_and_validate(base_url=server, checks=CHECKS, timeout=60)

    fuzz()
    assert seen["calls"] > 0


def test_the_document_covers_every_operation(server):
    doc = requests.get(server + "/api/v1/openapi.json", timeout=30).json()
    assert doc == SPEC
    assert len(OPERATIONS) == 13, OPERATIONS
    assert doc["components"]["schemas"]["Error"]["required"] == ["error_code", "message"]
