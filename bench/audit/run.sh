#!/usr/bin/env bash
# Audit-log overhead: MLflow REST runs/log-batch throughput (100 metrics per
# call) with --audit=false and with the audit log on (the default), for 1
# and 8 concurrent connections. Modes alternate (off, on, off, on, ...) on a
# fresh data dir each, so drift in the machine's load hits both; the median
# of the repeats is compared. Target: audit on >= 90 % of audit off.
# Also printed: the server's CPU time per call (utime + stime from
# /proc/PID/stat over the load, divided by every call made), which a busy
# shared machine disturbs far less than wall-clock throughput.
#
# Usage: bench/audit/run.sh [--kiln PATH] [--duration S] [--repeats N] [--conns "1 8"] [--metrics M]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
KILN="${KILN:-$ROOT/build/release/kiln}"
PY="$ROOT/.venv/bin/python"
DURATION=15
REPEATS=3
CONNS="1 8"
METRICS=100

while [[ $# -gt 0 ]]; do
  case "$1" in
    --kiln) KILN="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --repeats) REPEATS="$2"; shift 2 ;;
    --conns) CONNS="$2"; shift 2 ;;
    --metrics) METRICS="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
[[ -x "$KILN" ]] || { echo "no kiln binary at $KILN (--kiln PATH)" >&2; exit 2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/kiln-audit-bench.XXXXXX")"
RESULTS="$WORK/results.jsonl"
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

PID=""
stop_server() {
  [[ -z "$PID" ]] && return 0
  kill -TERM "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=""
}
trap 'stop_server; rm -rf "$WORK"' EXIT

# Starts kiln on port 0 and sets PORT from its "listening on" line.
start_server() {
  local dir="$1"; shift
  mkdir -p "$dir"
  "$KILN" serve --host 127.0.0.1 --port 0 --data-dir "$dir" "$@" 2>"$dir/server.log" &
  PID=$!
  PORT=""
  for _ in $(seq 1 300); do
    PORT="$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$dir/server.log" | head -1 | sed 's/.*://')" || true
    [[ -n "$PORT" ]] && break
    kill -0 "$PID" 2>/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    sleep 0.1
  done
  [[ -n "$PORT" ]] || { echo "kiln did not start" >&2; cat "$dir/server.log" >&2; exit 1; }
}

# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ="$(getconf CLK_TCK)"

n=0
for conns in $CONNS; do
  for r in $(seq 1 "$REPEATS"); do
    for mode in off on; do
      n=$((n + 1))
      dir="$WORK/d$n"
      if [[ "$mode" == off ]]; then start_server "$dir" --audit=false; else start_server "$dir"; fi
      cpu0="$(cpu_ticks "$PID")"
      line="$("$PY" "$HERE/loadgen.py" --url "http://127.0.0.1:$PORT" --conns "$conns" --metrics "$METRICS" \
              --duration "$DURATION")"
      cpu1="$(cpu_ticks "$PID")"
      stop_server
      records=""
      if [[ "$mode" == on ]]; then
        records="$("$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from records").fetchone()[0])' "$dir/audit.db")"
      fi
      log "conns=$conns repeat=$r audit=$mode $line cpu_ticks=$((cpu1 - cpu0))${records:+ audit_records=$records}"
      echo "{\"mode\":\"$mode\",\"repeat\":$r,\"cpu_ticks\":$((cpu1 - cpu0)),\"result\":$line}" >>"$RESULTS"
      rm -rf "$dir"
    done
  done
done

"$PY" - "$RESULTS" "$HZ" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
hz = int(sys.argv[2])
for r in rows:
    r["cpu_ms_per_call"] = r["cpu_ticks"] * 1000 / hz / max(1, r["result"]["calls_total"])
print(f"{'conns':>5} {'audit off calls/s':>18} {'audit on calls/s':>17} {'on/off':>7}   (median of repeats; 100 metrics per call)")
for conns in sorted({r["result"]["conns"] for r in rows}):
    med = {}
    for mode in ("off", "on"):
        med[mode] = statistics.median(r["result"]["calls_per_s"] for r in rows
                                      if r["mode"] == mode and r["result"]["conns"] == conns)
    errors = sum(r["result"]["errors"] for r in rows if r["result"]["conns"] == conns)
    ratio = med["on"] / med["off"] if med["off"] else float("nan")
    print(f"{conns:>5} {med['off']:>18.1f} {med['on']:>17.1f} {ratio:>7.1%}" + (f"  errors={errors}" if errors else ""))
print(f"{'conns':>5} {'off CPU ms/call':>18} {'on CPU ms/call':>17} {'off/on':>7}   (server utime+stime per call; median)")
for conns in sorted({r["result"]["conns"] for r in rows}):
    cpu = {mode: statistics.median(r["cpu_ms_per_call"] for r in rows if r["mode"] == mode and r["result"]["conns"] == conns)
           for mode in ("off", "on")}
    print(f"{conns:>5} {cpu['off']:>18.3f} {cpu['on']:>17.3f} {cpu['off'] / cpu['on']:>7.1%}")
PYEOF
