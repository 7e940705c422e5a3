#!/usr/bin/env python3
"""Helper for bench/features/run.sh (runs with the project venv: feast 0.67, pyarrow, pandas).

  gen           write the benchmark data (datagen.py) unless the same parameters exist already
  repo          write a Feast repo (feature_store.yaml + features.py) for the peer (file registry,
                Redis online store) or for kiln (remote registry + remote online store)
  start-redis   start redis-server in its own session on a port, wait for PING
  materialize   store.materialize(...) through the unmodified SDK, timed
  check         POST the request bodies once; check statuses and every value against the Parquet
  hist-feast    store.get_historical_features(...).to_df() (file offline store), timed
  hist-kiln     kiln's point-in-time join (HTTP API or CLI), timed
  compare       compare two point-in-time results row by row
  report        render results.md of a bench/.work/features-<stamp>/ directory

Server launch, free ports, quiet waits, the CPU window and load-generator runs come from
bench/tracking/driver.py. Every request goes to 127.0.0.1; every loop is bounded.
"""
import argparse
import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

HOST = "127.0.0.1"
ENTITY = "eid"
VIEWS = {  # name -> (parquet file, number of features, ttl seconds)
    "online": ("online.parquet", None, 365 * 86400),
    "mat": ("mat.parquet", None, 365 * 86400),
    "mat_small": ("mat_small.parquet", None, 365 * 86400),
    "hist": ("hist.parquet", None, 7 * 86400),
    "hist_small": ("hist_small.parquet", None, 7 * 86400),
}


# --------------------------------------------------------------------------- gen
def cmd_gen(a):
    import datagen
    datagen.main(a)


# --------------------------------------------------------------------------- repo
def view_features(data, meta):
    p = meta["params"]
    return {"online": p["online_features"], "mat": p["mat_features"], "mat_small": p["mat_features"],
            "hist": p["hist_features"], "hist_small": p["hist_features"]}


FEATURES_PY = '''# Written by bench/features/fsbench.py: the same definitions for the peer and for kiln.
from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource
from feast.types import Float64, Int64
from feast.value_type import ValueType

eid = Entity(name="eid", join_keys=["eid"], value_type=ValueType.INT64)

def _view(name, path, nfeat, ttl_s):
    src = FileSource(name=name + "_src", path=path, timestamp_field="event_timestamp",
                     created_timestamp_column="created")
    schema = [Field(name=f"f{{i}}", dtype=Int64 if i % 2 == 0 else Float64) for i in range(nfeat)]
    return FeatureView(name=name, entities=[eid], ttl=timedelta(seconds=ttl_s), schema=schema,
                       source=src, online=True)

{views}
'''


def cmd_repo(a):
    meta = json.load(open(os.path.join(a.data, "meta.json")))
    nf = view_features(a.data, meta)
    os.makedirs(a.dir, exist_ok=True)
    lines = []
    for name, (fname, _, ttl) in VIEWS.items():
        lines.append(f'{name} = _view("{name}", "{os.path.join(a.data, fname)}", {nf[name]}, {ttl})')
    with open(os.path.join(a.dir, "features.py"), "w") as f:
        f.write(FEATURES_PY.format(views="\n".join(lines)))
    if a.target == "feast":
        online = f'online_store:\n  type: redis\n  connection_string: "127.0.0.1:{a.redis_port},db=0"\n'
        registry = f"registry: {os.path.join(a.dir, 'registry.db')}\n"
    else:
        online = f"online_store:\n  type: remote\n  path: http://127.0.0.1:{a.http_port}\n"
        registry = f"registry:\n  registry_type: remote\n  path: 127.0.0.1:{a.grpc_port}\n"
    with open(os.path.join(a.dir, "feature_store.yaml"), "w") as f:
        f.write(f"project: fbench\n{registry}provider: local\n{online}"
                "offline_store:\n  type: file\nentity_key_serialization_version: 3\n")
    print(json.dumps({"dir": a.dir, "target": a.target}))


# --------------------------------------------------------------------------- redis
def redis_ping(port):
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def cmd_start_redis(a):
    log = open(os.path.join(a.dir, "redis.log"), "ab")
    # No persistence: the peer's online store as Feast's docs run it for serving; kiln's embedded
    # store is durable, which only costs kiln.
    p = subprocess.Popen([a.redis, "--port", str(a.port), "--bind", HOST, "--dir", a.dir, "--save", "",
                          "--appendonly", "no", "--protected-mode", "yes"],
                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True, cwd=a.dir)
    with open(os.path.join(a.dir, "redis.pid"), "w") as f:
        f.write(str(p.pid))
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


# --------------------------------------------------------------------------- materialize
def window(meta, view):
    from datetime import datetime, timezone
    if view == "online":
        end = meta["generated_at_us"] / 1e6 + 60
        start = end - 2 * 3600
    else:
        start = meta["hist_base_us"] / 1e6 - 86400
        end = meta["hist_base_us"] / 1e6 + (meta["hist_span_days"] + 1) * 86400
    return (datetime.fromtimestamp(start, tz=timezone.utc), datetime.fromtimestamp(end, tz=timezone.utc))


def cmd_materialize(a):
    from feast import FeatureStore
    meta = json.load(open(os.path.join(a.data, "meta.json")))
    store = FeatureStore(repo_path=a.dir)
    start, end = window(meta, a.view)
    t0 = time.perf_counter()
    err = None
    try:
        # The SDK prints progress on stdout; this command's stdout is its JSON result.
        with contextlib.redirect_stdout(sys.stderr):
            store.materialize(start_date=start, end_date=end, feature_views=[a.view])
    except Exception as e:  # the SDK's error is the measurement's result
        err = f"{type(e).__name__}: {str(e)[:500]}"
    s = time.perf_counter() - t0
    rows = {"online": meta["params"]["online_entities"], "mat": meta["mat_rows"],
            "mat_small": meta["mat_small_rows"]}.get(a.view)
    out = {"view": a.view, "seconds": round(s, 3), "source_rows": rows,
           "rows_per_s": round(rows / s, 1) if rows and not err else None,
           "start": start.isoformat(), "end": end.isoformat()}
    if err:
        out["error"] = err
    print(json.dumps(out))
    sys.exit(1 if err else 0)


# --------------------------------------------------------------------------- check
def post(port, path, body, timeout=120.0):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        hdr = sum(len(k) + len(v) + 4 for k, v in r.getheaders())
        return r.status, data, hdr
    finally:
        conn.close()


def expected_rows(data, ids):
    import pyarrow.parquet as pq
    t = pq.read_table(os.path.join(data, "online.parquet")).to_pandas()
    t = t.set_index("eid")
    return t.loc[ids]


def cmd_check(a):
    out = {}
    for name in a.bodies:
        body = open(os.path.join(a.data, name), "rb").read()
        req = json.loads(body)
        status, data, hdr = post(a.port, "/get-online-features", body)
        res = {"status": status, "response_bytes": len(data), "header_bytes": hdr}
        if status != 200:
            res["error"] = data[:500].decode(errors="replace")
            out[name] = res
            continue
        d = json.loads(data)
        names = d["metadata"]["feature_names"]
        ids = req["entities"][ENTITY]
        exp = expected_rows(a.data, ids)
        bad, statuses = 0, {}
        for i, fname in enumerate(names):
            col = d["results"][i]
            for st in col["statuses"]:
                statuses[st] = statuses.get(st, 0) + 1
            if fname == ENTITY:
                bad += sum(1 for v, e in zip(col["values"], ids) if v != e)
                continue
            for v, e in zip(col["values"], exp[fname].tolist()):
                if v is None or (abs(float(v) - float(e)) > 1e-12 * max(1.0, abs(float(e)))):
                    bad += 1
        res.update({"features": len(names), "rows": len(ids), "mismatched_values": bad,
                    "statuses": statuses})
        out[name] = res
    print(json.dumps(out))
    ok = all(r.get("status") == 200 and r.get("mismatched_values") == 0 for r in out.values())
    sys.exit(0 if ok else 1)


# --------------------------------------------------------------------------- historical
def feature_refs(data, view):
    meta = json.load(open(os.path.join(data, "meta.json")))
    return [f"{view}:f{i}" for i in range(view_features(data, meta)[view])]


def cmd_hist_feast(a):
    import pandas as pd
    from feast import FeatureStore
    store = FeatureStore(repo_path=a.dir)
    ent = pd.read_parquet(os.path.join(a.data, a.entity_df))
    t0 = time.perf_counter()
    df = store.get_historical_features(entity_df=ent, features=feature_refs(a.data, a.view)).to_df()
    s = time.perf_counter() - t0
    df.to_parquet(a.out)
    print(json.dumps({"engine": "feast", "view": a.view, "entity_rows": len(ent), "seconds": round(s, 3),
                      "out_rows": len(df), "out": a.out}))


def cmd_hist_kiln(a):
    import pyarrow.parquet as pq
    refs = feature_refs(a.data, a.view)
    ent_path = os.path.join(a.data, a.entity_df)
    n = pq.read_metadata(ent_path).num_rows
    t0 = time.perf_counter()
    if a.mode == "cli":
        cmd = [a.kiln, "features", "historical", "--data-dir", a.data_dir, "--entity-df", ent_path,
               "--features", ",".join(refs), "--out", a.out, "--project", "fbench", "--quiet"] + (a.extra or [])
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=a.timeout)
        info = {"cmd": " ".join(cmd), "rc": p.returncode, "tail": p.stdout.decode(errors="replace")[-800:]}
        ok = p.returncode == 0
    else:
        body = json.dumps({"entity_df": ent_path, "features": refs, "output": a.out,
                           "format": "parquet", "project": "fbench"}).encode()
        status, data, _ = post(a.port, "/api/v1/features/historical", body, timeout=a.timeout)
        info = {"status": status, "body": data[:800].decode(errors="replace")}
        ok = status == 200
    s = time.perf_counter() - t0
    out = {"engine": "kiln", "mode": a.mode, "view": a.view, "entity_rows": n, "seconds": round(s, 3),
           "out": a.out, **info}
    if ok and os.path.exists(a.out):
        out["out_rows"] = pq.read_metadata(a.out).num_rows
    print(json.dumps(out))
    sys.exit(0 if ok else 1)


def cmd_compare(a):
    """Row by row, A = Feast's result, B = kiln's. Feast's file offline store drops an entity row
    whose entity has feature rows but none inside [ts - ttl, ts] (dask.py _filter_ttl filters the
    joined candidates, so no candidate survives), while it keeps a null row for an entity with no
    feature rows at all. So: the rows with at least one non-null feature are compared exactly
    (both sorted by eid, event_timestamp, every feature; int features compared numerically, as
    Feast returns them as float64 when a null is among them), and every row only B has must be
    all null."""
    import numpy as np
    import pandas as pd
    x, y = pd.read_parquet(a.a), pd.read_parquet(a.b)
    feats = [c for c in x.columns if c.startswith("f") and c[1:].isdigit()]
    res = {"rows_a": len(x), "rows_b": len(y), "features": len(feats)}
    missing = [c for c in feats + [ENTITY, "event_timestamp"] if c not in y.columns]
    if missing:
        res.update({"equal": False, "missing_columns_b": missing})
        print(json.dumps(res))
        sys.exit(1)
    key = [ENTITY, "event_timestamp"] + feats

    def prep(d):
        d = d[key].copy()
        # Feast returns ns, kiln µs: compare in one unit.
        d["event_timestamp"] = pd.to_datetime(d["event_timestamp"], utc=True).dt.as_unit("ns").astype("int64")
        for c in [ENTITY] + feats:
            d[c] = pd.to_numeric(d[c]).astype("float64")
        null = d[feats].isna().all(axis=1).to_numpy()
        return d[~null].sort_values(key).reset_index(drop=True), int(null.sum())

    (x, xn), (y, yn) = prep(x), prep(y)
    res.update({"null_rows_a": xn, "null_rows_b": yn, "matched_rows_a": len(x), "matched_rows_b": len(y)})
    if len(x) != len(y):
        res["equal"] = False
        print(json.dumps(res))
        sys.exit(1)
    xa, ya = x.to_numpy(), y.to_numpy()
    same = (xa == ya) | (np.isnan(xa) & np.isnan(ya))
    bad_idx = np.nonzero(~same.all(axis=1))[0]
    res.update({"mismatched_rows": int(len(bad_idx)), "equal": len(bad_idx) == 0 and yn >= xn,
                "extra_null_rows_b": yn - xn})
    if len(bad_idx) and a.features_parquet:
        res["referee"] = referee(a, x, y, bad_idx, feats)
    # Exit 0 when B (kiln) is right everywhere: equal to A, or different only where the
    # definition (refereed by brute force, every differing row examined) sides with B.
    r = res.get("referee") or {}
    res["b_matches_definition"] = bool(yn >= xn and (len(bad_idx) == 0 or (
        len(bad_idx) <= 50000 and r.get("b_right") == len(bad_idx))))
    print(json.dumps(res))
    sys.exit(0 if res["b_matches_definition"] else 1)


def referee(a, x, y, bad_idx, feats):
    """Where A and B differ, the row the definition picks (latest event_timestamp <= T and
    >= T - ttl, ties by the latest created), brute force over the entity's feature rows: counts
    of rows where only A, only B, or neither agrees with it (at most 50,000 rows examined)."""
    import numpy as np
    import pandas as pd
    h = pd.read_parquet(a.features_parquet, columns=[ENTITY, "event_timestamp", "created"] + feats)
    want = set(x[ENTITY].iloc[bad_idx[:50000]].astype("int64"))
    h = h[h[ENTITY].isin(want)]
    h["ev"] = h["event_timestamp"].dt.as_unit("ns").astype("int64")
    h["cr"] = h["created"].dt.as_unit("ns").astype("int64")
    groups = {e: g.sort_values(["ev", "cr"]) for e, g in h.groupby(ENTITY)}
    ttl_ns = int(a.ttl_s * 1e9)
    out = {"a_right": 0, "b_right": 0, "neither": 0, "a_took_earlier_created_tie": 0, "examples": []}
    for i in bad_idx[:50000]:
        e, t = int(x[ENTITY].iloc[i]), int(x["event_timestamp"].iloc[i])
        g = groups.get(e)
        ref, tie_losers = None, []
        if g is not None:
            c = g[(g["ev"] <= t) & (g["ev"] >= t - ttl_ns)]
            if len(c):
                ref = c.iloc[-1][feats].astype("float64").to_numpy()
                same_ev = c[c["ev"] == c["ev"].iloc[-1]].iloc[:-1]
                tie_losers = [r.to_numpy(dtype="float64") for _, r in same_ev[feats].iterrows()]
        def agrees(row):
            v = row[feats].to_numpy(dtype="float64")
            return bool(np.all(np.isnan(v))) if ref is None else bool(np.all(v == ref))
        ra, rb = agrees(x.iloc[i]), agrees(y.iloc[i])
        k = "a_right" if ra and not rb else "b_right" if rb and not ra else "neither"
        out[k] += 1
        va = x.iloc[i][feats].to_numpy(dtype="float64")
        if rb and any(bool(np.all(va == tl)) for tl in tie_losers):
            out["a_took_earlier_created_tie"] += 1
        if len(out["examples"]) < 3:
            out["examples"].append({"eid": e, "ts_ns": t, "a_f0": float(x["f0"].iloc[i]),
                                    "b_f0": float(y["f0"].iloc[i]),
                                    "ref_f0": None if ref is None else float(ref[0])})
    return out


def cmd_cpuwin(a):
    """Run one step (its stdout is one JSON object), add the CPU split of its wall time: the
    server's process tree (--pid), redis-server (--redis-pid), the step's own process tree (the
    SDK, or kiln's CLI), everything else. The machine is shared: "other" says how much of it
    the step did not get."""
    sys.path.insert(0, os.path.join(HERE, "..", "tracking"))
    import driver
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    r0 = ticks(a.redis_pid) if a.redis_pid else 0.0
    win = driver.CpuWindow(a.pid)
    p = subprocess.run(cmd, stdout=subprocess.PIPE)
    cpu = win.result()
    if a.redis_pid:
        wall = time.monotonic() - win.t0
        cpu["redis_pct"] = round(100.0 * (ticks(a.redis_pid) - r0) / (wall * (os.cpu_count() or 1)), 1)
        cpu["other_pct"] = round(max(0.0, cpu["other_pct"] - cpu["redis_pct"]), 1)
    text = p.stdout.decode(errors="replace").strip()
    try:
        d = json.loads(text.splitlines()[-1])
        d["cpu"] = cpu
        print(json.dumps(d))
    except (ValueError, IndexError):
        print(json.dumps({"error": "step printed no JSON", "stdout": text[-500:], "cpu": cpu}))
    sys.exit(p.returncode)


def ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def cmd_cpu_ticks(a):
    """utime + stime (seconds) of one process, for the CPU of redis-server during a phase."""
    try:
        with open(f"/proc/{a.pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        print(round((int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK"), 2))
    except OSError:
        print("nan")


# --------------------------------------------------------------------------- report
def cmd_report(a):
    import report
    report.main(a.run)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="subcmd", required=True)
    p = sub.add_parser("gen")
    p.add_argument("--out", required=True)
    p.add_argument("--online-entities", type=int, default=10_000)
    p.add_argument("--online-features", type=int, default=50)
    p.add_argument("--mat-rows", type=int, default=10_000_000)
    p.add_argument("--mat-features", type=int, default=20)
    p.add_argument("--feast-mat-rows", type=int, default=1_000_000)
    p.add_argument("--hist-rows", type=int, default=10_000_000)
    p.add_argument("--hist-entities", type=int, default=1_000_000)
    p.add_argument("--hist-features", type=int, default=20)
    p.add_argument("--entity-rows", type=int, default=1_000_000)
    p.add_argument("--small-div", type=int, default=10)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--force", action="store_true")
    p = sub.add_parser("repo")
    p.add_argument("--dir", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--target", choices=["feast", "kiln"], required=True)
    p.add_argument("--redis-port", type=int)
    p.add_argument("--http-port", type=int)
    p.add_argument("--grpc-port", type=int)
    p = sub.add_parser("start-redis")
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--redis", default="/usr/bin/redis-server")
    p = sub.add_parser("materialize")
    p.add_argument("--dir", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--view", required=True)
    p = sub.add_parser("check")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--data", required=True)
    p.add_argument("bodies", nargs="+")
    p = sub.add_parser("hist-feast")
    p.add_argument("--dir", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--view", required=True)
    p.add_argument("--entity-df", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("hist-kiln")
    p.add_argument("--mode", choices=["api", "cli"], default="api")
    p.add_argument("--port", type=int)
    p.add_argument("--kiln")
    p.add_argument("--data-dir")
    p.add_argument("--data", required=True)
    p.add_argument("--view", required=True)
    p.add_argument("--entity-df", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--timeout", type=float, default=3600)
    p.add_argument("extra", nargs="*")
    p = sub.add_parser("compare")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--features-parquet", help="the feature rows, to referee rows where A and B differ")
    p.add_argument("--ttl-s", type=float, default=7 * 86400)
    p = sub.add_parser("cpuwin")
    p.add_argument("--pid", type=int, default=0)
    p.add_argument("--redis-pid", type=int, default=0)
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p = sub.add_parser("cpu-ticks")
    p.add_argument("pid", type=int)
    p = sub.add_parser("report")
    p.add_argument("run")
    a = ap.parse_args()
    globals()["cmd_" + a.subcmd.replace("-", "_")](a)


if __name__ == "__main__":
    main()
