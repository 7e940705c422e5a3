#!/usr/bin/env python3
"""Issue 13's PostgreSQL benchmark: `mlflow server` and `kiln serve` on one
PostgreSQL server (each on a database of its own), then three kiln replicas
against one. Driven by bench/postgres/run.sh; see docs/benchmarks.md
§ Production backends.

Reuses bench/tracking: its driver (launch + /health polling, the data setup,
the sequential search probe) and its wrk script log_batch.lua (METRICS
metrics per call, ADDRS to spread wrk's threads over replicas).

Per phase it records, from /proc: CPU of every server process tree, of the
PostgreSQL server (the postmaster and its backends), of wrk, and of the
machine; and from pg_stat_statements: statements and transactions per
request on the server's database. Only 127.0.0.1 is contacted; every loop is
bounded; only the processes it started are signalled.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TRACKING = ROOT / "bench" / "tracking"
sys.path.insert(0, str(HERE))
from pgserver import BenchPgServer  # noqa: E402

_spec = importlib.util.spec_from_file_location("tracking_driver", TRACKING / "driver.py")
drv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(drv)

API = "/api/2.0/mlflow"
CLK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def loadavg():
    """The 1-minute load average now (the machine is shared: every figure is reported beside it)."""
    return float(open("/proc/loadavg").read().split()[0])


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- processes
class Server:
    """A server process in its own session (its pgid is its pid)."""

    def __init__(self, name, cmd, workdir: Path, port, env=None):
        self.name, self.cmd, self.dir, self.port = name, cmd, workdir, port
        self.env = env
        self.pid = None

    def start(self, timeout=300.0):
        self.dir.mkdir(parents=True, exist_ok=True)
        logf = open(self.dir / "server.log", "ab")
        t0 = time.perf_counter()
        p = subprocess.Popen(self.cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, cwd=self.dir, env=self.env)
        logf.close()
        self.pid = p.pid
        self.popen = p
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            if drv.health_once(self.port, "/health") == 200:
                self.startup_ms = round((time.perf_counter() - t0) * 1000, 1)
                return self
            if p.poll() is not None:
                break
            time.sleep(0.02)
        tail = (self.dir / "server.log").read_text(errors="replace")[-3000:]
        self.stop()
        raise RuntimeError(f"{self.name} did not become healthy; log tail:\n{tail}")

    def stop(self):
        if self.pid is None:
            return
        try:
            os.killpg(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        # MLflow's workers and job runner share the group: wait for all of it.
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and _group_alive(self.pid):
            time.sleep(0.1)
        if _group_alive(self.pid):
            os.killpg(self.pid, signal.SIGKILL)
        self.pid = None


def _group_alive(pgid):
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = open(f"/proc/{name}/stat").read()
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2:].split()
        if rest[0] != "Z" and int(rest[2]) == pgid:
            return True
    return False


def own_jiffies(pid):
    """utime + stime of one process (its threads included), not its children."""
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return 0
    rest = stat[stat.rindex(")") + 2:].split()
    return int(rest[11]) + int(rest[12])


class Cpu:
    """CPU used over a window by named process trees and the machine, as % of
    one core and as % of the machine (NCPU cores)."""

    def __init__(self, trees: dict[str, int]):
        self.trees = trees
        self.t0 = time.monotonic()
        self.m0 = drv.machine_jiffies()
        self.j0 = {k: drv.tree_jiffies(p) for k, p in trees.items()}

    def result(self, client_jiffies=0):
        wall = time.monotonic() - self.t0
        m1 = drv.machine_jiffies()
        out = {"wall_s": round(wall, 2)}
        used = 0.0
        for k, p in self.trees.items():
            j = (drv.tree_jiffies(p) - self.j0[k]) / CLK
            used += j
            out[f"{k}_core_pct"] = round(100 * j / wall, 1)
        c = client_jiffies / CLK
        used += c
        out["wrk_core_pct"] = round(100 * c / wall, 1)
        busy = (m1[0] - self.m0[0]) / CLK
        out["machine_busy_pct"] = round(100 * busy / (wall * NCPU), 1)
        out["other_pct"] = round(100 * max(0.0, busy - used) / (wall * NCPU), 1)
        return out


# --------------------------------------------------------------------------- postgres stats
class PgStats:
    def __init__(self, pg: BenchPgServer, db: str):
        self.pg, self.db = pg, db

    def reset(self):
        self.pg.sql("SELECT pg_stat_statements_reset()", db=self.db)
        self.xact0 = self._xacts()

    def _xacts(self):
        out = self.pg.sql(f"SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '{self.db}'")
        return int(out.strip() or 0)

    def collect(self, requests):
        """Statements executed on this database since reset(), per request, and the top ones."""
        time.sleep(0.6)  # pg_stat_database is updated by backends at most every 500 ms
        # toplevel: statements the client sent (a round trip each, unless
        # pipelined); the others run inside the server (foreign-key checks).
        rows = self.pg.sql(
            "SELECT s.calls, s.toplevel, round(s.total_exec_time::numeric, 1), "
            "replace(replace(left(s.query, 140), E'\\n', ' '), '|', '/') FROM pg_stat_statements s "
            f"JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '{self.db}' "
            "AND s.query NOT LIKE '%pg_stat_statements%' ORDER BY s.calls DESC", db=self.db)
        parsed = []
        for line in rows.splitlines():
            if line.count("|") >= 3:
                calls, top, ms, q = line.split("|", 3)
                parsed.append((int(calls), top == "t", float(ms), q))
        sent = sum(c for c, top, _, _ in parsed if top)
        nested = sum(c for c, top, _, _ in parsed if not top)
        exec_ms = sum(ms for _, top, ms, _ in parsed if top)
        xacts = self._xacts() - self.xact0
        per = lambda x: round(x / requests, 2) if requests else None
        return {"statements_sent": sent, "statements_per_request": per(sent),
                "nested_statements_per_request": per(nested),
                "exec_ms_per_request": per(exec_ms),
                "transactions_per_request": per(xacts),
                "top": [{"calls_per_request": per(c), "toplevel": top, "exec_ms_per_request": per(ms), "query": q}
                        for c, top, ms, q in parsed[:10]]}


# --------------------------------------------------------------------------- load
def run_wrk(out: Path, url, runs_file, conns, threads, duration, metrics, step_base, addrs=""):
    env = dict(os.environ, BENCH_LUA_DIR=str(TRACKING / "lua"), RUNS_FILE=str(runs_file), WRK_THREADS=str(threads),
               STEP_BASE=str(step_base), METRICS=str(metrics), ADDRS=addrs)
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--timeout", "20s", "--latency",
           "-s", str(TRACKING / "lua" / "log_batch.lua"), url]
    r0 = os.times()
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=duration + 120)
    r1 = os.times()
    text = p.stdout.decode(errors="replace")
    out.write_text(text)
    d = drv.parse_wrk(text)
    client = (r1.children_user - r0.children_user + r1.children_system - r0.children_system) * CLK
    return d, client


def logbatch_phase(a, tag, work: Path, servers: list[Server], pg_pid, stats: PgStats | None, runs_file,
                   addrs="", step_base=0):
    url = f"http://127.0.0.1:{servers[0].port}{API}/runs/log-batch"
    run_wrk(work / f"{tag}_warm.txt", url, runs_file, a.conns, a.threads, a.warmup, a.metrics, step_base, addrs)
    if stats:
        stats.reset()
    trees = {s.name: s.pid for s in servers}
    trees["postgres"] = pg_pid
    cpu = Cpu(trees)
    d, client = run_wrk(work / f"{tag}.txt", url, runs_file, a.conns, a.threads, a.duration, a.metrics,
                        step_base + 10_000_000, addrs)
    d["cpu"] = cpu.result(client)
    d["loadavg"] = loadavg()
    if "requests" in d:
        # wrk counts non-2xx answers as requests: throughput is of the 200s.
        d["all_rps"] = d["rps"]
        d["rps"] = round((d["requests"] - d["errors"]["status"]) / (d["duration_us"] / 1e6), 1)
    if stats and "requests" in d:
        d["pg"] = stats.collect(d["requests"])
    lat = d.get("lat_us", {})
    log(f"  {tag}: {d.get('rps')} req/s, p50 {lat.get('p50', 0) / 1000:.1f} ms, p99 {lat.get('p99', 0) / 1000:.1f} ms, "
        f"errors {d.get('error_total')} {d.get('non2xx_line', '')}; cpu {d['cpu']}")
    if d.get("pg"):
        log(f"    statements/request {d['pg']['statements_per_request']}, transactions/request "
            f"{d['pg']['transactions_per_request']}")
    return d


def setup_data(a, port, work: Path, search_runs):
    out = work / "ids.json"
    t = time.perf_counter()
    subprocess.run([sys.executable, str(TRACKING / "driver.py"), "setup", "--port", str(port), "--out", str(out),
                    "--search-runs", str(search_runs), "--history-points", "0", "--logbatch-runs", str(a.conns)],
                   check=True, stdout=open(work / "setup.json", "w"), stderr=open(work / "setup.err", "w"),
                   timeout=7200)
    log(f"  setup: {search_runs} runs in {time.perf_counter() - t:.1f} s")
    return out


def search_phase(a, server: Server, ids: Path, work: Path, stats: PgStats, pg_pid):
    # The setup has just filled the tables: autovacuum analyzes them within a
    # minute or so, and without statistics the planner picks plans for empty
    # tables. Analyzed for both servers alike.
    stats.pg.sql("ANALYZE", db=stats.db)
    if stats:
        stats.reset()
    cpu = Cpu({server.name: server.pid, "postgres": pg_pid})
    p = subprocess.run([sys.executable, str(TRACKING / "driver.py"), "probe", "search", "--port", str(server.port),
                        "--ids", str(ids), "--n", str(a.search_n), "--warmup", "1", "--budget", "120",
                        "--max-results", "100"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900)
    if p.returncode != 0:
        raise RuntimeError(f"search probe failed: {p.stderr.decode()[-500:]}")
    d = json.loads(p.stdout)
    d["cpu"] = cpu.result()
    d["loadavg"] = loadavg()
    if stats:
        d["pg"] = stats.collect(d["n"] + 1)
    log(f"  search: p50 {d['p50_ms']} ms over {d['n']} (returned {d['returned']}, sorted {d['sorted_asc']}, "
        f"all<0.5 {d['all_lt_0.5']}); statements/request {d.get('pg', {}).get('statements_per_request')}")
    if not (d["returned"] == d["expected"] and d["sorted_asc"] and d["all_lt_0.5"]):
        raise RuntimeError(f"search answer is wrong: {d}")
    return d


def verify_points(port, ids: Path):
    p = subprocess.run([sys.executable, str(TRACKING / "driver.py"), "verify-logbatch", "--port", str(port),
                        "--ids", str(ids)], stdout=subprocess.PIPE, timeout=600)
    return json.loads(p.stdout)["stored_m0_points"] if p.returncode == 0 else None


# --------------------------------------------------------------------------- servers
def mlflow_server(a, work, port, uri):
    env = dict(os.environ, PYTHONPATH=a.pylib)
    cmd = [a.mlflow, "server", "--host", "127.0.0.1", "--port", str(port), "--backend-store-uri", uri,
           "--artifacts-destination", str(work / "artifacts")]
    return Server("mlflow", cmd, work, port, env)


def kiln_server(a, name, work, port, uri, pwfile, extra=()):
    cmd = [a.kiln, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(work / "data"),
           "--database-uri", uri, "--database-password-file", str(pwfile), "--access-log=false", *a.kiln_arg,
           *extra]
    return Server(name, cmd, work, port)


def peer_phase(a, name, pg, pg_pid, run_dir: Path, results):
    work = run_dir / name
    work.mkdir(parents=True)
    db = f"{name}_bench"
    pg.create_bench_database(db)
    port = int(subprocess.check_output([sys.executable, str(TRACKING / "driver.py"), "free-port"]))
    if name == "mlflow":
        srv = mlflow_server(a, work, port, pg.uri(db))
    else:
        pw = pg.write_password_file(work / "pgpass")
        extra = ["--audit=false"] if name == "kiln_noaudit" else []
        srv = kiln_server(a, "kiln", work, port, pg.password_uri(db), pw, extra)
    log(f"== {name} on database {db} (port {port})")
    srv.start()
    log(f"  healthy after {srv.startup_ms} ms")
    stats = PgStats(pg, db)
    try:
        ids = setup_data(a, port, work, a.search_runs)
        r = {"startup_ms": srv.startup_ms}
        r["search"] = search_phase(a, srv, ids, work, stats, pg_pid)
        r["logbatch"] = logbatch_phase(a, "logbatch", work, [srv], pg_pid, stats, work / "runs.txt")
        r["stored_m0_points"] = verify_points(port, ids)
    finally:
        srv.stop()
    results[name] = r


def replica_phase(a, pg, pg_pid, run_dir: Path, results):
    work = run_dir / "replicas"
    work.mkdir(parents=True)
    db = "kiln_replicas"
    pg.create_bench_database(db)
    pw = pg.write_password_file(work / "pgpass")
    servers = []
    for i in range(a.replicas):
        port = int(subprocess.check_output([sys.executable, str(TRACKING / "driver.py"), "free-port"]))
        # The audit log is on (kiln's default): the replicas share its hash
        # chain and re-chain onto its real end when another appended first.
        # --replicas-audit-off compares them without it, one replica alike.
        extra = ["--audit=false"] if a.replicas_audit_off else []
        servers.append(kiln_server(a, f"kiln{i + 1}", work / f"r{i + 1}", port, pg.password_uri(db), pw, extra))
    log(f"== {a.replicas} kiln replicas on database {db} (ports {[s.port for s in servers]}), "
        f"audit {'off' if a.replicas_audit_off else 'on'}")
    stats = PgStats(pg, db)
    out = {"single": [], "multi": []}
    try:
        servers[0].start()
        ids = setup_data(a, servers[0].port, work, 0)
        runs = work / "runs.txt"
        step = 0
        # Alternate 1 replica / N replicas, so drift in the machine's load hits both.
        for rep in range(a.repeats):
            for s in servers[1:]:
                if s.pid is not None:
                    s.stop()
            out["single"].append(logbatch_phase(a, f"single{rep}", work, servers[:1], pg_pid, stats, runs,
                                                step_base=step))
            step += 20_000_000
            for s in servers[1:]:
                s.start()
            addrs = ",".join(f"127.0.0.1:{s.port}" for s in servers)
            out["multi"].append(logbatch_phase(a, f"multi{rep}", work, servers, pg_pid, stats, runs, addrs=addrs,
                                               step_base=step))
            step += 20_000_000
        out["stored_m0_points"] = verify_points(servers[0].port, ids)
    finally:
        for s in servers:
            s.stop()
    results["replicas"] = out


# --------------------------------------------------------------------------- report
def fmt(x, nd=3):
    if x is None:
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{nd}g}"


def report(a, res, meta):
    lines = [f"# PostgreSQL backend benchmark ({meta['started']})", "", "```", *(f"{k}={v}" for k, v in meta.items()),
             "```", ""]
    m = res.get("mlflow")
    peers = [n for n in ("kiln", "kiln_noaudit") if res.get(n)]
    if m or peers:
        names = (["mlflow"] if m else []) + peers
        head = "| metric | " + " | ".join(names) + " | " + " | ".join(f"{n}/mlflow" for n in peers if m) + " |"
        lines += [head, "|---|" + "---:|" * (len(names) + (len(peers) if m else 0))]

        def row(label, get, better_high=True):
            vals = {n: get(res[n], n) for n in names}
            cells = [fmt(vals[n]) for n in names]
            if m:
                for n in peers:
                    mv, kv = vals["mlflow"], vals[n]
                    ratio = (kv / mv if better_high else mv / kv) if (mv and kv) else None
                    cells.append(f"{fmt(ratio)}x" if ratio else "")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")

        lb = lambda r: r["logbatch"]
        pgs = lambda r, ph: r[ph].get("pg", {})
        row(f"log-batch {a.metrics} metrics, c{a.conns}: req/s", lambda r, n: lb(r).get("rps"))
        row("log-batch: metric points/s", lambda r, n: lb(r).get("rps", 0) * a.metrics)
        row("log-batch p50 ms (ratio: mlflow/kiln)", lambda r, n: lb(r)["lat_us"]["p50"] / 1000, False)
        row("log-batch p99 ms (ratio: mlflow/kiln)", lambda r, n: lb(r)["lat_us"]["p99"] / 1000, False)
        row("log-batch non-2xx", lambda r, n: float(lb(r)["errors"]["status"]))
        row("log-batch: statements sent per request", lambda r, n: pgs(r, "logbatch").get("statements_per_request"), False)
        row("log-batch: statements run inside PostgreSQL per request (FK checks)",
            lambda r, n: pgs(r, "logbatch").get("nested_statements_per_request"), False)
        row("log-batch: transactions per request", lambda r, n: pgs(r, "logbatch").get("transactions_per_request"), False)
        row("log-batch: server CPU (% of one core)", lambda r, n: lb(r)["cpu"].get(f"{'mlflow' if n == 'mlflow' else 'kiln'}_core_pct"), False)
        row("log-batch: PostgreSQL CPU (% of one core)", lambda r, n: lb(r)["cpu"].get("postgres_core_pct"), False)
        row("log-batch: other processes (% of machine)", lambda r, n: lb(r)["cpu"].get("other_pct"), False)
        row("log-batch: load average (1 min) at the end", lambda r, n: lb(r).get("loadavg"), False)
        row(f"search-runs over {a.search_runs} runs, sequential p50 ms (ratio: mlflow/kiln)",
            lambda r, n: r["search"]["p50_ms"], False)
        row("search-runs: statements sent per request", lambda r, n: pgs(r, "search").get("statements_per_request"), False)
        row("search-runs: PostgreSQL execution ms per request", lambda r, n: pgs(r, "search").get("exec_ms_per_request"), False)
        row("search-runs: load average (1 min) at the end", lambda r, n: r["search"].get("loadavg"), False)
        row("start to first /health 200 (ms)", lambda r, n: r["startup_ms"], False)
        lines.append("")
        for name in names:
            r = res[name]
            lines.append(f"{name}: log-batch CPU window {r['logbatch']['cpu']}; stored m0 points "
                         f"{r['stored_m0_points']} (measured requests {r['logbatch'].get('requests')})")
            for ph in ("logbatch", "search"):
                lines.append(f"{name}: top statements per {ph} (calls, exec ms per request; * = inside the server):")
                for t in r[ph].get("pg", {}).get("top", [])[:8]:
                    lines.append(f"    {t['calls_per_request']:>7} x {t['exec_ms_per_request']:>6} ms "
                                 f"{'' if t['toplevel'] else '* '}{t['query']}")
        lines.append("")
    rp = res.get("replicas")
    if rp:
        single = statistics.median(x["rps"] for x in rp["single"])
        multi = statistics.median(x["rps"] for x in rp["multi"])
        lines += [f"## {a.replicas} replicas vs 1 (log-batch {a.metrics} metrics, wrk -t{a.threads} -c{a.conns}, "
                  f"median of {a.repeats}, audit {'off' if a.replicas_audit_off else 'on'})", "",
                  f"| replicas | req/s | p50 ms | p99 ms | errors | kiln CPU per process (% of a core) | PostgreSQL CPU | wrk CPU | machine busy | other | load avg | statements/request |",
                  "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"]  # noqa
        for label, xs in (("1", rp["single"]), (str(a.replicas), rp["multi"])):
            for x in xs:
                c = x["cpu"]
                kc = ", ".join(f"{c[key]}" for key in sorted(c) if key.startswith("kiln") and key.endswith("_core_pct"))
                lines.append(f"| {label} | {fmt(x['rps'])} | {fmt(x['lat_us']['p50'] / 1000)} | "
                             f"{fmt(x['lat_us']['p99'] / 1000)} | {x['errors']['status']} | {kc} | "
                             f"{c['postgres_core_pct']} % | {c['wrk_core_pct']} % | {c['machine_busy_pct']} % | "
                             f"{c['other_pct']} % | {x.get('loadavg')} | {x.get('pg', {}).get('statements_per_request')} |")
        lines += ["", f"ratio {a.replicas} replicas / 1 (medians): **{multi / single:.2f}x** "
                  f"({fmt(multi)} vs {fmt(single)} req/s); stored m0 points {rp['stored_m0_points']}", ""]
    for n in peers if m else []:
        k = res[n]
        lines.append(f"{n}: log-batch {n}/mlflow **{k['logbatch']['rps'] / m['logbatch']['rps']:.1f}x** (target >= 10x); "
                     f"search p50 mlflow/{n} **{m['search']['p50_ms'] / k['search']['p50_ms']:.0f}x** (target >= 20x)")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--mlflow", default=str(ROOT / ".venv" / "bin" / "mlflow"))
    ap.add_argument("--pylib", required=True, help="directory holding psycopg2 for mlflow (PYTHONPATH)")
    ap.add_argument("--only", default="mlflow,kiln,kiln_noaudit,replicas")
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--conns", type=int, default=36)
    ap.add_argument("--threads", type=int, default=3)
    ap.add_argument("--metrics", type=int, default=100)
    ap.add_argument("--search-runs", type=int, default=10000)
    ap.add_argument("--search-n", type=int, default=50)
    ap.add_argument("--replicas", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--replicas-audit-off", action="store_true", help="replica phase with --audit=false")
    ap.add_argument("--durable", action="store_true", help="fsync/synchronous_commit on")
    ap.add_argument("--kiln-arg", action="append", default=[], help="extra kiln serve flag (repeatable)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    run_dir = Path(a.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    meta = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "cmdline": " ".join(sys.argv[1:]), "nproc": NCPU,
            "kiln": a.kiln, "kiln_sha256": subprocess.check_output(["sha256sum", a.kiln]).decode()[:12],
            "repo_head": subprocess.check_output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]).decode().strip(),
            "loadavg_start": open("/proc/loadavg").read().strip()}
    pg = BenchPgServer(root=run_dir, durable=a.durable).start()
    meta["postgres"] = pg.sql("SHOW server_version").strip() + f" (fsync {'on' if a.durable else 'off'})"
    log(f"postgres {meta['postgres']} on 127.0.0.1:{pg.port}, results in {run_dir}")
    results = {}
    try:
        for phase in a.only.split(","):
            if phase in ("mlflow", "kiln", "kiln_noaudit"):
                peer_phase(a, phase, pg, pg.proc.pid, run_dir, results)
            elif phase == "replicas":
                replica_phase(a, pg, pg.proc.pid, run_dir, results)
            else:
                raise SystemExit(f"unknown phase {phase}")
            (run_dir / "results.json").write_text(json.dumps(results, indent=1))
    finally:
        pg.stop()
    meta["loadavg_end"] = open("/proc/loadavg").read().strip()
    text = report(a, results, meta)
    (run_dir / "results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
