#!/usr/bin/env python3
"""Helper for bench/platform/run.sh (runs with the project venv: xgboost, numpy, pyarrow, feast,
mlflow).

  gen            the driver features (Parquet), the XGBoost model (model.json) and the reference
                 predictions for a sample of drivers
  repo           a Feast repo (features.py + feature_store.yaml) for the peer or for kiln
  start-redis    redis-server without persistence on a free port (the peer's online store)
  materialize    store.materialize(...) of the driver view through the unmodified SDK
  mlserver-repo  MLServer's settings.json + xgb/model-settings.json
  register       kiln: log + register the model with the unmodified mlflow client, create the
                 feature-bound endpoint (POST /api/v1/endpoints)
  check          POST every sample driver's body once, compare the prediction with the reference
  compare        both sides' check outputs: the same prediction for the same driver
  report         render results.md of a bench/.work/platform-<stamp>/ directory

Launch, free ports, quiet waits, RSS and wrk runs come from bench/tracking/driver.py. All
traffic goes to 127.0.0.1; every loop is bounded.
"""
import argparse
import contextlib
import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time

HOST = "127.0.0.1"
ENTITY = "driver_id"
VIEW = "driver_hourly_stats"
PROJECT = "pbench"
MODEL_NAME = "driver_xgb"
FIRST_ID = 1001


def feature_names(n):
    return [f"f{i:02d}" for i in range(n)]


# --------------------------------------------------------------------------- data + model
def cmd_gen(a):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import xgboost as xgb

    os.makedirs(a.out, exist_ok=True)
    names = feature_names(a.features)
    rng = np.random.default_rng(a.seed)
    n = 5000
    X = rng.normal(size=(n, a.features)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] * X[:, 2] + rng.normal(size=n) > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": a.depth, "seed": a.seed, "nthread": 1},
                        xgb.DMatrix(X, label=y, feature_names=names), a.trees)
    model_path = os.path.join(a.out, "model.json")
    booster.save_model(model_path)
    # A second version for the rollout/rollback measurement: other trees, so its predictions differ.
    booster2 = xgb.train({"objective": "binary:logistic", "max_depth": a.depth, "seed": a.seed + 1, "nthread": 1,
                          "eta": 0.2}, xgb.DMatrix(X, label=y, feature_names=names), a.trees)
    booster2.save_model(os.path.join(a.out, "model_v2.json"))

    # One online row per driver: float32 features (Feast Float32), stamped in the hour before
    # generation (ttl is a year: never stale for either side).
    ids = np.arange(FIRST_ID, FIRST_ID + a.entities, dtype=np.int64)
    F = rng.normal(size=(a.entities, a.features)).astype(np.float32)
    now_us = int(time.time() * 1e6)
    ev = now_us - rng.integers(60_000_000, 3_600_000_000, size=a.entities)
    cols = {ENTITY: pa.array(ids),
            "event_timestamp": pa.array(ev.astype("int64"), type=pa.timestamp("us", tz="UTC")),
            "created": pa.array(ev.astype("int64"), type=pa.timestamp("us", tz="UTC"))}
    for j, nm in enumerate(names):
        cols[nm] = pa.array(F[:, j], type=pa.float32())
    pq.write_table(pa.table(cols), os.path.join(a.out, "drivers.parquet"))

    # The reference: the booster on exactly the stored float32 values of a sample of drivers.
    step = max(1, a.entities // a.sample)
    sample = list(range(0, a.entities, step))[: a.sample]
    ref = booster.predict(xgb.DMatrix(F[sample], feature_names=names)).astype(float).tolist()
    ref2 = booster2.predict(xgb.DMatrix(F[sample], feature_names=names)).astype(float).tolist()
    with open(model_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    info = {"xgboost": xgb.__version__, "numpy": np.__version__, "objective": "binary:logistic",
            "trees": booster.num_boosted_rounds(), "max_depth": a.depth, "features": a.features,
            "feature_names": names, "entities": a.entities, "first_id": FIRST_ID, "seed": a.seed,
            "model_sha256": sha, "model_bytes": os.path.getsize(model_path),
            "generated_at_us": now_us,
            "sample_ids": [int(ids[i]) for i in sample], "ref": ref, "ref_v2": ref2}
    with open(os.path.join(a.out, "expected.json"), "w") as f:
        json.dump(info, f)
    # The body both sides get for the fixed-entity phases (loadgen, rollout).
    with open(os.path.join(a.out, "single.json"), "w") as f:
        f.write('{"entities":{"%s":[%d]}}' % (ENTITY, FIRST_ID))
    print(json.dumps({k: v for k, v in info.items() if k not in ("ref", "ref_v2", "sample_ids", "feature_names")}))


# --------------------------------------------------------------------------- feast repo
FEATURES_PY = '''# Written by bench/platform/pbench.py: the same definitions for the peer and for kiln.
from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource
from feast.types import Float32
from feast.value_type import ValueType

driver = Entity(name="driver", join_keys=["{entity}"], value_type=ValueType.INT64)

src = FileSource(name="{view}_src", path="{path}", timestamp_field="event_timestamp",
                 created_timestamp_column="created")

{view} = FeatureView(name="{view}", entities=[driver], ttl=timedelta(days=365), online=True,
                     schema=[{fields}], source=src)

driver_svc = FeatureService(name="driver_svc", features=[{view}])
'''


def cmd_repo(a):
    meta = json.load(open(os.path.join(a.data, "expected.json")))
    os.makedirs(a.dir, exist_ok=True)
    fields = ", ".join(f'Field(name="{n}", dtype=Float32)' for n in meta["feature_names"])
    with open(os.path.join(a.dir, "features.py"), "w") as f:
        f.write(FEATURES_PY.format(entity=ENTITY, view=VIEW, fields=fields,
                                   path=os.path.join(os.path.abspath(a.data), "drivers.parquet")))
    if a.target == "feast":
        online = f'online_store:\n  type: redis\n  connection_string: "127.0.0.1:{a.redis_port},db=0"\n'
        registry = f"registry: {os.path.join(os.path.abspath(a.dir), 'registry.db')}\n"
    else:
        online = f"online_store:\n  type: remote\n  path: http://127.0.0.1:{a.http_port}\n"
        registry = f"registry:\n  registry_type: remote\n  path: 127.0.0.1:{a.grpc_port}\n"
    with open(os.path.join(a.dir, "feature_store.yaml"), "w") as f:
        f.write(f"project: {PROJECT}\n{registry}provider: local\n{online}"
                "offline_store:\n  type: file\nentity_key_serialization_version: 3\n")
    print(json.dumps({"dir": a.dir, "target": a.target}))


def redis_ping(port):
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def cmd_start_redis(a):
    log = open(os.path.join(a.dir, "redis.log"), "ab")
    # No persistence, as bench/features runs the peer's online store.
    p = subprocess.Popen([a.redis, "--port", str(a.port), "--bind", HOST, "--dir", a.dir, "--save", "",
                          "--appendonly", "no", "--protected-mode", "yes"],
                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True, cwd=a.dir)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if redis_ping(a.port):
            print(json.dumps({"pid": p.pid, "port": a.port}))
            return
        if p.poll() is not None:
            break
        time.sleep(0.05)
    print(json.dumps({"pid": p.pid, "error": "redis did not answer PING"}))
    sys.exit(1)


def cmd_materialize(a):
    from datetime import datetime, timezone
    from feast import FeatureStore
    meta = json.load(open(os.path.join(a.data, "expected.json")))
    end = datetime.fromtimestamp(meta["generated_at_us"] / 1e6 + 60, tz=timezone.utc)
    start = datetime.fromtimestamp(meta["generated_at_us"] / 1e6 - 2 * 3600, tz=timezone.utc)
    store = FeatureStore(repo_path=a.dir)
    t0 = time.perf_counter()
    err = None
    try:
        with contextlib.redirect_stdout(sys.stderr):  # the SDK's progress bar; stdout is the JSON
            store.materialize(start_date=start, end_date=end, feature_views=[VIEW])
    except Exception as e:  # the SDK's error is the step's result
        err = f"{type(e).__name__}: {str(e)[:500]}"
    out = {"seconds": round(time.perf_counter() - t0, 3), "rows": meta["entities"]}
    if err:
        out["error"] = err
    print(json.dumps(out))
    sys.exit(1 if err else 0)


def cmd_mlserver_repo(a):
    """MLServer's defaults except host/ports and `debug` (its access log; off, like kiln's
    --access-log=false), as bench/serving runs it."""
    os.makedirs(os.path.join(a.dir, "xgb"), exist_ok=True)
    settings = {"host": HOST, "http_port": a.port, "grpc_port": a.grpc_port,
                "metrics_port": a.metrics_port, "debug": False}
    with open(os.path.join(a.dir, "settings.json"), "w") as f:
        json.dump(settings, f, indent=2)
    ms = {"name": "xgb", "implementation": "mlserver_xgboost.XGBoostModel",
          "parameters": {"uri": os.path.abspath(a.model)}}
    with open(os.path.join(a.dir, "xgb", "model-settings.json"), "w") as f:
        json.dump(ms, f, indent=2)
    print(json.dumps({"settings": settings, "model_settings": ms}))


# --------------------------------------------------------------------------- kiln: register
def request(port, method, path, body=None, timeout=120.0, headers=None):
    c = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        c.request(method, path, body=None if body is None else (body if isinstance(body, (bytes, str)) else json.dumps(body)),
                  headers=h)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def log_version(model_file, names):
    """Logs model_file (an xgboost JSON model) with the unmodified mlflow client and registers it."""
    import mlflow
    import numpy as np
    import pandas as pd
    import xgboost as xgb
    from mlflow.models import infer_signature
    booster = xgb.Booster()
    booster.load_model(model_file)
    X = pd.DataFrame(np.zeros((2, len(names)), dtype=np.float32), columns=names)
    sig = infer_signature(X, np.zeros(2, dtype=np.float32))
    with mlflow.start_run():
        info = mlflow.xgboost.log_model(booster, name="model", signature=sig, model_format="json",
                                        pip_requirements=[f"xgboost=={xgb.__version__}"],
                                        registered_model_name=MODEL_NAME)
    return info.registered_model_version


def endpoint_spec(a, names, version):
    return {"name": a.endpoint, "description": "bench/platform: feature-enriched predict",
            "routes": [{"model": MODEL_NAME, "version": str(version), "percent": 100}],
            "features": {"project": PROJECT, "features": [f"{VIEW}:{n}" for n in names]}}


def cmd_register(a):
    import mlflow
    meta = json.load(open(os.path.join(a.data, "expected.json")))
    names = meta["feature_names"]
    mlflow.set_tracking_uri(f"http://{HOST}:{a.port}")
    mlflow.set_experiment("bench-platform")
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        v1 = log_version(os.path.join(a.data, "model.json"), names)
        v2 = log_version(os.path.join(a.data, "model_v2.json"), names) if a.second else None
    t_reg = time.perf_counter() - t0
    t0 = time.perf_counter()
    status, body = request(a.port, "POST", "/api/v1/endpoints", endpoint_spec(a, names, v1))
    out = {"model": MODEL_NAME, "version": v1, "version_2": v2, "register_s": round(t_reg, 2),
           "create_status": status, "create_ms": round((time.perf_counter() - t0) * 1e3, 1)}
    if status != 200:
        out["error"] = body[:800].decode(errors="replace")
        print(json.dumps(out))
        sys.exit(1)
    # Bounded wait until the endpoint serves (the first revision loads before it is stored, but
    # say so explicitly rather than assume it).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        st, b = request(a.port, "GET", f"/api/v1/endpoints/{a.endpoint}")
        if st == 200:
            view = json.loads(b)
            traffic = (view.get("status") or {}).get("traffic") or []
            if traffic and all(t.get("ready") for t in traffic) and not view["status"].get("pending"):
                out["ready"] = True
                break
        time.sleep(0.1)
    print(json.dumps(out))
    sys.exit(0 if out.get("ready") else 1)


# --------------------------------------------------------------------------- check
def prediction_of(payload):
    d = json.loads(payload)
    p = d.get("predictions")
    while isinstance(p, list) and p and isinstance(p[0], list):
        p = [v for row in p for v in row]
    if isinstance(p, dict):  # {"output-0": [...]} style
        p = next(iter(p.values()))
    return p, d


def cmd_check(a):
    meta = json.load(open(os.path.join(a.data, "expected.json")))
    ref = meta["ref_v2" if a.version2 else "ref"]
    rows, worst, ok = [], 0.0, True
    for eid, r in zip(meta["sample_ids"], ref):
        body = json.dumps({"entities": {ENTITY: [eid]}})
        try:
            status, payload = request(a.port, "POST", a.path, body, timeout=60)
        except (OSError, http.client.HTTPException) as e:
            rows.append({"id": eid, "error": repr(e)})
            ok = False
            continue
        if status != 200:
            rows.append({"id": eid, "status": status, "body": payload[:400].decode(errors="replace")})
            ok = False
            continue
        try:
            p, d = prediction_of(payload)
            v = float(p[0])
        except (ValueError, TypeError, IndexError, KeyError, StopIteration) as e:
            rows.append({"id": eid, "error": f"unreadable answer {payload[:300]!r}: {e!r}"})
            ok = False
            continue
        err = abs(v - r)
        worst = max(worst, err)
        row = {"id": eid, "prediction": v, "ref": r, "abs_err": err}
        if "model_version" in d:
            row["model_version"] = d["model_version"]
        rows.append(row)
        if err > a.tol:
            ok = False
    res = {"ok": ok, "checked": len(rows), "max_abs_err_vs_ref": worst, "tolerance": a.tol,
           "response_example": rows[0] if rows else None, "rows": rows}
    print(json.dumps(res))
    sys.exit(0 if ok else 1)


def cmd_compare(a):
    x = json.load(open(a.kiln))
    y = json.load(open(a.peer))
    px = {r["id"]: r.get("prediction") for r in x.get("rows", [])}
    py = {r["id"]: r.get("prediction") for r in y.get("rows", [])}
    common = [i for i in px if i in py and px[i] is not None and py[i] is not None]
    diff = max((abs(px[i] - py[i]) for i in common), default=None)
    res = {"entities": len(common), "max_abs_diff_kiln_vs_peer": diff,
           "same": bool(common) and diff is not None and diff <= a.tol and len(common) == len(px) == len(py),
           "tolerance": a.tol}
    print(json.dumps(res))
    sys.exit(0 if res["same"] else 1)


# --------------------------------------------------------------------------- report
def load(run, side, name):
    p = os.path.join(run, side, name + ".json")
    if not os.path.exists(p):
        return None
    try:
        return json.load(open(p))
    except ValueError:
        return None


def fmt(v, digits=3):
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.{digits}g}"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def cmd_report(a):
    run = a.run
    meta = {}
    for line in open(os.path.join(run, "meta.txt")):
        k, _, v = line.rstrip("\n").partition("=")
        meta[k] = v
    conns = [int(c) for c in meta.get("conns_list", "1 32").split()]
    out = [f"# Platform benchmark: feature-enriched predict, {os.path.basename(run)}", ""]
    for k in ("date_utc", "cmdline", "kiln_binary", "kiln_args", "peer", "model", "machine"):
        if k in meta:
            out.append(f"- {k}: `{meta[k]}`" if k == "cmdline" else f"- {k}: {meta[k]}")
    out += ["", "| metric | chain (transformer → feast serve → MLServer) | kiln | kiln/chain |", "|---|---:|---:|---:|"]
    notes, targets = [], []
    for c in conns:
        name = f"predict_c{c}"
        p, k = load(run, "chain", name), load(run, "kiln", name)

        def g(d, *path):
            for key in path:
                if not isinstance(d, dict) or key not in d:
                    return None
                d = d[key]
            return d
        pr, kr = g(p, "rps"), g(k, "rps")
        out.append(f"| 1 entity, {c} conn: req/s | {fmt(pr)} | {fmt(kr)} | {fmt(ratio(kr, pr))} |")
        for q in ("p50", "p99"):
            pv, kv = g(p, "lat_us", q), g(k, "lat_us", q)
            pv = pv / 1000 if pv is not None else None
            kv = kv / 1000 if kv is not None else None
            out.append(f"| 1 entity, {c} conn: {q} ms | {fmt(pv)} | {fmt(kv)} | {fmt(ratio(kv, pv))} |")
        cp, ck = cpu_ms(p), cpu_ms(k)
        out.append(f"| 1 entity, {c} conn: CPU ms per request (all of the side's processes) | {fmt(cp)} | {fmt(ck)} | {fmt(ratio(ck, cp))} |")
        for side, d in (("chain", p), ("kiln", k)):
            if d is None:
                notes.append(f"{side} / {name}: not measured")
                continue
            if d.get("error_total"):
                notes.append(f"{side} / {name}: {d['error_total']} errors {d.get('errors')} {d.get('non2xx_line', '')}")
            cpu = d.get("cpu") or {}
            if (cpu.get("other_pct") or 0) >= 10:
                notes.append(f"{side} / {name}: processes outside the benchmark used {cpu['other_pct']} % of the machine")
        if pr and kr:
            targets.append((f"throughput ≥ 10× the chain, {c} conn", f"{kr:,.0f} vs {pr:,.0f} req/s = {kr / pr:.1f}×",
                            "yes" if kr >= 10 * pr else "**no**"))
        if g(k, "lat_us", "p99") is not None:
            v = g(k, "lat_us", "p99") / 1000
            targets.append((f"kiln p99 < 2 ms, {c} conn (wrk)", f"{v:.3f} ms", "yes" if v < 2 else "**no**"))
    for lg in sorted(f for f in os.listdir(os.path.join(run, "kiln")) if f.startswith("lg_r") and f.endswith(".json")) if os.path.isdir(os.path.join(run, "kiln")) else []:
        d = load(run, "kiln", lg[:-5])
        if d and "lat_us" in d:
            l = d["lat_us"]
            out.append(f"| kiln open loop {d.get('target_rate')} req/s ({d.get('connections')} conn, loadgen, same entity): "
                       f"achieved req/s / p50 / p99 / p99.9 ms | | {fmt(d.get('rps'))} / {fmt(l['p50'] / 1000)} / "
                       f"{fmt(l['p99'] / 1000)} / {fmt(l['p999'] / 1000)} | |")
            targets.append((f"kiln p99 < 2 ms at {d.get('target_rate')} req/s open loop", f"{l['p99'] / 1000:.3f} ms",
                            "yes" if l["p99"] < 2000 else "**no**"))
            if d.get("error_total") or d.get("non_200"):
                notes.append(f"kiln / {lg[:-5]}: errors {d.get('errors')} non-200 {d.get('non_200')}")
            if ((d.get("cpu") or {}).get("other_pct") or 0) >= 10:
                notes.append(f"kiln / {lg[:-5]}: processes outside the benchmark used {d['cpu']['other_pct']} % of the machine")
    rp, rk = load(run, "chain", "rss"), load(run, "kiln", "rss")
    if rp or rk:
        vp, vk = (rp or {}).get("rss_mib"), (rk or {}).get("rss_mib")
        out.append(f"| RSS after the load phases (MiB; chain: {(rp or {}).get('processes', '?')} processes, kiln: "
                   f"{(rk or {}).get('processes', '?')}) | {fmt(vp)} | {fmt(vk)} | {fmt(ratio(vk, vp))} |")
    out.append("")
    cmp_ = load(run, ".", "compare")
    if cmp_ is not None:
        out.append(f"Reference check: {cmp_['entities']} drivers, both sides answered 200, max |kiln − chain| = "
                   f"{cmp_['max_abs_diff_kiln_vs_peer']} (tolerance {cmp_['tolerance']}): "
                   f"{'the same predictions' if cmp_['same'] else '**DIFFERENT**'}; both compared with the booster's own "
                   f"prediction on the stored float32 features (kiln max err {g2(load(run, 'kiln', 'check'))}, chain {g2(load(run, 'chain', 'check'))}).")
        out.append("")
    if targets:
        out += ["**Targets (issue 11):**", "", "| target | measured | met |", "|---|---|---|"]
        out += [f"| {t} | {m} | {ok} |" for t, m, ok in targets]
        out.append("")
    if notes:
        out += ["Notes:"] + [f"- {n}" for n in notes]
    print("\n".join(out))


def cpu_ms(d):
    """CPU time of the side's process trees per completed request: independent of the share of the
    shared machine the side got."""
    try:
        return d["cpu"]["server_pct"] / 100.0 * d["cpu"]["wall_s"] * (os.cpu_count() or 1) * 1000.0 / d["requests"]
    except (TypeError, KeyError, ZeroDivisionError):
        return None


def g2(d):
    return None if not d else d.get("max_abs_err_vs_ref")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("gen")
    p.add_argument("--out", required=True)
    p.add_argument("--entities", type=int, default=10000)
    p.add_argument("--features", type=int, default=20)
    p.add_argument("--trees", type=int, default=100)
    p.add_argument("--depth", type=int, default=6)
    p.add_argument("--sample", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(fn=cmd_gen)
    p = sub.add_parser("repo")
    p.add_argument("--dir", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--target", choices=["feast", "kiln"], required=True)
    p.add_argument("--redis-port", type=int)
    p.add_argument("--http-port", type=int)
    p.add_argument("--grpc-port", type=int)
    p.set_defaults(fn=cmd_repo)
    p = sub.add_parser("start-redis")
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--redis", default="/usr/bin/redis-server")
    p.set_defaults(fn=cmd_start_redis)
    p = sub.add_parser("materialize")
    p.add_argument("--dir", required=True)
    p.add_argument("--data", required=True)
    p.set_defaults(fn=cmd_materialize)
    p = sub.add_parser("mlserver-repo")
    p.add_argument("--dir", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--grpc-port", type=int, required=True)
    p.add_argument("--metrics-port", type=int, required=True)
    p.set_defaults(fn=cmd_mlserver_repo)
    p = sub.add_parser("register")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--endpoint", default="driver")
    p.add_argument("--second", action="store_true", help="also register model_v2.json as version 2")
    p.set_defaults(fn=cmd_register)
    p = sub.add_parser("check")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--tol", type=float, default=1e-6)
    p.add_argument("--version2", action="store_true")
    p.set_defaults(fn=cmd_check)
    p = sub.add_parser("compare")
    p.add_argument("--kiln", required=True)
    p.add_argument("--peer", required=True)
    p.add_argument("--tol", type=float, default=1e-6)
    p.set_defaults(fn=cmd_compare)
    p = sub.add_parser("report")
    p.add_argument("run")
    p.set_defaults(fn=cmd_report)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
