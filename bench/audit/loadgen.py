#!/usr/bin/env python3
"""Log-batch load generator for the audit overhead benchmark.

N worker processes (no GIL between them), each with one keep-alive HTTP
connection and a run of its own, post MLflow REST runs/log-batch calls of M
metrics in a closed loop for D seconds after a warm-up. Prints one JSON line:
{"conns", "metrics", "calls", "seconds", "calls_per_s", "metrics_per_s", "errors",
"calls_total"} (calls_total includes the warm-up and the setup calls' connections).

Usage: loadgen.py --url http://127.0.0.1:PORT [--conns 8] [--metrics 100] [--duration 15] [--warmup 2]
"""
import argparse
import http.client
import json
import multiprocessing as mp
import sys
import time
from urllib.parse import urlparse


def request(conn, method, path, body):
    conn.request(method, path, body=body, headers={"Content-Type": "application/json", "X-Kiln-Actor": "bench"})
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, data


def worker(url, exp_id, metrics, warmup, duration, start_at, out):
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    status, data = request(conn, "POST", "/api/2.0/mlflow/runs/create",
                           json.dumps({"experiment_id": exp_id, "start_time": int(time.time() * 1000)}))
    if status != 200:
        out.put({"error": f"runs/create: {status} {data[:200]!r}"})
        return
    run_id = json.loads(data)["run"]["info"]["run_id"]
    # The body is formatted from fixed pieces: the client's own CPU time
    # should not be what is measured.
    keys = [f"metric_{k:03d}" for k in range(metrics)]
    head = '{"run_id":"' + run_id + '","metrics":['
    step = 0
    calls = errors = total = 0
    while time.time() < start_at:
        time.sleep(0.001)
    t_measure = start_at + warmup
    t_end = t_measure + duration
    while True:
        now = time.time()
        if now >= t_end:
            break
        ts = int(now * 1000)
        body = head + ",".join(f'{{"key":"{k}","value":{step}.5,"timestamp":{ts},"step":{step}}}' for k in keys) + "]}"
        step += 1
        status, _ = request(conn, "POST", "/api/2.0/mlflow/runs/log-batch", body)
        total += 1
        if now >= t_measure:
            if status == 200:
                calls += 1
            else:
                errors += 1
    out.put({"calls": calls, "errors": errors, "total": total})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--metrics", type=int, default=100)
    ap.add_argument("--duration", type=float, default=15)
    ap.add_argument("--warmup", type=float, default=2)
    args = ap.parse_args()

    u = urlparse(args.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    status, data = request(conn, "POST", "/api/2.0/mlflow/experiments/create",
                           json.dumps({"name": f"audit-bench-{time.time_ns()}"}))
    if status != 200:
        sys.exit(f"experiments/create: {status} {data[:200]!r}")
    exp_id = json.loads(data)["experiment_id"]

    out = mp.Queue()
    start_at = time.time() + 1.0
    procs = [mp.Process(target=worker, args=(args.url, exp_id, args.metrics, args.warmup, args.duration, start_at, out))
             for _ in range(args.conns)]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    failed = [r["error"] for r in results if "error" in r]
    if failed:
        sys.exit("; ".join(failed))
    calls = sum(r["calls"] for r in results)
    errors = sum(r["errors"] for r in results)
    total = sum(r["total"] for r in results)
    print(json.dumps({"conns": args.conns, "metrics": args.metrics, "calls": calls, "seconds": args.duration,
                      "calls_per_s": round(calls / args.duration, 1),
                      "metrics_per_s": round(calls * args.metrics / args.duration, 1), "errors": errors,
                      "calls_total": total}))


if __name__ == "__main__":
    main()
