#!/usr/bin/env python3
"""Helper for bench/tracking/run.sh: launch + startup timing, RSS, data setup,
sequential latency probes, wrk result collection. Standard library only.

All traffic goes to 127.0.0.1. Every loop is bounded by a count and/or a deadline.
"""
import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

HOST = "127.0.0.1"
API = "/api/2.0/mlflow"
JSON_HDR = {"Content-Type": "application/json"}


# --------------------------------------------------------------------------- http
class Client:
    """One keep-alive connection to the server under test (reconnects on failure)."""

    def __init__(self, port, timeout=120.0):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def _connect(self):
        self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)

    def request(self, method, path, body=None):
        """Returns (status, body_bytes). Retries once on a dropped keep-alive connection."""
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(2):
            if self.conn is None:
                self._connect()
            try:
                self.conn.request(method, path, body=data, headers=JSON_HDR if data is not None else {})
                resp = self.conn.getresponse()
                payload = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return resp.status, payload
            except (http.client.HTTPException, ConnectionError, socket.timeout, OSError):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        raise RuntimeError("unreachable")

    def json(self, method, path, body=None, ok=(200,)):
        status, payload = self.request(method, path, body)
        if status not in ok:
            raise RuntimeError(f"{method} {path} -> HTTP {status}: {payload[:300]!r}")
        return json.loads(payload) if payload else {}


_tls = threading.local()


def thread_client(port):
    c = getattr(_tls, "client", None)
    if c is None or c.port != port:
        c = Client(port)
        _tls.client = c
    return c


# --------------------------------------------------------------------------- process
def proc_children_map():
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # field 4 (ppid) comes after the ')' that closes the command name
        rest = stat[stat.rindex(")") + 2:].split()
        children.setdefault(int(rest[1]), []).append(int(name))
    return children


def tree_pids(root):
    children = proc_children_map()
    out, stack = [], [root]
    while stack and len(out) < 10000:
        p = stack.pop()
        out.append(p)
        stack.extend(children.get(p, []))
    return out


def vmrss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0  # exited, or a zombie / kernel thread without VmRSS


def tree_rss(root):
    pids = tree_pids(root)
    return sum(vmrss_kib(p) for p in pids), len([p for p in pids if vmrss_kib(p) > 0])


def cmd_rss(a):
    """Settle: sample every second until 3 consecutive samples within 1% (max a.max_wait s)."""
    deadline = time.monotonic() + a.max_wait
    time.sleep(a.min_wait)
    samples = []
    while time.monotonic() < deadline:
        samples.append(tree_rss(a.pid))
        last = [s[0] for s in samples[-3:]]
        if len(last) == 3 and max(last) - min(last) <= 0.01 * max(last):
            break
        time.sleep(1.0)
    kib, nproc = samples[-1]
    print(json.dumps({"rss_mib": round(kib / 1024.0, 1), "processes": nproc,
                      "settle_samples": len(samples)}))


def health_once(port, path):
    conn = http.client.HTTPConnection(HOST, port, timeout=1.0)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        return r.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def cmd_launch(a):
    """Start the server in its own session/process group, poll /health every 5 ms."""
    log = open(a.log, "ab")
    t0 = time.perf_counter()
    p = subprocess.Popen(a.cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True, cwd=a.cwd or None)
    deadline = t0 + a.timeout
    ok = False
    polls = 0
    while time.perf_counter() < deadline:
        polls += 1
        if health_once(a.port, a.health) == 200:
            ok = True
            break
        if p.poll() is not None:
            break
        time.sleep(0.005)
    ms = (time.perf_counter() - t0) * 1000.0
    with open(a.pidfile, "w") as f:
        f.write(str(p.pid))
    res = {"pid": p.pid, "startup_ms": round(ms, 1) if ok else None, "polls": polls,
           "exited": p.poll()}
    print(json.dumps(res))
    sys.exit(0 if ok else 1)


def cmd_free_port(a):
    s = socket.socket()
    s.bind((HOST, 0))
    print(s.getsockname()[1])
    s.close()


# --------------------------------------------------------------------------- setup
def create_experiment(c, name):
    status, payload = c.request("POST", f"{API}/experiments/create", {"name": name})
    if status == 200:
        return str(json.loads(payload)["experiment_id"])
    d = c.json("GET", f"{API}/experiments/get-by-name?experiment_name={name}")
    return str(d["experiment"]["experiment_id"])


def create_run(c, exp_id, start_time):
    d = c.json("POST", f"{API}/runs/create", {"experiment_id": exp_id, "start_time": start_time})
    info = d["run"]["info"]
    return info.get("run_id") or info["run_uuid"]


def cmd_setup(a):
    """Create every experiment/run the workload phases need; write ids to a.out (JSON)."""
    port = a.port
    c = Client(port)
    now = int(time.time() * 1000)
    out = {}
    timings = {}

    # --- search: N runs in one experiment, each with metric rmse (random) + a param
    t = time.perf_counter()
    exp = create_experiment(c, "bench-search")
    out["search_experiment_id"] = exp
    rng = random.Random(42)
    rmses = [rng.random() for _ in range(a.search_runs)]

    def one(i):
        cl = thread_client(port)
        rid = create_run(cl, exp, now + i)
        cl.json("POST", f"{API}/runs/log-batch", {
            "run_id": rid,
            "metrics": [{"key": "rmse", "value": rmses[i], "timestamp": now + i, "step": 0}],
            "params": [{"key": "lr", "value": str(round(0.001 * (1 + i % 10), 4))}],
        })
        return rid

    with ThreadPoolExecutor(max_workers=a.concurrency) as ex:
        list(ex.map(one, range(a.search_runs)))
    out["search_expected_matches"] = sum(1 for r in rmses if r < 0.5)
    timings["search_setup_s"] = round(time.perf_counter() - t, 2)

    # --- history: one run, one key, steps 0..N-1 in batches of 1000
    t = time.perf_counter()
    hexp = create_experiment(c, "bench-history")
    hrun = create_run(c, hexp, now)
    out["history_run_id"] = hrun
    out["history_points"] = a.history_points
    batch = 1000
    for start in range(0, a.history_points, batch):
        ms = [{"key": "loss", "value": 1.0 / (1 + s), "timestamp": now + s, "step": s}
              for s in range(start, min(start + batch, a.history_points))]
        c.json("POST", f"{API}/runs/log-batch", {"run_id": hrun, "metrics": ms})
    timings["history_setup_s"] = round(time.perf_counter() - t, 2)

    # --- log-batch workload: one run per connection
    lexp = create_experiment(c, "bench-logbatch")
    out["logbatch_runs"] = [create_run(c, lexp, now + i) for i in range(a.logbatch_runs)]

    # --- create-run workload target experiment
    out["create_experiment_id"] = create_experiment(c, "bench-create")

    with open(a.out, "w") as f:
        json.dump(out, f)
    with open(os.path.join(os.path.dirname(a.out), "runs.txt"), "w") as f:
        f.write("\n".join(out["logbatch_runs"]) + "\n")
    print(json.dumps(timings))


# --------------------------------------------------------------------------- probes
def search_body(exp, max_results):
    return {"experiment_ids": [exp], "filter": "metrics.rmse < 0.5",
            "order_by": ["metrics.rmse ASC"], "max_results": max_results}


def fetch_history(c, run_id, key):
    """Fetch the full history (following next_page_token). Returns (net_seconds, points, pages).
    Only the HTTP exchanges are timed; JSON parsing happens outside the timed region."""
    net = 0.0
    points = []
    token = None
    pages = 0
    while pages < 10000:
        path = f"{API}/metrics/get-history?run_id={run_id}&metric_key={key}"
        if token:
            path += f"&page_token={token}"
        t = time.perf_counter()
        status, payload = c.request("GET", path)
        net += time.perf_counter() - t
        pages += 1
        if status != 200:
            raise RuntimeError(f"get-history HTTP {status}: {payload[:300]!r}")
        d = json.loads(payload)
        points.extend(d.get("metrics", []))
        token = d.get("next_page_token")
        if not token:
            break
    return net, points, pages


def percentile(xs, q):
    xs = sorted(xs)
    if not xs:
        return None
    k = (len(xs) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def summarize(times_s, extra):
    ms = [t * 1000.0 for t in times_s]
    out = {"n": len(ms), "p50_ms": round(statistics.median(ms), 3),
           "p90_ms": round(percentile(ms, 0.9), 3), "min_ms": round(min(ms), 3)}
    out.update(extra)
    return out


def cmd_probe(a):
    with open(a.ids) as f:
        ids = json.load(f)
    c = Client(a.port)
    win = CpuWindow(a.pid)
    deadline = time.monotonic() + a.budget
    times = []
    extra = {}
    if a.kind == "search":
        body = search_body(ids["search_experiment_id"], a.max_results)
        path = f"{API}/runs/search"

        def check(payload):
            d = json.loads(payload)
            runs = d.get("runs", [])
            vals = []
            for r in runs:
                for m in r.get("data", {}).get("metrics", []):
                    if m["key"] == "rmse":
                        vals.append(m["value"])
            return {"returned": len(runs), "sorted_asc": vals == sorted(vals),
                    "all_lt_0.5": all(v < 0.5 for v in vals),
                    "has_next_page_token": bool(d.get("next_page_token")),
                    "expected": min(a.max_results, ids["search_expected_matches"])}

        for _ in range(a.warmup):
            c.request("POST", path, body)
        last = None
        while len(times) < a.n and time.monotonic() < deadline:
            t = time.perf_counter()
            status, payload = c.request("POST", path, body)
            times.append(time.perf_counter() - t)
            if status != 200:
                raise RuntimeError(f"search HTTP {status}: {payload[:300]!r}")
            last = payload
        extra = check(last)
        extra["max_results"] = a.max_results
    elif a.kind == "history":
        run_id = ids["history_run_id"]
        for _ in range(a.warmup):
            fetch_history(c, run_id, "loss")
        pts, pages = [], 0
        while len(times) < a.n and time.monotonic() < deadline:
            net, pts, pages = fetch_history(c, run_id, "loss")
            times.append(net)
        steps = [p["step"] for p in pts]
        extra = {"points": len(pts), "expected": ids["history_points"], "pages": pages,
                 "distinct_steps": len(set(steps))}
    out = summarize(times, extra)
    out["cpu"] = win.result()
    print(json.dumps(out))


def cmd_verify_logbatch(a):
    """Count m0 points stored across the log-batch runs (sanity check vs wrk's request count)."""
    with open(a.ids) as f:
        ids = json.load(f)
    c = Client(a.port)
    total = 0
    for rid in ids["logbatch_runs"]:
        _, pts, _ = fetch_history(c, rid, "m0")
        total += len(pts)
    print(json.dumps({"stored_m0_points": total}))


def cmd_wait_gone(a):
    """Wait (bounded) until no process in process group a.pgid remains."""
    deadline = time.monotonic() + a.timeout
    while time.monotonic() < deadline:
        alive = False
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            rest = stat[stat.rindex(")") + 2:].split()
            if rest[0] != "Z" and int(rest[2]) == a.pgid:
                alive = True
                break
        if not alive:
            print("gone")
            return
        time.sleep(0.1)
    print("alive")
    sys.exit(1)


# --------------------------------------------------------------------------- cpu accounting
CLK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def machine_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]) - idle, sum(v[:8])  # busy, total (guest time is already in user)


def tree_jiffies(root):
    tot = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2:].split()
        tot += sum(int(x) for x in rest[11:15])  # utime stime cutime cstime
    return tot


class CpuWindow:
    """Machine / server-tree / own-children CPU over a window, to expose background load
    from processes that are not part of the benchmark."""

    def __init__(self, pid):
        self.pid = pid
        self.m0 = machine_jiffies()
        self.s0 = tree_jiffies(pid) if pid else 0
        self.r0 = os.times()
        self.t0 = time.monotonic()

    def result(self):
        m1 = machine_jiffies()
        s1 = tree_jiffies(self.pid) if self.pid else 0
        r1 = os.times()
        wall = time.monotonic() - self.t0
        cap = wall * NCPU
        busy = (m1[0] - self.m0[0]) / CLK
        server = (s1 - self.s0) / CLK
        client = (r1.user - self.r0.user + r1.system - self.r0.system
                  + r1.children_user - self.r0.children_user
                  + r1.children_system - self.r0.children_system)
        other = max(0.0, busy - server - client)
        pct = lambda x: round(100.0 * x / cap, 1) if cap > 0 else None
        return {"machine_busy_pct": pct(busy), "server_pct": pct(server),
                "client_pct": pct(client), "other_pct": pct(other)}


def cmd_wait_quiet(a):
    """Wait (bounded) until the machine is mostly idle: a.need consecutive 1 s windows with
    busy <= a.max_busy percent. Prints what it saw."""
    deadline = time.monotonic() + a.max_wait
    streak, seen = 0, []
    while time.monotonic() < deadline:
        b0 = machine_jiffies()
        time.sleep(1.0)
        b1 = machine_jiffies()
        busy = 100.0 * (b1[0] - b0[0]) / max(1, b1[1] - b0[1])
        seen.append(round(busy, 1))
        streak = streak + 1 if busy <= a.max_busy else 0
        if streak >= a.need:
            break
    print(json.dumps({"quiet": streak >= a.need, "waited_s": len(seen), "last_busy_pct": seen[-5:]}))


def cmd_wrk(a):
    """Run wrk (bounded by timeout), save its output, print its WRKJSON result + CPU window."""
    win = CpuWindow(a.pid)
    try:
        p = subprocess.run(a.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=a.timeout)
        text = p.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        text = (e.stdout or b"").decode(errors="replace") + "\nTIMEOUT"
    cpu = win.result()
    with open(a.out, "w") as f:
        f.write(text)
    d = parse_wrk(text)
    d["cpu"] = cpu
    print(json.dumps(d))


def parse_wrk(text):
    for line in text.splitlines():
        if line.startswith("WRKJSON "):
            d = json.loads(line[len("WRKJSON "):])
            dur = d["duration_us"] / 1e6
            d["rps"] = round(d["requests"] / dur, 1) if dur else None
            d["error_total"] = sum(d["errors"].values())
            m = [l for l in text.splitlines() if "Non-2xx" in l]
            if m:
                d["non2xx_line"] = m[0].strip()
            return d
    return {"error": "no WRKJSON line", "tail": text[-500:]}


def cmd_wrk_json(a):
    """Extract the JSON line the Lua done() hook printed from a wrk output file."""
    with open(a.file) as f:
        print(json.dumps(parse_wrk(f.read())))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd_name", required=True)

    p = sub.add_parser("launch")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--health", default="/health")
    p.add_argument("--log", required=True)
    p.add_argument("--pidfile", required=True)
    p.add_argument("--cwd")
    p.add_argument("--timeout", type=float, default=180.0)
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p.set_defaults(fn=cmd_launch)

    p = sub.add_parser("rss")
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--min-wait", type=float, default=3.0)
    p.add_argument("--max-wait", type=float, default=30.0)
    p.set_defaults(fn=cmd_rss)

    p = sub.add_parser("free-port")
    p.set_defaults(fn=cmd_free_port)

    p = sub.add_parser("setup")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--search-runs", type=int, default=10000)
    p.add_argument("--history-points", type=int, default=100000)
    p.add_argument("--logbatch-runs", type=int, default=32)
    p.add_argument("--concurrency", type=int, default=8)
    p.set_defaults(fn=cmd_setup)

    p = sub.add_parser("probe")
    p.add_argument("kind", choices=["search", "history"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ids", required=True)
    p.add_argument("--n", type=int, default=50)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--budget", type=float, default=60.0)
    p.add_argument("--max-results", type=int, default=100)
    p.set_defaults(fn=cmd_probe)

    p.add_argument("--pid", type=int, default=0)

    p = sub.add_parser("wrk")
    p.add_argument("--pid", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p.set_defaults(fn=cmd_wrk)

    p = sub.add_parser("wait-quiet")
    p.add_argument("--max-wait", type=float, default=120.0)
    p.add_argument("--max-busy", type=float, default=15.0)
    p.add_argument("--need", type=int, default=3)
    p.set_defaults(fn=cmd_wait_quiet)

    p = sub.add_parser("verify-logbatch")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ids", required=True)
    p.set_defaults(fn=cmd_verify_logbatch)

    p = sub.add_parser("wait-gone")
    p.add_argument("--pgid", type=int, required=True)
    p.add_argument("--timeout", type=float, default=20.0)
    p.set_defaults(fn=cmd_wait_gone)

    p = sub.add_parser("wrk-json")
    p.add_argument("file")
    p.set_defaults(fn=cmd_wrk_json)

    a = ap.parse_args()
    if a.cmd_name in ("launch", "wrk") and a.cmd and a.cmd[0] == "--":
        a.cmd = a.cmd[1:]
    a.fn(a)


if __name__ == "__main__":
    main()
