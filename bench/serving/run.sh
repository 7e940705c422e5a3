#!/usr/bin/env bash
# Serving benchmark: kiln vs MLServer (mlserver + mlserver-xgboost) on the same XGBoost model
# (100 trees, depth 6, 20 features, binary:logistic), one server at a time on 127.0.0.1, same
# load generator (wrk + lua/infer.lua POSTing the same V2 JSON body). See bench/serving/README.md.
#
# Usage: [ENV=value ...] bench/serving/run.sh
#   DURATION=10            seconds per measured wrk phase (DURATION=3 for development)
#   WARMUP=2               seconds of wrk warm-up (same concurrency) before each measured phase
#   CONNS=32               connections of the concurrent single-row phase (wrk -t2)
#   BATCH=64               rows of the batch request (measured at 1 connection)
#   QUIET_WAIT=60          seconds to wait for an idle machine before each server (0: don't)
#   MLSERVER_STARTUP_TIMEOUT=600   seconds MLServer gets to answer /v2/models/xgb/ready
#   MLSERVER_ACCESS_LOG=0  1: MLServer's `debug: true` (its default; uvicorn access log on)
#   KILN_BENCH_ACCESS_LOG=false    kiln's --access-log
#   KILN_ARGS=             extra flags for kiln serve (e.g. "--workers 2"); recorded in meta.txt
#   MODEL_KIND=xgb         xgb: the XGBoost model; mlp: an sklearn MLPRegressor (64, 32), ONNX
#                          (skl2onnx) in kiln, the same fitted model via mlserver-sklearn in MLServer
#   SKIP_KILN=1 / SKIP_MLSERVER=1  leave a server out
#   SKIP_NGINX=1           leave out the floor: nginx answering the same POST with a constant 200
#   SKIP_LOADGEN=1         leave out the loadgen phases (lg_*: bench/serving/loadgen, after the wrk ones)
#   LG_RATES_KILN="2000 5000 10000"  open-loop total rates (req/s, CONNS connections) for kiln
#   LG_RATES_MLSERVER="100 300"      ... for MLServer (~360 req/s capacity); LG_RATES_NGINX: kiln's
#   LG_THREADS=1           loadgen threads (one epoll loop each)
#   REUSE_MLSERVER=bench/.work/serving-<stamp>   don't run MLServer; copy that run's MLServer
#                          results (the model is retrained identically; its hash is compared)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$ROOT/bench/.work"
TRACKING="$ROOT/bench/tracking"

DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
CONNS="${CONNS:-32}"
BATCH="${BATCH:-64}"
QUIET_WAIT="${QUIET_WAIT:-60}"
MLSERVER_STARTUP_TIMEOUT="${MLSERVER_STARTUP_TIMEOUT:-600}"
MLSERVER_ACCESS_LOG="${MLSERVER_ACCESS_LOG:-0}"
SKIP_KILN="${SKIP_KILN:-0}"
SKIP_MLSERVER="${SKIP_MLSERVER:-0}"
SKIP_NGINX="${SKIP_NGINX:-0}"
SKIP_LOADGEN="${SKIP_LOADGEN:-0}"
LG_RATES_KILN="${LG_RATES_KILN:-2000 5000 10000}"
LG_RATES_MLSERVER="${LG_RATES_MLSERVER:-100 300}"
LG_RATES_NGINX="${LG_RATES_NGINX:-$LG_RATES_KILN}"
LG_THREADS="${LG_THREADS:-1}"
LOADGEN_SRC="$HERE/loadgen/loadgen.cc"
LOADGEN="$WORK/loadgen"
KILN_ARGS="${KILN_ARGS:-}"
REUSE_MLSERVER="${REUSE_MLSERVER:-}"
MLSERVER_VERSION=1.7.1
XGBOOST_VERSION=2.1.4        # same as the project venv's, so both sides run the same library
SKLEARN_VERSION=1.9.1        # same as the project venv's (the MLP is pickled there)
UVLOOP_VERSION=0.21.0        # uvloop 0.23.0 (what pip picks unpinned) raises from asyncio.get_event_loop(): MLServer 1.7.1's
                             # inference worker dies at start (mlserver/parallel/worker.py)
MODEL="${MODEL_KIND:-xgb}"
# MLServer runs the MLP in sklearn (float64 weights), kiln its float32 ONNX export: 1e-4 apart at most.
case "$MODEL" in xgb) KILN_FILE=model.json; MLSERVER_FILE=model.json; CHECK_TOL=1e-5 ;;
                 mlp) KILN_FILE=model.onnx; MLSERVER_FILE=model.joblib; CHECK_TOL=1e-4 ;;
                 *) echo "MODEL_KIND must be xgb or mlp" >&2; exit 2 ;; esac
THREADS=2
PY="$ROOT/.venv/bin/python"
MSVENV="$WORK/mlserver-venv"
KILN_SRC="$ROOT/build/release/kiln"

case "${1:-}" in -h|--help) sed -n '2,25p' "$0"; exit 0 ;; "") ;; *) echo "no arguments; options are env vars (see --help)" >&2; exit 2 ;; esac

T0=$(date +%s)
STAMP="$(date -u +%Y%m%d-%H%M%S)"
RUN="$WORK/serving-${MODEL_KIND:-xgb}-$STAMP"
mkdir -p "$RUN"
export TRACKING_LUA_DIR="$TRACKING/lua"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$RUN/run.log" >&2; }
tdrv() { "$PY" "$TRACKING/driver.py" "$@"; }   # launch, free-port, wait-quiet, wait-gone, rss, wrk
sdrv() { "$PY" "$HERE/driver.py" "$@"; }       # model, mlserver-repo, check, report
json_str() { "$PY" -c 'import json,sys;print(json.dumps(sys.stdin.read().strip()))'; }

# ------------------------------------------------------------------ prerequisites
if ! command -v wrk >/dev/null 2>&1; then
  log "wrk not found; installing the Debian package"
  if [[ "$(id -u)" == 0 ]]; then apt-get install -y wrk >&2; else sudo apt-get install -y wrk >&2; fi
fi
[[ -x "$PY" ]] || { echo "missing $PY (the project venv)" >&2; exit 1; }
"$PY" -c 'import xgboost, numpy' || { echo "the project venv lacks xgboost/numpy" >&2; exit 1; }
if [[ "$SKIP_KILN" != 1 && ! -x "$KILN_SRC" ]]; then
  echo "kiln binary missing: $KILN_SRC (cmake --preset release && cmake --build --preset release)" >&2; exit 1
fi
if [[ "$SKIP_LOADGEN" != 1 ]] && [[ ! -x "$LOADGEN" || "$LOADGEN_SRC" -nt "$LOADGEN" ]]; then
  mkdir -p "$WORK"
  log "building $LOADGEN from bench/serving/loadgen/loadgen.cc"
  g++ -O2 -std=c++20 -pthread -o "$LOADGEN.tmp.$$" "$LOADGEN_SRC" && mv -f "$LOADGEN.tmp.$$" "$LOADGEN" \
    || { rm -f "$LOADGEN.tmp.$$"; echo "building loadgen failed" >&2; exit 1; }
fi
if [[ -n "$REUSE_MLSERVER" ]]; then
  [[ -f "$REUSE_MLSERVER/mlserver/single_c1.json" ]] || { echo "REUSE_MLSERVER: no MLServer results in $REUSE_MLSERVER" >&2; exit 1; }
  SKIP_MLSERVER=1
fi
if [[ "$SKIP_MLSERVER" != 1 ]] && ! "$MSVENV/bin/python" -c "import mlserver, mlserver_xgboost, mlserver_sklearn, xgboost, sys; import uvloop; sys.exit(0 if (mlserver.__version__, xgboost.__version__, uvloop.__version__) == ('$MLSERVER_VERSION', '$XGBOOST_VERSION', '$UVLOOP_VERSION') else 1)" 2>/dev/null; then
  log "installing mlserver==$MLSERVER_VERSION mlserver-xgboost/-sklearn==$MLSERVER_VERSION xgboost==$XGBOOST_VERSION scikit-learn==$SKLEARN_VERSION uvloop==$UVLOOP_VERSION into $MSVENV"
  [[ -x "$MSVENV/bin/pip" ]] || python3 -m venv "$MSVENV"
  "$MSVENV/bin/pip" install -q "mlserver==$MLSERVER_VERSION" "mlserver-xgboost==$MLSERVER_VERSION" "mlserver-sklearn==$MLSERVER_VERSION" "xgboost==$XGBOOST_VERSION" "scikit-learn==$SKLEARN_VERSION" "uvloop==$UVLOOP_VERSION" >&2
fi

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

# launch NAME DIR PORT OUTJSON TIMEOUT CMD...   (ready = GET /v2/models/$MODEL/ready answers 200)
launch() {
  local name="$1" dir="$2" port="$3" out="$4" timeout="$5"; shift 5
  if ! tdrv launch --port "$port" --health "/v2/models/$MODEL/ready" --timeout "$timeout" \
        --log "$dir/server.log" --pidfile "$dir/pid" --cwd "$dir" -- "$@" > "$out"; then
    CUR_PID="$(cat "$dir/pid" 2>/dev/null || true)"
    log "$name did not become ready; tail of $dir/server.log:"; tail -20 "$dir/server.log" >&2 || true
    return 1
  fi
  CUR_PID="$(cat "$dir/pid")"
}

# run_wrk OUTNAME BODYFILE CONNS DURATION   (POSTs to $WRK_PATH)
WRK_PATH="/v2/models/$MODEL/infer"
run_wrk() {
  local out="$1" body="$2" conns="$3" dur="$4"
  local threads=$(( conns < THREADS ? conns : THREADS ))
  BODY_FILE="$body" INFER_PATH="$WRK_PATH" \
    tdrv wrk --pid "$CUR_PID" --out "$SDIR/$out.txt" --timeout $(( dur + 60 )) -- \
    wrk -t"$threads" -c"$conns" -d"${dur}s" --timeout 10s --latency -s "$HERE/lua/infer.lua" "$BASE" \
    > "$SDIR/$out.json"
  log "  $out: $("$PY" - "$SDIR/$out.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
if "requests" not in d:
    print(d); sys.exit()
print(f"{d['rps']} req/s, p50 {d['lat_us']['p50']/1000:.3f} ms, p99 {d['lat_us']['p99']/1000:.3f} ms, "
      f"errors {d['error_total']}, cpu {d.get('cpu')}")
EOF
)"
}

# run_lg OUTNAME RATE   (loadgen: $CONNS connections, single-row body, WARMUP s unrecorded then
# DURATION s measured; RATE 0 = closed loop, else open loop at RATE req/s in total). Via the
# tracking driver's `wrk` subcommand (bounded, CPU window); loadgen prints a WRKJSON line.
run_lg() {
  local out="$1" rate="$2"
  tdrv wrk --pid "$CUR_PID" --out "$SDIR/$out.txt" --timeout $(( WARMUP + DURATION + 60 )) -- \
    "$LOADGEN" --url "$BASE$WRK_PATH" --body "$MD/single.json" --connections "$CONNS" \
    --threads "$LG_THREADS" --duration "$DURATION" --warmup "$WARMUP" --rate "$rate" --timeout 10 --wrkjson \
    > "$SDIR/$out.json"
  log "  $out: $("$PY" - "$SDIR/$out.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
if "requests" not in d:
    print(d); sys.exit()
l = d["lat_us"]
print(f"{d['rps']} req/s (target {d.get('target_rate') or 'closed loop'}), p50 {l['p50']/1000:.3f} ms, "
      f"p99 {l['p99']/1000:.3f} ms, p99.9 {l['p999']/1000:.3f} ms, max {l['max']/1000:.3f} ms, "
      f"errors {d['error_total']}, unsent {d.get('unsent', 0)}, loadgen cpu {d['loadgen_cpu']['pct_one_core']} % "
      f"of a core, cpu {d.get('cpu')}")
EOF
)"
}

# run_lg_all RATES...   (the closed loop, then each rate)
run_lg_all() {
  [[ "$SKIP_LOADGEN" == 1 ]] && return 0
  run_lg "lg_c${CONNS}" 0
  local r
  for r in "$@"; do run_lg "lg_r$r" "$r"; done
}

fail() {   # STAGE MESSAGE
  echo "{\"failed\":\"$1\",\"error\":$(printf '%s' "$2" | json_str)}" > "$SDIR/failed.json"
  log "  FAILED at $1: $2"
}

# ------------------------------------------------------------------ the model + request bodies
MD="$RUN/model"
sdrv model --kind "$MODEL" --out "$MD" --batch "$BATCH" > "$RUN/model.json.info"
log "model: $(cat "$RUN/model.json.info")"
mkdir -p "$MD/repo/$MODEL/1"
cp "$MD/$KILN_FILE" "$MD/repo/$MODEL/1/$KILN_FILE"
MODEL_SHA="$("$PY" -c "import json;print(json.load(open('$MD/expected.json'))['model_sha256'][:16])")"

record_meta() {
  {
    echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc=$(nproc)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "mem=$(free -g | awk '/^Mem:/{print $2" GiB"}')"
    echo "kernel=$(uname -r)"
    echo "os=$(. /etc/os-release; echo "$PRETTY_NAME")"
    echo "wrk=$(wrk -v 2>&1 | head -1 | awk '{print $1" "$2}')"
    [[ "$SKIP_LOADGEN" != 1 ]] && echo "loadgen=bench/serving/loadgen/loadgen.cc sha256 $(sha256sum "$LOADGEN_SRC" | cut -c1-12) ($(g++ --version | head -1), -O2), $LG_THREADS thread(s), $CONNS connections, closed loop + open-loop rates kiln [$LG_RATES_KILN] MLServer [$LG_RATES_MLSERVER] nginx [$LG_RATES_NGINX] req/s"
    [[ "$MODEL" == mlp ]] && echo "model=$("$PY" -c "import json;d=json.load(open('$MD/expected.json'));print(f\"sklearn {d['sklearn']} {d['objective']}, {d['features']} features, kiln: model.onnx (skl2onnx) {d['model_bytes']:,} B sha256 {d['model_sha256'][:12]}, MLServer: the same fitted model as model.joblib (mlserver-sklearn); request bodies {d['single_body_bytes']} B (1 row) / {d['batch_body_bytes']:,} B ({d['batch_rows']} rows)\")")"
    [[ "$MODEL" == xgb ]] && echo "model=$("$PY" -c "import json;d=json.load(open('$MD/expected.json'));print(f\"{d['trees']} trees, depth {d['max_depth']}, {d['features']} features, {d['objective']}, trained with xgboost {d['xgboost']} (project venv), model.json {d['model_bytes']:,} B sha256 {d['model_sha256'][:12]}; request bodies {d['single_body_bytes']} B (1 row) / {d['batch_body_bytes']:,} B ({d['batch_rows']} rows)\")")"
    if [[ "$SKIP_MLSERVER" != 1 && -x "$MSVENV/bin/python" ]]; then
      echo "mlserver=$("$MSVENV/bin/python" - <<'PYEOF'
import sys
from importlib.metadata import version
names = ["mlserver", "mlserver-xgboost", "mlserver-sklearn", "xgboost", "scikit-learn", "numpy", "uvicorn", "uvloop", "fastapi"]
print(", ".join(f"{n} {version(n)}" for n in names) + f", Python {sys.version.split()[0]}")
PYEOF
)"
      echo "mlserver_settings=defaults (parallel_workers=$("$MSVENV/bin/python" -c 'from mlserver.settings import Settings;print(Settings.model_fields["parallel_workers"].default)'): one uvicorn process for REST + gRPC + metrics, inference in 1 parallel worker process; gzip middleware on) except host 127.0.0.1, free ports, debug=$([[ "$MLSERVER_ACCESS_LOG" == 1 ]] && echo true || echo false) (access log $([[ "$MLSERVER_ACCESS_LOG" == 1 ]] && echo on || echo off)); model-settings implementation $([[ "$MODEL" == mlp ]] && echo "mlserver_sklearn.SKLearnModel, parameters.uri = the same fitted model (model.joblib)" || echo "mlserver_xgboost.XGBoostModel, parameters.uri = the same model.json")"
      echo "mlserver_venv=bench/.work/mlserver-venv"
    fi
    [[ -n "$REUSE_MLSERVER" ]] && echo "mlserver=reused from $REUSE_MLSERVER ($(grep -m1 '^mlserver=' "$REUSE_MLSERVER/meta.txt" 2>/dev/null | cut -d= -f2-))"
    [[ "$SKIP_NGINX" != 1 && -x /usr/sbin/nginx ]] && echo "nginx=$(/usr/sbin/nginx -v 2>&1 | sed 's/.*: //') (floor: the same POST answered with a constant 200, worker_processes auto, access_log off)"
    echo "perf_analyzer=not used: pip install perf-analyzer resolves to the 0.1.0 placeholder (no binary) here"
    echo "duration_s=$DURATION"
    echo "warmup_s=$WARMUP"
    echo "conns=$CONNS"
    echo "batch=$BATCH"
    echo "cmdline=MODEL_KIND=$MODEL DURATION=$DURATION WARMUP=$WARMUP CONNS=$CONNS BATCH=$BATCH QUIET_WAIT=$QUIET_WAIT SKIP_KILN=$SKIP_KILN SKIP_MLSERVER=$SKIP_MLSERVER SKIP_NGINX=$SKIP_NGINX SKIP_LOADGEN=$SKIP_LOADGEN LG_RATES_KILN=\"$LG_RATES_KILN\" LG_RATES_MLSERVER=\"$LG_RATES_MLSERVER\" LG_RATES_NGINX=\"$LG_RATES_NGINX\" LG_THREADS=$LG_THREADS${KILN_ARGS:+ KILN_ARGS=\"$KILN_ARGS\"}${REUSE_MLSERVER:+ REUSE_MLSERVER=$REUSE_MLSERVER} bench/serving/run.sh"
  } > "$RUN/meta.txt"
}
record_meta
log "results dir: $RUN"

# ------------------------------------------------------------------ one server
bench_server() {
  local name="$1"
  SDIR="$RUN/$name"
  mkdir -p "$SDIR"
  local dir; dir="$(mktemp -d "$WORK/srv-serving-$name.XXXXXX")"
  echo "$dir" > "$SDIR/datadir"
  local port; port="$(tdrv free-port)"
  BASE="http://127.0.0.1:$port"
  local -a cmd
  local timeout
  case "$name" in
    kiln)
      # Snapshot the binary when its turn comes, so a concurrent rebuild cannot change it mid-run.
      cp "$KILN_SRC" "$RUN/kiln-bin"
      echo "kiln_binary=build/release/kiln built $(date -u -r "$KILN_SRC" +%Y-%m-%dT%H:%M:%SZ), version $("$RUN/kiln-bin" version 2>/dev/null), repo HEAD $(git -C "$ROOT" rev-parse --short HEAD)$([[ -z "$(git -C "$ROOT" status --porcelain -- src 2>/dev/null)" ]] || echo ' (src/ had uncommitted or untracked changes)'), sha256 $(sha256sum "$RUN/kiln-bin" | cut -c1-12)" >> "$RUN/meta.txt"
      local -a extra=()
      [[ -n "$KILN_ARGS" ]] && read -r -a extra <<< "$KILN_ARGS"
      cmd=("$RUN/kiln-bin" serve --host 127.0.0.1 --port "$port" --data-dir "$dir/data"
           "--access-log=${KILN_BENCH_ACCESS_LOG:-false}" --model-repository "$MD/repo" "${extra[@]}")
      echo "kiln_args=serve --host 127.0.0.1 --port P --data-dir D --access-log=${KILN_BENCH_ACCESS_LOG:-false} --model-repository R${KILN_ARGS:+ $KILN_ARGS} (every other flag at its default: $("$RUN/kiln-bin" serve --help 2>/dev/null | grep -oE -- '--(io-threads|workers|max-batch-rows|max-queue-delay-us|model-queue) [A-Z]+=[0-9]+' | sed -E 's/ [A-Z]+=/ /' | paste -sd, - | sed 's/,/, /g'); kiln-serve-help.txt has them all)" >> "$RUN/meta.txt"
      "$RUN/kiln-bin" serve --help > "$RUN/kiln-serve-help.txt" 2>&1 || true
      timeout=60 ;;
    mlserver)
      local gport mport
      gport="$(tdrv free-port)"; mport="$(tdrv free-port)"
      local -a al=()
      [[ "$MLSERVER_ACCESS_LOG" == 1 ]] && al=(--access-log)
      sdrv mlserver-repo --dir "$dir/repo" --model "$MD/$MLSERVER_FILE" --name "$MODEL" \
        --port "$port" --grpc-port "$gport" --metrics-port "$mport" "${al[@]}" > "$SDIR/mlserver_config.json"
      cmd=("$MSVENV/bin/mlserver" start "$dir/repo")
      timeout="$MLSERVER_STARTUP_TIMEOUT" ;;
    nginx)
      # the floor of this machine + load generator: the same POST answered with a constant 200
      mkdir -p "$dir/www"
      sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$dir|g" \
          -e "s|location = /health {|location = /v2/models/$MODEL/ready { default_type text/plain; return 200 \"OK\"; }\n    location = /v2/models/$MODEL/infer {|" \
          "$TRACKING/nginx.conf.in" > "$dir/nginx.conf"
      cmd=(/usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log")
      timeout=30 ;;
  esac

  if [[ "$QUIET_WAIT" != 0 ]]; then
    tdrv wait-quiet --max-wait "$QUIET_WAIT" > "$SDIR/quiet.json" || true
    log "  quiet check: $(cat "$SDIR/quiet.json")"
  fi
  { cat /proc/loadavg; ps -eo pcpu,pid,args --sort=-pcpu | head -6 | cut -c1-160; } > "$SDIR/background.txt"
  log "== $name (port $port, dir $dir); loadavg $(cut -d' ' -f1-3 /proc/loadavg)"

  if ! launch "$name" "$dir" "$port" "$SDIR/startup.json" "$timeout" "${cmd[@]}"; then
    fail startup "$(cat "$SDIR/startup.json" 2>/dev/null) (timeout ${timeout} s); see $name/server.log"
    stop_server
    cp "$dir/server.log" "$SDIR/server.log" 2>/dev/null || true
    rm -rf "$dir"; return 0
  fi
  log "  ready: $(cat "$SDIR/startup.json")"

  if [[ "$name" == nginx ]]; then
    run_wrk single_c1_warm "$MD/single.json" 1 "$WARMUP"
    run_wrk single_c1 "$MD/single.json" 1 "$DURATION"
    run_wrk "single_c${CONNS}_warm" "$MD/single.json" "$CONNS" "$WARMUP"
    run_wrk "single_c${CONNS}" "$MD/single.json" "$CONNS" "$DURATION"
    local -a lg_rates
    read -r -a lg_rates <<< "$LG_RATES_NGINX"
    run_lg_all "${lg_rates[@]}"
    stop_server
    cp "$dir/server.log" "$SDIR/server.log" 2>/dev/null || true
    rm -rf "$dir"; return 0
  fi

  # same body to both servers: 200 and the reference prediction, before any load
  if ! sdrv check --port "$port" --model "$MODEL" --single "$MD/single.json" --batch "$MD/batch.json" \
        --expected "$MD/expected.json" --tol "$CHECK_TOL" > "$SDIR/check.json"; then
    fail check "$(cut -c1-600 "$SDIR/check.json")"
    stop_server
    cp "$dir/server.log" "$SDIR/server.log" 2>/dev/null || true
    rm -rf "$dir"; return 0
  fi
  log "  check: $("$PY" -c "import json;d=json.load(open('$SDIR/check.json'));s=d['single'];print(s['output'],s['datatype'],s['shape'],s['values'],'max err',s['max_abs_err_vs_ref'],'batch max err',d['batch']['max_abs_err_vs_ref'])")"

  run_wrk single_c1_warm "$MD/single.json" 1 "$WARMUP"
  run_wrk single_c1 "$MD/single.json" 1 "$DURATION"
  run_wrk "single_c${CONNS}_warm" "$MD/single.json" "$CONNS" "$WARMUP"
  run_wrk "single_c${CONNS}" "$MD/single.json" "$CONNS" "$DURATION"
  run_wrk batch_c1_warm "$MD/batch.json" 1 "$WARMUP"
  run_wrk batch_c1 "$MD/batch.json" 1 "$DURATION"
  local -a lg_rates
  if [[ "$name" == mlserver ]]; then read -r -a lg_rates <<< "$LG_RATES_MLSERVER"; else read -r -a lg_rates <<< "$LG_RATES_KILN"; fi
  run_lg_all "${lg_rates[@]}"
  tdrv rss --pid "$CUR_PID" --min-wait 1 --max-wait 10 > "$SDIR/rss.json" || true
  log "  rss: $(cat "$SDIR/rss.json")"
  ps -eo pid,ppid,pgid,rss,args | awk -v g="$CUR_PID" 'NR == 1 || $3 == g' | cut -c1-200 > "$SDIR/processes.txt" || true

  stop_server
  cp "$dir/server.log" "$SDIR/server.log" 2>/dev/null || true
  rm -rf "$dir"
}

[[ "$SKIP_KILN" == 1 ]] || bench_server kiln
if [[ "$SKIP_MLSERVER" != 1 ]]; then
  sleep 2
  bench_server mlserver
elif [[ -n "$REUSE_MLSERVER" ]]; then
  cp -r "$REUSE_MLSERVER/mlserver" "$RUN/mlserver"
  echo "$REUSE_MLSERVER" > "$RUN/mlserver/reused_from"
  old="$("$PY" -c "import json;print(json.load(open('$REUSE_MLSERVER/model/expected.json'))['model_sha256'][:16])" 2>/dev/null || echo '?')"
  [[ "$old" == "$MODEL_SHA" ]] || echo "{\"failed\":\"reuse\",\"error\":\"model differs from the reused run's (sha256 $old vs $MODEL_SHA)\"}" > "$RUN/mlserver/failed.json"
fi
if [[ "$SKIP_NGINX" != 1 ]]; then
  if [[ -x /usr/sbin/nginx ]]; then
    sleep 2
    bench_server nginx
  else
    log "no /usr/sbin/nginx: the floor measurement is skipped (apt-get install nginx-light)"
  fi
fi

echo "wall_s=$(( $(date +%s) - T0 ))" >> "$RUN/meta.txt"
sdrv report "$RUN" > "$RUN/results.md"
cat "$RUN/results.md"
log "results written to $RUN/results.md"
