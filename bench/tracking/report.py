#!/usr/bin/env python3
"""Render the markdown results table from a bench/.work/run-<stamp>/ directory."""
import json
import os
import sys

SERVERS = ["mlflow", "fasttrackml", "kiln", "nginx"]
RATIO_BASES = ["mlflow", "fasttrackml", "nginx"]


def load(run, server, name):
    p = os.path.join(run, server, name)
    if not os.path.exists(p):
        return None
    try:
        with open(p) as f:
            return json.load(f)
    except ValueError:
        return None


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        if v >= 100:
            s = f"{v:,.0f}"
        elif v >= 10:
            s = f"{v:.1f}"
        elif v >= 1:
            s = f"{v:.2f}"
        else:
            s = f"{v:.3f}"
    else:
        s = f"{v:,}"
    return s + unit


def wrk_get(d, field):
    """Value + error note from a wrk-json result."""
    if d and "skipped" in d:
        return None, "skipped: " + d["skipped"]
    if not d or "requests" not in d:
        return None, None
    if d["requests"] == 0:
        return (0.0 if field == "rps" else None), f"no request completed within the {d['duration_us'] / 1e6:.0f} s run"
    note = None
    errs = d.get("errors", {})
    bad = {k: v for k, v in errs.items() if v}
    if bad:
        note = ", ".join(f"{k} {v}" for k, v in bad.items())
        note = f"errors: {note} of {d['requests']}"
    if field == "rps":
        return d["rps"], note
    return d["lat_us"][field] / 1000.0, note


def main():
    run = sys.argv[1]
    present = [s for s in SERVERS if os.path.isdir(os.path.join(run, s))]
    meta = {}
    mp = os.path.join(run, "meta.txt")
    if os.path.exists(mp):
        for line in open(mp):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v

    rows = []   # (label, better, {server: value}, {server: note})
    notes = []

    def add_wrk(label, fname, field, better, servers=None):
        vals, nts = {}, {}
        for s in present:
            if servers and s not in servers:
                continue
            v, n = wrk_get(load(run, s, fname + ".json"), field)
            vals[s] = v
            if n:
                nts[s] = n
        rows.append((label, better, vals, nts))

    def add_simple(label, fname, key, better, scale=1.0, servers=None):
        vals, nts = {}, {}
        for s in present:
            if servers and s not in servers:
                continue
            d = load(run, s, fname)
            v = d.get(key) if isinstance(d, dict) else None
            if isinstance(d, dict) and "error" in d:
                nts[s] = "error: " + str(d["error"])[:200]
            vals[s] = (v * scale if scale != 1.0 else v) if isinstance(v, (int, float)) else None
        rows.append((label, better, vals, nts))

    apis = [s for s in present if s != "nginx"]
    n_runs = meta.get("search_runs", "10000")
    n_pts = meta.get("history_points", "100000")
    mr = meta.get("max_results", "100")

    add_wrk("log-batch 10 metrics, c32: req/s", "logbatch", "rps", "higher", apis)
    add_wrk("log-batch 10 metrics, c32: p50 ms", "logbatch", "p50", "lower", apis)
    add_wrk("log-batch 10 metrics, c32: p99 ms", "logbatch", "p99", "lower", apis)
    add_wrk("create-run, c32: req/s", "createrun", "rps", "higher", apis)
    add_wrk("create-run, c32: p50 ms", "createrun", "p50", "lower", apis)
    add_wrk("create-run, c32: p99 ms", "createrun", "p99", "lower", apis)
    add_simple(f"search-runs ({n_runs} runs, filter+order, max_results {mr}): sequential p50 ms",
               "search.json", "p50_ms", "lower", servers=apis)
    add_wrk("search-runs, c4: req/s", "search_wrk", "rps", "higher", apis)
    add_simple(f"get-history ({n_pts} points, full fetch): sequential p50 ms",
               "history.json", "p50_ms", "lower", servers=apis)
    add_wrk("/health, c50: req/s", "health", "rps", "higher")
    add_wrk("/health, c50: p50 ms", "health", "p50", "lower")
    add_wrk("/health, c50: p99 ms", "health", "p99", "lower")
    add_simple("idle RSS, fresh server, process tree (MiB)", "rss_idle.json", "rss_mib", "lower")
    add_simple("processes in tree", "rss_idle.json", "processes", None)
    add_simple("RSS after data setup (MiB)", "rss_loaded.json", "rss_mib", "lower", servers=apis)
    add_simple("start to first /health 200, fresh data dir (ms)", "startup.json", "startup_ms", "lower")
    add_simple("restart to first /health 200, populated data dir (ms)", "restart.json", "startup_ms",
               "lower", servers=apis)
    add_simple(f"setup: {n_runs} runs + metric + param, 8 client threads (s)", "setup.json",
               "search_setup_s", "lower", servers=apis)
    add_simple(f"setup: {n_pts} points in batches of 1000, sequential (s)", "setup.json",
               "history_setup_s", "lower", servers=apis)

    # correctness / sanity notes
    for s in apis:
        f = load(run, s, "failed.json")
        if f:
            notes.append(f"**{s}**: failed at {f.get('failed')}: {f.get('error', '')}")
        sr = load(run, s, "search.json")
        if sr and "returned" in sr:
            ok = sr["returned"] == sr["expected"] and sr["sorted_asc"] and sr["all_lt_0.5"]
            if not ok:
                notes.append(f"**{s}** search-runs result check failed: {json.dumps(sr)}")
        hr = load(run, s, "history.json")
        if hr and "points" in hr:
            if hr["points"] != hr["expected"] or hr["distinct_steps"] != hr["expected"]:
                notes.append(f"**{s}** get-history returned {hr['points']} points "
                             f"({hr['distinct_steps']} distinct steps), expected {hr['expected']}")
            if hr.get("pages", 1) > 1:
                notes.append(f"{s}: get-history was paged ({hr['pages']} pages per full fetch)")
        rs = load(run, s, "restart_search.json")
        rh = load(run, s, "restart_history.json")
        if rs is not None and sr and rs.get("returned") != sr.get("returned"):
            notes.append(f"**{s}** after restart search-runs returned {rs.get('returned')} (before: {sr.get('returned')})")
        if rh is not None and hr and rh.get("points") != hr.get("points"):
            notes.append(f"**{s}** after restart get-history returned {rh.get('points')} points (before: {hr.get('points')})")
        lv = load(run, s, "logbatch_verify.json")
        lb, lbw = load(run, s, "logbatch.json"), load(run, s, "logbatch_warm.json")
        if lv and lb and lbw and "stored_m0_points" in lv:
            sent = lb["requests"] + lbw["requests"]
            if sent and abs(lv["stored_m0_points"] - sent) > max(64, 0.01 * sent):
                notes.append(f"**{s}** log-batch: {lv['stored_m0_points']} m0 points stored vs "
                             f"{sent} requests completed (warm-up + measured)")
    # background CPU from processes outside the benchmark, per measurement
    for s in present:
        noisy = []
        for fname in ("health", "search", "search_wrk", "history", "logbatch", "createrun"):
            d = load(run, s, fname + ".json")
            cpu = d.get("cpu") if isinstance(d, dict) else None
            if cpu and cpu.get("other_pct") is not None and cpu["other_pct"] >= 10:
                noisy.append(f"{fname} {cpu['other_pct']}%")
        if noisy:
            notes.append(f"{s}: CPU used by processes outside the benchmark (share of all cores) "
                         f"during: " + ", ".join(noisy))
        q = load(run, s, "quiet.json")
        if q and not q.get("quiet"):
            notes.append(f"{s}: machine was not idle before start (busy % of last seconds: "
                         f"{q.get('last_busy_pct')})")
    for label, _, vals, nts in rows:
        for s, n in nts.items():
            notes.append(f"{s} / {label}: {n}")

    cols = [s for s in SERVERS if s in present]
    ratio_cols = [b for b in RATIO_BASES if "kiln" in present and b in present]
    out = []
    out.append(f"# Tracking benchmark {os.path.basename(run)}")
    out.append("")
    for k in ("date_utc", "cpu", "nproc", "mem", "os", "kernel", "mlflow", "fasttrackml",
              "kiln_commit", "kiln_binary", "nginx", "wrk", "duration_s", "cmdline"):
        if k in meta:
            label = {"kiln_commit": "repo HEAD at start"}.get(k, k)
            out.append(f"- {label}: {meta[k]}")
    out.append("")
    hdr = ["metric"] + cols + [f"kiln/{b}" for b in ratio_cols]
    out.append("| " + " | ".join(hdr) + " |")
    out.append("|" + "|".join(["---"] + ["---:"] * (len(hdr) - 1)) + "|")
    for label, better, vals, nts in rows:
        if all(v is None for v in vals.values()) and not nts:
            continue
        cells = [label + (f" ({better} is better)" if better and False else "")]
        for s in cols:
            if s not in vals:
                cells.append("")
                continue
            c = fmt(vals[s])
            if s in nts:
                c += " *"
            cells.append(c)
        for b in ratio_cols:
            k, o = vals.get("kiln"), vals.get(b)
            if better and k is not None and o not in (None, 0) and k != 0 and b in vals:
                cells.append(f"{k / o:.3g}")
            else:
                cells.append("")
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append("Ratios are kiln/other: above 1 is better for req/s, below 1 is better for ms, MiB, s.")
    out.append("`*` marks a cell with a note below.")
    if notes:
        out.append("")
        out.append("Notes:")
        for n in notes:
            out.append(f"- {n}")
    bg = []
    for s in present:
        p = os.path.join(run, s, "background.txt")
        if os.path.exists(p):
            bg.append(f"{s}: {open(p).readline().strip()}")
    if bg:
        out.append("")
        out.append("Load average (1/5/15 min, runnable/total, last pid) just before each server started: ")
        for b in bg:
            out.append(f"- {b}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
