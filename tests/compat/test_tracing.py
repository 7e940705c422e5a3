"""MLflow 3 tracing through the tracking server: the unmodified `mlflow`
client's @mlflow.trace / start_span / MlflowClient trace APIs, search, tags,
deletion and assessments, plus the raw v3/v2/OTLP routes they use.

Traces are exported by the client's exporter (spans over OTLP to /v1/traces,
the trace info to /api/3.0/mlflow/traces), asynchronously by default, so each
test flushes the export queue before reading.
"""

from __future__ import annotations

import json
import os
import time

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import AssessmentSource, Feedback, SpanStatusCode
from mlflow.entities.trace_data import TraceData
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


def _flush():
    mlflow.flush_trace_async_logging()


def _new_experiment(unique) -> str:
    exp = mlflow.set_experiment(unique("traces"))
    return exp.experiment_id


def _spans_by_name(trace):
    return {s.name: s for s in trace.data.spans}


def _traced_call(name: str, tags=None, metadata=None, fail=False):
    """Runs one traced function called `name` and returns its trace id."""

    def body(x):
        if tags or metadata:
            mlflow.update_current_trace(tags=tags, metadata=metadata)
        if fail:
            raise RuntimeError(f"{name} failed")
        return x + 1

    fn = mlflow.trace(name=name)(body)
    if fail:
        with pytest.raises(RuntimeError):
            fn(1)
    else:
        fn(1)
    return mlflow.get_last_active_trace_id()


def _otlp_request(n_spans=1, attr_bytes=1, trace_id=None):
    req = ExportTraceServiceRequest()
    ss = req.resource_spans.add().scope_spans.add()
    tid = trace_id or os.urandom(16)
    for i in range(n_spans):
        sp = ss.spans.add()
        sp.trace_id = tid
        sp.span_id = os.urandom(8)
        sp.name = f"s{i}"
        sp.start_time_unix_nano = 1_700_000_000_000_000_000 + i
        sp.end_time_unix_nano = 1_700_000_000_100_000_000 + i
        kv = sp.attributes.add()
        kv.key = "payload"
        kv.value.string_value = "x" * attr_bytes
    return req.SerializeToString(), tid


def _post_otlp(server, body, experiment_id, content_type="application/x-protobuf"):
    headers = {"Content-Type": content_type}
    if experiment_id is not None:
        headers["X-MLflow-Experiment-Id"] = experiment_id
    return requests.post(f"{server}/v1/traces", data=body, headers=headers, timeout=60)


# ---------------------------------------------------------------------------
# Logging and reading traces
# ---------------------------------------------------------------------------


def test_trace_decorator_nested_spans(unique):
    _new_experiment(unique)

    @mlflow.trace(span_type="LLM")
    def inner(x):
        return {"doubled": x * 2}

    @mlflow.trace
    def outer(a, b):
        return inner(a)["doubled"] + b

    assert outer(3, 4) == 10
    trace_id = mlflow.get_last_active_trace_id()
    _flush()
    trace = mlflow.get_trace(trace_id)
    assert trace is not None
    assert trace.info.trace_id == trace_id
    assert trace.info.state.value == "OK"
    assert trace.info.tags["mlflow.traceName"] == "outer"
    assert trace.info.execution_duration is not None and trace.info.execution_duration >= 0
    spans = _spans_by_name(trace)
    assert set(spans) == {"outer", "inner"}
    root, child = spans["outer"], spans["inner"]
    assert root.parent_id is None
    assert child.parent_id == root.span_id
    assert root.inputs == {"a": 3, "b": 4} and root.outputs == 10
    assert child.inputs == {"x": 3} and child.outputs == {"doubled": 6}
    assert child.span_type == "LLM"
    assert child.status.status_code == SpanStatusCode.OK
    assert root.start_time_ns <= child.start_time_ns <= child.end_time_ns <= root.end_time_ns
    # The request/response previews the client computed are kept.
    assert json.loads(trace.info.request_preview) == {"a": 3, "b": 4}
    assert trace.info.response_preview == "10"


def test_trace_exception_marks_error(unique):
    _new_experiment(unique)

    @mlflow.trace
    def explode(n):
        raise ValueError(f"bad input {n}")

    with pytest.raises(ValueError):
        explode(7)
    trace_id = mlflow.get_last_active_trace_id()
    _flush()
    trace = mlflow.get_trace(trace_id)
    assert trace.info.state.value == "ERROR"
    (span,) = trace.data.spans
    assert span.status.status_code == SpanStatusCode.ERROR
    events = [e for e in span.events if e.name == "exception"]
    assert events, span.events
    assert events[0].attributes["exception.type"] == "ValueError"
    assert "bad input 7" in events[0].attributes["exception.message"]


def test_start_span_attributes_round_trip(unique):
    _new_experiment(unique)
    attrs = {"str": "text", "int": 42, "float": 1.5, "bool": True, "list": [1, 2, 3], "dict": {"a": "b", "n": 2}}
    with mlflow.start_span("root", span_type="CHAIN") as root:
        root.set_inputs({"question": "why?"})
        root.set_attributes(attrs)
        with mlflow.start_span("child", span_type="TOOL") as child:
            child.set_attribute("unicode", "héllo ✓")
            child.set_outputs(["a", "b"])
        root.set_outputs("because")
    trace_id = root.trace_id
    _flush()
    trace = mlflow.get_trace(trace_id)
    spans = _spans_by_name(trace)
    got = spans["root"]
    for k, v in attrs.items():
        assert got.get_attribute(k) == v, k
    assert got.inputs == {"question": "why?"} and got.outputs == "because"
    assert got.span_type == "CHAIN"
    assert spans["child"].get_attribute("unicode") == "héllo ✓"
    assert spans["child"].outputs == ["a", "b"]
    assert spans["child"].span_type == "TOOL"
    assert spans["child"].parent_id == got.span_id


def test_client_start_trace_end_trace(unique, client):
    exp_id = _new_experiment(unique)
    root = client.start_trace("manual", inputs={"q": 1}, attributes={"who": "client"}, tags={"kind": "manual"},
                              experiment_id=exp_id)
    child = client.start_span("step", trace_id=root.trace_id, parent_id=root.span_id, inputs={"i": 2})
    client.end_span(root.trace_id, child.span_id, outputs={"o": 3}, attributes={"score": 0.5})
    client.end_trace(root.trace_id, outputs={"answer": 4})
    _flush()
    trace = client.get_trace(root.trace_id)
    assert trace.info.experiment_id == exp_id
    assert trace.info.tags["kind"] == "manual"
    spans = _spans_by_name(trace)
    assert spans["manual"].inputs == {"q": 1} and spans["manual"].outputs == {"answer": 4}
    assert spans["manual"].get_attribute("who") == "client"
    assert spans["step"].outputs == {"o": 3} and spans["step"].get_attribute("score") == 0.5
    assert spans["step"].parent_id == spans["manual"].span_id


def test_get_trace_info_by_v3_and_v2_routes(unique, server):
    exp_id = _new_experiment(unique)
    trace_id = _traced_call("fn_info", tags={"t": "1"}, metadata={"m": "2"})
    _flush()
    r = requests.get(f"{server}/api/3.0/mlflow/traces/{trace_id}", timeout=30)
    assert r.status_code == 200, r.text
    info = r.json()["trace"]["trace_info"]
    assert info["trace_id"] == trace_id
    assert info["trace_location"]["mlflow_experiment"]["experiment_id"] == exp_id
    assert info["tags"]["t"] == "1" and info["trace_metadata"]["m"] == "2"
    assert info["state"] == "OK"
    r2 = requests.get(f"{server}/api/2.0/mlflow/traces/{trace_id}/info", timeout=30)
    assert r2.status_code == 200, r2.text
    v2 = r2.json()["trace_info"]
    assert v2["request_id"] == trace_id and v2["experiment_id"] == exp_id and v2["status"] == "OK"
    assert {"key": "t", "value": "1"} in v2["tags"]
    assert int(v2["timestamp_ms"]) > 0 and int(v2["execution_time_ms"]) >= 0


def test_trace_data_download_for_ui(unique, server):
    _new_experiment(unique)
    trace_id = _traced_call("fn_download")
    _flush()
    r = requests.get(f"{server}/ajax-api/2.0/mlflow/get-trace-artifact", params={"request_id": trace_id}, timeout=30)
    assert r.status_code == 200, r.text
    data = TraceData.from_dict(json.loads(r.content))
    (span,) = data.spans
    assert span.name == "fn_download"
    assert span.inputs == {"x": 1} and span.outputs == 2
    missing = requests.get(f"{server}/ajax-api/2.0/mlflow/get-trace-artifact", timeout=30)
    assert missing.status_code == 400


def test_batch_get_traces(unique, client):
    exp_id = _new_experiment(unique)
    ids = [_traced_call(f"batch_{i}") for i in range(3)]
    _flush()
    traces = client.search_traces(locations=[exp_id], include_spans=True)
    assert {t.info.trace_id for t in traces} == set(ids)
    for t in traces:
        assert len(t.data.spans) == 1
        assert t.data.spans[0].name == t.info.tags["mlflow.traceName"]


# ---------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------


@pytest.fixture
def search_setup(unique):
    exp_id = _new_experiment(unique)
    ids = {}
    ids["a"] = _traced_call("fn_a", tags={"env": "prod"}, metadata={"team": "alpha"})
    time.sleep(0.01)
    ids["b"] = _traced_call("fn_b", tags={"env": "dev"}, metadata={"team": "beta"})
    time.sleep(0.01)
    ids["c"] = _traced_call("fn_c", tags={"env": "dev"}, fail=True)
    time.sleep(0.01)
    ids["d"] = _traced_call("fn_d")
    _flush()
    return exp_id, ids


def _search_ids(exp_id, filter_string=None, order_by=None):
    traces = mlflow.search_traces(locations=[exp_id], filter_string=filter_string, order_by=order_by,
                                  return_type="list", include_spans=False)
    return [t.info.trace_id for t in traces]


def test_search_traces_filters(search_setup):
    exp_id, ids = search_setup
    assert set(_search_ids(exp_id)) == set(ids.values())
    assert _search_ids(exp_id, "status = 'ERROR'") == [ids["c"]]
    assert set(_search_ids(exp_id, "trace.status = 'OK'")) == {ids["a"], ids["b"], ids["d"]}
    assert set(_search_ids(exp_id, "attributes.status IN ('ERROR', 'OK')")) == set(ids.values())
    assert _search_ids(exp_id, "tag.env = 'prod'") == [ids["a"]]
    assert set(_search_ids(exp_id, "tags.env != 'prod'")) == {ids["b"], ids["c"]}
    assert set(_search_ids(exp_id, "tag.env LIKE 'd%'")) == {ids["b"], ids["c"]}
    assert set(_search_ids(exp_id, "tag.env ILIKE 'PRO%'")) == {ids["a"]}
    assert _search_ids(exp_id, "tag.env IS NULL") == [ids["d"]]
    assert _search_ids(exp_id, "request_metadata.team = 'beta'") == [ids["b"]]
    assert _search_ids(exp_id, "metadata.team LIKE 'alp%'") == [ids["a"]]
    assert _search_ids(exp_id, "name = 'fn_b'") == [ids["b"]]
    assert set(_search_ids(exp_id, "name LIKE 'fn_%'")) == set(ids.values())
    assert _search_ids(exp_id, "span.name = 'fn_c'") == [ids["c"]]
    assert _search_ids(exp_id, "tag.env = 'dev' AND status = 'OK'") == [ids["b"]]
    b_time = mlflow.get_trace(ids["b"]).info.request_time
    assert set(_search_ids(exp_id, f"timestamp_ms > {b_time}")) == {ids["c"], ids["d"]}
    assert set(_search_ids(exp_id, f"attributes.timestamp_ms <= {b_time}")) == {ids["a"], ids["b"]}
    assert set(_search_ids(exp_id, "execution_time_ms >= 0")) == set(ids.values())
    assert _search_ids(exp_id, f"request_id = '{ids['d']}'") == [ids["d"]]


def test_search_traces_by_run(unique):
    exp_id = _new_experiment(unique)
    with mlflow.start_run() as run:
        in_run = _traced_call("fn_in_run")
    outside = _traced_call("fn_outside")
    _flush()
    assert mlflow.get_trace(in_run).info.request_metadata["mlflow.sourceRun"] == run.info.run_id
    found = mlflow.search_traces(locations=[exp_id], run_id=run.info.run_id, return_type="list")
    assert [t.info.trace_id for t in found] == [in_run]
    assert outside in _search_ids(exp_id)


def test_search_traces_order_by(search_setup):
    exp_id, ids = search_setup
    newest_first = [ids[k] for k in "dcba"]
    assert _search_ids(exp_id) == newest_first
    assert _search_ids(exp_id, order_by=["timestamp_ms ASC"]) == newest_first[::-1]
    assert _search_ids(exp_id, order_by=["attributes.timestamp_ms DESC"]) == newest_first
    by_name = _search_ids(exp_id, order_by=["name DESC"])
    assert by_name == [ids[k] for k in "dcba"]
    # Traces without the tag sort last.
    by_tag = _search_ids(exp_id, order_by=["tag.env ASC", "timestamp_ms ASC"])
    assert by_tag == [ids["b"], ids["c"], ids["a"], ids["d"]]


def test_search_traces_paging(search_setup, client):
    exp_id, ids = search_setup
    seen = []
    token = None
    pages = 0
    while True:
        page = client.search_traces(locations=[exp_id], max_results=3, order_by=["timestamp_ms ASC"],
                                    page_token=token, include_spans=False)
        seen.extend(t.info.trace_id for t in page)
        pages += 1
        token = page.token
        if not token:
            break
    assert pages == 2
    assert seen == [ids[k] for k in "abcd"]


def test_search_traces_bad_filters(search_setup, server):
    exp_id, _ = search_setup
    # (name maps to a tag, and tags take no IN list.)
    for bad in ["status = ", "tag.env = prod", "nosuch.key = 'x'", "name IN ('fn_a', 'fn_d')",
                "status = 'OK' OR status = 'ERROR'", "attribute.unknown = 'x'"]:
        r = requests.post(f"{server}/api/3.0/mlflow/traces/search",
                          json={"locations": [{"type": "MLFLOW_EXPERIMENT",
                                               "mlflow_experiment": {"experiment_id": exp_id}}],
                                "filter": bad}, timeout=30)
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE", (bad, r.text)
    r = requests.post(f"{server}/api/3.0/mlflow/traces/search",
                      json={"locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp_id}}],
                            "order_by": ["bogus DESC"]}, timeout=30)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_search_traces_v2_route(search_setup, server):
    exp_id, ids = search_setup
    r = requests.get(f"{server}/api/2.0/mlflow/traces",
                     params={"experiment_ids": exp_id, "filter": "tag.env = 'dev'", "max_results": 1}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [t["request_id"] for t in body["traces"]] == [ids["c"]]
    assert body["next_page_token"]
    r2 = requests.get(f"{server}/api/2.0/mlflow/traces",
                      params={"experiment_ids": exp_id, "filter": "tag.env = 'dev'", "max_results": 1,
                              "page_token": body["next_page_token"]}, timeout=30)
    assert [t["request_id"] for t in r2.json()["traces"]] == [ids["b"]]


# ---------------------------------------------------------------------------
# Deletion and tags
# ---------------------------------------------------------------------------


def test_delete_traces_by_ids_and_timestamp(search_setup, client):
    exp_id, ids = search_setup
    assert client.delete_traces(exp_id, trace_ids=[ids["a"]]) == 1
    assert client.delete_traces(exp_id, trace_ids=[ids["a"]]) == 0
    assert set(_search_ids(exp_id)) == {ids["b"], ids["c"], ids["d"]}
    c_time = client.get_trace(ids["c"]).info.request_time
    assert client.delete_traces(exp_id, max_timestamp_millis=c_time) == 2
    assert _search_ids(exp_id) == [ids["d"]]
    with pytest.raises(mlflow.exceptions.MlflowException, match="RESOURCE_DOES_NOT_EXIST|not found"):
        client.get_trace(ids["b"])
    d_time = client.get_trace(ids["d"]).info.request_time
    assert client.delete_traces(exp_id, max_timestamp_millis=d_time, max_traces=5) == 1
    assert _search_ids(exp_id) == []


def test_delete_traces_bad_requests(unique, server):
    exp_id = _new_experiment(unique)
    url = f"{server}/api/2.0/mlflow/traces/delete-traces"
    for body in [{"experiment_id": exp_id},
                 {"experiment_id": exp_id, "max_timestamp_millis": 1, "request_ids": ["tr-1"]},
                 {"experiment_id": exp_id, "max_timestamp_millis": 1, "max_traces": 0},
                 {"max_timestamp_millis": 1}]:
        r = requests.post(url, json=body, timeout=30)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_trace_tags(unique, client):
    _new_experiment(unique)
    trace_id = _traced_call("fn_tags")
    _flush()
    client.set_trace_tag(trace_id, "reviewed", "yes")
    client.set_trace_tag(trace_id, "reviewed", "twice")
    assert client.get_trace(trace_id).info.tags["reviewed"] == "twice"
    client.delete_trace_tag(trace_id, "reviewed")
    assert "reviewed" not in client.get_trace(trace_id).info.tags
    with pytest.raises(mlflow.exceptions.MlflowException, match="reviewed"):
        client.delete_trace_tag(trace_id, "reviewed")
    with pytest.raises(mlflow.exceptions.MlflowException):
        client.set_trace_tag("tr-" + "0" * 32, "k", "v")


@pytest.mark.kiln_only
def test_system_trace_tags_are_immutable(unique, server):
    # As MLflow 3.18's handlers (3.17.2's server still accepted them): the
    # client only warns, the server refuses.
    _new_experiment(unique)
    trace_id = _traced_call("fn_immutable")
    _flush()
    for key in ["mlflow.artifactLocation", "mlflow.trace.spansLocation"]:
        r = requests.patch(f"{server}/api/2.0/mlflow/traces/{trace_id}/tags",
                           json={"key": key, "value": "s3://elsewhere"}, timeout=30)
        assert r.status_code == 400 and "immutable" in r.json()["message"], r.text
        r = requests.delete(f"{server}/api/3.0/mlflow/traces/{trace_id}/tags", json={"key": key}, timeout=30)
        assert r.status_code == 400 and "immutable" in r.json()["message"], r.text


@pytest.mark.kiln_only
def test_malformed_times_are_refused(unique, server, search_setup):
    # mlflow server 3.17.2 reads these as 0 / no match; kiln refuses them.
    exp_id, _ = search_setup
    info = {"trace_id": "tr-" + "c" * 32,
            "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp_id}},
            "request_time": "not-a-time", "state": "OK"}
    r = requests.post(f"{server}/api/3.0/mlflow/traces", json={"trace": {"trace_info": info}}, timeout=30)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", r.text
    info["request_time"] = "2024-05-01T10:00:00Z"
    info["execution_duration"] = "soon"
    r = requests.post(f"{server}/api/3.0/mlflow/traces", json={"trace": {"trace_info": info}}, timeout=30)
    assert r.status_code == 400 and "execution_duration" in r.json()["message"], r.text
    r = requests.post(f"{server}/api/3.0/mlflow/traces/search",
                      json={"locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp_id}}],
                            "filter": "timestamp_ms > 'abc'"}, timeout=30)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", r.text


# ---------------------------------------------------------------------------
# Assessments
# ---------------------------------------------------------------------------


def test_feedback_and_expectation_lifecycle(unique, client):
    _new_experiment(unique)
    trace_id = _traced_call("fn_assess")
    _flush()
    human = AssessmentSource(source_type="HUMAN", source_id="alice@example.com")
    fb = mlflow.log_feedback(trace_id=trace_id, name="relevance", value=0.75, source=human,
                             rationale="mostly on topic", metadata={"round": "1"})
    assert fb.assessment_id.startswith("a-")
    ex = mlflow.log_expectation(trace_id=trace_id, name="expected_answer", value={"answer": 2, "ok": True},
                                source=human)
    got = mlflow.get_assessment(trace_id, fb.assessment_id)
    assert got.name == "relevance" and got.value == 0.75 and got.rationale == "mostly on topic"
    assert got.source.source_type == "HUMAN" and got.source.source_id == "alice@example.com"
    assert got.metadata == {"round": "1"}
    assert mlflow.get_assessment(trace_id, ex.assessment_id).value == {"answer": 2, "ok": True}

    updated = mlflow.update_assessment(trace_id, fb.assessment_id,
                                       Feedback(name="relevance", value=0.9, rationale="on topic",
                                                metadata={"round": "2"}))
    assert updated.value == 0.9 and updated.rationale == "on topic"
    assert updated.metadata == {"round": "2"}
    assert updated.create_time_ms == got.create_time_ms
    assert updated.last_update_time_ms >= got.last_update_time_ms

    trace = client.get_trace(trace_id)
    by_name = {a.name: a for a in trace.info.assessments}
    assert by_name["relevance"].value == 0.9
    assert by_name["expected_answer"].value == {"answer": 2, "ok": True}

    # Overriding marks the original invalid; deleting the override restores it.
    override = mlflow.override_feedback(trace_id=trace_id, assessment_id=fb.assessment_id, value=0.1,
                                        rationale="re-graded", source=human)
    assert override.overrides == fb.assessment_id
    assert mlflow.get_assessment(trace_id, fb.assessment_id).valid is False
    mlflow.delete_assessment(trace_id, override.assessment_id)
    assert mlflow.get_assessment(trace_id, fb.assessment_id).valid is True

    mlflow.delete_assessment(trace_id, ex.assessment_id)
    with pytest.raises(mlflow.exceptions.MlflowException, match="not found"):
        mlflow.get_assessment(trace_id, ex.assessment_id)
    remaining = {a.name for a in client.get_trace(trace_id).info.assessments}
    assert remaining == {"relevance"}


def test_assessment_errors(unique, server):
    _new_experiment(unique)
    trace_id = _traced_call("fn_assess_err")
    _flush()
    base = f"{server}/api/3.0/mlflow/traces"
    # Neither feedback nor expectation.
    r = requests.post(f"{base}/{trace_id}/assessments",
                      json={"assessment": {"assessment_name": "x", "trace_id": trace_id,
                                           "source": {"source_type": "HUMAN", "source_id": "a"}}}, timeout=30)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", r.text
    # Unknown trace.
    missing = "tr-" + "f" * 32
    r = requests.post(f"{base}/{missing}/assessments",
                      json={"assessment": {"assessment_name": "x", "trace_id": missing,
                                           "source": {"source_type": "HUMAN", "source_id": "a"},
                                           "feedback": {"value": 1}}}, timeout=30)
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", r.text
    r = requests.get(f"{base}/{trace_id}/assessments/a-doesnotexist", timeout=30)
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    # Updating an expectation's value on a feedback is refused.
    fb = mlflow.log_feedback(trace_id=trace_id, name="q", value=True)
    r = requests.patch(f"{base}/{trace_id}/assessments/{fb.assessment_id}",
                       json={"assessment": {"assessment_id": fb.assessment_id, "trace_id": trace_id,
                                            "expectation": {"value": 1}},
                             "update_mask": "expectation"}, timeout=30)
    assert r.status_code == 400, r.text


# ---------------------------------------------------------------------------
# Raw protocol errors
# ---------------------------------------------------------------------------


def test_missing_trace_errors(server):
    missing = "tr-" + "a" * 32
    r = requests.get(f"{server}/api/3.0/mlflow/traces/{missing}", timeout=30)
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    r = requests.get(f"{server}/api/3.0/mlflow/traces/get", params={"trace_id": missing}, timeout=30)
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(mlflow.exceptions.MlflowException):
        MlflowClient().get_trace(missing)


def test_start_trace_v3_bad_input(unique, server):
    exp_id = _new_experiment(unique)
    url = f"{server}/api/3.0/mlflow/traces"
    assert requests.post(url, json={}, timeout=30).status_code == 400
    info = {"trace_id": "tr-" + "b" * 32,
            "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp_id}},
            "request_time": "2024-05-01T10:00:00.250Z", "state": "OK"}
    info["trace_location"]["mlflow_experiment"]["experiment_id"] = "987654321"
    r = requests.post(url, json={"trace": {"trace_info": info}}, timeout=30)
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", r.text
    info["trace_location"]["mlflow_experiment"]["experiment_id"] = exp_id
    info["execution_duration"] = "1.5s"
    r = requests.post(url, json={"trace": {"trace_info": info}}, timeout=30)
    assert r.status_code == 200, r.text
    got = r.json()["trace"]["trace_info"]
    assert got["request_time"] == "2024-05-01T10:00:00.250Z" and got["execution_duration"] == "1.500s"
    assert got["tags"]["mlflow.artifactLocation"].endswith(f"/traces/{info['trace_id']}/artifacts")


def test_otlp_bad_requests(unique, server):
    exp_id = _new_experiment(unique)
    body, _ = _otlp_request()
    assert _post_otlp(server, b"\xff\xfe not protobuf", exp_id).status_code == 400
    assert _post_otlp(server, ExportTraceServiceRequest().SerializeToString(), exp_id).status_code == 400
    assert _post_otlp(server, body, exp_id, content_type="text/plain").status_code == 400
    r = _post_otlp(server, body, "987654321")
    assert r.status_code == 404, r.text
    assert _post_otlp(server, body, exp_id).status_code == 200


def test_otlp_json_encoding(unique, server, client):
    exp_id = _new_experiment(unique)
    trace_hex = os.urandom(16).hex()
    span_hex = os.urandom(8).hex()
    payload = {"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": trace_hex, "spanId": span_hex, "name": "json-span",
        "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000500000000",
        "attributes": [{"key": "n", "value": {"intValue": "7"}}],
        "status": {"code": 1}}]}]}]}
    r = _post_otlp(server, json.dumps(payload), exp_id, content_type="application/json")
    assert r.status_code == 200, r.text
    trace = client.get_trace(f"tr-{trace_hex}")
    (span,) = trace.data.spans
    assert span.name == "json-span" and span.span_id == span_hex
    assert span.get_attribute("n") == 7
    assert trace.info.state.value == "OK"
    assert trace.info.request_time == 1_700_000_000_000
    assert trace.info.execution_duration == 500


def test_otlp_run_header_links_traces(unique, server):
    exp_id = _new_experiment(unique)
    with mlflow.start_run() as run:
        pass
    body, tid = _otlp_request()
    r = requests.post(f"{server}/v1/traces", data=body, timeout=60,
                      headers={"Content-Type": "application/x-protobuf", "X-MLflow-Experiment-Id": exp_id,
                               "X-MLflow-Run-Id": run.info.run_id})
    assert r.status_code == 200, r.text
    found = mlflow.search_traces(locations=[exp_id], run_id=run.info.run_id, return_type="list")
    assert [t.info.trace_id for t in found] == ["tr-" + tid.hex()]


@pytest.mark.kiln_only
def test_otlp_unknown_run_is_refused(unique, server):
    # mlflow server stores the spans and only logs the failed link; kiln refuses
    # the request before writing anything.
    exp_id = _new_experiment(unique)
    body, tid = _otlp_request()
    r = requests.post(f"{server}/v1/traces", data=body, timeout=60,
                      headers={"Content-Type": "application/x-protobuf", "X-MLflow-Experiment-Id": exp_id,
                               "X-MLflow-Run-Id": "0" * 32})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", r.text
    assert requests.get(f"{server}/api/3.0/mlflow/traces/tr-{tid.hex()}", timeout=30).status_code == 404


@pytest.mark.kiln_only
def test_otlp_size_limits(unique, server):
    exp_id = _new_experiment(unique)
    too_many, _ = _otlp_request(n_spans=10_001)
    r = _post_otlp(server, too_many, exp_id)
    assert r.status_code == 400 and "Too many spans" in r.json()["message"], r.text
    big, _ = _otlp_request(attr_bytes=16 * 1024 * 1024 + 1)
    r = _post_otlp(server, big, exp_id)
    assert r.status_code == 400 and "limit" in r.json()["message"], r.text
    ok, _ = _otlp_request(n_spans=10_000)
    assert _post_otlp(server, ok, exp_id).status_code == 200


@pytest.mark.kiln_only
def test_version_reports_mlflow_protocol(server):
    r = requests.get(f"{server}/version", timeout=10)
    assert r.status_code == 200 and r.text == "3.18.0"
    health = requests.get(f"{server}/health", timeout=10).json()
    assert health["version"] != r.text


@pytest.mark.kiln_only
def test_traces_survive_restart(kiln_factory, unique):
    first = kiln_factory()
    mlflow.set_tracking_uri(first.url)
    try:
        mlflow.tracing.reset()
        mlflow.set_experiment(unique("durable"))
        trace_id = _traced_call("fn_durable", tags={"keep": "me"})
        _flush()
        mlflow.log_feedback(trace_id=trace_id, name="stars", value=5)
        data_dir = first.data_dir
        first.stop()
        second = kiln_factory(data_dir=data_dir)
        mlflow.set_tracking_uri(second.url)
        mlflow.tracing.reset()
        trace = MlflowClient(second.url).get_trace(trace_id)
        assert trace.info.tags["keep"] == "me"
        assert [s.name for s in trace.data.spans] == ["fn_durable"]
        assert trace.data.spans[0].outputs == 2
        assert [(a.name, a.value) for a in trace.info.assessments] == [("stars", 5)]
    finally:
        mlflow.tracing.reset()
