#!/usr/bin/env bash
# Model-registry benchmark: kiln vs MLflow's `mlflow server` (sqlite backend), one server at
# a time on 127.0.0.1, same load generator (wrk + Lua). See bench/registry/README.md.
#
# Usage: [ENV=value ...] bench/registry/run.sh
#   DURATION=10           seconds per measured wrk phase
#   WARMUP=2              seconds of wrk warm-up before each measured phase
#   POP_MODELS=10000      registered models for the full kiln population ("kiln-full")
#   POP_MLFLOW_MODELS=1000  registered models for mlflow and for "kiln-small" (the ratio pair)
#   VERSIONS=10           versions per model (alias "champion" on the last one)
#   CONNS=32              connections of the concurrent phases (wrk -t2)
#   NAMES=100             distinct model names the lookup phases cycle through
#   LIKE_TERM=abc         search-registered-models filter: name LIKE '%<term>%' (1 model in 10)
#   MAX_RESULTS=100       search-registered-models max_results
#   POP_THREADS=8         client threads of the population driver
#   SLOW_MS=1000          skip a search's concurrent phase when its c1 p50 is above this
#   QUIET_WAIT=60         seconds to wait for an idle machine before each server (0: don't)
#   SKIP_MLFLOW=1 / SKIP_KILN=1 / SKIP_KILN_FULL=1   leave a configuration out
#   REUSE_MLFLOW=bench/.work/registry-<stamp>   don't run mlflow; copy that run's mlflow
#                         results (same POP_MLFLOW_MODELS and VERSIONS) for the ratios
#   KEEP_DATA=1           keep each server's data dir (bench/.work/srv-reg-*; kiln-full: ~0.9 GB)
#   KILN_BENCH_ACCESS_LOG=true   run kiln with its access log (default: off)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$ROOT/bench/.work"
TRACKING="$ROOT/bench/tracking"

DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
POP_MODELS="${POP_MODELS:-10000}"
POP_MLFLOW_MODELS="${POP_MLFLOW_MODELS:-1000}"
VERSIONS="${VERSIONS:-10}"
CONNS="${CONNS:-32}"
NAMES="${NAMES:-100}"
LIKE_TERM="${LIKE_TERM:-abc}"
MAX_RESULTS="${MAX_RESULTS:-100}"
POP_THREADS="${POP_THREADS:-8}"
SLOW_MS="${SLOW_MS:-1000}"
QUIET_WAIT="${QUIET_WAIT:-60}"
SKIP_MLFLOW="${SKIP_MLFLOW:-0}"
SKIP_KILN="${SKIP_KILN:-0}"
SKIP_KILN_FULL="${SKIP_KILN_FULL:-0}"
REUSE_MLFLOW="${REUSE_MLFLOW:-}"
KEEP_DATA="${KEEP_DATA:-0}"
THREADS=2
PY="$ROOT/.venv/bin/python"
MLFLOW="$ROOT/.venv/bin/mlflow"
KILN_SRC="$ROOT/build/release/kiln"
KILN=""

case "${1:-}" in -h|--help) sed -n '2,25p' "$0"; exit 0 ;; "") ;; *) echo "no arguments; options are env vars (see --help)" >&2; exit 2 ;; esac

STAMP="$(date -u +%Y%m%d-%H%M%S)"
RUN="$WORK/registry-$STAMP"
mkdir -p "$RUN"
export TRACKING_LUA_DIR="$TRACKING/lua"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
tdrv() { "$PY" "$TRACKING/driver.py" "$@"; }   # launch, free-port, wait-quiet, wait-gone, rss, wrk
rdrv() { "$PY" "$HERE/driver.py" "$@"; }       # populate, paths, check, registry-ready
json_str() { "$PY" -c 'import json,sys;print(json.dumps(sys.stdin.read().strip()))'; }

# ------------------------------------------------------------------ prerequisites
if ! command -v wrk >/dev/null 2>&1; then
  log "wrk not found; installing the Debian package"
  if [[ "$(id -u)" == 0 ]]; then apt-get install -y wrk >&2; else sudo apt-get install -y wrk >&2; fi
fi
[[ -x "$PY" ]] || { echo "missing $PY (the project venv with mlflow==3.17.2)" >&2; exit 1; }
"$PY" -c 'import requests' || { echo "the venv lacks requests" >&2; exit 1; }
if [[ "$SKIP_KILN" != 1 && ! -x "$KILN_SRC" ]]; then
  echo "kiln binary missing: $KILN_SRC (cmake --preset release && cmake --build --preset release)" >&2; exit 1
fi
if [[ -n "$REUSE_MLFLOW" ]]; then
  SKIP_MLFLOW=1
  "$PY" - "$REUSE_MLFLOW/mlflow/config.json" "$POP_MLFLOW_MODELS" "$VERSIONS" <<'EOF' || exit 1
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    sys.exit(f"REUSE_MLFLOW: cannot read {sys.argv[1]}: {e}")
if (d.get("models"), d.get("versions")) != (int(sys.argv[2]), int(sys.argv[3])):
    sys.exit(f"REUSE_MLFLOW: that run populated mlflow with {d.get('models')} x {d.get('versions')}, "
             f"this one uses POP_MLFLOW_MODELS={sys.argv[2]} x VERSIONS={sys.argv[3]}")
EOF
fi
[[ "$SKIP_MLFLOW" == 1 || -x "$MLFLOW" ]] || { echo "missing $MLFLOW" >&2; exit 1; }

# ------------------------------------------------------------------ server control
CUR_PID=""
stop_server() {
  local pid="${1:-$CUR_PID}"
  [[ -z "$pid" ]] && return 0
  # The launcher started the server with setsid: its pgid is its pid. Only that group is signalled.
  kill -TERM -- "-$pid" 2>/dev/null || true
  if ! tdrv wait-gone --pgid "$pid" --timeout 40 >/dev/null; then
    log "process group $pid did not exit after SIGTERM; sending SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || true
    tdrv wait-gone --pgid "$pid" --timeout 10 >/dev/null || log "WARNING: process group $pid still alive"
  fi
  CUR_PID=""
}
trap 'stop_server' EXIT
trap 'exit 130' INT TERM

server_cmd() {   # NAME DIR PORT -> one arg per line
  local name="$1" dir="$2" port="$3"
  case "$name" in
    mlflow)
      printf '%s\n' "$MLFLOW" server --host 127.0.0.1 --port "$port" \
        --backend-store-uri "sqlite:///$dir/mlflow.db" --artifacts-destination "$dir/artifacts" ;;
    kiln)
      printf '%s\n' "$KILN" serve --host 127.0.0.1 --port "$port" --data-dir "$dir/data" \
        "--access-log=${KILN_BENCH_ACCESS_LOG:-false}" ;;
  esac
}

launch() {   # NAME DIR PORT OUTJSON
  local name="$1" dir="$2" port="$3" out="$4"
  local -a cmd
  mapfile -t cmd < <(server_cmd "$name" "$dir" "$port")
  if ! tdrv launch --port "$port" --log "$dir/server.log" --pidfile "$dir/pid" --cwd "$dir" \
        -- "${cmd[@]}" > "$out"; then
    CUR_PID="$(cat "$dir/pid" 2>/dev/null || true)"
    log "$name failed to start; tail of $dir/server.log:"; tail -20 "$dir/server.log" >&2 || true
    return 1
  fi
  CUR_PID="$(cat "$dir/pid")"
}

# run_wrk OUTNAME PATHSFILE CONNS DURATION [extra env assignments for the Lua script...]
run_wrk() {
  local out="$1" paths="$2" conns="$3" dur="$4"; shift 4
  local threads=$(( conns < THREADS ? conns : THREADS ))
  env "$@" PATHS_FILE="$paths" WRK_THREADS="$threads" \
    "$PY" "$TRACKING/driver.py" wrk --pid "$CUR_PID" --out "$SDIR/$out.txt" --timeout $(( dur + 60 )) -- \
    wrk -t"$threads" -c"$conns" -d"${dur}s" --timeout 10s --latency -s "$HERE/lua/paths.lua" "$BASE" \
    > "$SDIR/$out.json"
  log "  $out: $("$PY" - "$SDIR/$out.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
if "requests" not in d:
    print(d); sys.exit()
print(f"{d['rps']} req/s, p50 {d['lat_us']['p50']/1000:.2f} ms, p99 {d['lat_us']['p99']/1000:.2f} ms, "
      f"errors {d['error_total']}, {d['bytes']//max(1,d['requests'])} B/resp, cpu {d.get('cpu')}")
EOF
)"
}

p50_ms() { "$PY" -c "import json,sys; d=json.load(open('$1')); print(int(d['lat_us']['p50']/1000) if d.get('requests') else 10**9)"; }

record_meta() {
  {
    echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc=$(nproc)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "mem=$(free -g | awk '/^Mem:/{print $2" GiB"}')"
    echo "kernel=$(uname -r)"
    echo "os=$(. /etc/os-release; echo "$PRETTY_NAME")"
    echo "wrk=$(wrk -v 2>&1 | head -1 | awk '{print $1" "$2}')"
    echo "python=$("$PY" -V 2>&1)"
    [[ -x "$MLFLOW" ]] && echo "mlflow=$("$MLFLOW" --version 2>/dev/null | awk '{print $NF}')"
    [[ -n "$REUSE_MLFLOW" ]] && echo "mlflow_results_reused_from=$REUSE_MLFLOW ($(grep -m1 '^date_utc=' "$REUSE_MLFLOW/meta.txt" 2>/dev/null | cut -d= -f2))"
    echo "kiln_commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
    echo "duration_s=$DURATION"
    echo "warmup_s=$WARMUP"
    echo "conns=$CONNS"
    echo "versions=$VERSIONS"
    echo "names=$NAMES"
    echo "like_term=$LIKE_TERM"
    echo "max_results=$MAX_RESULTS"
    echo "pop_threads=$POP_THREADS"
    echo "cmdline=DURATION=$DURATION POP_MODELS=$POP_MODELS POP_MLFLOW_MODELS=$POP_MLFLOW_MODELS VERSIONS=$VERSIONS SKIP_MLFLOW=$SKIP_MLFLOW SKIP_KILN=$SKIP_KILN SKIP_KILN_FULL=$SKIP_KILN_FULL${REUSE_MLFLOW:+ REUSE_MLFLOW=$REUSE_MLFLOW} bench/registry/run.sh"
  } > "$RUN/meta.txt"
}

fail() {   # STAGE MESSAGE
  echo "{\"failed\":\"$1\",\"error\":$(printf '%s' "$2" | json_str)}" > "$SDIR/failed.json"
  log "  FAILED at $1: $2"
}

# ------------------------------------------------------------------ one configuration
# bench_config LABEL SERVER MODELS
bench_config() {
  local label="$1" name="$2" models="$3"
  SDIR="$RUN/$label"
  mkdir -p "$SDIR"
  local dir; dir="$(mktemp -d "$WORK/srv-reg-$label.XXXXXX")"
  echo "$dir" > "$SDIR/datadir"
  echo "{\"server\":\"$name\",\"models\":$models,\"versions\":$VERSIONS}" > "$SDIR/config.json"
  if [[ "$name" == kiln && -z "$KILN" ]]; then
    # Snapshot the binary once, so a concurrent rebuild cannot change it mid-run.
    cp "$KILN_SRC" "$RUN/kiln-bin"; KILN="$RUN/kiln-bin"
    echo "kiln_binary=build/release/kiln built $(date -u -r "$KILN_SRC" +%Y-%m-%dT%H:%M:%SZ), version $("$KILN" version 2>/dev/null), git $(git -C "$ROOT" rev-parse --short HEAD), sha256 $(sha256sum "$KILN" | cut -c1-12)" >> "$RUN/meta.txt"
  fi
  local port; port="$(tdrv free-port)"
  BASE="http://127.0.0.1:$port"

  if [[ "$QUIET_WAIT" != 0 ]]; then
    tdrv wait-quiet --max-wait "$QUIET_WAIT" > "$SDIR/quiet.json" || true
    log "  quiet check: $(cat "$SDIR/quiet.json")"
  fi
  { cat /proc/loadavg; ps -eo pcpu,pid,args --sort=-pcpu | head -6 | cut -c1-160; } > "$SDIR/background.txt"
  log "== $label: $name, $models models x $VERSIONS versions (port $port, data $dir); loadavg $(cut -d' ' -f1-3 /proc/loadavg)"

  launch "$name" "$dir" "$port" "$SDIR/startup.json" || { fail startup "see $dir/server.log"; stop_server; return 0; }
  log "  startup: $(cat "$SDIR/startup.json")"
  if [[ "$name" == kiln ]] && ! rdrv registry-ready --port "$port" > "$SDIR/ready.json"; then
    fail registry-routes "GET /api/2.0/mlflow/registered-models/alias does not answer with MLflow JSON (registry routes not in this build)"
    stop_server; return 0
  fi

  log "  populating ($models models x $VERSIONS versions + 1 alias each, $POP_THREADS client threads)..."
  if ! rdrv populate --port "$port" --out "$SDIR/ids.json" --models "$models" --versions "$VERSIONS" \
        --threads "$POP_THREADS" --budget 5400 > "$SDIR/populate.json" 2> >(tee "$SDIR/populate.err" >&2); then
    fail populate "$(tail -1 "$SDIR/populate.err")"; stop_server; return 0
  fi
  log "  populate: $(cat "$SDIR/populate.json")"
  tdrv rss --pid "$CUR_PID" --min-wait 2 > "$SDIR/rss_loaded.json"
  log "  rss after populate: $(cat "$SDIR/rss_loaded.json")"
  rdrv check --port "$port" --ids "$SDIR/ids.json" --term "$LIKE_TERM" --max-results "$MAX_RESULTS" \
    > "$SDIR/check.json" 2> "$SDIR/check.err" || echo "{\"error\":$(tail -1 "$SDIR/check.err" | json_str)}" > "$SDIR/check.json"
  log "  check: $(cut -c1-600 "$SDIR/check.json")"
  rdrv paths --dir "$SDIR" --models "$models" --versions "$VERSIONS" --names "$NAMES" \
    --term "$LIKE_TERM" --max-results "$MAX_RESULTS" > /dev/null

  local op
  for op in alias version search_models search_versions; do
    run_wrk "${op}_c1_warm" "$SDIR/paths_$op.txt" 1 "$WARMUP"
    run_wrk "${op}_c1" "$SDIR/paths_$op.txt" 1 "$DURATION"
    if [[ "$op" == alias ]]; then
      # Same, one request per connection (Connection: close); wrk's timer starts when the
      # request is written, so connection setup is not in the latency.
      run_wrk "${op}_c1_close" "$SDIR/paths_$op.txt" 1 "$DURATION" CONN_CLOSE=1
    fi
    if [[ "$op" == search_* ]] && (( $(p50_ms "$SDIR/${op}_c1.json") > SLOW_MS )); then
      echo "{\"skipped\":\"c1 p50 above $SLOW_MS ms\"}" > "$SDIR/${op}_c$CONNS.json"
      log "  ${op}_c$CONNS skipped (c1 p50 above $SLOW_MS ms)"
      continue
    fi
    run_wrk "${op}_c${CONNS}_warm" "$SDIR/paths_$op.txt" "$CONNS" "$WARMUP"
    run_wrk "${op}_c${CONNS}" "$SDIR/paths_$op.txt" "$CONNS" "$DURATION"
  done

  stop_server
  du -sk "$dir" | awk '{print $1}' > "$SDIR/disk_kib.txt"
  local adir="$dir/artifacts"; [[ "$name" == kiln ]] && adir="$dir/data/artifacts"
  { du -sk "$adir" 2>/dev/null || echo 0; } | awk '{print $1}' > "$SDIR/disk_artifacts_kib.txt"
  find "$adir" -type f 2>/dev/null | wc -l > "$SDIR/artifact_files.txt"
  if [[ "$KEEP_DATA" != 1 ]]; then rm -rf -- "$dir"; echo "(removed)" >> "$SDIR/datadir"; fi
}

# ------------------------------------------------------------------ main
record_meta
log "results dir: $RUN"
CONFIGS=()
if [[ "$SKIP_KILN" != 1 ]]; then
  CONFIGS+=("kiln-small kiln $POP_MLFLOW_MODELS")
  if [[ "$SKIP_KILN_FULL" != 1 && "$POP_MODELS" != "$POP_MLFLOW_MODELS" ]]; then
    CONFIGS+=("kiln-full kiln $POP_MODELS")
  fi
fi
[[ "$SKIP_MLFLOW" != 1 ]] && CONFIGS+=("mlflow mlflow $POP_MLFLOW_MODELS")
(( ${#CONFIGS[@]} )) || { echo "nothing to run" >&2; exit 2; }

T0=$SECONDS
for c in "${CONFIGS[@]}"; do
  read -r label name models <<< "$c"
  t=$SECONDS
  bench_config "$label" "$name" "$models"
  echo "$(( SECONDS - t ))" > "$RUN/$label/wall_s.txt"
  sleep 2
done
echo "$(( SECONDS - T0 ))" > "$RUN/wall_s.txt"
if [[ -n "$REUSE_MLFLOW" ]]; then
  cp -r "$REUSE_MLFLOW/mlflow" "$RUN/mlflow"
  echo "$REUSE_MLFLOW" > "$RUN/mlflow/reused_from.txt"
fi

"$PY" "$HERE/report.py" "$RUN" > "$RUN/results.md"
cat "$RUN/results.md"
log "results written to $RUN/results.md (raw data in $RUN; total $(( SECONDS - T0 )) s)"
