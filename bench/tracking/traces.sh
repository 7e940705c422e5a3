#!/usr/bin/env bash
# Traces workload: spans/s that `mlflow server` and kiln ingest over OTLP/HTTP
# (POST /v1/traces, protobuf, the path MLflow 3's client logs spans on), one
# trace of SPANS spans per request, CONNS concurrent clients (wrk). The servers
# run one at a time on 127.0.0.1 on fresh data dirs; the report prints the
# kiln / mlflow ratio. See docs/benchmarks.md.
#
# Usage: bench/tracking/traces.sh [--duration SECONDS] [--conns N] [--spans N] [--only mlflow,kiln]
#                                 [--quiet-wait S]
# KILN=path/to/kiln overrides build/release/kiln.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$ROOT/bench/.work"

DURATION=15
CONNS=32
SPANS=4
THREADS=2
WARMUP=3
QUIET_WAIT=60
ONLY="mlflow,kiln"
PY="$ROOT/.venv/bin/python"
MLFLOW="$ROOT/.venv/bin/mlflow"
KILN_SRC="${KILN:-$ROOT/build/release/kiln}"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --conns) CONNS="$2"; shift 2 ;;
    --spans) SPANS="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --quiet-wait) QUIET_WAIT="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

STAMP="$(date -u +%Y%m%d-%H%M%S)"
RUN="$WORK/traces-$STAMP"
mkdir -p "$RUN"
export BENCH_LUA_DIR="$HERE/lua"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
drv() { "$PY" "$HERE/driver.py" "$@"; }
tr() { "$PY" "$HERE/traces.py" "$@"; }

CUR_PID=""
stop_server() {
  [[ -z "$CUR_PID" ]] && return 0
  kill -TERM -- "-$CUR_PID" 2>/dev/null || true
  if ! drv wait-gone --pgid "$CUR_PID" --timeout 40 >/dev/null; then
    kill -KILL -- "-$CUR_PID" 2>/dev/null || true
    drv wait-gone --pgid "$CUR_PID" --timeout 10 >/dev/null || log "WARNING: process group $CUR_PID still alive"
  fi
  CUR_PID=""
}
trap 'stop_server' EXIT
trap 'exit 130' INT TERM

tr template --out "$RUN" --spans "$SPANS" > "$RUN/template.json"
export OTLP_TEMPLATE="$RUN/otlp_template.bin" OTLP_OFFSETS="$RUN/otlp_offsets.txt"

{
  echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc=$(nproc)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "mlflow=$("$MLFLOW" --version 2>/dev/null | awk '{print $NF}')"
  echo "kiln_commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
  echo "duration_s=$DURATION"
  echo "conns=$CONNS"
  echo "threads=$THREADS"
  echo "spans_per_request=$SPANS"
  echo "cmdline=bench/tracking/traces.sh --duration $DURATION --conns $CONNS --spans $SPANS --only $ONLY"
} > "$RUN/meta.txt"

bench_one() {
  local name="$1"
  local sdir="$RUN/$name"; mkdir -p "$sdir"
  local dir; dir="$(mktemp -d "$WORK/srv-traces-$name.XXXXXX")"
  local port; port="$(drv free-port)"
  local -a cmd
  case "$name" in
    mlflow) cmd=("$MLFLOW" server --host 127.0.0.1 --port "$port" \
                 --backend-store-uri "sqlite:///$dir/mlflow.db" --artifacts-destination "$dir/artifacts") ;;
    kiln)
      cp "$KILN_SRC" "$RUN/kiln-bin"
      echo "kiln_binary=$KILN_SRC, version $("$RUN/kiln-bin" version 2>/dev/null), sha256 $(sha256sum "$RUN/kiln-bin" | cut -c1-12)" >> "$RUN/meta.txt"
      cmd=("$RUN/kiln-bin" serve --host 127.0.0.1 --port "$port" --data-dir "$dir/data" --access-log=false) ;;
    *) echo "unknown server: $name" >&2; exit 2 ;;
  esac
  drv wait-quiet --max-wait "$QUIET_WAIT" > "$sdir/quiet.json" || true
  log "== $name (port $port, data $dir); loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
  if ! drv launch --port "$port" --log "$dir/server.log" --pidfile "$dir/pid" --cwd "$dir" -- "${cmd[@]}" \
      > "$sdir/startup.json"; then
    CUR_PID="$(cat "$dir/pid" 2>/dev/null || true)"
    log "$name failed to start"; tail -20 "$dir/server.log" >&2 || true
    stop_server; return 0
  fi
  CUR_PID="$(cat "$dir/pid")"
  local exp; exp="$(tr setup --port "$port")"
  export EXPERIMENT_ID="$exp"
  local threads=$(( CONNS < THREADS ? CONNS : THREADS ))
  for phase in warm spans; do
    local dur=$DURATION; [[ "$phase" == warm ]] && dur=$WARMUP
    WRK_THREADS="$threads" drv wrk --pid "$CUR_PID" --out "$sdir/$phase.txt" --timeout $(( dur + 60 )) -- \
      wrk -t"$threads" -c"$CONNS" -d"${dur}s" --timeout 10s --latency -s "$HERE/lua/otlp_spans.lua" \
      "http://127.0.0.1:$port/v1/traces" > "$sdir/$phase.json"
    log "  $phase: $(cut -c1-220 "$sdir/$phase.json")"
  done
  tr verify --port "$port" --exp "$exp" --spans "$SPANS" > "$sdir/verify.json" 2>&1 || log "  verify FAILED: $(cat "$sdir/verify.json")"
  stop_server
  du -sk "$dir" | awk '{print $1}' > "$sdir/disk_kib.txt"
}

IFS=',' read -r -a SERVERS <<< "$ONLY"
for s in "${SERVERS[@]}"; do
  bench_one "$s"
  sleep 2
done
OUT="$WORK/traces-results-$STAMP.md"
tr report "$RUN" > "$OUT"
cat "$OUT"
log "results written to $OUT (raw data in $RUN)"
