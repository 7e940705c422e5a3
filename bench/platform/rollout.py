#!/usr/bin/env python3
"""Rollout and rollback latency under load (issue 11's targets: rollback takes effect in < 10 ms;
a rollout step adds no latency spike above 2x the steady state's p99). Run by
`bench/platform/run.sh rollout` against a kiln whose endpoint routes to version 1 of the model,
with version 2 registered (project venv: standard library only).

1. Steady state: loadgen (bench/serving/loadgen) open loop at --rate req/s over --connections
   connections, the fixed single-driver body, WARMUP s unrecorded then WINDOW s measured.
2. Rollouts, --rollouts times, each right after its own steady window (1.): the same loadgen run;
   at the start of its measured window, PATCH the endpoint with {"strategy": "linear",
   "step_percent": 25, "interval_s": 1} (4 steps, ~WINDOW s); the window's p99 against the steady
   window just before, every non-200 counted. Versions alternate: the first goes to version 2 (not
   loaded yet: the PATCH loads it, on the same 2 cores, before any traffic moves), the others to
   a version still loaded as the previous revision's model (the steps alone, what the target is
   about; judged on the median ratio, every ratio printed).
3. Rollback, --rollbacks times, under the same background load for the whole phase: a probe
   thread predicts back to back on one keep-alive connection and records (sent, received,
   model_version) of every answer; the main thread POSTs :rollback and takes the time from just
   before sending it to the first probe answer from the previous revision's version (requests sent
   before the switch may still answer from the old one: that is the effect's delay, counted).
   Also the :rollback call's own round trip. Then 1 s pause, next rollback (back and forth).

Prints a markdown summary; writes rollout.json (all figures) and the loadgen outputs into --out.
"""
import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time

HOST = "127.0.0.1"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Conn:
    def __init__(self, port, timeout=30.0):
        self.port, self.timeout, self.c = port, timeout, None

    def call(self, method, path, body=None):
        for attempt in (0, 1):
            if self.c is None:
                self.c = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            try:
                self.c.request(method, path, body=None if body is None else json.dumps(body) if not isinstance(body, (str, bytes)) else body,
                               headers={"Content-Type": "application/json", "X-Kiln-Actor": "bench-rollout"})
                r = self.c.getresponse()
                return r.status, r.read()
            except (OSError, http.client.HTTPException):
                self.c.close()
                self.c = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def view(port, endpoint):
    st, b = Conn(port).call("GET", f"/api/v1/endpoints/{endpoint}")
    if st != 200:
        raise RuntimeError(f"GET endpoint: {st} {b[:300]!r}")
    return json.loads(b)


def wait_settled(port, endpoint, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = view(port, endpoint)
        if not v["status"].get("pending") and not v["status"].get("rollout"):
            return v
        time.sleep(0.05)
    raise RuntimeError(f"endpoint still pending after {timeout} s")


def revision_version(v, rev):
    for r in v.get("revisions", []):
        if r.get("revision") == rev:
            routes = r.get("routes") or []
            return str(routes[0].get("version")) if routes else None
    return None


def loadgen(a, name, warmup, window):
    cmd = [a.loadgen, "--url", f"http://{HOST}:{a.port}/api/v1/endpoints/{a.endpoint}/predict",
           "--body", os.path.join(a.data, "single.json"), "--connections", str(a.connections), "--threads", "1",
           "--duration", str(window), "--warmup", str(warmup), "--rate", str(a.rate), "--timeout", "10"]
    out = open(os.path.join(a.out, f"{name}.txt"), "w")
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT), os.path.join(a.out, f"{name}.txt")


def finish(p, path, timeout):
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    text = open(path).read()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{") and '"tool":"loadgen"' in line.replace(" ", ""):
            return json.loads(line)
    return {"error": "no loadgen JSON", "tail": text[-400:]}


def summary(d):
    if "lat_us" not in d:
        return d
    l = d["lat_us"]
    return {"rps": d.get("rps"), "p50_ms": l["p50"] / 1e3, "p99_ms": l["p99"] / 1e3, "p999_ms": l["p999"] / 1e3,
            "max_ms": l["max"] / 1e3, "errors": d.get("error_total"), "non_200": d.get("non_200"),
            "unsent": d.get("unsent")}


def one_rollout(a, name, spec):
    """loadgen for WARMUP + WINDOW s; the PATCH goes out at the start of the measured window."""
    res = {}
    p, path = loadgen(a, f"lg_{name}", a.warmup, a.window)
    time.sleep(a.warmup)
    t0 = time.monotonic()
    st, b = Conn(a.port).call("PATCH", f"/api/v1/endpoints/{a.endpoint}", spec)
    res["patch_ms"] = round((time.monotonic() - t0) * 1e3, 1)
    res["patch_status"] = st
    if st != 200:
        res["patch_error"] = b[:500].decode(errors="replace")
    else:
        try:
            wait_settled(a.port, a.endpoint, timeout=120)
            res["rollout_s"] = round(time.monotonic() - t0, 3)
        except RuntimeError as e:
            res["rollout_error"] = str(e)
    res["load"] = summary(finish(p, path, a.warmup + a.window + 60))
    log(f"{name}: PATCH {res['patch_ms']} ms, {res.get('rollout_s')} s to 100 %: {res['load']}")
    return res


def steady_and_rollout(a, v1, v2, spec):
    """Pairs of (steady window, rollout window), versions alternating: the first rollout goes to
    v2, which no revision has loaded yet (the PATCH loads it before any traffic moves); the later
    ones go to a version still loaded as the previous revision's (the steps alone). Each rollout
    is compared with the steady window just before it, so a change in the shared machine's load
    between pairs does not count as a spike."""
    pairs = []
    target = v2
    for i in range(a.rollouts):
        p, path = loadgen(a, f"lg_steady{i + 1}", a.warmup, a.window)
        steady = summary(finish(p, path, a.warmup + a.window + 30))
        log(f"steady {i + 1}: {steady}")
        r = one_rollout(a, f"rollout{i + 1}", spec(target))
        r.update(steady=steady, to_version=target, loaded_before=i > 0)
        if "p99_ms" in steady and "p99_ms" in (r.get("load") or {}):
            r["p99_over_steady"] = r["load"]["p99_ms"] / steady["p99_ms"]
        pairs.append(r)
        if r.get("patch_status") != 200 or "rollout_error" in r:
            break
        target = v1 if target == v2 else v2
    return {"rollouts": pairs}


def steady_controls(a):
    """Pairs of steady windows with nothing changed between them: the ratio of the second's p99 to
    the first's is what a window-to-window comparison gives on this machine without any rollout,
    the yardstick for the rollout ratios above."""
    ratios = []
    for i in range(a.controls):
        first = summary(finish(*loadgen(a, f"lg_control{i + 1}a", a.warmup, a.window), a.warmup + a.window + 30))
        second = summary(finish(*loadgen(a, f"lg_control{i + 1}b", a.warmup, a.window), a.warmup + a.window + 30))
        log(f"control {i + 1}: {first} -> {second}")
        r = {"first": first, "second": second}
        if "p99_ms" in first and "p99_ms" in second:
            r["p99_ratio"] = second["p99_ms"] / first["p99_ms"]
        ratios.append(r)
    return {"controls": ratios}


class Probe(threading.Thread):
    def __init__(self, a):
        super().__init__(daemon=True)
        self.a, self.samples, self.errors, self.stop_flag = a, [], 0, threading.Event()
        self.body = open(os.path.join(a.data, "single.json")).read()

    def run(self):
        c = Conn(self.a.port, timeout=10)
        path = f"/api/v1/endpoints/{self.a.endpoint}/predict"
        while not self.stop_flag.is_set() and len(self.samples) < 5_000_000:
            t0 = time.perf_counter()
            try:
                st, b = c.call("POST", path, self.body)
            except (OSError, http.client.HTTPException, RuntimeError):
                self.errors += 1
                continue
            t1 = time.perf_counter()
            if st != 200:
                self.errors += 1
                continue
            self.samples.append((t0, t1, str(json.loads(b).get("model_version"))))


def rollbacks(a):
    res = {"rollbacks": []}
    window = a.rollbacks * 1.5 + 5
    p, path = loadgen(a, "lg_rollback", 1, window)
    time.sleep(1.5)
    probe = Probe(a)
    probe.start()
    time.sleep(0.5)
    for i in range(a.rollbacks):
        v = wait_settled(a.port, a.endpoint)
        prev_rev = v["status"].get("previous_rolled_out_revision")
        expect = revision_version(v, prev_rev)
        cur = revision_version(v, v["status"].get("rolled_out_revision"))
        n0 = len(probe.samples)
        t0 = time.perf_counter()
        st, b = Conn(a.port).call("POST", f"/api/v1/endpoints/{a.endpoint}:rollback", {"reason": "bench"})
        t1 = time.perf_counter()
        entry = {"from_version": cur, "to_version": expect, "status": st, "call_ms": round((t1 - t0) * 1e3, 3)}
        if st != 200:
            entry["error"] = b[:400].decode(errors="replace")
            res["rollbacks"].append(entry)
            log(f"rollback {i + 1}: {entry}")
            break
        # the first probe answer from the expected version after t0 (bounded wait: 2 s)
        deadline = time.perf_counter() + 2.0
        first = None
        while first is None and time.perf_counter() < deadline:
            for s in probe.samples[n0:]:
                if s[1] >= t0 and s[2] == expect:
                    first = s
                    break
            if first is None:
                time.sleep(0.005)
        if first is None:
            entry["effect_ms"] = None
            entry["error"] = f"no answer from version {expect} within 2 s"
        else:
            entry["effect_ms"] = round((first[1] - t0) * 1e3, 3)
            after = [s for s in probe.samples[n0:] if s[0] >= first[1]]
            entry["old_version_after_switch"] = sum(1 for s in after if s[2] != expect)
        res["rollbacks"].append(entry)
        log(f"rollback {i + 1}: {entry}")
        time.sleep(1.0)
    probe.stop_flag.set()
    probe.join(timeout=15)
    res["probe_requests"] = len(probe.samples)
    res["probe_errors"] = probe.errors
    lat = sorted((s[1] - s[0]) * 1e3 for s in probe.samples)
    if lat:
        res["probe_p50_ms"] = lat[len(lat) // 2]
        res["probe_p99_ms"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    res["background"] = summary(finish(p, path, window + 60))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--endpoint", default="driver")
    ap.add_argument("--data", required=True)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--rate", type=float, default=2000)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--window", type=float, default=5)
    ap.add_argument("--rollbacks", type=int, default=5)
    ap.add_argument("--rollouts", type=int, default=4, help="(steady, rollout) pairs; the first loads its version")
    ap.add_argument("--controls", type=int, default=0,
                    help="(steady, steady) pairs with no change between them: the window-to-window noise")
    ap.add_argument("--pid", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    reg = json.load(open(os.path.join(a.out, "register.json")))
    meta = json.load(open(os.path.join(a.data, "expected.json")))
    v1, v2 = str(reg["version"]), str(reg["version_2"])
    def spec(version):
        return {"routes": [{"model": reg["model"], "version": version, "percent": 100}],
                "features": {"project": "pbench", "features": [f"driver_hourly_stats:{n}" for n in meta["feature_names"]]},
                "rollout": {"strategy": "linear", "step_percent": 25, "interval_s": 1}}
    res = {"rate": a.rate, "connections": a.connections, "window_s": a.window, "versions": [v1, v2]}
    res.update(steady_and_rollout(a, v1, v2, spec))
    res.update(steady_controls(a))
    last = (res["rollouts"] or [{}])[-1]
    if last.get("patch_status") == 200 and "rollout_error" not in last:
        res.update(rollbacks(a))
    json.dump(res, open(os.path.join(a.out, "rollout.json"), "w"), indent=1)

    def f(x):
        return "" if x is None else f"{x:.3f}"
    print(f"# Rollout and rollback under load ({a.rate:g} req/s open loop, {a.connections} connections, loadgen)\n")
    print("| phase | req/s | p50 ms | p99 ms | p99.9 ms | max ms | errors / non-200 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = []
    for i, r in enumerate(res["rollouts"], 1):
        rows.append((f"{i}a. steady state ({a.window:g} s)", r.get("steady")))
        how = "still loaded" if r["loaded_before"] else "loaded by the PATCH"
        rows.append((f"{i}b. linear rollout 25 %/s to v{r['to_version']} ({how}; PATCH {r.get('patch_ms')} ms, "
                     f"{r.get('rollout_s')} s to 100 %; {a.window:g} s window)", r.get("load")))
    rows.append(("background load during the rollbacks", res.get("background")))
    for label, d in rows:
        if isinstance(d, dict) and "p99_ms" in d:
            print(f"| {label} | {d['rps']} | {f(d['p50_ms'])} | {f(d['p99_ms'])} | {f(d['p999_ms'])} | {f(d['max_ms'])} | {d['errors']} / {d['non_200']} |")
    print()
    rb = res.get("rollbacks") or []
    if rb:
        print("| rollback | from → to | :rollback round trip ms | first answer from the previous version ms | old-version answers after it |")
        print("|---|---|---:|---:|---:|")
        for i, e in enumerate(rb, 1):
            print(f"| {i} | v{e['from_version']} → v{e['to_version']} | {e['call_ms']} | {e.get('effect_ms')} | {e.get('old_version_after_switch', '')} |")
        print(f"\nprobe: {res.get('probe_requests')} requests, {res.get('probe_errors')} errors, p50 {f(res.get('probe_p50_ms'))} ms, p99 {f(res.get('probe_p99_ms'))} ms\n")
    print("| target | measured | met |\n|---|---|---|")
    eff = [e["effect_ms"] for e in rb if e.get("effect_ms") is not None]
    if eff:
        print(f"| rollback takes effect in < 10 ms | max {max(eff):.3f} ms over {len(eff)} (median {sorted(eff)[len(eff) // 2]:.3f}) | {'yes' if max(eff) < 10 and len(eff) == a.rollbacks else '**no**'} |")
    warm = [r["p99_over_steady"] for r in res["rollouts"] if r["loaded_before"] and "p99_over_steady" in r]
    cold = [r["p99_over_steady"] for r in res["rollouts"] if not r["loaded_before"] and "p99_over_steady" in r]
    if warm:
        med = sorted(warm)[len(warm) // 2]
        print(f"| rollout steps (version still loaded): p99 ≤ 2× the steady p99 just before | median {med:.2f}× over {len(warm)} "
              f"(each: {', '.join(f'{q:.2f}' for q in warm)}) | {'yes' if med <= 2 else '**no**'} |")
    ctl = [r["p99_ratio"] for r in res.get("controls", []) if "p99_ratio" in r]
    if ctl:
        cmed = sorted(ctl)[len(ctl) // 2]
        print(f"| (yardstick, not a target) steady window after a steady window, nothing changed: p99 ratio | median "
              f"{cmed:.2f}× over {len(ctl)}, {sum(q > 2 for q in ctl)} above 2× (each: {', '.join(f'{q:.2f}' for q in ctl)}) | |")
    if cold:
        print(f"| rollout incl. loading the new version: p99 / steady p99 | {cold[0]:.2f}× | {'yes' if cold[0] <= 2 else '**no**'} |")
    phases = [res.get("background")] + [r.get("steady") for r in res["rollouts"]] + [r.get("load") for r in res["rollouts"]]
    errs = sum(((d or {}).get("errors") or 0) + ((d or {}).get("non_200") or 0) for d in phases) + (res.get("probe_errors") or 0)
    print(f"| 0 failed requests through rollout and rollbacks | {errs} | {'yes' if errs == 0 else '**no**'} |")


if __name__ == "__main__":
    main()
