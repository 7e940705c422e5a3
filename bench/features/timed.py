#!/usr/bin/env python3
"""Run one command (bounded), print {"seconds", "rc", "tail"} as JSON; exit with its code.
bench/features/run.sh times `feast apply` with it."""
import argparse
import json
import subprocess
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--cwd")
ap.add_argument("--timeout", type=float, default=900)
ap.add_argument("cmd", nargs=argparse.REMAINDER)
a = ap.parse_args()
cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
t0 = time.perf_counter()
try:
    p = subprocess.run(cmd, cwd=a.cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=a.timeout)
    rc, out = p.returncode, p.stdout.decode(errors="replace")
except subprocess.TimeoutExpired as e:
    rc, out = -1, (e.stdout or b"").decode(errors="replace") + "\nTIMEOUT"
print(json.dumps({"seconds": round(time.perf_counter() - t0, 3), "rc": rc, "tail": out[-600:]}))
sys.exit(0 if rc == 0 else 1)
