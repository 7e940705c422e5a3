#!/usr/bin/env bash
# Platform benchmark (issue 11): feature-enriched predict, 1 entity per request, kiln's
# POST /api/v1/endpoints/{name}/predict against the KServe-style chain (a minimal Python
# transformer -> `feast serve` /get-online-features -> MLServer V2 /infer), one side at a time on
# 127.0.0.1, the same XGBoost model, the same Feast repo, the same load generator (wrk +
# lua/predict.lua). Also the runbook's locust profile and the rollout/rollback latency.
# See bench/platform/README.md.
#
# Usage: [ENV=value ...] bench/platform/run.sh [bench|locust|rollout]
#   bench (default)        kiln vs the chain: check, wrk phases, ratios, targets
#   locust                 the runbook's profile against kiln: locust -f bench/platform/locustfile.py
#                          --users 100 --spawn-rate 10 --headless -t LOCUST_TIME; prints avg, P95, error %
#   rollout                rollback latency under load and p99 during a linear rollout vs steady state
#
#   DURATION=10            seconds per measured wrk phase;  WARMUP=2: unrecorded warm-up before each
#   CONNS_LIST="1 32"      connections of the wrk phases (wrk -t1 for 1, -t2 above)
#   ENTITIES=10000         drivers in the online store (the load cycles over all of them)
#   QUIET_WAIT=60          seconds to wait for an idle machine before each side (0: don't)
#   KILN_BINARY=build/release/kiln   the kiln binary (copied into the run dir when its turn comes)
#   KILN_ARGS=             extra flags for kiln serve
#   FEAST_SERVE_ARGS="-w 2 --no-access-log"   flags of `feast serve` besides host/port
#   LG_RATES_KILN=         open-loop rates (req/s) for extra kiln loadgen phases (bench/serving/loadgen,
#                          LG_CONNS connections, fixed entity), e.g. "2000 5000";  LG_CONNS=32
#   SKIP_KILN=1 / SKIP_CHAIN=1   leave a side out
#   LOCUST_TIME=60s  LOCUST_USERS=100  LOCUST_SPAWN_RATE=10  LOCUST_FAST_HTTP=1 (FastHttpUser)   (locust mode)
#   ROLLBACKS=5  ROLLOUTS=4  ROLLOUT_RATE=2000  (rollout mode: rollbacks, (steady, rollout) pairs, loadgen rate)
#   CONTROLS=0             (rollout mode: (steady, steady) pairs with no change, the window-to-window noise)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$ROOT/bench/.work"
TRACKING="$ROOT/bench/tracking"

case "${1:-bench}" in
  -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
  bench|locust|rollout) MODE="${1:-bench}" ;;
  *) echo "usage: bench/platform/run.sh [bench|locust|rollout] (options are env vars, see --help)" >&2; exit 2 ;;
esac

DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
CONNS_LIST="${CONNS_LIST:-1 32}"
ENTITIES="${ENTITIES:-10000}"
QUIET_WAIT="${QUIET_WAIT:-60}"
KILN_BINARY="${KILN_BINARY:-$ROOT/build/release/kiln}"
[[ "$KILN_BINARY" == /* ]] || KILN_BINARY="$ROOT/$KILN_BINARY"
KILN_ARGS="${KILN_ARGS:-}"
FEAST_SERVE_ARGS="${FEAST_SERVE_ARGS:--w 2 --no-access-log}"
LG_RATES_KILN="${LG_RATES_KILN:-}"
LG_CONNS="${LG_CONNS:-32}"
SKIP_KILN="${SKIP_KILN:-0}"
SKIP_CHAIN="${SKIP_CHAIN:-0}"
LOCUST_TIME="${LOCUST_TIME:-60s}"
LOCUST_USERS="${LOCUST_USERS:-100}"
LOCUST_SPAWN_RATE="${LOCUST_SPAWN_RATE:-10}"
ROLLBACKS="${ROLLBACKS:-5}"
ROLLOUT_RATE="${ROLLOUT_RATE:-2000}"
ROLLOUTS="${ROLLOUTS:-4}"
CONTROLS="${CONTROLS:-0}"
ENDPOINT=driver
PY="$ROOT/.venv/bin/python"
FEAST="$ROOT/.venv/bin/feast"
REDIS_SERVER=/usr/bin/redis-server
MSVENV="$WORK/platform-mlserver-venv"
TRVENV="$WORK/platform-transformer-venv"
LOVENV="$WORK/locust-venv"
LOADGEN_SRC="$ROOT/bench/serving/loadgen/loadgen.cc"
LOADGEN="$WORK/loadgen"
# Pins. MLServer as bench/serving runs it (uvloop 0.21.0: 0.23.0, what pip picks unpinned, raises
# from asyncio.get_event_loop() in MLServer 1.7.1's inference worker, which then never loads the
# model), but xgboost = the project venv's, which trains the model: both sides run the same library.
MLSERVER_VERSION=1.7.1
XGBOOST_VERSION="$("$PY" -c 'import xgboost;print(xgboost.__version__)')"
UVLOOP_VERSION=0.21.0
AIOHTTP_VERSION=3.14.5
LOCUST_VERSION=2.47.0

T0=$(date +%s)
STAMP="$(date -u +%Y%m%d-%H%M%S)"
RUN="$WORK/platform-$MODE-$STAMP"
mkdir -p "$RUN"
export TRACKING_LUA_DIR="$TRACKING/lua"
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$RUN/run.log" >&2; }
tdrv() { "$PY" "$TRACKING/driver.py" "$@"; }   # launch, free-port, wait-quiet, wait-gone, rss
pdrv() { "$PY" "$HERE/pbench.py" "$@"; }       # gen, repo, start-redis, materialize, register, check, report
jget() { "$PY" -c "import json,sys;d=json.load(open(sys.argv[1]));print(d$2)" "$1"; }

# ------------------------------------------------------------------ prerequisites
command -v wrk >/dev/null 2>&1 || { log "wrk not found; installing the Debian package"; apt-get install -y wrk >&2; }
[[ -x "$PY" ]] || { echo "missing $PY (the project venv)" >&2; exit 1; }
if [[ "$SKIP_KILN" != 1 && ! -x "$KILN_BINARY" ]]; then
  echo "kiln binary missing: $KILN_BINARY (KILN_BINARY=...)" >&2; exit 1
fi
venv_install() {   # DIR CHECK-PYTHON PACKAGES...
  local dir="$1" check="$2"; shift 2
  if ! "$dir/bin/python" -c "$check" 2>/dev/null; then
    log "installing $* into $dir"
    [[ -x "$dir/bin/pip" ]] || python3 -m venv "$dir"
    "$dir/bin/pip" install -q "$@" >&2
  fi
}
if [[ "$MODE" == bench && "$SKIP_CHAIN" != 1 ]]; then
  [[ -x "$REDIS_SERVER" ]] || { echo "missing $REDIS_SERVER (apt-get install redis-server)" >&2; exit 1; }
  REDIS_PYLIB="$WORK/feast-redis-pylib"   # Feast's [redis] extra, as bench/features installs it
  if ! PYTHONPATH="$REDIS_PYLIB" "$PY" -c 'import redis, hiredis' 2>/dev/null; then
    log "installing redis-py and hiredis (Feast's [redis] extra) into $REDIS_PYLIB"
    "$PY" -m pip install -q --target "$REDIS_PYLIB" "redis==7.4.1" "hiredis==3.5.0" >&2
  fi
  venv_install "$MSVENV" "import sys, mlserver, mlserver_xgboost, xgboost, uvloop; sys.exit(0 if (mlserver.__version__, xgboost.__version__, uvloop.__version__) == ('$MLSERVER_VERSION', '$XGBOOST_VERSION', '$UVLOOP_VERSION') else 1)" \
    "mlserver==$MLSERVER_VERSION" "mlserver-xgboost==$MLSERVER_VERSION" "xgboost==$XGBOOST_VERSION" "uvloop==$UVLOOP_VERSION"
  venv_install "$TRVENV" "import sys, aiohttp, uvloop; sys.exit(0 if (aiohttp.__version__, uvloop.__version__) == ('$AIOHTTP_VERSION', '$UVLOOP_VERSION') else 1)" \
    "aiohttp==$AIOHTTP_VERSION" "uvloop==$UVLOOP_VERSION"
fi
if [[ "$MODE" == locust ]]; then
  venv_install "$LOVENV" "import sys, locust; sys.exit(0 if locust.__version__ == '$LOCUST_VERSION' else 1)" "locust==$LOCUST_VERSION"
fi
if [[ -n "$LG_RATES_KILN" || "$MODE" == rollout ]] && [[ ! -x "$LOADGEN" || "$LOADGEN_SRC" -nt "$LOADGEN" ]]; then
  log "building $LOADGEN from bench/serving/loadgen/loadgen.cc"
  g++ -O2 -std=c++20 -pthread -o "$LOADGEN.tmp.$$" "$LOADGEN_SRC" && mv -f "$LOADGEN.tmp.$$" "$LOADGEN" \
    || { rm -f "$LOADGEN.tmp.$$"; echo "building loadgen failed" >&2; exit 1; }
fi

# ------------------------------------------------------------------ process control
declare -a PGIDS=()
stop_group() {   # PGID: SIGTERM to the group (the launcher made each server a group leader), SIGKILL after 40 s
  local pid="$1"
  [[ -z "$pid" ]] && return 0
  kill -TERM -- "-$pid" 2>/dev/null || true
  if ! tdrv wait-gone --pgid "$pid" --timeout 40 >/dev/null; then
    log "process group $pid did not exit after SIGTERM; sending SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || true
    tdrv wait-gone --pgid "$pid" --timeout 10 >/dev/null || log "WARNING: process group $pid still alive"
  fi
}
stop_all() { local p; for p in "${PGIDS[@]}"; do stop_group "$p"; done; PGIDS=(); }
trap 'stop_all' EXIT
trap 'exit 130' INT TERM

# launch NAME DIR PORT HEALTH TIMEOUT CMD...  -> sets LAUNCHED_PID; startup JSON in $SDIR/startup_NAME.json
launch() {
  local name="$1" dir="$2" port="$3" health="$4" timeout="$5"; shift 5
  if ! tdrv launch --port "$port" --health "$health" --timeout "$timeout" --log "$dir/$name.log" \
        --pidfile "$dir/$name.pid" --cwd "$dir" -- "$@" > "$SDIR/startup_$name.json"; then
    local pid; pid="$(cat "$dir/$name.pid" 2>/dev/null || true)"
    [[ -n "$pid" ]] && PGIDS+=("$pid")
    log "  $name did not become ready: $(cat "$SDIR/startup_$name.json"); tail of its log:"
    tail -20 "$dir/$name.log" >&2 || true
    cp "$dir/$name.log" "$SDIR/" 2>/dev/null || true
    return 1
  fi
  LAUNCHED_PID="$(cat "$dir/$name.pid")"
  PGIDS+=("$LAUNCHED_PID")
  log "  $name ready: $(cat "$SDIR/startup_$name.json")"
}

quiet() {
  if [[ "$QUIET_WAIT" != 0 ]]; then
    tdrv wait-quiet --max-wait "$QUIET_WAIT" > "$SDIR/quiet-$1.json" || true
    log "  quiet check ($1): $(cat "$SDIR/quiet-$1.json")"
  fi
}

# step NAME CMD...: JSON result into $SDIR/NAME.json, stderr into NAME.err; never aborts the run
step() {
  local name="$1"; shift
  if "$@" > "$SDIR/$name.json" 2> "$SDIR/$name.err"; then
    log "  $name: $(cut -c1-400 "$SDIR/$name.json")"
    return 0
  fi
  log "  $name FAILED: $(cut -c1-400 "$SDIR/$name.json") $(tail -c 800 "$SDIR/$name.err" | tr '\n' ' ')"
  return 1
}

# run_wrk OUTNAME CONNS DURATION PATH PIDS  (CPU of the comma-separated process trees = "server")
run_wrk() {
  local out="$1" conns="$2" dur="$3" path="$4" pids="$5"
  local threads=$(( conns < 2 ? conns : 2 ))
  PREDICT_PATH="$path" ENTITY_KEY=driver_id ENTITY_FIRST=1001 ENTITY_COUNT="$ENTITIES" \
    pdrv_wrk --pids "$pids" --out "$SDIR/$out.txt" --timeout $(( dur + 60 )) -- \
    wrk -t"$threads" -c"$conns" -d"${dur}s" --timeout 10s --latency -s "$HERE/lua/predict.lua" "$BASE" \
    > "$SDIR/$out.json"
  log "  $out: $("$PY" - "$SDIR/$out.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
if "requests" not in d:
    print(d); sys.exit()
print(f"{d['rps']} req/s, p50 {d['lat_us']['p50']/1000:.3f} ms, p99 {d['lat_us']['p99']/1000:.3f} ms, "
      f"errors {d['error_total']} {d.get('non2xx_line', '')}, cpu {d.get('cpu')}")
EOF
)"
}
pdrv_wrk() { "$PY" "$HERE/cpuwrk.py" "$@"; }

load_phases() {   # PATH PIDS
  local path="$1" pids="$2" c
  quiet load
  for c in $CONNS_LIST; do
    run_wrk "predict_c${c}_warm" "$c" "$WARMUP" "$path" "$pids"
    run_wrk "predict_c${c}" "$c" "$DURATION" "$path" "$pids"
  done
}

record_meta() {
  {
    echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine=$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(free -g | awk '/^Mem:/{print $2" GiB"}'), kernel $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME")"
    echo "repo_head=$(git -C "$ROOT" rev-parse --short HEAD)"
    echo "wrk=$(wrk -v 2>&1 | head -1 | awk '{print $1" "$2}')"
    echo "conns_list=$CONNS_LIST"
    echo "duration_s=$DURATION"
    echo "warmup_s=$WARMUP"
    echo "cmdline=MODE=$MODE DURATION=$DURATION WARMUP=$WARMUP CONNS_LIST=\"$CONNS_LIST\" ENTITIES=$ENTITIES QUIET_WAIT=$QUIET_WAIT KILN_BINARY=${KILN_BINARY#$ROOT/}${KILN_ARGS:+ KILN_ARGS=\"$KILN_ARGS\"} FEAST_SERVE_ARGS=\"$FEAST_SERVE_ARGS\"${LG_RATES_KILN:+ LG_RATES_KILN=\"$LG_RATES_KILN\" LG_CONNS=$LG_CONNS} SKIP_KILN=$SKIP_KILN SKIP_CHAIN=$SKIP_CHAIN$([[ "$MODE" == locust ]] && echo " LOCUST_TIME=$LOCUST_TIME LOCUST_USERS=$LOCUST_USERS LOCUST_SPAWN_RATE=$LOCUST_SPAWN_RATE${LOCUST_FAST_HTTP:+ LOCUST_FAST_HTTP=$LOCUST_FAST_HTTP}")$([[ "$MODE" == rollout ]] && echo " ROLLBACKS=$ROLLBACKS ROLLOUTS=$ROLLOUTS CONTROLS=$CONTROLS ROLLOUT_RATE=$ROLLOUT_RATE LG_CONNS=$LG_CONNS") bench/platform/run.sh $MODE"
  } > "$RUN/meta.txt"
}
record_meta
log "results dir: $RUN"

# ------------------------------------------------------------------ data + model (per run: the
# online rows are stamped at generation time)
DATA="$RUN/data"
pdrv gen --out "$DATA" --entities "$ENTITIES" > "$RUN/gen.json"
log "data + model: $(cat "$RUN/gen.json")"
echo "model=$("$PY" -c "import json;d=json.load(open('$DATA/expected.json'));print(f\"XGBoost {d['trees']} trees, depth {d['max_depth']}, {d['features']} float32 features, {d['objective']}, trained with xgboost {d['xgboost']} (project venv), model.json {d['model_bytes']:,} B sha256 {d['model_sha256'][:12]}; {d['entities']:,} drivers in the online store; Feast repo: 1 entity driver_id (Int64), 1 feature view driver_hourly_stats ({d['features']} Float32), file offline store\")")" >> "$RUN/meta.txt"
FEATURE_REFS="$("$PY" -c "import json;d=json.load(open('$DATA/expected.json'));print(json.dumps(['driver_hourly_stats:'+n for n in d['feature_names']]))")"

# ------------------------------------------------------------------ kiln
KILN_PID=""
start_kiln() {   # DIR -> KILN_PID, PORT, GPORT, BASE; copies the binary (+ libduckdb) into the run dir
  local dir="$1"
  mkdir -p "$RUN/kiln-bin"
  cp "$KILN_BINARY" "$RUN/kiln-bin/kiln"
  cp "$(dirname "$KILN_BINARY")"/libduckdb*.so* "$RUN/kiln-bin/" 2>/dev/null || true
  local bin="$RUN/kiln-bin/kiln"
  echo "kiln_binary=${KILN_BINARY#$ROOT/} built $(date -u -r "$KILN_BINARY" +%Y-%m-%dT%H:%M:%SZ), version $("$bin" version 2>/dev/null), repo HEAD $(git -C "$ROOT" rev-parse --short HEAD)$([[ -z "$(git -C "$ROOT" status --porcelain -- src 2>/dev/null)" ]] || echo ' (src/ had uncommitted or untracked changes)'), sha256 $(sha256sum "$bin" | cut -c1-12)" >> "$RUN/meta.txt"
  PORT="$(tdrv free-port)"; GPORT="$(tdrv free-port)"; BASE="http://127.0.0.1:$PORT"
  local -a extra=(); [[ -n "$KILN_ARGS" ]] && read -r -a extra <<< "$KILN_ARGS"
  echo "kiln_args=serve --host 127.0.0.1 --port P --grpc-port G --data-dir D --access-log=false${KILN_ARGS:+ $KILN_ARGS} (every other flag at its default)" >> "$RUN/meta.txt"
  launch kiln "$dir" "$PORT" /health 60 "$bin" serve --host 127.0.0.1 --port "$PORT" --grpc-port "$GPORT" \
    --data-dir "$dir/data" --access-log=false "${extra[@]}" || return 1
  KILN_PID="$LAUNCHED_PID"
}

# kiln_setup DIR [--second]: feast apply through kiln's remote registry, materialize into kiln's
# online store (the SDK posts /materialize to kiln), register the model with mlflow, create the endpoint
kiln_setup() {
  local dir="$1"; shift
  pdrv repo --dir "$dir/repo" --data "$DATA" --target kiln --http-port "$PORT" --grpc-port "$GPORT" > /dev/null
  cp "$dir/repo/feature_store.yaml" "$SDIR/feature_store.yaml"
  step apply "$PY" "$ROOT/bench/features/timed.py" --cwd "$dir/repo" -- "$FEAST" apply || return 1
  step materialize pdrv materialize --dir "$dir/repo" --data "$DATA" || return 1
  step register pdrv register --port "$PORT" --data "$DATA" --endpoint "$ENDPOINT" "$@" || return 1
}

bench_kiln() {
  SDIR="$RUN/kiln"; mkdir -p "$SDIR"
  local dir; dir="$(mktemp -d "$WORK/srv-platform-kiln.XXXXXX")"
  log "== kiln (dir $dir); loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
  quiet start
  if start_kiln "$dir" && kiln_setup "$dir"; then
    if step check pdrv check --port "$PORT" --path "/api/v1/endpoints/$ENDPOINT/predict" --data "$DATA"; then
      load_phases "/api/v1/endpoints/$ENDPOINT/predict" "$KILN_PID"
      local r
      for r in $LG_RATES_KILN; do
        "$PY" "$HERE/cpuwrk.py" --pids "$KILN_PID" --out "$SDIR/lg_r$r.txt" --timeout $(( WARMUP + DURATION + 60 )) -- \
          "$LOADGEN" --url "$BASE/api/v1/endpoints/$ENDPOINT/predict" --body "$DATA/single.json" --connections "$LG_CONNS" \
          --threads 1 --duration "$DURATION" --warmup "$WARMUP" --rate "$r" --timeout 10 --wrkjson > "$SDIR/lg_r$r.json"
        log "  lg_r$r: $(cut -c1-600 "$SDIR/lg_r$r.json")"
      done
      tdrv rss --pid "$KILN_PID" --min-wait 1 --max-wait 10 > "$SDIR/rss.json" || true
      log "  rss: $(cat "$SDIR/rss.json")"
    fi
  fi
  stop_all
  cp "$dir/kiln.log" "$SDIR/server.log" 2>/dev/null || true
  rm -rf "$dir"
}

# ------------------------------------------------------------------ the chain (the peer)
bench_chain() {
  SDIR="$RUN/chain"; mkdir -p "$SDIR"
  local dir; dir="$(mktemp -d "$WORK/srv-platform-chain.XXXXXX")"
  log "== chain: transformer -> feast serve -> MLServer (dir $dir); loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
  {
    echo "peer=transformer (bench/platform/transformer.py: aiohttp $AIOHTTP_VERSION + uvloop $UVLOOP_VERSION, 1 process, keep-alive pools) -> feast serve $FEAST_SERVE_ARGS (Feast $("$PY" -c 'import feast;print(feast.__version__)'), Redis online store: redis-server $("$REDIS_SERVER" --version | awk '{print $3}' | sed 's/v=//') without persistence, file registry + offline store) -> MLServer $MLSERVER_VERSION (mlserver-xgboost $MLSERVER_VERSION, xgboost $XGBOOST_VERSION, its defaults but host/ports and debug=false: 1 inference worker)"
  } >> "$RUN/meta.txt"
  local rport; rport="$(tdrv free-port)"
  if ! PYTHONPATH="$REDIS_PYLIB" pdrv start-redis --dir "$dir" --port "$rport" > "$SDIR/redis.json"; then
    log "  redis failed: $(cat "$SDIR/redis.json")"; return 0
  fi
  local redis_pid; redis_pid="$(jget "$SDIR/redis.json" "['pid']")"; PGIDS+=("$redis_pid")
  pdrv repo --dir "$dir/repo" --data "$DATA" --target feast --redis-port "$rport" > /dev/null
  cp "$dir/repo/feature_store.yaml" "$SDIR/feature_store.yaml"
  step apply "$PY" "$ROOT/bench/features/timed.py" --cwd "$dir/repo" -- env PYTHONPATH="$REDIS_PYLIB" "$FEAST" apply || { stop_all; return 0; }
  step materialize env PYTHONPATH="$REDIS_PYLIB" "$PY" "$HERE/pbench.py" materialize --dir "$dir/repo" --data "$DATA" || { stop_all; return 0; }

  quiet start
  local fport mport mgport mmport tport
  fport="$(tdrv free-port)"; mport="$(tdrv free-port)"; mgport="$(tdrv free-port)"; mmport="$(tdrv free-port)"; tport="$(tdrv free-port)"
  local -a fextra; read -r -a fextra <<< "$FEAST_SERVE_ARGS"
  PYTHONPATH="$REDIS_PYLIB" launch feast "$dir/repo" "$fport" /health 300 "$FEAST" serve -h 127.0.0.1 -p "$fport" "${fextra[@]}" \
    || { stop_all; return 0; }
  local feast_pid="$LAUNCHED_PID"
  mkdir -p "$dir/mlserver"
  pdrv mlserver-repo --dir "$dir/mlserver" --model "$DATA/model.json" --port "$mport" --grpc-port "$mgport" \
    --metrics-port "$mmport" > "$SDIR/mlserver_config.json"
  launch mlserver "$dir/mlserver" "$mport" /v2/models/xgb/ready 600 "$MSVENV/bin/mlserver" start "$dir/mlserver" \
    || { stop_all; return 0; }
  local ms_pid="$LAUNCHED_PID"
  launch transformer "$dir" "$tport" /health 60 "$TRVENV/bin/python" "$HERE/transformer.py" --port "$tport" \
    --feast "http://127.0.0.1:$fport" --mlserver "http://127.0.0.1:$mport" --model xgb --entity driver_id \
    --features "$FEATURE_REFS" || { stop_all; return 0; }
  local tr_pid="$LAUNCHED_PID"
  BASE="http://127.0.0.1:$tport"; PORT="$tport"
  # The chain's CPU: transformer + feast serve (gunicorn tree) + MLServer (tree) + redis-server.
  local pids="$tr_pid,$feast_pid,$ms_pid,$redis_pid"
  if step check pdrv check --port "$tport" --path /predict --data "$DATA"; then
    load_phases /predict "$pids"
    "$PY" "$HERE/cpuwrk.py" rss --pids "$pids" > "$SDIR/rss.json" || true
    log "  rss: $(cat "$SDIR/rss.json")"
  fi
  ps -eo pid,ppid,pgid,rss,args | awk -v a="$tr_pid" -v b="$feast_pid" -v c="$ms_pid" -v d="$redis_pid" \
    'NR == 1 || $3 == a || $3 == b || $3 == c || $3 == d' | cut -c1-200 > "$SDIR/processes.txt" || true
  stop_all
  local f; for f in feast mlserver transformer; do cp "$dir/$f.log" "$dir/repo/$f.log" "$dir/mlserver/$f.log" "$SDIR/" 2>/dev/null || true; done
  cp "$dir/redis.log" "$SDIR/" 2>/dev/null || true
  rm -rf "$dir"
}

# ------------------------------------------------------------------ modes
case "$MODE" in
  bench)
    [[ "$SKIP_KILN" == 1 ]] || bench_kiln
    [[ "$SKIP_CHAIN" == 1 ]] || { sleep 2; bench_chain; }
    if [[ -f "$RUN/kiln/check.json" && -f "$RUN/chain/check.json" ]]; then
      SDIR="$RUN"; step compare pdrv compare --kiln "$RUN/kiln/check.json" --peer "$RUN/chain/check.json" || true
    fi
    echo "wall_s=$(( $(date +%s) - T0 ))" >> "$RUN/meta.txt"
    pdrv report "$RUN" > "$RUN/results.md"
    cat "$RUN/results.md"
    log "results written to $RUN/results.md"
    ;;
  locust)
    SDIR="$RUN/kiln"; mkdir -p "$SDIR"
    dir="$(mktemp -d "$WORK/srv-platform-kiln.XXXXXX")"
    quiet start
    start_kiln "$dir" && kiln_setup "$dir"
    step check pdrv check --port "$PORT" --path "/api/v1/endpoints/$ENDPOINT/predict" --data "$DATA"
    echo "locust=locust $LOCUST_VERSION (bench/.work/locust-venv), --users $LOCUST_USERS --spawn-rate $LOCUST_SPAWN_RATE -t $LOCUST_TIME, $([[ "${LOCUST_FAST_HTTP:-}" == 1 ]] && echo FastHttpUser || echo HttpUser)" >> "$RUN/meta.txt"
    quiet load
    log "  locust: $LOCUST_USERS users, spawn rate $LOCUST_SPAWN_RATE, $LOCUST_TIME"
    KILN_ENDPOINT="$ENDPOINT" KILN_ENTITY_FIRST=1001 KILN_ENTITY_COUNT="$ENTITIES" \
      "$PY" "$HERE/cpuwrk.py" --pids "$KILN_PID" --out "$SDIR/locust.txt" --timeout 900 --raw -- \
      "$LOVENV/bin/locust" -f "$HERE/locustfile.py" --users "$LOCUST_USERS" --spawn-rate "$LOCUST_SPAWN_RATE" \
      --headless -t "$LOCUST_TIME" --host "$BASE" --csv "$SDIR/locust" --only-summary > "$SDIR/locust_cpu.json" || true
    "$PY" "$HERE/locust_summary.py" "$SDIR/locust_stats.csv" "$SDIR/locust_cpu.json" | tee "$RUN/results.md"
    ;;
  rollout)
    SDIR="$RUN/kiln"; mkdir -p "$SDIR"
    dir="$(mktemp -d "$WORK/srv-platform-kiln.XXXXXX")"
    quiet start
    start_kiln "$dir" && kiln_setup "$dir" --second
    step check pdrv check --port "$PORT" --path "/api/v1/endpoints/$ENDPOINT/predict" --data "$DATA"
    quiet load
    "$PY" "$HERE/rollout.py" --port "$PORT" --endpoint "$ENDPOINT" --data "$DATA" --loadgen "$LOADGEN" \
      --rate "$ROLLOUT_RATE" --connections "$LG_CONNS" --rollbacks "$ROLLBACKS" --rollouts "$ROLLOUTS" --controls "$CONTROLS" --pid "$KILN_PID" --out "$SDIR" \
      2> >(tee -a "$RUN/run.log" >&2) | tee "$RUN/results.md"
    ;;
esac
