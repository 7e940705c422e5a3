#!/usr/bin/env python3
"""Render the markdown results of a bench/.work/registry-<stamp>/ directory."""
import json
import os
import sys

CONFIGS = ["mlflow", "kiln-small", "kiln-full"]
OPS = [
    ("alias", "get-model-version-by-alias"),
    ("version", "get-model-version"),
    ("search_models", "search-registered-models name LIKE"),
    ("search_versions", "search-model-versions name ="),
]


def load(run, cfg, name):
    p = os.path.join(run, cfg, name)
    if not os.path.exists(p):
        return None
    try:
        with open(p) as f:
            return json.load(f)
    except ValueError:
        return None


def read_text(run, cfg, name):
    p = os.path.join(run, cfg, name)
    return open(p).read().strip() if os.path.exists(p) else None


def fmt(v):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        if v >= 100:
            return f"{v:,.0f}"
        if v >= 10:
            return f"{v:.1f}"
        if v >= 1:
            return f"{v:.2f}"
        return f"{v:.3f}"
    return f"{v:,}"


def wrk_get(d, field):
    if d and "skipped" in d:
        return None, "skipped: " + d["skipped"]
    if not d or "requests" not in d:
        return None, None
    if d["requests"] == 0:
        return (0.0 if field == "rps" else None), f"no request completed in {d['duration_us'] / 1e6:.0f} s"
    note = None
    bad = {k: v for k, v in d.get("errors", {}).items() if v}
    if bad:
        note = "errors: " + ", ".join(f"{k} {v}" for k, v in bad.items()) + f" of {d['requests']}"
    if field == "rps":
        return d["rps"], note
    if field == "bytes":
        return d["bytes"] // d["requests"], note
    return d["lat_us"][field] / 1000.0, note


def main():
    run = sys.argv[1]
    present = [c for c in CONFIGS if os.path.isdir(os.path.join(run, c))]
    meta = {}
    mp = os.path.join(run, "meta.txt")
    if os.path.exists(mp):
        for line in open(mp):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    conns = meta.get("conns", "32")
    cfg = {c: (load(run, c, "config.json") or {}) for c in present}

    def col_name(c):
        d = cfg[c]
        srv = d.get("server", c)
        return f"{srv} ({d.get('models', '?'):,} x {d.get('versions', '?')})" if "models" in d else srv

    # the ratio pair: kiln-small vs mlflow (same population)
    pair = "kiln-small" in present and "mlflow" in present
    rows, notes = [], []

    def add_wrk(label, fname, field, better):
        vals, nts = {}, {}
        for c in present:
            v, n = wrk_get(load(run, c, fname + ".json"), field)
            vals[c] = v
            if n:
                nts[c] = n
        rows.append((label, better, vals, nts))

    def add_simple(label, fname, key, better, scale=None):
        vals, nts = {}, {}
        for c in present:
            if fname.endswith(".txt"):
                t = read_text(run, c, fname)
                v = (int(t) if t.isdigit() else float(t)) if t and t.replace(".", "", 1).isdigit() else None
            else:
                d = load(run, c, fname)
                v = d.get(key) if isinstance(d, dict) else None
            if isinstance(v, (int, float)) and scale:
                v = v * scale
            vals[c] = (v if isinstance(v, int) else float(v)) if isinstance(v, (int, float)) else None
        rows.append((label, better, vals, nts))

    for op, title in OPS:
        add_wrk(f"{title}, c1: p50 ms", f"{op}_c1", "p50", "lower")
        add_wrk(f"{title}, c1: p99 ms", f"{op}_c1", "p99", "lower")
        add_wrk(f"{title}, c1: req/s", f"{op}_c1", "rps", "higher")
        if op == "alias":
            add_wrk(f"{title}, c1, Connection: close: p50 ms", f"{op}_c1_close", "p50", "lower")
            add_wrk(f"{title}, c1, Connection: close: req/s", f"{op}_c1_close", "rps", "higher")
        add_wrk(f"{title}, c{conns}: p50 ms", f"{op}_c{conns}", "p50", "lower")
        add_wrk(f"{title}, c{conns}: p99 ms", f"{op}_c{conns}", "p99", "lower")
        add_wrk(f"{title}, c{conns}: req/s", f"{op}_c{conns}", "rps", "higher")
        add_wrk(f"{title}: bytes per response (wrk, incl. headers)", f"{op}_c1", "bytes", None)
    add_simple("populate: wall time (s)", "populate.json", "populate_s", "lower")
    add_simple("populate: requests/s (create model + versions + alias; Python client)", "populate.json",
               "populate_req_per_s", "higher")
    add_simple("RSS after populate, process tree (MiB)", "rss_loaded.json", "rss_mib", "lower")
    add_simple("processes in tree", "rss_loaded.json", "processes", None)
    add_simple("start to first /health 200, fresh data dir (ms)", "startup.json", "startup_ms", "lower")
    add_simple("data dir size after the run (MiB)", "disk_kib.txt", None, "lower", scale=1 / 1024)
    add_simple("  of which artifact store (MiB)", "disk_artifacts_kib.txt", None, "lower", scale=1 / 1024)
    add_simple("  files in the artifact store", "artifact_files.txt", None, None)

    # ------------------------------------------------------------------ notes
    for c in present:
        f = load(run, c, "failed.json")
        if f:
            notes.append(f"**{c}** failed at {f.get('failed')}: {f.get('error', '')}")
        ck = load(run, c, "check.json")
        if ck is not None:
            if "error" in ck:
                notes.append(f"**{c}** result check errored: {ck['error']}")
            else:
                for k, v in ck.items():
                    if isinstance(v, dict) and v.get("ok") is False:
                        notes.append(f"**{c}** result check `{k}` failed: {json.dumps(v)[:500]}")
        q = load(run, c, "quiet.json")
        if q and not q.get("quiet"):
            notes.append(f"{c}: machine was not idle before start (busy % of last seconds: "
                         f"{q.get('last_busy_pct')})")
        noisy = []
        for op, _ in OPS:
            for suffix in ("c1", "c1_close", f"c{conns}"):
                d = load(run, c, f"{op}_{suffix}.json")
                cpu = d.get("cpu") if isinstance(d, dict) else None
                if cpu and cpu.get("other_pct") is not None and cpu["other_pct"] >= 10:
                    noisy.append(f"{op}_{suffix} {cpu['other_pct']}%")
        if noisy:
            notes.append(f"{c}: CPU used by processes outside the benchmark (share of all cores) "
                         f"during: " + ", ".join(noisy))
    # error behaviour vs mlflow
    ref = load(run, "mlflow", "check.json") if "mlflow" in present else None
    for c in present:
        if c == "mlflow" or not ref:
            continue
        ck = load(run, c, "check.json")
        if not ck or "error" in ck:
            continue
        for k in ("alias_missing", "model_missing"):
            a, b = ck.get(k, {}), ref.get(k, {})
            if (a.get("status"), a.get("error_code")) != (b.get("status"), b.get("error_code")):
                notes.append(f"{c} `{k}` answers {a.get('status')} {a.get('error_code')}, "
                             f"mlflow {b.get('status')} {b.get('error_code')}")
    for label, _, vals, nts in rows:
        for c, n in nts.items():
            notes.append(f"{c} / {label}: {n}")

    # ------------------------------------------------------------------ table
    out = [f"# Registry benchmark {os.path.basename(run)}", ""]
    for k in ("date_utc", "cpu", "nproc", "mem", "os", "kernel", "mlflow",
              "mlflow_results_reused_from", "kiln_commit",
              "kiln_binary", "wrk", "duration_s", "warmup_s", "conns", "names", "like_term",
              "max_results", "pop_threads", "cmdline"):
        if k in meta:
            out.append(f"- {({'kiln_commit': 'repo HEAD at start'}).get(k, k)}: {meta[k]}")
    wall = None
    wp = os.path.join(run, "wall_s.txt")
    if os.path.exists(wp):
        wall = open(wp).read().strip()
        out.append(f"- total wall time: {wall} s")
    out.append("")
    hdr = ["metric"] + [col_name(c) for c in present]
    if pair:
        hdr.append("kiln/mlflow (same population)")
    out.append("| " + " | ".join(hdr) + " |")
    out.append("|" + "|".join(["---"] + ["---:"] * (len(hdr) - 1)) + "|")
    for label, better, vals, nts in rows:
        if all(v is None for v in vals.values()) and not nts:
            continue
        cells = [label]
        for c in present:
            cells.append(fmt(vals.get(c)) + (" *" if c in nts else ""))
        if pair:
            k, m = vals.get("kiln-small"), vals.get("mlflow")
            r = k / m if better and k and m else None
            cells.append("" if r is None else (f"{r:,.0f}" if r >= 1000 else f"{r:.3g}"))
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append("c1 = one connection (wrk -t1 -c1), c%s = wrk -t2 -c%s; each measured phase after a "
               "warm-up at the same concurrency. Ratios are kiln/mlflow at the same population: "
               "above 1 is better for req/s, below 1 is better for ms, MiB, s. `*` marks a cell "
               "with a note." % (conns, conns))

    # ------------------------------------------------------------------ targets
    def v(c, fname, field):
        return wrk_get(load(run, c, fname + ".json"), field)[0] if c in present else None

    tg = []
    if pair:
        for fname, what in (("alias_c1", "c1, keep-alive"), ("alias_c1_close", "c1, Connection: close"),
                            (f"alias_c{conns}", f"c{conns}")):
            k, m = v("kiln-small", fname, "p50"), v("mlflow", fname, "p50")
            if k and m:
                x = m / k
                tg.append(f"| get-model-version-by-alias p50 >= 20x faster than mlflow ({what}) | "
                          f"{fmt(k)} ms vs {fmt(m)} ms = **{x:,.0f}x** | {'yes' if x >= 20 else '**no**'} |")
    full = "kiln-full" if "kiln-full" in present else ("kiln-small" if "kiln-small" in present else None)
    if full:
        k = v(full, "search_models_c1", "p50")
        n = cfg[full].get("models")
        if k is not None:
            ok = k < 20 and (n or 0) >= 10000
            tg.append(f"| search-registered-models (LIKE) over 10,000 models x 10 versions, p50 < 20 ms | "
                      f"{fmt(k)} ms at c1 over {n:,} models | {'yes' if ok else ('**no**' if (n or 0) >= 10000 else 'n/a (population below 10,000)')} |")
    if tg:
        out += ["", "Against the targets:", "", "| target | measured | met |", "|---|---|---|"] + tg

    if notes:
        out += ["", "Notes:"] + [f"- {n}" for n in notes]
    bg = []
    for c in present:
        p = os.path.join(run, c, "background.txt")
        if os.path.exists(p):
            bg.append(f"{c}: {open(p).readline().strip()}")
    if bg:
        out += ["", "Load average (1/5/15 min, runnable/total, last pid) just before each server started:"]
        out += [f"- {b}" for b in bg]
    print("\n".join(out))


if __name__ == "__main__":
    main()
