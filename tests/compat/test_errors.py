"""Error paths over raw HTTP, with statuses/codes measured on `mlflow server` 3.17.2.

After every error the server must still answer normal requests and previously
logged data must be intact (`baseline` fixture + `assert_intact`).

Deliberately NOT tested because the reference server answers 500 (MLflow bugs
that kiln should not copy): malformed JSON sent to runs/log-batch, a top-level
JSON array/string body to experiments/create, PUT of an artifact onto an
existing directory.
"""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from conftest import error_of

JSON = {"Content-Type": "application/json"}
MISSING_RUN = "0123456789abcdef0123456789abcdef"
MISSING_EXP = "987654321"


@pytest.fixture
def baseline(api, unique):
    """An experiment and run with known data, checked after each error."""
    name = unique("err-base")
    eid = api.create_experiment(name)
    run = api.create_run(eid, run_name="baseline")
    rid = run["info"]["run_id"]
    assert api.post("runs/log-parameter", {"run_id": rid, "key": "lr", "value": "0.1"}).status_code == 200
    assert api.post("runs/log-metric", {"run_id": rid, "key": "loss", "value": 0.5, "timestamp": 1000,
                                        "step": 3}).status_code == 200
    assert api.post("runs/set-tag", {"run_id": rid, "key": "team", "value": "core"}).status_code == 200
    return {"eid": eid, "rid": rid, "name": name}


def assert_intact(api, b):
    r = api.get("runs/get", {"run_id": b["rid"]})
    assert r.status_code == 200, r.text
    run = r.json()["run"]
    assert run["info"]["experiment_id"] == b["eid"]
    params = {p["key"]: p["value"] for p in run["data"].get("params", [])}
    metrics = {m["key"]: (m["value"], m["step"]) for m in run["data"].get("metrics", [])}
    tags = {t["key"]: t["value"] for t in run["data"].get("tags", [])}
    assert params == {"lr": "0.1"}
    assert metrics == {"loss": (0.5, 3)}
    assert tags["team"] == "core"
    r = api.get("experiments/get-by-name", {"experiment_name": b["name"]})
    assert r.status_code == 200 and r.json()["experiment"]["experiment_id"] == b["eid"]


# (id, method, endpoint, request kwargs builder(b), expected status, expected error_code)
P, G = "POST", "GET"
CASES = [
    # --- malformed JSON: MLflow parses it as an empty message, then reports the
    # first missing required field -> 400 INVALID_PARAMETER_VALUE.
    ("malformed-json-create-exp", P, "experiments/create", lambda b: {"data": '{"name": "x', "headers": JSON},
     400, "INVALID_PARAMETER_VALUE"),
    ("malformed-json-log-metric", P, "runs/log-metric",
     lambda b: {"data": '{"run_id": "%s", "key": ' % b["rid"], "headers": JSON}, 400, "INVALID_PARAMETER_VALUE"),
    ("malformed-json-set-tag", P, "runs/set-tag", lambda b: {"data": "not json at all", "headers": JSON},
     400, "INVALID_PARAMETER_VALUE"),
    ("empty-body-create-exp", P, "experiments/create", lambda b: {"data": "", "headers": JSON},
     400, "INVALID_PARAMETER_VALUE"),
    ("missing-content-type", P, "experiments/create", lambda b: {"data": '{"name": "no-ct-%s"}' % uuid.uuid4().hex},
     400, "INVALID_PARAMETER_VALUE"),
    # --- missing / wrongly typed fields
    ("create-exp-no-name", P, "experiments/create", lambda b: {"json": {}}, 400, "INVALID_PARAMETER_VALUE"),
    ("create-exp-empty-name", P, "experiments/create", lambda b: {"json": {"name": ""}}, 400,
     "INVALID_PARAMETER_VALUE"),
    ("create-exp-name-int", P, "experiments/create", lambda b: {"json": {"name": 123}}, 400,
     "INVALID_PARAMETER_VALUE"),
    ("log-metric-value-str", P, "runs/log-metric",
     lambda b: {"json": {"run_id": b["rid"], "key": "m", "value": "abc", "timestamp": 1, "step": 0}},
     400, "INVALID_PARAMETER_VALUE"),
    ("log-metric-step-str", P, "runs/log-metric",
     lambda b: {"json": {"run_id": b["rid"], "key": "m", "value": 1.0, "timestamp": 1, "step": "x"}},
     400, "INVALID_PARAMETER_VALUE"),
    ("log-metric-no-timestamp", P, "runs/log-metric",
     lambda b: {"json": {"run_id": b["rid"], "key": "m", "value": 1.0}}, 400, "INVALID_PARAMETER_VALUE"),
    ("log-metric-run-id-int", P, "runs/log-metric",
     lambda b: {"json": {"run_id": 123, "key": "m", "value": 1.0, "timestamp": 1}}, 400, "INVALID_PARAMETER_VALUE"),
    ("get-run-no-id", G, "runs/get", lambda b: {"params": {}}, 400, "INVALID_PARAMETER_VALUE"),
    ("get-exp-non-numeric-id", G, "experiments/get", lambda b: {"params": {"experiment_id": "abc"}},
     400, "INVALID_PARAMETER_VALUE"),
    ("search-runs-ids-not-array", P, "runs/search", lambda b: {"json": {"experiment_ids": b["eid"]}},
     400, "INVALID_PARAMETER_VALUE"),
    ("search-runs-max-results-str", P, "runs/search",
     lambda b: {"json": {"experiment_ids": [b["eid"]], "max_results": "ten"}}, 400, "INVALID_PARAMETER_VALUE"),
    ("search-runs-max-results-0", P, "runs/search",
     lambda b: {"json": {"experiment_ids": [b["eid"]], "max_results": 0}}, 400, "INVALID_PARAMETER_VALUE"),
    ("search-runs-max-results-50001", P, "runs/search",
     lambda b: {"json": {"experiment_ids": [b["eid"]], "max_results": 50001}}, 400, "INVALID_PARAMETER_VALUE"),
    ("log-batch-metrics-not-list", P, "runs/log-batch",
     lambda b: {"json": {"run_id": b["rid"], "metrics": {"key": "a"}}}, 400, "INVALID_PARAMETER_VALUE"),
    ("log-batch-metric-no-value", P, "runs/log-batch",
     lambda b: {"json": {"run_id": b["rid"], "metrics": [{"key": "a", "timestamp": 1}]}},
     400, "INVALID_PARAMETER_VALUE"),
    # --- search syntax
    ("search-runs-bad-comparator", P, "runs/search",
     lambda b: {"json": {"experiment_ids": [b["eid"]], "filter": "metrics.x >> 1"}}, 400, "INVALID_PARAMETER_VALUE"),
    ("search-runs-in-on-params", P, "runs/search",
     lambda b: {"json": {"experiment_ids": [b["eid"]], "filter": "params.a IN ('x')"}},
     400, "INVALID_PARAMETER_VALUE"),
    ("search-runs-bad-order-by", P, "runs/search",
     lambda b: {"json": {"experiment_ids": [b["eid"]], "order_by": ["metrics.a SIDEWAYS"]}},
     400, "INVALID_PARAMETER_VALUE"),
    ("search-runs-bad-page-token", P, "runs/search",
     lambda b: {"json": {"experiment_ids": [b["eid"]], "page_token": "garbage!!"}}, 400, "INVALID_PARAMETER_VALUE"),
    # --- unknown run
    ("get-run-unknown", G, "runs/get", lambda b: {"params": {"run_id": MISSING_RUN}}, 404, "RESOURCE_DOES_NOT_EXIST"),
    ("log-metric-unknown-run", P, "runs/log-metric",
     lambda b: {"json": {"run_id": MISSING_RUN, "key": "m", "value": 1.0, "timestamp": 1, "step": 0}},
     404, "RESOURCE_DOES_NOT_EXIST"),
    ("log-param-unknown-run", P, "runs/log-parameter",
     lambda b: {"json": {"run_id": MISSING_RUN, "key": "p", "value": "v"}}, 404, "RESOURCE_DOES_NOT_EXIST"),
    ("set-tag-unknown-run", P, "runs/set-tag",
     lambda b: {"json": {"run_id": MISSING_RUN, "key": "k", "value": "v"}}, 404, "RESOURCE_DOES_NOT_EXIST"),
    ("log-batch-unknown-run", P, "runs/log-batch",
     lambda b: {"json": {"run_id": MISSING_RUN, "metrics": [{"key": "a", "value": 1, "timestamp": 1}]}},
     404, "RESOURCE_DOES_NOT_EXIST"),
    ("update-run-unknown", P, "runs/update", lambda b: {"json": {"run_id": MISSING_RUN, "status": "FINISHED"}},
     404, "RESOURCE_DOES_NOT_EXIST"),
    ("delete-run-unknown", P, "runs/delete", lambda b: {"json": {"run_id": MISSING_RUN}},
     404, "RESOURCE_DOES_NOT_EXIST"),
    ("restore-run-unknown", P, "runs/restore", lambda b: {"json": {"run_id": MISSING_RUN}},
     404, "RESOURCE_DOES_NOT_EXIST"),
    ("delete-tag-unknown-key", P, "runs/delete-tag", lambda b: {"json": {"run_id": b["rid"], "key": "no-such-tag"}},
     404, "RESOURCE_DOES_NOT_EXIST"),
    # --- unknown experiment
    ("get-exp-unknown", G, "experiments/get", lambda b: {"params": {"experiment_id": MISSING_EXP}},
     404, "RESOURCE_DOES_NOT_EXIST"),
    ("get-exp-by-name-unknown", G, "experiments/get-by-name",
     lambda b: {"params": {"experiment_name": "no-such-exp-" + uuid.uuid4().hex}}, 404, "RESOURCE_DOES_NOT_EXIST"),
    ("create-run-unknown-exp", P, "runs/create", lambda b: {"json": {"experiment_id": MISSING_EXP}},
     404, "RESOURCE_DOES_NOT_EXIST"),
    ("delete-exp-unknown", P, "experiments/delete", lambda b: {"json": {"experiment_id": MISSING_EXP}},
     404, "RESOURCE_DOES_NOT_EXIST"),
    ("set-exp-tag-unknown", P, "experiments/set-experiment-tag",
     lambda b: {"json": {"experiment_id": MISSING_EXP, "key": "k", "value": "v"}}, 404, "RESOURCE_DOES_NOT_EXIST"),
    # --- batch limits (1000 metrics, 100 params, 100 tags)
    ("log-batch-1001-metrics", P, "runs/log-batch",
     lambda b: {"json": {"run_id": b["rid"], "metrics": [{"key": f"m{i}", "value": 1.0, "timestamp": 1, "step": 0}
                                                        for i in range(1001)]}}, 400, "INVALID_PARAMETER_VALUE"),
    ("log-batch-101-params", P, "runs/log-batch",
     lambda b: {"json": {"run_id": b["rid"], "params": [{"key": f"p{i}", "value": "v"} for i in range(101)]}},
     400, "INVALID_PARAMETER_VALUE"),
    ("log-batch-101-tags", P, "runs/log-batch",
     lambda b: {"json": {"run_id": b["rid"], "tags": [{"key": f"t{i}", "value": "v"} for i in range(101)]}},
     400, "INVALID_PARAMETER_VALUE"),
    # --- duplicate / changed params
    ("log-batch-dup-param-same-value", P, "runs/log-batch",
     lambda b: {"json": {"run_id": b["rid"], "params": [{"key": "d", "value": "1"}, {"key": "d", "value": "1"}]}},
     400, "INVALID_PARAMETER_VALUE"),
    ("log-batch-dup-param-diff-value", P, "runs/log-batch",
     lambda b: {"json": {"run_id": b["rid"], "params": [{"key": "e", "value": "1"}, {"key": "e", "value": "2"}]}},
     400, "INVALID_PARAMETER_VALUE"),
    ("log-param-overwrite", P, "runs/log-parameter", lambda b: {"json": {"run_id": b["rid"], "key": "lr",
                                                                        "value": "0.2"}},
     400, "INVALID_PARAMETER_VALUE"),
    ("log-batch-param-overwrite", P, "runs/log-batch",
     lambda b: {"json": {"run_id": b["rid"], "params": [{"key": "lr", "value": "0.3"}]}},
     400, "INVALID_PARAMETER_VALUE"),
    ("log-param-key-too-long", P, "runs/log-parameter",
     lambda b: {"json": {"run_id": b["rid"], "key": "k" * 300, "value": "1"}}, 400, "INVALID_PARAMETER_VALUE"),
    # --- invalid names
    ("metric-name-bad-chars", P, "runs/log-metric",
     lambda b: {"json": {"run_id": b["rid"], "key": "bad name!", "value": 1.0, "timestamp": 1, "step": 0}},
     400, "INVALID_PARAMETER_VALUE"),
    ("metric-name-dotdot", P, "runs/log-metric",
     lambda b: {"json": {"run_id": b["rid"], "key": "bad/../name", "value": 1.0, "timestamp": 1, "step": 0}},
     400, "INVALID_PARAMETER_VALUE"),
    ("metric-name-absolute", P, "runs/log-metric",
     lambda b: {"json": {"run_id": b["rid"], "key": "/abs", "value": 1.0, "timestamp": 1, "step": 0}},
     400, "INVALID_PARAMETER_VALUE"),
    ("metric-name-empty", P, "runs/log-metric",
     lambda b: {"json": {"run_id": b["rid"], "key": "", "value": 1.0, "timestamp": 1, "step": 0}},
     400, "INVALID_PARAMETER_VALUE"),
    ("log-batch-bad-metric-name", P, "runs/log-batch",
     lambda b: {"json": {"run_id": b["rid"], "metrics": [{"key": "bad name!", "value": 1, "timestamp": 1}]}},
     400, "INVALID_PARAMETER_VALUE"),
    # --- duplicates
    ("create-exp-duplicate-name", P, "experiments/create", lambda b: {"json": {"name": b["name"]}},
     400, "RESOURCE_ALREADY_EXISTS"),
    # --- bulk-interval argument checks
    ("bulk-interval-no-run-ids", G, "metrics/get-history-bulk-interval", lambda b: {"params": {"metric_key": "loss"}},
     400, "INVALID_PARAMETER_VALUE"),
    ("bulk-interval-start-gt-end", G, "metrics/get-history-bulk-interval",
     lambda b: {"params": {"run_ids": b["rid"], "metric_key": "loss", "start_step": 5, "end_step": 1}},
     400, "INVALID_PARAMETER_VALUE"),
    ("bulk-interval-only-start", G, "metrics/get-history-bulk-interval",
     lambda b: {"params": {"run_ids": b["rid"], "metric_key": "loss", "start_step": 5}},
     400, "INVALID_PARAMETER_VALUE"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_error_status_and_code(api, baseline, case):
    _id, method, endpoint, build, status, code = case
    url = f"{api.base}/api/2.0/mlflow/{endpoint}"
    resp = api.s.request(method, url, timeout=60, **build(baseline))
    assert error_of(resp) == (status, code), resp.text[:500]
    assert "message" in resp.json()
    assert_intact(api, baseline)


def test_logging_to_deleted_run_rejected(api, baseline):
    assert api.post("runs/delete", {"run_id": baseline["rid"]}).status_code == 200
    r = api.post("runs/log-parameter", {"run_id": baseline["rid"], "key": "zz", "value": "1"})
    assert error_of(r) == (400, "INVALID_PARAMETER_VALUE")
    r = api.post("runs/log-metric", {"run_id": baseline["rid"], "key": "zz", "value": 1, "timestamp": 1})
    assert error_of(r) == (400, "INVALID_PARAMETER_VALUE")
    assert api.post("runs/restore", {"run_id": baseline["rid"]}).status_code == 200
    assert_intact(api, baseline)


def test_same_param_value_is_idempotent(api, baseline):
    r = api.post("runs/log-parameter", {"run_id": baseline["rid"], "key": "lr", "value": "0.1"})
    assert r.status_code == 200 and r.json() == {}
    r = api.post("runs/log-batch", {"run_id": baseline["rid"], "params": [{"key": "lr", "value": "0.1"}]})
    assert r.status_code == 200
    assert_intact(api, baseline)


def test_batch_limits_are_inclusive(api, baseline):
    rid = api.create_run(baseline["eid"])["info"]["run_id"]
    r = api.post("runs/log-batch", {"run_id": rid, "metrics": [{"key": f"m{i}", "value": float(i), "timestamp": 1,
                                                              "step": 0} for i in range(1000)]})
    assert r.status_code == 200, r.text
    r = api.post("runs/log-batch", {"run_id": rid, "params": [{"key": f"p{i}", "value": "v"} for i in range(100)],
                                    "tags": [{"key": f"t{i}", "value": "v"} for i in range(100)]})
    assert r.status_code == 200, r.text
    data = api.get("runs/get", {"run_id": rid}).json()["run"]["data"]
    assert len(data["metrics"]) == 1000 and len(data["params"]) == 100
    assert {t["key"] for t in data["tags"]} >= {f"t{i}" for i in range(100)}
    # A rejected over-limit batch is atomic: none of it is applied.
    r = api.post("runs/log-batch", {"run_id": rid, "metrics": [{"key": f"x{i}", "value": 1.0, "timestamp": 1}
                                                             for i in range(1001)]})
    assert error_of(r) == (400, "INVALID_PARAMETER_VALUE")
    data = api.get("runs/get", {"run_id": rid}).json()["run"]["data"]
    assert not any(m["key"].startswith("x") for m in data["metrics"])


def test_rejected_param_batch_is_atomic(api, baseline):
    # A batch that tries to change an existing param fails as a whole (MLflow's
    # SQL store validates before inserting anything).
    r = api.post("runs/log-batch", {"run_id": baseline["rid"],
                                    "params": [{"key": "fresh", "value": "1"}, {"key": "lr", "value": "9"}],
                                    "metrics": [{"key": "fresh_metric", "value": 1.0, "timestamp": 1}]})
    assert error_of(r) == (400, "INVALID_PARAMETER_VALUE")
    data = api.get("runs/get", {"run_id": baseline["rid"]}).json()["run"]["data"]
    assert "fresh" not in {p["key"] for p in data.get("params", [])}
    assert_intact(api, baseline)


def test_rename_to_existing_name_rejected(api, baseline, unique):
    other = api.create_experiment(unique("err-other"))
    r = api.post("experiments/update", {"experiment_id": other, "new_name": baseline["name"]})
    # MLflow's SQL store surfaces the UNIQUE violation as 400 BAD_REQUEST; its file
    # store says RESOURCE_ALREADY_EXISTS. The status is what matters to clients.
    status, code = error_of(r)
    assert status == 400 and code in ("BAD_REQUEST", "RESOURCE_ALREADY_EXISTS"), r.text[:300]
    assert_intact(api, baseline)


def test_metric_history_of_unknown_run_is_empty(api, baseline):
    # MLflow quirk: get-history does not validate the run id and returns `{}`.
    r = api.get("metrics/get-history", {"run_id": MISSING_RUN, "metric_key": "loss"})
    assert r.status_code == 200
    assert r.json().get("metrics", []) == []
    assert_intact(api, baseline)


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/api/2.0/mlflow/does/not/exist", 404),
    ("POST", "/api/2.0/mlflow/runs/frobnicate", 404),
    ("GET", "/api/2.0/nothing-here", 404),
    ("GET", "/api/2.0/mlflow/runs/create", 405),  # wrong method on a known route
])
def test_unknown_route(api, baseline, method, path, status):
    r = api.raw(method, path, json={} if method == "POST" else None)
    assert r.status_code == status
    assert_intact(api, baseline)


def test_errors_do_not_break_keepalive_connection(api, baseline):
    # Interleave errors and successes on one keep-alive session.
    for i in range(20):
        bad = api.post("runs/log-metric", {"run_id": baseline["rid"], "key": "bad name!", "value": 1, "timestamp": 1})
        assert bad.status_code == 400
        good = api.post("runs/log-metric", {"run_id": baseline["rid"], "key": "ok", "value": float(i),
                                            "timestamp": 1, "step": i})
        assert good.status_code == 200
    hist = api.get("metrics/get-history", {"run_id": baseline["rid"], "metric_key": "ok"}).json()["metrics"]
    assert sorted(m["step"] for m in hist) == list(range(20))


@pytest.mark.kiln_only
def test_oversize_body_rejected(kiln_factory):
    limit = 64 * 1024
    srv = kiln_factory("--max-body-bytes", str(limit))
    s = requests.Session()
    base = f"{srv.url}/api/2.0/mlflow"
    r = s.post(f"{base}/experiments/create", json={"name": "body-limit"}, timeout=30)
    assert r.status_code == 200, r.text
    eid = r.json()["experiment_id"]
    rid = s.post(f"{base}/runs/create", json={"experiment_id": eid}, timeout=30).json()["run"]["info"]["run_id"]

    small = {"run_id": rid, "params": [{"key": f"p{i}", "value": "x" * 100} for i in range(50)]}
    r = s.post(f"{base}/runs/log-batch", json=small, timeout=30)
    assert r.status_code == 200, r.text

    big = {"run_id": rid, "params": [{"key": f"q{i}", "value": "y" * 1000} for i in range(100)]}
    r = s.post(f"{base}/runs/log-batch", json=big, timeout=30)
    assert r.status_code == 413, r.text[:300]

    # Far above the limit, with a Content-Length the server must not wait to read.
    s2 = requests.Session()
    r = s2.post(f"{base}/runs/log-batch", data=b"{" + b" " * (8 << 20) + b"}", headers=JSON, timeout=30)
    assert r.status_code == 413

    # The server still works and earlier data is intact; nothing of the big batch landed.
    r = requests.get(f"{base}/runs/get", params={"run_id": rid}, timeout=30)
    assert r.status_code == 200
    params = {p["key"] for p in r.json()["run"]["data"]["params"]}
    assert params == {f"p{i}" for i in range(50)}
