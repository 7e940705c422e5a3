#!/usr/bin/env bash
# Tracking-server benchmark: MLflow server vs FastTrackML vs kiln (+ nginx as the
# /health ceiling). Servers run one at a time on 127.0.0.1 with the same load
# generator (wrk + the Python driver). See docs/benchmarks.md.
#
# Usage: bench/tracking/run.sh [--duration SECONDS] [--only mlflow,fasttrackml,kiln,nginx]
#                              [--search-runs N] [--history-points N] [--quiet-wait S] [--quick]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$ROOT/bench/.work"

DURATION=15
ONLY="mlflow,fasttrackml,nginx,kiln"
SEARCH_RUNS=10000
HISTORY_POINTS=100000
LOGBATCH_CONNS=32
CREATE_CONNS=32
HEALTH_CONNS=50
SEARCH_CONNS=4
THREADS=2
SEQ_N=50            # sequential requests for the p50 probes
SEQ_BUDGET=60       # seconds, cap per sequential probe
MAX_RESULTS=100
QUIET_WAIT=90       # seconds to wait for the machine to go idle before each server
FML_VERSION="${FML_VERSION:-0.6.0}"
PY="$ROOT/.venv/bin/python"
MLFLOW="$ROOT/.venv/bin/mlflow"
KILN="$ROOT/build/release/kiln"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --search-runs) SEARCH_RUNS="$2"; shift 2 ;;
    --history-points) HISTORY_POINTS="$2"; shift 2 ;;
    --quiet-wait) QUIET_WAIT="$2"; shift 2 ;;
    --quick) DURATION=3; SEARCH_RUNS=500; HISTORY_POINTS=5000; SEQ_N=10; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

STAMP="$(date -u +%Y%m%d-%H%M%S)"
RUN="$WORK/run-$STAMP"
mkdir -p "$RUN"
export BENCH_LUA_DIR="$HERE/lua"
WARMUP=2
SEARCH_DUR=$(( DURATION < 10 ? DURATION : 10 ))

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
drv() { "$PY" "$HERE/driver.py" "$@"; }

# ------------------------------------------------------------------ server control
CUR_PID=""
stop_server() {
  local pid="${1:-$CUR_PID}"
  [[ -z "$pid" ]] && return 0
  # The launcher started the server with setsid: its pgid is its pid. Only that group is signalled.
  kill -TERM -- "-$pid" 2>/dev/null || true
  if ! drv wait-gone --pgid "$pid" --timeout 40 >/dev/null; then
    log "process group $pid did not exit after SIGTERM; sending SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || true
    drv wait-gone --pgid "$pid" --timeout 10 >/dev/null || log "WARNING: process group $pid still alive"
  fi
  CUR_PID=""
}
trap 'stop_server' EXIT
trap 'exit 130' INT TERM

# server_cmd NAME DIR PORT -> prints the command (one arg per line)
server_cmd() {
  local name="$1" dir="$2" port="$3"
  case "$name" in
    mlflow)
      printf '%s\n' "$MLFLOW" server --host 127.0.0.1 --port "$port" \
        --backend-store-uri "sqlite:///$dir/mlflow.db" --artifacts-destination "$dir/artifacts" ;;
    fasttrackml)
      printf '%s\n' "$WORK/fml-venv/bin/fml" server --listen-address "127.0.0.1:$port" \
        --database-uri "sqlite://$dir/fml.db" --default-artifact-root "$dir/artifacts" ;;
    kiln)
      # No per-request access log, like the nginx ceiling (access_log off);
      # set KILN_BENCH_ACCESS_LOG=true to measure with it.
      printf '%s\n' "$KILN" serve --host 127.0.0.1 --port "$port" --data-dir "$dir/data" \
        "--access-log=${KILN_BENCH_ACCESS_LOG:-false}" ;;
    nginx)
      sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$dir|g" "$HERE/nginx.conf.in" > "$dir/nginx.conf"
      printf '%s\n' /usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" ;;
  esac
}

# launch NAME DIR PORT OUTJSON
launch() {
  local name="$1" dir="$2" port="$3" out="$4"
  local -a cmd
  mapfile -t cmd < <(server_cmd "$name" "$dir" "$port")
  if ! drv launch --port "$port" --log "$dir/server.log" --pidfile "$dir/pid" --cwd "$dir" \
        -- "${cmd[@]}" > "$out"; then
    CUR_PID="$(cat "$dir/pid" 2>/dev/null || true)"
    log "$name failed to start; tail of $dir/server.log:"; tail -20 "$dir/server.log" >&2 || true
    return 1
  fi
  CUR_PID="$(cat "$dir/pid")"
}

# run_wrk OUTNAME LUA CONNS DURATION URL [extra env...]
run_wrk() {
  local out="$1" lua="$2" conns="$3" dur="$4" url="$5"
  local threads=$(( conns < THREADS ? conns : THREADS ))
  WRK_THREADS="$threads" drv wrk --pid "$CUR_PID" --out "$SDIR/$out.txt" --timeout $(( dur + 60 )) -- \
    wrk -t"$threads" -c"$conns" -d"${dur}s" --timeout 10s --latency -s "$HERE/lua/$lua" "$url" \
    > "$SDIR/$out.json"
  log "  $out: $(cut -c1-200 "$SDIR/$out.json") ... $(grep -o '"cpu".*' "$SDIR/$out.json")"
}

# ------------------------------------------------------------------ prerequisites
setup_fasttrackml() {
  if [[ ! -x "$WORK/fml-venv/bin/fml" ]]; then
    log "installing fasttrackml==$FML_VERSION into $WORK/fml-venv"
    python3 -m venv "$WORK/fml-venv"
    "$WORK/fml-venv/bin/pip" install -q "fasttrackml==$FML_VERSION"
  fi
}

record_meta() {
  {
    echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc=$(nproc)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "mem=$(free -g | awk '/^Mem:/{print $2" GiB"}')"
    echo "kernel=$(uname -r)"
    echo "os=$(. /etc/os-release; echo "$PRETTY_NAME")"
    echo "wrk=$(wrk -v 2>&1 | head -1 | awk '{print $1" "$2}')"
    echo "nginx=$(/usr/sbin/nginx -v 2>&1 | sed 's/.*: //')"
    echo "python=$("$PY" -V 2>&1)"
    echo "mlflow=$("$MLFLOW" --version 2>/dev/null | awk '{print $NF}')"
    [[ -x "$WORK/fml-venv/bin/fml" ]] && echo "fasttrackml=$("$WORK/fml-venv/bin/fml" --version 2>/dev/null | awk '{print $NF}')"
    echo "kiln_commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
    echo "duration_s=$DURATION"
    echo "search_runs=$SEARCH_RUNS"
    echo "history_points=$HISTORY_POINTS"
    echo "max_results=$MAX_RESULTS"
    echo "cmdline=bench/tracking/run.sh --duration $DURATION --only $ONLY"
  } > "$RUN/meta.txt"
}

# ------------------------------------------------------------------ one server
bench_server() {
  local name="$1"
  SDIR="$RUN/$name"
  local dir; dir="$(mktemp -d "$WORK/srv-$name.XXXXXX")"
  mkdir -p "$SDIR"
  echo "$dir" > "$SDIR/datadir"
  if [[ "$name" == "kiln" ]]; then
    # Snapshot the binary when its turn comes, so a concurrent rebuild cannot change it mid-run.
    cp "$KILN_SRC" "$RUN/kiln-bin"; KILN="$RUN/kiln-bin"
    echo "kiln_binary=build/release/kiln built $(date -u -r "$KILN_SRC" +%Y-%m-%dT%H:%M:%SZ), version $("$KILN" version 2>/dev/null), git $(git -C "$ROOT" rev-parse --short HEAD), sha256 $(sha256sum "$KILN" | cut -c1-12)" >> "$RUN/meta.txt"
  fi
  local port; port="$(drv free-port)"
  PORT_CUR="$port"
  local base="http://127.0.0.1:$port"
  local api="$base/api/2.0/mlflow"

  drv wait-quiet --max-wait "$QUIET_WAIT" > "$SDIR/quiet.json" || true
  { cat /proc/loadavg; ps -eo pcpu,pid,args --sort=-pcpu | head -6 | cut -c1-160; } > "$SDIR/background.txt"
  log "  quiet check: $(cat "$SDIR/quiet.json")"
  log "== $name (port $port, data $dir); loadavg $(cut -d' ' -f1-3 /proc/loadavg)"

  # 6. startup to first 200 on /health (fresh data dir)
  launch "$name" "$dir" "$port" "$SDIR/startup.json" || { echo '{"failed":"startup"}' > "$SDIR/failed.json"; stop_server; return 0; }
  log "  startup: $(cat "$SDIR/startup.json")"
  # 5. idle RSS of the process tree, fresh server, after it settles
  drv rss --pid "$CUR_PID" > "$SDIR/rss_idle.json"
  log "  idle rss: $(cat "$SDIR/rss_idle.json")"
  # 7. /health throughput
  run_wrk health_warm get.lua "$HEALTH_CONNS" "$WARMUP" "$base/health"
  run_wrk health get.lua "$HEALTH_CONNS" "$DURATION" "$base/health"

  [[ "$name" == "nginx" ]] && { stop_server; return 0; }

  # setup: 10k runs for search, 100k-point metric, 32 runs for log-batch
  log "  setup ($SEARCH_RUNS runs, $HISTORY_POINTS points)..."
  if ! timeout 3000 "$PY" "$HERE/driver.py" setup --port "$port" --out "$SDIR/ids.json" \
        --search-runs "$SEARCH_RUNS" --history-points "$HISTORY_POINTS" \
        --logbatch-runs "$LOGBATCH_CONNS" > "$SDIR/setup.json" 2> "$SDIR/setup.err"; then
    log "  setup FAILED: $(tail -3 "$SDIR/setup.err")"
    echo "{\"failed\":\"setup\",\"error\":$(tail -1 "$SDIR/setup.err" | "$PY" -c 'import json,sys;print(json.dumps(sys.stdin.read().strip()))')}" > "$SDIR/failed.json"
    stop_server; return 0
  fi
  log "  setup: $(cat "$SDIR/setup.json")"
  drv rss --pid "$CUR_PID" --min-wait 2 > "$SDIR/rss_loaded.json"

  # 3. search-runs
  probe search --n "$SEQ_N" --warmup 1 --max-results "$MAX_RESULTS"
  if "$PY" -c "import json,sys; sys.exit(0 if (json.load(open('$SDIR/search.json')).get('p50_ms') or 1e9) <= 1000 else 1)"; then
    EXPERIMENT_ID="$(jq_ids search_experiment_id)" MAX_RESULTS="$MAX_RESULTS" \
      run_wrk search_wrk search.lua "$SEARCH_CONNS" "$SEARCH_DUR" "$api/runs/search"
  else
    echo '{"skipped":"sequential p50 above 1 s"}' > "$SDIR/search_wrk.json"; log "  search_wrk skipped (slow)"
  fi
  # 4. get-history (full history, sequential)
  probe history --n "$SEQ_N" --warmup 1

  # restart on the populated data dir: warm startup + persistence check
  stop_server
  if launch "$name" "$dir" "$port" "$SDIR/restart.json"; then
    log "  restart (populated): $(cat "$SDIR/restart.json")"
    drv probe search --port "$port" --ids "$SDIR/ids.json" --n 1 --warmup 0 --max-results "$MAX_RESULTS" \
      > "$SDIR/restart_search.json" 2>&1 || true
    drv probe history --port "$port" --ids "$SDIR/ids.json" --n 1 --warmup 0 \
      > "$SDIR/restart_history.json" 2>&1 || true
  else
    echo '{"failed":"restart"}' > "$SDIR/restart_failed.json"
    stop_server
    launch "$name" "$dir" "$port" "$SDIR/restart2.json" || { stop_server; return 0; }
  fi

  # 1. log-batch, 10 metrics, one run per connection
  RUNS_FILE="$SDIR/runs.txt" STEP_BASE=0 run_wrk logbatch_warm log_batch.lua "$LOGBATCH_CONNS" "$WARMUP" "$api/runs/log-batch"
  RUNS_FILE="$SDIR/runs.txt" STEP_BASE=10000000 run_wrk logbatch log_batch.lua "$LOGBATCH_CONNS" "$DURATION" "$api/runs/log-batch"
  drv verify-logbatch --port "$port" --ids "$SDIR/ids.json" > "$SDIR/logbatch_verify.json" 2>&1 || true
  # 2. create-run
  EXPERIMENT_ID="$(jq_ids create_experiment_id)" run_wrk createrun_warm create_run.lua "$CREATE_CONNS" "$WARMUP" "$api/runs/create"
  EXPERIMENT_ID="$(jq_ids create_experiment_id)" run_wrk createrun create_run.lua "$CREATE_CONNS" "$DURATION" "$api/runs/create"

  stop_server
  du -sk "$dir" | awk '{print $1}' > "$SDIR/disk_kib.txt"
}

jq_ids() { "$PY" -c "import json,sys; print(json.load(open('$SDIR/ids.json'))['$1'])"; }

probe() {
  local kind="$1"; shift
  if drv probe "$kind" --port "$PORT_CUR" --pid "$CUR_PID" --ids "$SDIR/ids.json" --budget "$SEQ_BUDGET" "$@" \
       > "$SDIR/$kind.json" 2> "$SDIR/$kind.err"; then
    log "  $kind: $(cat "$SDIR/$kind.json")"
  else
    log "  $kind FAILED: $(tail -1 "$SDIR/$kind.err")"
    echo "{\"error\":$(tail -1 "$SDIR/$kind.err" | "$PY" -c 'import json,sys;print(json.dumps(sys.stdin.read().strip()))')}" > "$SDIR/$kind.json"
  fi
}

# ------------------------------------------------------------------ main
IFS=',' read -r -a SERVERS <<< "$ONLY"
for s in "${SERVERS[@]}"; do
  case "$s" in
    fasttrackml) setup_fasttrackml ;;
    kiln) KILN_SRC="$KILN"; [[ -x "$KILN" ]] || { echo "kiln binary missing: $KILN (build it with cmake --preset release && cmake --build --preset release)" >&2; exit 1; } ;;
    mlflow|nginx) ;;
    *) echo "unknown server: $s" >&2; exit 2 ;;
  esac
done
record_meta
log "results dir: $RUN"
for s in "${SERVERS[@]}"; do
  bench_server "$s"
  sleep 2   # let the machine go quiet before the next server
done

OUT="$WORK/results-$STAMP.md"
"$PY" "$HERE/report.py" "$RUN" > "$OUT"
cat "$OUT"
log "results written to $OUT (raw data in $RUN)"
