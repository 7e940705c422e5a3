#!/usr/bin/env python3
"""Helper for bench/serving/run.sh (runs with the project venv: xgboost, numpy).

  model          train the benchmark's XGBoost model, write model.json, the request bodies and the
                 reference predictions
  mlserver-repo  write MLServer's settings.json + <model>/model-settings.json into a server dir
  check          POST the bodies once, check 200 and the predictions against the reference
  report         render results.md of a bench/.work/serving-<stamp>/ directory

Server launch, free ports, quiet-machine wait, RSS and wrk runs come from bench/tracking/driver.py.
All traffic goes to 127.0.0.1; every loop is bounded.
"""
import argparse
import hashlib
import http.client
import json
import os
import sys

HOST = "127.0.0.1"
CONFIGS = ["kiln", "mlserver"]
LABEL = {"kiln": "kiln", "mlserver": "MLServer", "nginx": "nginx (floor)"}


# --------------------------------------------------------------------------- model
def f32_text(v):
    """Shortest decimal that reads back as the same float32 (both servers parse FP32)."""
    import numpy as np
    return np.format_float_positional(np.float32(v), unique=True, trim="-")


def body_for(rows):
    data = ",".join(f32_text(v) for row in rows for v in row)
    return ('{"inputs":[{"name":"input-0","shape":[%d,%d],"datatype":"FP32","data":[%s]}]}'
            % (len(rows), len(rows[0]), data))


def cmd_model(a):
    if a.kind == "mlp":
        return cmd_model_mlp(a)
    import numpy as np
    import xgboost as xgb
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    n = 5000
    X = rng.normal(size=(n, a.features)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] * X[:, 2] + rng.normal(size=n) > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": a.depth, "seed": a.seed,
                         "nthread": 1}, xgb.DMatrix(X, label=y), a.trees)
    path = os.path.join(a.out, "model.json")
    booster.save_model(path)
    # the rows sent: fresh draws, not training rows; parsed back from the exact text sent
    Q = rng.normal(size=(a.batch, a.features)).astype(np.float32)
    single, batch = body_for(Q[:1]), body_for(Q)
    with open(os.path.join(a.out, "single.json"), "w") as f:
        f.write(single)
    with open(os.path.join(a.out, "batch.json"), "w") as f:
        f.write(batch)
    sent = np.array(json.loads(batch)["inputs"][0]["data"], dtype=np.float32).reshape(a.batch, a.features)
    ref = booster.predict(xgb.DMatrix(sent)).astype(float).tolist()
    with open(path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    info = {"xgboost": xgb.__version__, "numpy": np.__version__, "objective": "binary:logistic",
            "trees": booster.num_boosted_rounds(), "max_depth": a.depth, "features": a.features,
            "train_rows": n, "seed": a.seed, "batch_rows": a.batch, "model_sha256": sha,
            "model_bytes": os.path.getsize(path), "single_body_bytes": len(single),
            "batch_body_bytes": len(batch), "ref_single": ref[:1], "ref_batch": ref}
    with open(os.path.join(a.out, "expected.json"), "w") as f:
        json.dump(info, f)
    print(json.dumps({k: v for k, v in info.items() if not k.startswith("ref_")}))


def cmd_model_mlp(a):
    """An sklearn MLPRegressor: kiln serves its ONNX export (skl2onnx), MLServer the same fitted
    model through mlserver-sklearn (joblib). The reference is onnxruntime on the ONNX file."""
    import joblib
    import numpy as np
    import onnxruntime as ort
    import sklearn
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.neural_network import MLPRegressor
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    n = 5000
    X = rng.normal(size=(n, a.features)).astype(np.float32)
    y = X[:, 0] + 0.5 * X[:, 1] * X[:, 2] + np.sin(X[:, 3]) + 0.1 * rng.normal(size=n)
    mlp = MLPRegressor(hidden_layer_sizes=(64, 32), max_iter=200, random_state=a.seed).fit(X, y)
    onx = to_onnx(mlp, initial_types=[("input_0", FloatTensorType([None, a.features]))], target_opset=17)
    # skl2onnx makes names identifiers; the V2 body (shared with MLServer) says "input-0".
    onx.graph.input[0].name = "input-0"
    for node in onx.graph.node:
        node.input[:] = ["input-0" if i == "input_0" else i for i in node.input]
    path = os.path.join(a.out, "model.onnx")
    with open(path, "wb") as f:
        f.write(onx.SerializeToString())
    joblib.dump(mlp, os.path.join(a.out, "model.joblib"))
    Q = rng.normal(size=(a.batch, a.features)).astype(np.float32)
    single, batch = body_for(Q[:1]), body_for(Q)
    with open(os.path.join(a.out, "single.json"), "w") as f:
        f.write(single)
    with open(os.path.join(a.out, "batch.json"), "w") as f:
        f.write(batch)
    sent = np.array(json.loads(batch)["inputs"][0]["data"], dtype=np.float32).reshape(a.batch, a.features)
    sess = ort.InferenceSession(path)
    ref = sess.run(None, {"input-0": sent})[0].reshape(-1).astype(float).tolist()
    with open(path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    info = {"sklearn": sklearn.__version__, "numpy": np.__version__, "objective": "MLPRegressor (64, 32) relu",
            "trees": 0, "max_depth": 0, "features": a.features, "train_rows": n, "seed": a.seed,
            "batch_rows": a.batch, "model_sha256": sha, "model_bytes": os.path.getsize(path),
            "single_body_bytes": len(single), "batch_body_bytes": len(batch), "ref_single": ref[:1],
            "ref_batch": ref}
    with open(os.path.join(a.out, "expected.json"), "w") as f:
        json.dump(info, f)
    print(json.dumps({k: v for k, v in info.items() if not k.startswith("ref_")}))


def cmd_mlserver_repo(a):
    """MLServer's defaults except: host/ports (free ones on 127.0.0.1) and `debug` (its access
    log; off unless --access-log, like kiln's --access-log=false)."""
    os.makedirs(os.path.join(a.dir, a.name), exist_ok=True)
    settings = {"host": HOST, "http_port": a.port, "grpc_port": a.grpc_port,
                "metrics_port": a.metrics_port, "debug": a.access_log}
    with open(os.path.join(a.dir, "settings.json"), "w") as f:
        json.dump(settings, f, indent=2)
    impl = "mlserver_sklearn.SKLearnModel" if a.model.endswith(".joblib") else "mlserver_xgboost.XGBoostModel"
    ms = {"name": a.name, "implementation": impl,
          "parameters": {"uri": os.path.abspath(a.model)}}
    with open(os.path.join(a.dir, a.name, "model-settings.json"), "w") as f:
        json.dump(ms, f, indent=2)
    print(json.dumps({"settings": settings, "model_settings": ms}))


# --------------------------------------------------------------------------- check
def post(port, path, body):
    c = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        c.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def check_one(port, path, body, ref, tol):
    status, payload = post(port, path, body)
    out = {"status": status}
    if status != 200:
        out.update(ok=False, body=payload[:500].decode(errors="replace"))
        return out
    d = json.loads(payload)
    outs = d.get("outputs") or []
    if len(outs) != 1:
        out.update(ok=False, error=f"expected one output, got {len(outs)}", body=payload[:500].decode())
        return out
    o = outs[0]
    data = o.get("data")
    while data and isinstance(data[0], list):  # nested [[p], ...] -> flat
        data = [v for row in data for v in row]
    out.update(output=o.get("name"), datatype=o.get("datatype"), shape=o.get("shape"),
               response_bytes=len(payload))
    if not isinstance(data, list) or len(data) != len(ref):
        out.update(ok=False, error=f"{len(data) if isinstance(data, list) else data!r} values, "
                                   f"expected {len(ref)}")
        return out
    err = max(abs(float(x) - r) for x, r in zip(data, ref))
    out.update(values=data, max_abs_err_vs_ref=err, ok=err <= tol)
    return out


def cmd_check(a):
    with open(a.expected) as f:
        exp = json.load(f)
    path = f"/v2/models/{a.model}/infer"
    res = {}
    for kind, fname, ref in (("single", a.single, exp["ref_single"]), ("batch", a.batch, exp["ref_batch"])):
        with open(fname, "rb") as f:
            body = f.read()
        try:
            res[kind] = check_one(a.port, path, body, ref, a.tol)
        except (OSError, http.client.HTTPException, ValueError) as e:
            res[kind] = {"ok": False, "error": repr(e)}
    res["ok"] = all(res[k].get("ok") for k in ("single", "batch"))
    res["tolerance"] = a.tol
    print(json.dumps(res))
    sys.exit(0 if res["ok"] else 1)


# --------------------------------------------------------------------------- report
def load(run, cfg, name):
    p = os.path.join(run, cfg, name)
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fmt(v):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        if abs(v) >= 1:
            return f"{v:.2f}"
        if abs(v) >= 0.01:
            return f"{v:.3f}"
        return f"{v:.2g}"
    return f"{v:,}"


def wrk_get(d, field, rows=1):
    if not d or "requests" not in d:
        return None, (d or {}).get("error")
    if d["requests"] == 0:
        return (0.0 if field == "rps" else None), "no request completed"
    note = None
    bad = {k: v for k, v in d.get("errors", {}).items() if v}
    if bad:
        note = "errors: " + ", ".join(f"{k} {v}" for k, v in bad.items()) + f" of {d['requests']}"
    if field == "rps":
        return d["rps"] * rows, note
    if field == "bytes":
        return d["bytes"] // d["requests"], note
    return d["lat_us"][field] / 1000.0, note


def lg_phases(run, cfg):
    """loadgen phases present for a server: lg_c<N> (closed loop) first, then lg_r<rate> by rate."""
    try:
        names = [f[:-5] for f in os.listdir(os.path.join(run, cfg))
                 if f.startswith("lg_") and f.endswith(".json")]
    except OSError:
        return []

    def key(n):
        num = n[4:]
        return (0 if n.startswith("lg_c") else 1, float(num) if num.replace(".", "", 1).isdigit() else 0.0, n)
    return sorted(names, key=key)


def lg_section(run, servers, conns):
    """Tables for the loadgen phases (bench/serving/loadgen): per server and phase, plus the
    kiln/MLServer ratios of the closed loop."""
    out = []
    rows = []
    for c in servers:
        for ph in lg_phases(run, c):
            d = load(run, c, ph + ".json")
            rows.append((c, ph, d))
    if not rows:
        return out, []
    out += ["", "## Load generator phases (`bench/serving/loadgen`, single row)", "",
            f"loadgen: one epoll thread, {conns} keep-alive connections, on the same 2 cores. `lg_c{conns}`: closed "
            "loop (latency from write to full response); `lg_r<rate>`: open loop at that total rate, each "
            "connection on its own schedule, latency from the *scheduled* send time (a send that is due while "
            "the connection still waits goes out when the response arrives, and its wait counts). "
            "unsent = scheduled sends of the window never made (the server fell behind).", "",
            "| server | phase | target req/s | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms "
            "| errors / non-200 | unsent | loadgen CPU % of a core | other CPU % |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    notes = []
    for c, ph, d in rows:
        if not d or "requests" not in d:
            err = (d or {}).get("error", "missing")
            tail = (d or {}).get("tail", "")
            out.append(f"| {LABEL[c]} | {ph} | | failed | | | | | | | | | |")
            notes.append(f"{LABEL[c]} / {ph}: {err}" + (f" ({tail.strip()[-300:]})" if tail else ""))
            continue
        closed = not d.get("target_rate")
        tgt = "closed loop" if closed else fmt(float(d["target_rate"]))
        lat = [fmt(wrk_get(d, q)[0]) for q in ("p50", "p90", "p99", "p999", "max")]
        errs = d.get("errors", {})
        transport = sum(v for k, v in errs.items() if k != "status")
        non200 = d.get("non_200", errs.get("status", 0))
        unsent = "" if closed else fmt(d.get("unsent", 0))
        lcpu = (d.get("loadgen_cpu") or {}).get("pct_one_core")
        other = (d.get("cpu") or {}).get("other_pct")
        out.append(f"| {LABEL[c]} | {ph} | {tgt} | {fmt(float(d['rps']))} | " + " | ".join(lat) +
                   f" | {transport} / {non200} | {unsent} | {fmt(lcpu)} | {fmt(other)} |")
        if not closed and d["rps"] < 0.97 * float(d["target_rate"]):
            notes.append(f"{LABEL[c]} / {ph}: achieved {d['rps']} of {d['target_rate']} req/s "
                         f"(above its capacity here; unsent {d.get('unsent', 0)})")
        if transport or non200:
            notes.append(f"{LABEL[c]} / {ph}: {transport} transport errors / timeouts, {non200} non-200 "
                         f"(statuses {d.get('status')})")
        if other is not None and other >= 10:
            notes.append(f"{LABEL[c]} / {ph}: processes outside the benchmark used {other}% of the machine")
    # kiln / MLServer on the closed loop
    ph = f"lg_c{conns}"
    k, m = load(run, "kiln", ph + ".json"), load(run, "mlserver", ph + ".json")
    if k and m and "requests" in k and "requests" in m:
        out += ["", f"Closed loop, {conns} connections (`{ph}`), kiln / MLServer:", "",
                "| metric | kiln | MLServer | kiln/MLServer |", "|---|---:|---:|---:|"]
        for label, field in (("requests/s", "rps"), ("p50 ms", "p50"), ("p90 ms", "p90"), ("p99 ms", "p99"),
                             ("p99.9 ms", "p999")):
            kv, mv = wrk_get(k, field)[0], wrk_get(m, field)[0]
            out.append(f"| {label} | {fmt(kv)} | {fmt(mv)} | {fmt(kv / mv) if (kv is not None and mv) else ''} |")
    return out, notes


def cmd_report(a):
    run = a.run
    meta = {}
    try:
        for line in open(os.path.join(run, "meta.txt")):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    except OSError:
        pass
    conns = meta.get("conns", "32")
    batch = int(meta.get("batch", "64"))
    present = [c for c in CONFIGS if os.path.isdir(os.path.join(run, c))]
    pair = present == CONFIGS
    rows, notes = [], []

    def add(label, fname, field, rows_per_req=1):
        vals, nts = {}, {}
        for c in present:
            v, n = wrk_get(load(run, c, fname + ".json"), field, rows_per_req)
            vals[c] = v
            if n:
                nts[c] = n
        rows.append((label, vals, nts))

    def add_simple(label, fname, key):
        vals = {}
        for c in present:
            d = load(run, c, fname)
            v = d.get(key) if isinstance(d, dict) else None
            vals[c] = v if isinstance(v, (int, float)) and not isinstance(v, bool) else None
        rows.append((label, vals, {}))

    add("single row, 1 connection: requests/s", "single_c1", "rps")
    add("single row, 1 connection: p50 ms", "single_c1", "p50")
    add("single row, 1 connection: p99 ms", "single_c1", "p99")
    add(f"single row, {conns} connections: requests/s", f"single_c{conns}", "rps")
    add(f"single row, {conns} connections: p50 ms", f"single_c{conns}", "p50")
    add(f"single row, {conns} connections: p99 ms", f"single_c{conns}", "p99")
    add(f"batch of {batch} rows, 1 connection: p50 ms", "batch_c1", "p50")
    add(f"batch of {batch} rows, 1 connection: p99 ms", "batch_c1", "p99")
    add(f"batch of {batch} rows, 1 connection: requests/s", "batch_c1", "rps")
    add(f"batch of {batch} rows, 1 connection: rows/s", "batch_c1", "rps", batch)
    add("single-row response bytes (wrk, incl. headers)", "single_c1", "bytes")
    add_simple("start to model ready (ms)", "startup.json", "startup_ms")
    add_simple("RSS of the server's process tree after the run (MiB)", "rss.json", "rss_mib")
    add_simple("processes in the server's tree", "rss.json", "processes")

    # ------------------------------------------------------------------ targets
    targets = []
    if pair:
        for fname, what in (("single_c1", "1 connection"), (f"single_c{conns}", f"{conns} connections")):
            k, _ = wrk_get(load(run, "kiln", fname + ".json"), "rps")
            m, _ = wrk_get(load(run, "mlserver", fname + ".json"), "rps")
            if k is not None and m:
                r = k / m
                targets.append(f"- single-row throughput ≥ 10× MLServer, {what}: **{r:.1f}×** — "
                               f"{'met' if r >= 10 else 'NOT met'}")
    if "kiln" in present:
        p99, n = wrk_get(load(run, "kiln", f"single_c{conns}.json"), "p99")
        if p99 is not None:
            targets.append(f"- kiln p99 < 2 ms at {conns} connections (single row, wrk on the same 2 cores): "
                           f"**{p99:.2f} ms** — {'met' if p99 < 2 else 'NOT met'}")
        for ph in lg_phases(run, "kiln"):
            d = load(run, "kiln", ph + ".json")
            p99, _ = wrk_get(d, "p99")
            if p99 is None:
                continue
            what = ("closed loop" if ph.startswith("lg_c") else
                    f"open loop {fmt(float(d['target_rate']))} req/s, achieved {fmt(float(d['rps']))}, from the scheduled time")
            targets.append(f"- kiln p99 < 2 ms at {conns} connections (single row, loadgen {what}): "
                           f"**{p99:.2f} ms** — {'met' if p99 < 2 else 'NOT met'}")

    # ------------------------------------------------------------------ checks + notes
    checks = {c: load(run, c, "check.json") for c in present}
    for c in present + (["nginx"] if os.path.isdir(os.path.join(run, "nginx")) else []):
        f = load(run, c, "failed.json")
        if f:
            notes.append(f"**{LABEL[c]}** failed at {f.get('failed')}: {f.get('error', '')}")
        q = load(run, c, "quiet.json")
        if q and not q.get("quiet"):
            notes.append(f"{LABEL[c]}: the machine was not idle before start (busy % of the last seconds: "
                         f"{q.get('last_busy_pct')})")
        noisy = []
        for ph in ("single_c1", f"single_c{conns}", "batch_c1"):
            d = load(run, c, ph + ".json")
            cpu = d.get("cpu") if isinstance(d, dict) else None
            if cpu and cpu.get("other_pct") is not None and cpu["other_pct"] >= 10:
                noisy.append(f"{ph} {cpu['other_pct']}%")
        if noisy:
            notes.append(f"{LABEL[c]}: CPU used by processes outside the benchmark (share of both cores) "
                         f"during " + ", ".join(noisy))
        if os.path.exists(os.path.join(run, c, "reused_from")):
            src = open(os.path.join(run, c, "reused_from")).read().strip()
            notes.append(f"{LABEL[c]} figures reused from {src}")
    for label, vals, nts in rows:
        for c, n in nts.items():
            notes.append(f"{LABEL[c]} / {label}: {n}")

    cpu_lines = []
    for c in present:
        parts = []
        for ph in ("single_c1", f"single_c{conns}", "batch_c1"):
            d = load(run, c, ph + ".json")
            cpu = d.get("cpu") if isinstance(d, dict) else None
            if cpu:
                parts.append(f"{ph} server {cpu['server_pct']} % / wrk+harness {cpu['client_pct']} % / "
                             f"other {cpu['other_pct']} %")
        if parts:
            cpu_lines.append(f"- {LABEL[c]}: " + "; ".join(parts))

    # ------------------------------------------------------------------ output
    out = [f"# Serving benchmark {os.path.basename(run.rstrip('/'))}", ""]
    for k in ("date_utc", "cpu", "nproc", "mem", "os", "kernel", "wrk", "kiln_binary", "kiln_args",
              "mlserver", "mlserver_settings", "mlserver_venv", "nginx", "model", "duration_s", "warmup_s",
              "conns", "batch", "perf_analyzer", "cmdline", "wall_s"):
        if k in meta:
            out.append(f"- {k}: {meta[k]}")
    out.append("")
    hdr = ["metric"] + [LABEL[c] for c in present] + (["kiln/MLServer"] if pair else [])
    if present:
        out.append("| " + " | ".join(hdr) + " |")
        out.append("|" + "|".join(["---"] + ["---:"] * (len(hdr) - 1)) + "|")
    for label, vals, nts in rows:
        if not present or all(v is None for v in vals.values()):
            continue
        cells = [label] + [fmt(vals.get(c)) + (" *" if c in nts else "") for c in present]
        if pair:
            k, m = vals.get("kiln"), vals.get("mlserver")
            cells.append(fmt(k / m) if (k is not None and m) and "processes" not in label else "")
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append("kiln/MLServer is the plain quotient: above 1 is better for requests/s and rows/s, "
               "below 1 is better for latencies. Latencies are wrk's (`--latency`; closed loop, "
               "timer from write to full response).")
    if targets:
        out += ["", "## Targets (issue 4)", ""] + targets
    if os.path.isdir(os.path.join(run, "nginx")):
        out += ["", "## Floor: nginx answering the same POST with a constant 200 (no inference)", "",
                "A reference for what this machine and wrk allow when the server does no work "
                "(nginx, `worker_processes auto`, `return 200`; wrk shares the same 2 cores).", "",
                "| phase | requests/s | p50 ms | p90 ms | p99 ms |", "|---|---:|---:|---:|---:|"]
        for ph, what in (("single_c1", "1 connection"), (f"single_c{conns}", f"{conns} connections")):
            d = load(run, "nginx", ph + ".json")
            r, n = wrk_get(d, "rps")
            cells = [what, fmt(r)] + [fmt(wrk_get(d, q)[0]) for q in ("p50", "p90", "p99")]
            out.append("| " + " | ".join(cells) + " |" + (f" {n}" if n else ""))
    out += ["", "## Predictions (same request body to both servers, checked before measuring)", ""]
    exp = None
    try:
        exp = json.load(open(os.path.join(run, "model", "expected.json")))
    except (OSError, ValueError):
        pass
    if exp:
        out.append(f"- reference ({'xgboost ' + exp['xgboost'] if 'xgboost' in exp else 'onnxruntime on the ONNX file'} in the project venv), single row: "
                   f"{exp['ref_single'][0]!r}")
    for c in present:
        ck = checks.get(c)
        if not ck:
            continue
        s, b = ck.get("single", {}), ck.get("batch", {})
        out.append(f"- {LABEL[c]}: HTTP {s.get('status')}, output `{s.get('output')}` {s.get('datatype')} "
                   f"{s.get('shape')}, single row {(s.get('values') or [None])[0]!r} "
                   f"(|Δ ref| {fmt(s.get('max_abs_err_vs_ref'))}); batch of {batch}: HTTP {b.get('status')}, "
                   f"max |Δ ref| {fmt(b.get('max_abs_err_vs_ref'))}; ok={ck.get('ok')}")
    if pair and all(checks.get(c) and checks[c].get("single", {}).get("values") for c in CONFIGS):
        ks, ms = checks["kiln"]["single"]["values"], checks["mlserver"]["single"]["values"]
        d1 = abs(float(ks[0]) - float(ms[0]))
        kb = checks["kiln"]["batch"].get("values") or []
        mb = checks["mlserver"]["batch"].get("values") or []
        db = max((abs(float(x) - float(y)) for x, y in zip(kb, mb)), default=None)
        out.append(f"- kiln vs MLServer: single row |Δ| {d1:.3g}, batch max |Δ| "
                   f"{'n/a' if db is None else f'{db:.3g}'}")
    lg_servers = present + (["nginx"] if os.path.isdir(os.path.join(run, "nginx")) else [])
    lg_out, lg_notes = lg_section(run, lg_servers, conns)
    out += lg_out
    notes += lg_notes
    if cpu_lines:
        out += ["", "## CPU during the measured phases (share of both cores)", ""] + cpu_lines
    if notes:
        out += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    print("\n".join(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd_name", required=True)
    p = sub.add_parser("model")
    p.add_argument("--out", required=True)
    p.add_argument("--trees", type=int, default=100)
    p.add_argument("--depth", type=int, default=6)
    p.add_argument("--features", type=int, default=20)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--kind", choices=["xgb", "mlp"], default="xgb")
    p.set_defaults(fn=cmd_model)

    p = sub.add_parser("mlserver-repo")
    p.add_argument("--dir", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--name", default="xgb")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--grpc-port", type=int, required=True)
    p.add_argument("--metrics-port", type=int, required=True)
    p.add_argument("--access-log", action="store_true")
    p.set_defaults(fn=cmd_mlserver_repo)

    p = sub.add_parser("check")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--model", default="xgb")
    p.add_argument("--single", required=True)
    p.add_argument("--batch", required=True)
    p.add_argument("--expected", required=True)
    p.add_argument("--tol", type=float, default=1e-5)
    p.set_defaults(fn=cmd_check)

    p = sub.add_parser("report")
    p.add_argument("run")
    p.set_defaults(fn=cmd_report)

    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
