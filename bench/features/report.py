"""results.md of a bench/.work/features-<stamp>/ directory (called by fsbench.py report).

Only measured numbers are printed; a figure that was not measured is an empty cell with a note,
and a ratio across different scales says so in its row label."""
import json
import os


def load(run, side, name):
    p = os.path.join(run, side, name + ".json")
    if not os.path.exists(p):
        return None
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fmt(v):
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def cpu_per_req(d, ncpu):
    """CPU of the server's process tree (plus redis-server for the peer) per request, in ms: the
    CPU window spans warm-up + measured phase at the same load, so share x cores / rate. Less
    sensitive than req/s to what else runs on the shared machine."""
    if not d or "rps" not in d or not d["rps"] or not d.get("cpu"):
        return None
    c = d["cpu"]
    return (c.get("server_pct", 0) + c.get("redis_pct", 0)) / 100.0 * ncpu / d["rps"] * 1000.0


def main(run):
    meta = {}
    if os.path.exists(os.path.join(run, "meta.txt")):
        for line in open(os.path.join(run, "meta.txt")):
            k, _, v = line.rstrip("\n").partition("=")
            meta.setdefault(k, v)
    dm = json.load(open(os.path.join(run, "data-meta.json")))
    p = dm["params"]
    conns = int(meta.get("conns", 32))
    ncpu = int(meta.get("nproc") or os.cpu_count() or 1)
    batch = p["batch"]
    notes = []
    out = []
    w = out.append
    w(f"# Feature store benchmark: kiln vs feast serve ({os.path.basename(run)})\n")
    w(f"Command: `{meta.get('cmdline', '?')}`  ")
    w(f"Machine: {meta.get('nproc')} vCPU {meta.get('cpu')}, {meta.get('mem')}, {meta.get('os')}, kernel {meta.get('kernel')}  ")
    w(f"Peer: {meta.get('feast_serve')}; {meta.get('feast')}  ")
    if meta.get("feast_results"):
        w(f"Feast results: {meta['feast_results']}  ")
    w(f"kiln: {meta.get('kiln_binary', 'not run')}; {meta.get('kiln_args', '')}  ")
    w(f"Load generator: {meta.get('loadgen')}; {meta.get('warmup_s')} s warm-up + {meta.get('duration_s')} s measured per phase  ")
    w(f"Repo HEAD at start: {meta.get('repo_head')}; wall time {meta.get('wall_s', '?')} s\n")
    w(f"Data: online view {p['online_entities']:,} entities x {p['online_features']} features (Int64/Float64 alternating); "
      f"materialization source {dm['mat_rows']:,} rows x {p['mat_features']} features (one row per entity key), "
      f"Feast's scale {dm['mat_small_rows']:,} rows; point-in-time: {dm['hist_rows']:,} feature rows x {p['hist_features']} "
      f"features over {p['hist_entities']:,} entities ({dm['rows_per_entity']} rows each, {dm['tie_rows']:,} event-time ties), "
      f"ttl 7 days, {dm['entity_rows']:,} entity rows; small scale (eid % {p['small_div']} == 0): "
      f"{dm['hist_small_rows']:,} feature rows, {dm['entity_small_rows']:,} entity rows.\n")

    rows = []  # (label, feast, kiln, ratio kiln/feast)

    def add(label, f, k, r="auto"):
        rows.append((label, f, k, ratio(k, f) if r == "auto" else r))

    for body, blabel in (("single", "1 row x 50 features"), (f"batch{batch}", f"{batch} rows x 50 features")):
        blabel = blabel.replace("50", str(p["online_features"]))
        for c in (1, conns):
            ph = f"{body}_c{c}"
            fd, kd = load(run, "feast", ph), load(run, "kiln", ph)
            lab = f"{blabel}, {c} conn"
            get = lambda d, *ks: (None if not d or "lat_us" not in d else
                                  (d[ks[0]] if len(ks) == 1 else d[ks[0]][ks[1]] / 1000.0))
            add(f"{lab}: req/s", get(fd, "rps"), get(kd, "rps"))
            add(f"{lab}: p50 ms", get(fd, "lat_us", "p50"), get(kd, "lat_us", "p50"))
            add(f"{lab}: p99 ms", get(fd, "lat_us", "p99"), get(kd, "lat_us", "p99"))
            add(f"{lab}: server CPU ms per request", cpu_per_req(fd, ncpu), cpu_per_req(kd, ncpu))
            for side, d in (("feast", fd), ("kiln", kd)):
                if d and "lat_us" in d:
                    if d.get("error_total") or d.get("non_200"):
                        notes.append(f"{side} / {lab}: {d.get('error_total')} errors ({d.get('errors')}), "
                                     f"{d.get('non_200')} non-200, {d.get('reconnects')} reconnects")
                    cpu = d.get("cpu") or {}
                    if (cpu.get("other_pct") or 0) >= 10:
                        notes.append(f"{side} / {lab}: processes outside the benchmark used {cpu['other_pct']} % of the machine")
                elif d:
                    notes.append(f"{side} / {lab}: no result ({str(d)[:200]})")
    fc, kc = load(run, "feast", "check"), load(run, "kiln", "check")
    for name, lab in (("single.json", "1-row response bytes (body)"), (f"batch{batch}.json", f"{batch}-row response bytes (body)")):
        add(lab, fc and fc.get(name, {}).get("response_bytes"), kc and kc.get(name, {}).get("response_bytes"))
    fs, ks = load(run, "feast", "startup"), load(run, "kiln", "startup")
    add("start to first /health 200 (ms)", fs and fs.get("startup_ms"), ks and ks.get("startup_ms"))
    fr, kr = load(run, "feast", "rss"), load(run, "kiln", "rss")
    add("RSS of the server's process tree after the load phases (MiB)", fr and fr.get("rss_mib"), kr and kr.get("rss_mib"))
    if fr:
        notes.append(f"feast RSS: {fr.get('processes')} processes (feast serve's gunicorn tree; redis-server not included)")
    fa, ka = load(run, "feast", "apply"), load(run, "kiln", "apply")
    add("feast apply, 5 views (s)", fa and fa.get("seconds"), ka and ka.get("seconds"))
    fo, ko = load(run, "feast", "mat_online"), load(run, "kiln", "mat_online")
    add(f"materialize online view, {p['online_entities']:,} rows x {p['online_features']} (s)",
        fo and fo.get("seconds"), ko and ko.get("seconds"))

    fm_small, km_small = load(run, "feast", "mat_mat_small"), load(run, "kiln", "mat_mat_small")
    fm_full, km_full = load(run, "feast", "mat_mat"), load(run, "kiln", "mat_mat")
    rps = lambda d: d and d.get("rows_per_s")
    sec = lambda d: d and not d.get("error") and d.get("seconds")
    ms = dm["mat_small_rows"]
    mf = dm["mat_rows"]
    add(f"materialize {ms:,} rows x {p['mat_features']}: rows/s", rps(fm_small), rps(km_small))
    add(f"materialize {ms:,} rows x {p['mat_features']}: s", sec(fm_small), sec(km_small))
    add(f"materialize {mf:,} rows x {p['mat_features']}: rows/s", rps(fm_full), rps(km_full))
    add(f"materialize {mf:,} rows x {p['mat_features']}: s", sec(fm_full), sec(km_full))
    if not fm_full and rps(fm_small) and rps(km_full):
        rows.append((f"materialize rows/s, kiln at {mf:,} rows / Feast at {ms:,} rows (different scales)",
                     None, None, ratio(rps(km_full), rps(fm_small))))
        notes.append(f"Feast's Redis materialization was timed at {ms:,} rows, not {mf:,} (FEAST_MAT_FULL=1 runs "
                     f"the full scale); at its measured rate {mf:,} rows would take about "
                     f"{mf / rps(fm_small) / 60:.0f} min (an extrapolation, not a measurement)")
    for side, d in (("feast", fm_small), ("kiln", km_small), ("feast", fm_full), ("kiln", km_full)):
        if d and d.get("error"):
            notes.append(f"{side} / materialize {d.get('view')}: failed: {d['error'][:300]}")

    fh_s, kh_s = load(run, "feast", "hist_small"), load(run, "kiln", "hist_small")
    fh_f, kh_f = load(run, "feast", "hist_full"), load(run, "kiln", "hist_full")
    hs = lambda d: d and d.get("seconds") if d and (d.get("out_rows") is not None) else None
    small_lab = f"{dm['entity_small_rows']:,} x {dm['hist_small_rows']:,}"
    full_lab = f"{dm['entity_rows']:,} x {dm['hist_rows']:,}"
    add(f"point-in-time join {small_lab} (s)", hs(fh_s), hs(kh_s))
    add(f"point-in-time join {full_lab} (s)", hs(fh_f), hs(kh_f))
    if hs(fh_s) and hs(kh_s):
        rows.append((f"point-in-time join {small_lab}: Feast time / kiln time (speed-up)", None, None,
                     ratio(hs(fh_s), hs(kh_s))))
    if hs(fh_f) and hs(kh_f):
        rows.append((f"point-in-time join {full_lab}: Feast time / kiln time (speed-up)", None, None,
                     ratio(hs(fh_f), hs(kh_f))))
    elif not fh_f and hs(kh_f):
        notes.append(f"Feast's get_historical_features was not run at {full_lab} (FEAST_HIST_FULL=1 runs it); "
                     f"the speed-up row is at the small scale only")
    for side, d in (("feast", fh_s), ("kiln", kh_s), ("feast", fh_f), ("kiln", kh_f)):
        if d and d.get("out_rows") is None:
            notes.append(f"{side} / point-in-time {d.get('view')}: failed: {str(d.get('body') or d.get('tail') or d)[:300]}")
    for f in ("hist_small", "hist_full"):
        c = load(run, "kiln", "compare_" + f)
        if c:
            notes.append(f"point-in-time {f}: kiln's result vs Feast's, row by row: "
                         + ("equal" if c.get("equal") else "DIFFERENT")
                         + f" (Feast {c.get('rows_a'):,} rows, kiln {c.get('rows_b'):,}; rows with features: "
                           f"{c.get('matched_rows_a'):,} vs {c.get('matched_rows_b'):,}, {c.get('mismatched_rows'):,} differ; "
                           f"all-null rows: {c.get('null_rows_a'):,} vs {c.get('null_rows_b'):,} — the "
                           f"{c.get('extra_null_rows_b', 0):,} more in kiln are the entity rows Feast's file store drops)")
            r = c.get("referee")
            if r:
                notes.append(f"point-in-time {f}: where they differ, the row the definition picks (latest event time "
                             f"<= T within ttl, ties by latest created; brute force over the entity's rows): "
                             f"kiln right on {r['b_right']:,}, Feast right on {r['a_right']:,}, neither on {r['neither']:,} "
                             f"(examples: {r['examples'][:2]}); on {r.get('a_took_earlier_created_tie', 0):,} of them Feast's "
                             f"file store returned the earlier-created row of an event-time tie" if r["a_right"] == 0 and r["neither"] == 0 else
                             f"point-in-time {f}: referee: kiln right on {r['b_right']:,}, Feast right on "
                             f"{r['a_right']:,}, neither on {r['neither']:,} (examples: {r['examples'][:3]})")

    for side in ("feast", "kiln"):
        for name in ("apply", "mat_online", "mat_mat_small", "mat_mat", "hist_small", "hist_full"):
            d = load(run, side, name)
            cpu = (d or {}).get("cpu") or {}
            if (cpu.get("other_pct") or 0) >= 10:
                notes.append(f"{side} / {name}: processes outside the benchmark used {cpu['other_pct']} % of the "
                             f"machine (server {cpu.get('server_pct')} %, step's own process {cpu.get('client_pct')} %"
                             + (f", redis {cpu['redis_pct']} %" if "redis_pct" in cpu else "") + ")")
    w("| metric | feast | kiln | kiln/feast |")
    w("|---|---:|---:|---:|")
    for lab, f, k, r in rows:
        w(f"| {lab} | {fmt(f)} | {fmt(k)} | {fmt(r)} |")
    w("")
    w("Ratios are kiln/feast: above 1 is better for req/s and rows/s, below 1 for ms and s; the "
      "speed-up rows are Feast's time divided by kiln's. Server CPU per request = the CPU share of "
      "the server's process tree (the peer's: feast serve's gunicorn tree plus redis-server) x cores / "
      "req/s, over warm-up + measured phase.\n")

    # targets (issue 10)
    t = []
    s1f, s1k = load(run, "feast", "single_c1"), load(run, "kiln", "single_c1")
    if s1k and "lat_us" in s1k:
        v = s1k["lat_us"]["p99"] / 1000
        t.append(("1 row x 50: p99 < 0.5 ms at 1 connection", f"{v:.3f} ms", v < 0.5))
    for c in (1, conns):
        fd, kd = load(run, "feast", f"single_c{c}"), load(run, "kiln", f"single_c{c}")
        if fd and kd and "rps" in fd and "rps" in kd and fd["rps"]:
            r = kd["rps"] / fd["rps"]
            t.append((f"1 row x 50: throughput >= 50x feast serve ({c} conn)",
                      f"{fmt(kd['rps'])} vs {fmt(fd['rps'])} req/s = {r:.1f}x", r >= 50))
    bk = load(run, "kiln", f"batch{batch}_c{conns}")
    if bk and "lat_us" in bk:
        v = bk["lat_us"]["p99"] / 1000
        t.append((f"{batch} rows x 50: p99 < 5 ms at {conns} connections", f"{v:.2f} ms", v < 5))
    if km_full and sec(km_full):
        t.append((f"materialize {mf:,} rows x {p['mat_features']} into the embedded store < 60 s",
                  f"{km_full['seconds']:.1f} s ({fmt(km_full['rows_per_s'])} rows/s)",
                  km_full["seconds"] < 60 if mf >= 10_000_000 else None))
    if hs(kh_f) and hs(fh_f):
        r = hs(fh_f) / hs(kh_f)
        full_scale = dm["entity_rows"] >= 1_000_000 and dm["hist_rows"] >= 10_000_000
        t.append((f"point-in-time {full_lab} >= 20x faster than Feast", f"{r:.1f}x",
                  (r >= 20) if full_scale else None))
    elif hs(kh_s) and hs(fh_s):
        r = hs(fh_s) / hs(kh_s)
        t.append((f"point-in-time >= 20x faster than Feast (measured at {small_lab} only)", f"{r:.1f}x", None))
    if t:
        w("## Against the issue's targets\n")
        w("| target | measured | met |")
        w("|---|---|---|")
        for lab, m, ok in t:
            w(f"| {lab} | {m} | {'yes' if ok else ('**no**' if ok is False else 'n/a (other scale)')} |")
        w("")
    if notes:
        w("Notes:")
        for n in notes:
            w(f"- {n}")
    print("\n".join(out))
