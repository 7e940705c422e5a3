"""Model serving over the Open Inference Protocol (KServe V2) REST, JSON tensors.

kiln serves XGBoost and LightGBM models from a Triton-layout model repository
(--model-repository DIR/<model>/<version>/model.{json,ubj,bst}); every test
trains its own models with the real `xgboost` / `lightgbm` packages and
compares kiln's predictions with theirs over 1,000+ rows that include missing values
(JSON null stands for NaN). kiln-only: MLflow's server has no V2 endpoints.
"""

from __future__ import annotations

import shutil
import subprocess

import lightgbm as lgb
import numpy as np
import pytest
import requests
import xgboost as xgb

pytestmark = pytest.mark.kiln_only

ROWS = 1200
FEATURES = 8
RTOL = 1e-5


def _data(seed: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(ROWS, FEATURES)).astype(np.float32)
    X[rng.random(X.shape) < 0.1] = np.nan
    return X, rng


def _train(objective: str, seed: int, **params):
    X, rng = _data(seed)
    if objective.startswith("multi:"):
        y = rng.integers(0, 3, size=ROWS)
        params["num_class"] = 3
    elif objective == "binary:logistic":
        y = (np.nan_to_num(X[:, 0]) + rng.normal(scale=0.5, size=ROWS) > 0).astype(int)
    else:
        y = np.nan_to_num(X[:, 0]) * 2 + rng.normal(size=ROWS)
    dtrain = xgb.DMatrix(X, label=y)
    if objective.startswith("rank:"):
        dtrain.set_group([ROWS // 12] * 12)
        y = rng.integers(0, 4, size=ROWS)
        dtrain.set_label(y)
    booster = xgb.train({"objective": objective, "max_depth": 5, "eta": 0.3, **params}, dtrain, num_boost_round=30)
    return booster, X


def _rows_json(X: np.ndarray):
    return [[None if np.isnan(v) else float(v) for v in row] for row in X]


def _infer(url: str, model: str, X: np.ndarray, version: str | None = None, **extra):
    path = f"/v2/models/{model}" + (f"/versions/{version}" if version else "") + "/infer"
    body = {"id": "req-1", "inputs": [{"name": "input-0", "shape": list(X.shape), "datatype": "FP32",
                                       "data": _rows_json(X)}], **extra}
    return requests.post(url + path, json=body, timeout=60)


def _assert_close(got, expected):
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    err = np.abs(got - expected) / np.maximum(1.0, np.abs(expected))
    assert err.max() <= RTOL, f"max relative error {err.max():.3g}"


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    trained = {}
    for name, objective, fmt, seed in [
        ("binary-json", "binary:logistic", "json", 1),
        ("multi-ubj", "multi:softprob", "ubj", 2),
        ("reg-json", "reg:squarederror", "json", 3),
        ("rank-json", "rank:pairwise", "json", 4),
        ("ndcg-ubj", "rank:ndcg", "ubj", 6),
        ("softmax-json", "multi:softmax", "json", 7),
    ]:
        booster, X = _train(objective, seed)
        d = root / name / "1"
        d.mkdir(parents=True)
        # xgboost >= 3 no longer writes the legacy binary format (.bst); the
        # models 1.7 and 2.1 write in it are covered by test_serving_xgboost_matrix.py.
        booster.save_model(str(d / f"model.{fmt}"))
        trained[name] = (booster, X)
    # LightGBM text models, evaluated by kiln's own C++ evaluator.
    for name, params, seed in [
        ("lgb-binary", {"objective": "binary"}, 11),
        ("lgb-multi", {"objective": "multiclass", "num_class": 3}, 12),
        ("lgb-regression", {"objective": "regression"}, 13),
    ]:
        X, rng = _data(seed)
        if params["objective"] == "multiclass":
            y = rng.integers(0, 3, size=ROWS)
        elif params["objective"] == "binary":
            y = (np.nan_to_num(X[:, 1]) > 0).astype(int)
        else:
            y = np.nan_to_num(X[:, 1]) * 3 + rng.normal(size=ROWS)
        model = lgb.train({**params, "num_leaves": 15, "verbose": -1, "num_threads": 1, "seed": seed},
                          lgb.Dataset(X, label=y), num_boost_round=25)
        (root / name / "1").mkdir(parents=True)
        model.save_model(str(root / name / "1" / "model.txt"))
        trained[name] = (model, X)
    # KServe's single-model layout: the file directly in the model folder.
    booster, X = _train("binary:logistic", 5)
    (root / "kserve-style").mkdir()
    booster.save_model(str(root / "kserve-style" / "model.json"))
    trained["kserve-style"] = (booster, X)
    # A model that cannot load must not take the server down.
    (root / "broken" / "1").mkdir(parents=True)
    (root / "broken" / "1" / "model.json").write_text("{not a model")
    return root, trained


@pytest.fixture(scope="module")
def served(repo, compat_tmp_root):
    from conftest import ServerProcess  # the suite's own process wrapper

    root, trained = repo
    srv = ServerProcess("kiln", compat_tmp_root / "serving-v2", ["--model-repository", str(root)])
    srv.start()
    yield srv.url, root, trained
    srv.stop(check=True)


@pytest.mark.parametrize("name", ["binary-json", "multi-ubj", "reg-json", "rank-json", "ndcg-ubj", "softmax-json",
                                  "kserve-style", "lgb-binary", "lgb-multi", "lgb-regression"])
def test_predictions_equal_reference(served, name):
    url, _, trained = served
    model, X = trained[name]
    expected = model.predict(X) if name.startswith("lgb-") else model.predict(xgb.DMatrix(X))
    r = _infer(url, name, X)
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    assert body["model_name"] == name and body["model_version"] == "1" and body["id"] == "req-1"
    (out,) = body["outputs"]
    assert out["name"] == "output-0" and out["datatype"] == "FP32"
    assert out["shape"] == list(expected.shape)
    _assert_close(np.asarray(out["data"]).reshape(expected.shape), expected)


def test_metadata_health_and_index(served):
    url, _, trained = served
    assert requests.get(url + "/v2/health/live", timeout=10).json() == {"live": True}
    assert requests.get(url + "/v2/health/ready", timeout=10).json() == {"ready": True}
    server = requests.get(url + "/v2", timeout=10).json()
    assert server["name"] == "kiln" and "model_repository" in server["extensions"]
    meta = requests.get(url + "/v2/models/multi-ubj", timeout=10).json()
    assert meta["platform"] == "xgboost" and meta["versions"] == ["1"]
    assert meta["inputs"] == [{"name": "input-0", "datatype": "FP32", "shape": [-1, FEATURES]}]
    assert meta["outputs"] == [{"name": "output-0", "datatype": "FP32", "shape": [-1, 3]}]
    assert requests.get(url + "/v2/models/binary-json/versions/1/ready", timeout=10).json()["ready"] is True
    models = requests.get(url + "/v2/models", timeout=10).json()["models"]
    assert sorted(models) == sorted(trained)
    assert requests.get(url + "/v2/models/lgb-multi", timeout=10).json()["platform"] == "lightgbm"
    index = {m["name"]: m for m in requests.post(url + "/v2/repository/index", json={}, timeout=10).json()}
    assert index["broken"]["state"] == "UNAVAILABLE" and "cannot load XGBoost model" in index["broken"]["reason"]
    assert index["reg-json"]["state"] == "READY"


@pytest.mark.parametrize("case,mutate,status,needle", [
    ("wrong-shape", lambda b: b["inputs"][0].update(shape=[2, FEATURES + 1], data=[0.0] * (2 * (FEATURES + 1))),
     400, "expected [-1, 8]"),
    ("count-mismatch", lambda b: b["inputs"][0].update(data=[0.0] * 3), 400, "its shape needs"),
    ("wrong-datatype", lambda b: b["inputs"][0].update(datatype="INT32", data=[0] * (2 * FEATURES)), 400,
     "datatype INT32"),
    ("unknown-datatype", lambda b: b["inputs"][0].update(datatype="FLOAT"), 400, "not a V2 datatype"),
    ("string-values", lambda b: b["inputs"][0].update(data=["x"] * (2 * FEATURES)), 400, "not a valid FP32"),
    ("missing-input", lambda b: b.update(inputs=[]), 400, "non-empty array"),
    ("wrong-input-name", lambda b: b["inputs"][0].update(name="features"), 400, "unexpected input"),
    ("unknown-output", lambda b: b.update(outputs=[{"name": "probabilities"}]), 400, "unknown output"),
    ("negative-dim", lambda b: b["inputs"][0].update(shape=[-2, FEATURES]), 400, "non-negative"),
])
def test_bad_requests_get_v2_errors(served, case, mutate, status, needle):
    url, _, trained = served
    _, X = trained["binary-json"]
    body = {"inputs": [{"name": "input-0", "shape": [2, FEATURES], "datatype": "FP32", "data": _rows_json(X[:2])}]}
    mutate(body)
    r = requests.post(url + "/v2/models/binary-json/infer", json=body, timeout=10)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]
    # Still serving correctly afterwards.
    ok = _infer(url, "binary-json", X[:4])
    assert ok.status_code == 200


def test_unknown_model_version_and_malformed_json(served):
    url, _, trained = served
    _, X = trained["binary-json"]
    assert _infer(url, "nope", X[:1]).status_code == 404
    r = _infer(url, "binary-json", X[:1], version="7")
    assert r.status_code == 404 and "no version 7" in r.json()["error"]
    r = requests.post(url + "/v2/models/binary-json/infer", data=b"{", timeout=10)
    assert r.status_code == 400 and "malformed JSON" in r.json()["error"]
    r = requests.post(url + "/v2/models/broken/infer", json={"inputs": []}, timeout=10)
    assert r.status_code == 503 and "not ready" in r.json()["error"]


def test_load_unload_and_reload_without_restart(served):
    url, root, _ = served
    booster, X = _train("reg:squarederror", 9)
    d = root / "hot" / "1"
    d.mkdir(parents=True)
    booster.save_model(str(d / "model.json"))
    assert _infer(url, "hot", X[:5]).status_code == 404
    assert requests.post(url + "/v2/repository/models/hot/load", timeout=30).status_code == 200
    r = _infer(url, "hot", X)
    _assert_close(r.json()["outputs"][0]["data"], booster.predict(xgb.DMatrix(X)))
    # A second version appears on reload and becomes the default.
    booster2, _ = _train("reg:squarederror", 10)
    (root / "hot" / "2").mkdir()
    booster2.save_model(str(root / "hot" / "2" / "model.json"))
    assert requests.post(url + "/v2/repository/models/hot/load", timeout=30).status_code == 200
    r = _infer(url, "hot", X)
    assert r.json()["model_version"] == "2"
    _assert_close(r.json()["outputs"][0]["data"], booster2.predict(xgb.DMatrix(X)))
    r = _infer(url, "hot", X, version="1")
    _assert_close(r.json()["outputs"][0]["data"], booster.predict(xgb.DMatrix(X)))
    # A broken reload keeps serving what was loaded.
    (root / "hot" / "2" / "model.json").write_text("garbage")
    (root / "hot" / "1" / "model.json").write_text("garbage")
    r = requests.post(url + "/v2/repository/models/hot/load", timeout=30)
    assert r.status_code == 400 and "failed to load" in r.json()["error"]
    assert _infer(url, "hot", X[:3]).status_code == 200
    assert requests.post(url + "/v2/repository/models/hot/unload", timeout=30).status_code == 200
    assert _infer(url, "hot", X[:3]).status_code == 503
    assert requests.post(url + "/v2/repository/models/nope/load", timeout=30).status_code == 404
    assert requests.post(url + "/v2/repository/models/..%2f..%2fetc/load", timeout=30).status_code in (400, 404)
    shutil.rmtree(root / "hot")


def test_missing_model_repository_is_a_config_error(tmp_path):
    from conftest import kiln_binary

    r = subprocess.run([str(kiln_binary()), "serve", "--port", "0", "--data-dir", str(tmp_path / "data"),
                        "--model-repository", str(tmp_path / "does-not-exist")],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 2
    assert "--model-repository" in r.stderr + r.stdout


def test_serves_registered_versions_by_alias(served):
    """A registered model version (the registry's own copy) is served by
    model URI, and loading the alias again follows it to its new version."""
    import mlflow
    from mlflow import MlflowClient
    from sklearn.linear_model import LinearRegression

    url, _, _ = served
    mlflow.set_tracking_uri(url)
    client = MlflowClient(url)
    name = "served-" + str(abs(hash(url)) % 100000)
    # An explicit experiment: the fluent API's active experiment belongs to
    # the suite's shared server, not to this one.
    exp_id = client.create_experiment(name + "-exp")
    X, rng = _data(21)
    boosters = []
    for seed in (21, 22):
        booster, _ = _train("binary:logistic", seed)
        with mlflow.start_run(experiment_id=exp_id):
            info = mlflow.xgboost.log_model(booster, name="model", pip_requirements=["xgboost"])
        mv = mlflow.register_model(info.model_uri, name)
        boosters.append((booster, mv.version))
    client.set_registered_model_alias(name, "champion", boosters[0][1])

    load = lambda uri: requests.post(url + f"/v2/repository/models/{name}/load",  # noqa: E731
                                     json={"parameters": {"model_uri": uri}}, timeout=60)
    r = load(f"models:/{name}@champion")
    assert r.status_code == 200, r.text
    r = _infer(url, name, X)
    assert r.status_code == 200, r.text
    assert r.json()["model_version"] == boosters[0][1]
    _assert_close(r.json()["outputs"][0]["data"], boosters[0][0].predict(xgb.DMatrix(X)))

    client.set_registered_model_alias(name, "champion", boosters[1][1])
    assert load(f"models:/{name}@champion").status_code == 200
    r = _infer(url, name, X)
    assert r.json()["model_version"] == boosters[1][1]
    _assert_close(r.json()["outputs"][0]["data"], boosters[1][0].predict(xgb.DMatrix(X)))

    # LightGBM through mlflow.lightgbm (model.lgb in the registry's copy).
    lgb_model, _ = (lgb.train({"objective": "regression", "verbose": -1, "num_threads": 1},
                              lgb.Dataset(X, label=np.nan_to_num(X[:, 2])), num_boost_round=10), None)
    with mlflow.start_run(experiment_id=exp_id):
        info = mlflow.lightgbm.log_model(lgb_model, name="model", pip_requirements=["lightgbm"])
    mlflow.register_model(info.model_uri, name + "-lgb")
    r = requests.post(url + f"/v2/repository/models/{name}-lgb/load",
                      json={"parameters": {"model_uri": f"models:/{name}-lgb/1"}}, timeout=60)
    assert r.status_code == 200, r.text
    r = _infer(url, name + "-lgb", X)
    _assert_close(r.json()["outputs"][0]["data"], lgb_model.predict(X))

    # What cannot be served says why, and changes nothing.
    with mlflow.start_run(experiment_id=exp_id):
        info = mlflow.sklearn.log_model(LinearRegression().fit(np.nan_to_num(X), np.nan_to_num(X[:, 0])),
                                        name="model", pip_requirements=["scikit-learn"])
    mlflow.register_model(info.model_uri, name + "-sk")
    r = requests.post(url + f"/v2/repository/models/{name}/load",
                      json={"parameters": {"model_uri": f"models:/{name}-sk/1"}}, timeout=60)
    assert r.status_code == 400 and "sklearn" in r.json()["error"], r.text
    assert _infer(url, name, X[:2]).json()["model_version"] == boosters[1][1]
    r = load(f"models:/{name}@nosuchalias")
    assert r.status_code == 400, r.text
    r = load("models:/no-such-model/1")
    assert r.status_code == 404, r.text
    r = requests.post(url + f"/v2/repository/models/{name}/load", data=b"{", timeout=10)
    assert r.status_code == 400 and "malformed" in r.json()["error"]


def test_kserve_v1_predict(served):
    url, _, trained = served
    booster, X = trained["multi-ubj"]
    assert "multi-ubj" in requests.get(url + "/v1/models", timeout=10).json()["models"]
    assert requests.get(url + "/v1/models/multi-ubj", timeout=10).json() == {"name": "multi-ubj", "ready": True}
    r = requests.post(url + "/v1/models/multi-ubj:predict", json={"instances": _rows_json(X)}, timeout=60)
    assert r.status_code == 200, r.text
    _assert_close(r.json()["predictions"], booster.predict(xgb.DMatrix(X)))
    lgbm, Xl = trained["lgb-binary"]
    r = requests.post(url + "/v1/models/lgb-binary:predict", json={"inputs": _rows_json(Xl[:50])}, timeout=60)
    _assert_close(r.json()["predictions"], lgbm.predict(Xl[:50]))
    for body, needle in [({"instances": [[1.0] * FEATURES, [1.0]]}, "instances[0] has"),
                         ({"instances": [["a"] * FEATURES]}, "not a number"),
                         ({"rows": []}, "needs 'instances'"),
                         ({"instances": [[1.0] * (FEATURES + 2)]}, "expected [-1, 8]")]:
        r = requests.post(url + "/v1/models/multi-ubj:predict", json=body, timeout=10)
        assert r.status_code == 400 and needle in r.json()["error"], r.text
    assert requests.post(url + "/v1/models/nope:predict", json={"instances": [[1.0]]}, timeout=10).status_code == 404
    assert requests.post(url + "/v1/models/multi-ubj:explain", json={"instances": [[1.0]]},
                         timeout=10).status_code == 404


def test_inference_metrics(served):
    import re

    url, _, trained = served
    _, X = trained["reg-json"]
    for _ in range(3):
        assert _infer(url, "reg-json", X[:7]).status_code == 200
    bad = {"inputs": [{"name": "input-0", "shape": [1], "datatype": "FP32", "data": [1.0]}]}
    assert requests.post(url + "/v2/models/reg-json/infer", json=bad, timeout=10).status_code == 400
    text = requests.get(url + "/metrics", timeout=10).text

    def value(pattern):
        m = re.search(pattern + r" ([0-9.e+]+)$", text, re.M)
        assert m, pattern
        return float(m.group(1))

    ok = r'kiln_inference_requests_total\{model="reg-json",version="1",outcome="ok"\}'
    assert value(ok) >= 3
    assert value(r'kiln_inference_requests_total\{model="reg-json",version="1",outcome="bad_request"\}') >= 1
    assert value(r'kiln_inference_compute_seconds_count\{model="reg-json",version="1"\}') >= 3
    assert value(r'kiln_inference_batch_rows_bucket\{model="reg-json",version="1",le="8"\}') >= 3
    assert value(r'kiln_inference_batch_rows_bucket\{model="reg-json",version="1",le="4"\}') == 0
    assert value(r"kiln_models_loaded") >= len(trained)


def test_v1_requests_are_counted_in_metrics_and_stats(served):
    import re

    url, _, trained = served
    _, X = trained["multi-ubj"]

    def count(outcome):
        text = requests.get(url + "/metrics", timeout=10).text
        m = re.search(r'kiln_inference_requests_total\{model="multi-ubj",version="1",outcome="%s"\} ([0-9.e+]+)$'
                      % outcome, text, re.M)
        return float(m.group(1)) if m else 0.0

    def stats():
        return requests.get(url + "/v2/models/multi-ubj/stats", timeout=10).json()["model_stats"][0]

    ok0, bad0, st0 = count("ok"), count("bad_request"), stats()
    rows = [[None if np.isnan(v) else float(v) for v in r] for r in X[:5]]
    for _ in range(2):
        assert requests.post(url + "/v1/models/multi-ubj:predict", json={"instances": rows}, timeout=10).ok
    bad = requests.post(url + "/v1/models/multi-ubj:predict", json={"instances": [["x"]]}, timeout=10)
    assert bad.status_code == 400
    assert count("ok") == ok0 + 2
    assert count("bad_request") == bad0 + 1
    st = stats()
    assert int(st["inference_count"]) == int(st0["inference_count"]) + 10
    assert int(st["inference_stats"]["fail"]["count"]) == int(st0["inference_stats"]["fail"]["count"]) + 1


def test_concurrent_requests_are_batched_and_each_gets_its_own_rows(repo, kiln_factory):
    """16 clients send different rows at once to a kiln that waits up to 20 ms
    to batch; every response carries exactly its own predictions."""
    from concurrent.futures import ThreadPoolExecutor

    root, trained = repo
    srv = kiln_factory("--model-repository", str(root), "--max-queue-delay-us", "20000", "--max-batch-rows", "256")
    booster, X = trained["multi-ubj"]
    expected = booster.predict(xgb.DMatrix(X))

    def worker(t):
        s = requests.Session()
        for i in range(t, 320, 16):
            rows = X[i % ROWS: i % ROWS + 1 + (i % 3)]
            body = {"id": str(i), "inputs": [{"name": "input-0", "shape": list(rows.shape), "datatype": "FP32",
                                              "data": _rows_json(rows)}]}
            r = s.post(srv.url + "/v2/models/multi-ubj/infer", json=body, timeout=60)
            assert r.status_code == 200, r.text
            out = r.json()
            assert out["id"] == str(i)
            got = np.asarray(out["outputs"][0]["data"]).reshape(out["outputs"][0]["shape"])
            _assert_close(got, expected[i % ROWS: i % ROWS + len(rows)])
        return True

    with ThreadPoolExecutor(16) as pool:
        assert all(pool.map(worker, range(16)))
    stats = requests.get(srv.url + "/v2/models/multi-ubj/stats", timeout=10).json()["model_stats"][0]
    assert int(stats["inference_stats"]["success"]["count"]) == 320
    assert stats["inference_count"] == sum(1 + (i % 3) for i in range(320))
