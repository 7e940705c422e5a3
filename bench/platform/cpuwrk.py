#!/usr/bin/env python3
"""bench/tracking/driver.py's `wrk` and `rss` for a side made of several process trees (the chain:
transformer, feast serve, MLServer, redis-server): the "server" CPU is the sum over all of them.

  cpuwrk.py --pids A,B,.. --out RAW.txt [--timeout S] [--raw] -- CMD...   -> JSON on stdout
      runs CMD (bounded), saves its output, prints the WRKJSON result (wrk's Lua done() line or
      loadgen's) plus {"cpu": {machine_busy_pct, server_pct, client_pct, other_pct}};
      --raw: CMD prints no WRKJSON (locust): only the exit code and the CPU split
  cpuwrk.py rss --pids A,B,..   -> {"rss_mib", "processes"} summed over the trees
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tracking"))
import driver as tdriver  # noqa: E402  (bench/tracking/driver.py: /proc readers, wrk parser)


def trees_jiffies(pids):
    return sum(tdriver.tree_jiffies(p) for p in pids)


def run(pids, out, timeout, raw, cmd):
    m0, s0, r0, t0 = tdriver.machine_jiffies(), trees_jiffies(pids), os.times(), time.monotonic()
    rc = None
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        text, rc = p.stdout.decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        text = (e.stdout or b"").decode(errors="replace") + "\nTIMEOUT"
    m1, s1, r1 = tdriver.machine_jiffies(), trees_jiffies(pids), os.times()
    wall = time.monotonic() - t0
    cap = wall * tdriver.NCPU
    busy = (m1[0] - m0[0]) / tdriver.CLK
    server = (s1 - s0) / tdriver.CLK
    client = (r1.children_user - r0.children_user + r1.children_system - r0.children_system
              + r1.user - r0.user + r1.system - r0.system)
    other = max(0.0, busy - server - client)
    pct = lambda x: round(100.0 * x / cap, 1) if cap > 0 else None  # noqa: E731
    cpu = {"machine_busy_pct": pct(busy), "server_pct": pct(server), "client_pct": pct(client),
           "other_pct": pct(other), "wall_s": round(wall, 2)}
    with open(out, "w") as f:
        f.write(text)
    d = {"exit_code": rc} if raw else tdriver.parse_wrk(text)
    d["cpu"] = cpu
    print(json.dumps(d))


def rss(pids):
    kib, n = 0, 0
    for p in pids:
        k, c = tdriver.tree_rss(p)
        kib += k
        n += c
    print(json.dumps({"rss_mib": round(kib / 1024.0, 1), "processes": n}))


def main():
    args = sys.argv[1:]
    mode = "wrk"
    if args and args[0] == "rss":
        mode, args = "rss", args[1:]
    pids, out, timeout, raw = [], None, 300.0, False
    while args and args[0] != "--":
        a = args.pop(0)
        if a == "--pids":
            pids = [int(x) for x in args.pop(0).split(",") if x]
        elif a == "--out":
            out = args.pop(0)
        elif a == "--timeout":
            timeout = float(args.pop(0))
        elif a == "--raw":
            raw = True
        else:
            sys.exit(f"unknown argument {a}")
    if mode == "rss":
        return rss(pids)
    if not args or out is None:
        sys.exit("usage: cpuwrk.py --pids A,B --out FILE [--timeout S] [--raw] -- CMD...")
    run(pids, out, timeout, raw, args[1:])


if __name__ == "__main__":
    main()
