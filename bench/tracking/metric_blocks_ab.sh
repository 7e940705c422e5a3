#!/usr/bin/env bash
# What the chart summaries (schema v10's metric_blocks, kept by row triggers
# on SQLite) cost log-batch: the same binary and load twice per round, once
# as migrated and once with the three triggers dropped from the database
# file (the server restarted on it), alternating, so drift in the machine
# shows up as spread rather than as a difference. wrk + bench/tracking/lua/
# log_batch.lua, 32 connections on 32 runs, every point distinct.
#
# Usage: bench/tracking/metric_blocks_ab.sh [METRICS_PER_BATCH [SECONDS [ROUNDS]]]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KILN="${KILN_BINARY:-$ROOT/build/release/kiln}"
PY="$ROOT/.venv/bin/python"
METRICS=${1:-10}
DUR=${2:-10}
ROUNDS=${3:-2}
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

port_of() {  # the HTTP port a kiln logged
  for _ in $(seq 100); do
    p=$(grep -oE "listening on https?://[^ ]*:[0-9]+" "$1" | grep -oE "[0-9]+$" | head -1 || true)
    [ -n "$p" ] && { echo "$p"; return; }
    sleep 0.1
  done
  cat "$1" >&2
  exit 1
}

for round in $(seq "$ROUNDS"); do
  for variant in with_triggers without_triggers; do
    D="$WORK/$round-$variant"
    mkdir -p "$D"
    "$KILN" serve --host 127.0.0.1 --port 0 --data-dir "$D" --access-log=false > "$D/log" 2>&1 &
    pid=$!
    port=$(port_of "$D/log")
    if [ "$variant" = without_triggers ]; then
      kill "$pid"; wait "$pid" || true
      "$PY" -c "
import sqlite3
c = sqlite3.connect('$D/kiln.db')
for t in ('metric_blocks_insert', 'metric_blocks_delete', 'metric_blocks_update'):
    c.execute('DROP TRIGGER ' + t)
c.commit()"
      "$KILN" serve --host 127.0.0.1 --port 0 --data-dir "$D" --access-log=false > "$D/log2" 2>&1 &
      pid=$!
      port=$(port_of "$D/log2")
    fi
    "$PY" - "$port" > "$D/runs" <<'PY'
import sys, requests
u = f"http://127.0.0.1:{sys.argv[1]}/api/2.0/mlflow"
e = requests.post(u + "/experiments/create", json={"name": "ab"}).json()["experiment_id"]
for _ in range(32):
    print(requests.post(u + "/runs/create", json={"experiment_id": e, "start_time": 0}).json()["run"]["info"]["run_id"])
PY
    out=$(BENCH_LUA_DIR="$ROOT/bench/tracking/lua" RUNS_FILE="$D/runs" WRK_THREADS=2 METRICS="$METRICS" \
      wrk -t2 -c32 -d"${DUR}s" --latency -s "$ROOT/bench/tracking/lua/log_batch.lua" "http://127.0.0.1:$port")
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    echo "round $round $variant metrics=$METRICS: $rps req/s, p99 $p99"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
