"""Helpers for the traces workload (bench/tracking/traces.sh).

  template  --out DIR --spans N    write an OTLP ExportTraceServiceRequest holding one trace of N spans
                                   (root + children, MLflow-like attributes) and the byte offsets of
                                   its ids, which the wrk script replaces with random bytes per request
  setup     --port P               create the experiment the spans go to; print its id
  verify    --port P --exp ID --spans N   check that a stored trace came back with all its spans
  report    RUNDIR                 print the spans/s table and the kiln / mlflow ratio
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request

HOST = "127.0.0.1"


def _sentinel(seed: int, n: int) -> bytes:
    # Bytes unlikely to occur elsewhere in the message (0xf0.. prefix plus a counter).
    return bytes([0xF0 + (seed % 8)] + [(seed * 37 + i * 11) % 251 for i in range(n - 1)])


def cmd_template(a):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "bench"
    ss = rs.scope_spans.add()
    trace_id = _sentinel(1, 16)
    span_ids = [_sentinel(2 + i, 8) for i in range(a.spans)]
    t0 = 1_700_000_000_000_000_000
    for i in range(a.spans):
        sp = ss.spans.add()
        sp.trace_id = trace_id
        sp.span_id = span_ids[i]
        if i:
            sp.parent_span_id = span_ids[0]
        sp.name = "predict" if i == 0 else f"step_{i}"
        sp.start_time_unix_nano = t0 + i * 1000
        sp.end_time_unix_nano = t0 + 5_000_000 - i * 1000
        sp.status.code = 1
        for key, value in [("mlflow.spanType", "CHAIN" if i == 0 else "LLM"),
                           ("mlflow.spanInputs", json.dumps({"question": "What is kiln?", "step": i})),
                           ("mlflow.spanOutputs", json.dumps({"answer": "An MLOps server in one binary. " * 3})),
                           ("mlflow.traceRequestId", "tr-bench")]:
            attr = sp.attributes.add()
            attr.key, attr.value.string_value = key, value
        if i:
            attr = sp.attributes.add()
            attr.key, attr.value.int_value = "tokens", 100 + i
    body = req.SerializeToString()
    slots = [("t", trace_id)] + [(f"s{i}", sid) for i, sid in enumerate(span_ids)]
    offsets = []
    for slot, pattern in slots:
        start = 0
        while (pos := body.find(pattern, start)) >= 0:
            offsets.append((pos + 1, len(pattern), slot))  # 1-based for Lua
            start = pos + len(pattern)
    offsets.sort()
    expected = 1 * a.spans + a.spans + (a.spans - 1)  # trace id per span, span ids, parent ids
    if len(offsets) != expected:
        sys.exit(f"template: found {len(offsets)} id occurrences, expected {expected}")
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "otlp_template.bin"), "wb") as f:
        f.write(body)
    with open(os.path.join(a.out, "otlp_offsets.txt"), "w") as f:
        for off, n, slot in offsets:
            f.write(f"{off} {n} {slot}\n")
    print(json.dumps({"bytes": len(body), "spans": a.spans, "id_slots": len(offsets)}))


def _request(port, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://{HOST}:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"{}")


def cmd_setup(a):
    d = _request(a.port, "POST", "/api/2.0/mlflow/experiments/create", {"name": "bench-traces"})
    print(d["experiment_id"])


def cmd_verify(a):
    page = _request(a.port, "POST", "/api/3.0/mlflow/traces/search",
                    {"locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": a.exp}}],
                     "max_results": 5})
    traces = page.get("traces", [])
    if not traces:
        sys.exit("verify: no traces stored")
    trace_id = traces[0]["trace_id"]
    full = _request(a.port, "GET", f"/api/3.0/mlflow/traces/get?trace_id={trace_id}&allow_partial=true")
    n = len(full["trace"].get("spans", []))
    ok = n == a.spans
    print(json.dumps({"trace_id": trace_id, "spans": n, "ok": ok}))
    sys.exit(0 if ok else 1)


def cmd_report(a):
    rows = []
    meta = {}
    with open(os.path.join(a.run, "meta.txt")) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    spans = int(meta.get("spans_per_request", "4"))
    results = {}
    for name in ("mlflow", "kiln"):
        path = os.path.join(a.run, name, "spans.json")
        if not os.path.exists(path):
            continue
        d = json.load(open(path))
        verify = {}
        vpath = os.path.join(a.run, name, "verify.json")
        if os.path.exists(vpath):
            try:
                verify = json.load(open(vpath))
            except ValueError:
                verify = {"ok": False}
        rps = d.get("rps") or 0
        results[name] = rps * spans
        lat = d.get("lat_us", {})
        rows.append(f"| {name} | {rps:,.0f} | {rps * spans:,.0f} | {lat.get('p50', 0) / 1000:.1f} | "
                    f"{lat.get('p99', 0) / 1000:.1f} | {d.get('error_total', '?')} "
                    f"{d.get('non2xx_line', '')} | {'yes' if verify.get('ok') else 'NO'} |")
    print(f"# Traces workload ({meta.get('date_utc', '')})\n")
    print(f"OTLP/HTTP protobuf ExportTraceServiceRequest to /v1/traces, one trace of {spans} spans per "
          f"request, {meta.get('conns', '32')} connections, {meta.get('duration_s', '?')} s "
          f"(wrk, {meta.get('threads', '2')} threads). {meta.get('cpu', '')}, {meta.get('nproc', '?')} cores.\n")
    print("| server | requests/s | spans/s | p50 ms | p99 ms | errors | spans read back |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(r)
    if results.get("mlflow") and results.get("kiln"):
        print(f"\nkiln / mlflow spans/s: {results['kiln'] / results['mlflow']:.1f}x")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("template")
    p.add_argument("--out", required=True)
    p.add_argument("--spans", type=int, default=4)
    p = sub.add_parser("setup")
    p.add_argument("--port", type=int, required=True)
    p = sub.add_parser("verify")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--exp", required=True)
    p.add_argument("--spans", type=int, required=True)
    p = sub.add_parser("report")
    p.add_argument("run")
    a = ap.parse_args()
    {"template": cmd_template, "setup": cmd_setup, "verify": cmd_verify, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()
