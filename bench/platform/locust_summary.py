#!/usr/bin/env python3
"""Summarize locust's --csv stats file: per request name and in total, requests, avg, P50, P95,
P99, max (ms), error %, req/s; then issue 11's locust targets (avg < 5 ms, P95 < 10 ms, 0 errors)
and the runbook's (avg < 200 ms, P95 < 500 ms, < 1 % errors).

  locust_summary.py STATS_CSV [CPU_JSON]
"""
import csv
import json
import sys


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def main():
    rows = list(csv.DictReader(open(sys.argv[1])))
    cpu = json.load(open(sys.argv[2])) if len(sys.argv) > 2 else {}
    out = ["| request | requests | avg ms | P50 ms | P95 ms | P99 ms | max ms | errors % | req/s |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    total = None
    for r in rows:
        n, f = int(r["Request Count"]), int(r["Failure Count"])
        err = 100.0 * f / n if n else 0.0
        name = r["Name"] if r["Name"] != "Aggregated" else "**all**"
        line = (f"| {r['Type']} {name} | {n:,} | {num(r['Average Response Time']):.2f} | {r['50%']} | {r['95%']} | "
                f"{r['99%']} | {num(r['Max Response Time']):.1f} | {err:.2f} | {num(r['Requests/s']):.1f} |")
        out.append(line)
        if r["Name"] == "Aggregated":
            total = {"requests": n, "failures": f, "avg_ms": num(r["Average Response Time"]),
                     "p95_ms": num(r["95%"]), "error_pct": err}
    print("\n".join(out))
    print()
    if total is None:
        print("no Aggregated row: locust did not run")
        sys.exit(1)
    print(f"avg {total['avg_ms']:.2f} ms, P95 {total['p95_ms']:g} ms, errors {total['error_pct']:.2f} % "
          f"({total['failures']} of {total['requests']:,})"
          + (f"; kiln {cpu['cpu']['server_pct']} % of the machine, locust {cpu['cpu']['client_pct']} %, "
             f"other {cpu['cpu']['other_pct']} %" if cpu.get("cpu") else ""))
    print()
    print("| target | measured | met |")
    print("|---|---|---|")
    for label, ok in (
        (f"issue 11: avg < 5 ms | {total['avg_ms']:.2f} ms", total["avg_ms"] < 5),
        (f"issue 11: P95 < 10 ms | {total['p95_ms']:g} ms", total["p95_ms"] < 10),
        (f"issue 11: 0 errors | {total['failures']}", total["failures"] == 0),
        (f"runbook: avg < 200 ms | {total['avg_ms']:.2f} ms", total["avg_ms"] < 200),
        (f"runbook: P95 < 500 ms | {total['p95_ms']:g} ms", total["p95_ms"] < 500),
        (f"runbook: < 1 % errors | {total['error_pct']:.2f} %", total["error_pct"] < 1)):
        print(f"| {label} | {'yes' if ok else '**no**'} |")


if __name__ == "__main__":
    main()
