#!/usr/bin/env bash
# Feature-store benchmark: kiln vs `feast serve` (Feast 0.67, Redis online store, file offline
# store), one server at a time on 127.0.0.1, the same Feast repo definitions, the same request
# bodies and the same load generator (bench/serving/loadgen). See bench/features/README.md.
#
# Usage: [ENV=value ...] bench/features/run.sh
#   QUICK=1                a harness smoke test: small data (100k rows), 3 s phases, no quiet waits
#   DURATION=10            seconds per measured load phase;  WARMUP=2: unrecorded warm-up before each
#   CONNS=32               connections of the concurrent phases (the other phases use 1)
#   QUIET_WAIT=60          seconds to wait for an idle machine before each server (0: don't)
#   ONLINE_ENTITIES=10000  ONLINE_FEATURES=50   BATCH=100 (rows of the batch request)
#   MAT_ROWS=10000000      MAT_FEATURES=20      rows materialized into kiln (one row per entity key)
#   FEAST_MAT_ROWS=1000000 rows materialized into Feast's Redis (and into kiln again, same scale)
#   HIST_ROWS=10000000     HIST_ENTITIES=1000000  HIST_FEATURES=20  ENTITY_ROWS=1000000
#   SMALL_DIV=10           the small point-in-time scale: entities with eid % SMALL_DIV == 0
#   FEAST_HIST_FULL=1      0: time Feast's get_historical_features at the small scale only (full: ~2 min, ~11 GB)
#   FEAST_MAT_FULL=0       1: materialize MAT_ROWS (not FEAST_MAT_ROWS) into Feast's Redis too
#   KILN_BINARY=build/release/kiln   the kiln binary (copied into the run dir when its turn comes)
#   KILN_ARGS=             extra flags for kiln serve
#   KILN_HIST_MODE=api     api: POST /api/v1/features/historical; cli: kiln features historical
#   FEAST_SERVE_ARGS="-w 2 --no-access-log"   flags of `feast serve` besides host/port
#   SKIP_FEAST=1 / SKIP_KILN=1   leave a side out;  SKIP_LOAD=1 / SKIP_MAT=1 / SKIP_HIST=1 leave a part out
#   REUSE_FEAST=bench/.work/features-<stamp>   don't run Feast; copy that run's Feast results
#                                              (the data must have the same parameters)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$ROOT/bench/.work"
TRACKING="$ROOT/bench/tracking"

case "${1:-}" in -h|--help) sed -n '2,27p' "$0"; exit 0 ;; "") ;; *) echo "no arguments; options are env vars (see --help)" >&2; exit 2 ;; esac

QUICK="${QUICK:-0}"
if [[ "$QUICK" == 1 ]]; then
  : "${DURATION:=3}" "${WARMUP:=1}" "${QUIET_WAIT:=0}" "${MAT_ROWS:=100000}" "${FEAST_MAT_ROWS:=20000}"
  : "${HIST_ROWS:=100000}" "${HIST_ENTITIES:=10000}" "${ENTITY_ROWS:=10000}"
fi
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
CONNS="${CONNS:-32}"
QUIET_WAIT="${QUIET_WAIT:-60}"
ONLINE_ENTITIES="${ONLINE_ENTITIES:-10000}"
ONLINE_FEATURES="${ONLINE_FEATURES:-50}"
BATCH="${BATCH:-100}"
MAT_ROWS="${MAT_ROWS:-10000000}"
MAT_FEATURES="${MAT_FEATURES:-20}"
FEAST_MAT_ROWS="${FEAST_MAT_ROWS:-1000000}"
HIST_ROWS="${HIST_ROWS:-10000000}"
HIST_ENTITIES="${HIST_ENTITIES:-1000000}"
HIST_FEATURES="${HIST_FEATURES:-20}"
ENTITY_ROWS="${ENTITY_ROWS:-1000000}"
SMALL_DIV="${SMALL_DIV:-10}"
FEAST_HIST_FULL="${FEAST_HIST_FULL:-1}"
FEAST_MAT_FULL="${FEAST_MAT_FULL:-0}"
KILN_BINARY="${KILN_BINARY:-$ROOT/build/release/kiln}"
[[ "$KILN_BINARY" == /* ]] || KILN_BINARY="$ROOT/$KILN_BINARY"
KILN_ARGS="${KILN_ARGS:-}"
KILN_HIST_MODE="${KILN_HIST_MODE:-api}"
FEAST_SERVE_ARGS="${FEAST_SERVE_ARGS:--w 2 --no-access-log}"
SKIP_FEAST="${SKIP_FEAST:-0}"
SKIP_KILN="${SKIP_KILN:-0}"
SKIP_LOAD="${SKIP_LOAD:-0}"
SKIP_MAT="${SKIP_MAT:-0}"
SKIP_HIST="${SKIP_HIST:-0}"
REUSE_FEAST="${REUSE_FEAST:-}"
PY="$ROOT/.venv/bin/python"
FEAST="$ROOT/.venv/bin/feast"
REDIS_SERVER=/usr/bin/redis-server
REDIS_PYLIB="$WORK/feast-redis-pylib"   # redis-py + hiredis for Feast's Redis store (not in .venv)
LOADGEN_SRC="$ROOT/bench/serving/loadgen/loadgen.cc"
LOADGEN="$WORK/loadgen"

T0=$(date +%s)
STAMP="$(date -u +%Y%m%d-%H%M%S)"
RUN="$WORK/features-$STAMP"
mkdir -p "$RUN"
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$RUN/run.log" >&2; }
tdrv() { "$PY" "$TRACKING/driver.py" "$@"; }   # launch, free-port, wait-quiet, wait-gone, rss, wrk
fdrv() { PYTHONPATH="$REDIS_PYLIB${PYTHONPATH:+:$PYTHONPATH}" "$PY" "$HERE/fsbench.py" "$@"; }

# ------------------------------------------------------------------ prerequisites
[[ -x "$PY" && -x "$FEAST" ]] || { echo "missing $PY / $FEAST (the project venv)" >&2; exit 1; }
"$PY" -c 'import feast, sys; sys.exit(0 if feast.__version__ == "0.67.0" else 1)' \
  || { echo "the project venv's feast is not 0.67.0" >&2; exit 1; }
if [[ "$SKIP_FEAST" != 1 && -z "$REUSE_FEAST" ]]; then
  [[ -x "$REDIS_SERVER" ]] || { echo "missing $REDIS_SERVER (apt-get install redis-server)" >&2; exit 1; }
  if ! PYTHONPATH="$REDIS_PYLIB" "$PY" -c 'import redis, hiredis' 2>/dev/null; then
    log "installing redis-py and hiredis (Feast's [redis] extra) into $REDIS_PYLIB"
    "$PY" -m pip install -q --target "$REDIS_PYLIB" "redis==7.4.1" "hiredis==3.5.0" >&2
  fi
fi
if [[ "$SKIP_KILN" != 1 && ! -x "$KILN_BINARY" ]]; then
  echo "kiln binary missing: $KILN_BINARY (KILN_BINARY=...)" >&2; exit 1
fi
if [[ ! -x "$LOADGEN" || "$LOADGEN_SRC" -nt "$LOADGEN" ]]; then
  log "building $LOADGEN from bench/serving/loadgen/loadgen.cc"
  g++ -O2 -std=c++20 -pthread -o "$LOADGEN.tmp.$$" "$LOADGEN_SRC" && mv -f "$LOADGEN.tmp.$$" "$LOADGEN" \
    || { rm -f "$LOADGEN.tmp.$$"; echo "building loadgen failed" >&2; exit 1; }
fi

# ------------------------------------------------------------------ data (reused across runs)
DATA="$WORK/features-data-o${ONLINE_ENTITIES}x${ONLINE_FEATURES}-m${MAT_ROWS}x${MAT_FEATURES}-f${FEAST_MAT_ROWS}-h${HIST_ROWS}x${HIST_FEATURES}e${HIST_ENTITIES}q${ENTITY_ROWS}d${SMALL_DIV}b${BATCH}"
log "data: $DATA"
fdrv gen --out "$DATA" --online-entities "$ONLINE_ENTITIES" --online-features "$ONLINE_FEATURES" \
  --mat-rows "$MAT_ROWS" --mat-features "$MAT_FEATURES" --feast-mat-rows "$FEAST_MAT_ROWS" \
  --hist-rows "$HIST_ROWS" --hist-entities "$HIST_ENTITIES" --hist-features "$HIST_FEATURES" \
  --entity-rows "$ENTITY_ROWS" --small-div "$SMALL_DIV" --batch "$BATCH" > "$RUN/data.json"
cp "$DATA/meta.json" "$RUN/data-meta.json"
log "data ready: $(cut -c1-400 "$RUN/data.json")"

# ------------------------------------------------------------------ process control
declare -a PGIDS=()
stop_group() {   # PGID: SIGTERM to the group, SIGKILL after 40 s
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

record_meta() {
  {
    echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc=$(nproc)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "mem=$(free -g | awk '/^Mem:/{print $2" GiB"}')"
    echo "kernel=$(uname -r)"
    echo "os=$(. /etc/os-release; echo "$PRETTY_NAME")"
    echo "repo_head=$(git -C "$ROOT" rev-parse --short HEAD)"
    echo "feast=$("$PY" - <<'PYEOF'
import sys
from importlib.metadata import version
names = ["feast", "pandas", "pyarrow", "dask", "uvicorn", "gunicorn", "fastapi"]
out = []
for n in names:
    try:
        out.append(f"{n} {version(n)}")
    except Exception:
        pass
print(", ".join(out) + f", Python {sys.version.split()[0]}")
PYEOF
), redis-py $(PYTHONPATH="$REDIS_PYLIB" "$PY" -c 'import redis;print(redis.__version__)' 2>/dev/null || echo '?'), $("$REDIS_SERVER" --version 2>/dev/null | awk '{print $3}' | sed 's/v=/redis-server /')"
    echo "feast_serve=feast serve -h 127.0.0.1 -p P $FEAST_SERVE_ARGS (Redis online store, file registry, file offline store)"
    echo "loadgen=bench/serving/loadgen/loadgen.cc sha256 $(sha256sum "$LOADGEN_SRC" | cut -c1-12) ($(g++ --version | head -1), -O2), 1 thread, closed loop"
    echo "cmdline=QUICK=$QUICK DURATION=$DURATION WARMUP=$WARMUP CONNS=$CONNS QUIET_WAIT=$QUIET_WAIT ONLINE_ENTITIES=$ONLINE_ENTITIES ONLINE_FEATURES=$ONLINE_FEATURES BATCH=$BATCH MAT_ROWS=$MAT_ROWS MAT_FEATURES=$MAT_FEATURES FEAST_MAT_ROWS=$FEAST_MAT_ROWS HIST_ROWS=$HIST_ROWS HIST_ENTITIES=$HIST_ENTITIES HIST_FEATURES=$HIST_FEATURES ENTITY_ROWS=$ENTITY_ROWS SMALL_DIV=$SMALL_DIV FEAST_HIST_FULL=$FEAST_HIST_FULL FEAST_MAT_FULL=$FEAST_MAT_FULL KILN_HIST_MODE=$KILN_HIST_MODE${KILN_ARGS:+ KILN_ARGS=\"$KILN_ARGS\"}${REUSE_FEAST:+ REUSE_FEAST=$REUSE_FEAST} SKIP_FEAST=$SKIP_FEAST SKIP_KILN=$SKIP_KILN SKIP_LOAD=$SKIP_LOAD SKIP_MAT=$SKIP_MAT SKIP_HIST=$SKIP_HIST bench/features/run.sh"
    echo "duration_s=$DURATION"
    echo "warmup_s=$WARMUP"
    echo "conns=$CONNS"
  } > "$RUN/meta.txt"
}
record_meta
log "results dir: $RUN"

# step NAME CMD...: run a timed helper step, its JSON into $SDIR/NAME.json; never aborts the run
# (a leading `fdrv` runs fsbench.py; the step's CPU split is added as "cpu": server tree =
# $SERVER_PID when kiln's, redis_pct when Feast's, client = the step itself, other = the rest)
step() {
  local name="$1"; shift
  [[ "$1" == fdrv ]] && { shift; set -- env "PYTHONPATH=$REDIS_PYLIB" "$PY" "$HERE/fsbench.py" "$@"; }
  if "$PY" "$HERE/fsbench.py" cpuwin --pid "${STEP_PID:-0}" --redis-pid "${REDIS_PID:-0}" -- "$@" \
       > "$SDIR/$name.json" 2> "$SDIR/$name.err"; then
    log "  $name: $(cut -c1-500 "$SDIR/$name.json")"
    return 0
  fi
  log "  $name FAILED: $(cut -c1-300 "$SDIR/$name.json") $(tail -c 600 "$SDIR/$name.err" | tr '\n' ' ')"
  return 1
}

quiet() {
  if [[ "$QUIET_WAIT" != 0 ]]; then
    tdrv wait-quiet --max-wait "$QUIET_WAIT" > "$SDIR/quiet-$1.json" || true
    log "  quiet check ($1): $(cat "$SDIR/quiet-$1.json")"
  fi
}

# run_lg OUTNAME BODY CONNS  (loadgen closed loop: WARMUP s unrecorded, DURATION s measured)
REDIS_PID=""
STEP_PID=""
run_lg() {
  local out="$1" body="$2" conns="$3" r0="" t0
  [[ -n "$REDIS_PID" ]] && r0="$(fdrv cpu-ticks "$REDIS_PID")"
  t0="$(date +%s.%N)"
  tdrv wrk --pid "$SERVER_PID" --out "$SDIR/$out.txt" --timeout $(( WARMUP + DURATION + 60 )) -- \
    "$LOADGEN" --url "$BASE/get-online-features" --body "$DATA/$body" --connections "$conns" \
    --threads 1 --duration "$DURATION" --warmup "$WARMUP" --rate 0 --timeout 10 --wrkjson \
    > "$SDIR/$out.json"
  if [[ -n "$r0" ]]; then
    # redis-server is the peer's too: its CPU moves from "other" into "redis_pct"
    "$PY" - "$SDIR/$out.json" "$r0" "$(fdrv cpu-ticks "$REDIS_PID")" "$t0" "$(date +%s.%N)" "$(nproc)" <<'EOF'
import json, sys
f, r0, r1, t0, t1, n = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
d = json.load(open(f))
if "cpu" in d:
    pct = round(100.0 * (r1 - r0) / ((t1 - t0) * n), 1)
    d["cpu"]["redis_pct"] = pct
    d["cpu"]["other_pct"] = round(max(0.0, d["cpu"]["other_pct"] - pct), 1)
json.dump(d, open(f, "w"))
EOF
  fi
  log "  $out: $("$PY" - "$SDIR/$out.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
if "requests" not in d:
    print(d); sys.exit()
l = d["lat_us"]
print(f"{d['rps']} req/s, p50 {l['p50']/1000:.3f} ms, p99 {l['p99']/1000:.3f} ms, max {l['max']/1000:.1f} ms, "
      f"errors {d['error_total']} non-200 {d.get('non_200')}, reconnects {d.get('reconnects')}, cpu {d.get('cpu')}")
EOF
)"
}

load_phases() {
  [[ "$SKIP_LOAD" == 1 ]] && return 0
  if ! step check fdrv check --port "$PORT" --data "$DATA" single.json "batch$BATCH.json"; then
    log "  the check failed: no load phases for this server"; return 0
  fi
  quiet load
  local body c
  for body in single "batch$BATCH"; do
    for c in 1 "$CONNS"; do
      run_lg "${body}_c${c}" "$body.json" "$c"
    done
  done
  tdrv rss --pid "$SERVER_PID" --min-wait 1 --max-wait 10 > "$SDIR/rss.json" || true
  log "  rss: $(cat "$SDIR/rss.json")"
}

# ------------------------------------------------------------------ Feast (the peer)
bench_feast() {
  SDIR="$RUN/feast"; mkdir -p "$SDIR"
  local dir; dir="$(mktemp -d "$WORK/srv-features-feast.XXXXXX")"
  echo "$dir" > "$SDIR/datadir"
  log "== feast (dir $dir); loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
  local rport; rport="$(tdrv free-port)"
  fdrv start-redis --dir "$dir" --port "$rport" > "$SDIR/redis.json" || { log "redis failed: $(cat "$SDIR/redis.json")"; return 0; }
  local redis_pid; redis_pid="$("$PY" -c "import json;print(json.load(open('$SDIR/redis.json'))['pid'])")"
  PGIDS+=("$redis_pid"); REDIS_PID="$redis_pid"
  fdrv repo --dir "$dir/repo" --data "$DATA" --target feast --redis-port "$rport" > /dev/null
  cp "$dir/repo/feature_store.yaml" "$SDIR/feature_store.yaml"
  step apply "$PY" "$HERE/timed.py" --cwd "$dir/repo" -- env PYTHONPATH="$REDIS_PYLIB" "$FEAST" apply || return 0
  step mat_online fdrv materialize --dir "$dir/repo" --data "$DATA" --view online || return 0

  if [[ "$SKIP_LOAD" != 1 ]]; then
    PORT="$(tdrv free-port)"; BASE="http://127.0.0.1:$PORT"
    local -a extra; read -r -a extra <<< "$FEAST_SERVE_ARGS"
    quiet start
    if PYTHONPATH="$REDIS_PYLIB" tdrv launch --port "$PORT" --health /health --timeout 300 --log "$dir/serve.log" \
         --pidfile "$dir/serve.pid" --cwd "$dir/repo" -- "$FEAST" serve -h 127.0.0.1 -p "$PORT" "${extra[@]}" \
         > "$SDIR/startup.json"; then
      SERVER_PID="$(cat "$dir/serve.pid")"; PGIDS+=("$SERVER_PID")
      log "  feast serve ready: $(cat "$SDIR/startup.json")"
      load_phases
      ps -eo pid,ppid,pgid,rss,args | awk -v g="$SERVER_PID" 'NR == 1 || $3 == g' | cut -c1-200 > "$SDIR/processes.txt" || true
      stop_group "$SERVER_PID"
    else
      SERVER_PID="$(cat "$dir/serve.pid" 2>/dev/null || true)"; [[ -n "$SERVER_PID" ]] && stop_group "$SERVER_PID"
      log "  feast serve did not start: $(cat "$SDIR/startup.json"); tail of its log:"; tail -20 "$dir/serve.log" >&2 || true
    fi
    cp "$dir/serve.log" "$SDIR/serve.log" 2>/dev/null || true
  fi

  if [[ "$SKIP_MAT" != 1 ]]; then
    quiet mat
    local view=mat_small; [[ "$FEAST_MAT_FULL" == 1 ]] && view=mat
    step "mat_$view" fdrv materialize --dir "$dir/repo" --data "$DATA" --view "$view" || true
  fi
  if [[ "$SKIP_HIST" != 1 ]]; then
    quiet hist
    step hist_small fdrv hist-feast --dir "$dir/repo" --data "$DATA" --view hist_small \
      --entity-df entity_df_small.parquet --out "$SDIR/hist_small.parquet" || true
    if [[ "$FEAST_HIST_FULL" == 1 ]]; then
      step hist_full fdrv hist-feast --dir "$dir/repo" --data "$DATA" --view hist \
        --entity-df entity_df.parquet --out "$SDIR/hist_full.parquet" || true
    fi
  fi
  stop_all; REDIS_PID=""
  cp "$dir/redis.log" "$SDIR/redis.log" 2>/dev/null || true
  rm -rf "$dir"
}

# ------------------------------------------------------------------ kiln
bench_kiln() {
  SDIR="$RUN/kiln"; mkdir -p "$SDIR"
  local dir; dir="$(mktemp -d "$WORK/srv-features-kiln.XXXXXX")"
  echo "$dir" > "$SDIR/datadir"
  # Snapshot the binary (and the libduckdb beside it) so a concurrent rebuild cannot change it mid-run.
  mkdir -p "$RUN/kiln-bin"
  cp "$KILN_BINARY" "$RUN/kiln-bin/kiln"
  cp "$(dirname "$KILN_BINARY")"/libduckdb*.so* "$RUN/kiln-bin/" 2>/dev/null || true
  local bin="$RUN/kiln-bin/kiln"
  echo "kiln_binary=$KILN_BINARY built $(date -u -r "$KILN_BINARY" +%Y-%m-%dT%H:%M:%SZ), version $("$bin" version 2>/dev/null), repo HEAD $(git -C "$ROOT" rev-parse --short HEAD)$([[ -z "$(git -C "$ROOT" status --porcelain -- src 2>/dev/null)" ]] || echo ' (src/ had uncommitted or untracked changes)'), sha256 $(sha256sum "$bin" | cut -c1-12)" >> "$RUN/meta.txt"
  PORT="$(tdrv free-port)"; BASE="http://127.0.0.1:$PORT"
  local gport; gport="$(tdrv free-port)"
  local -a extra=(); [[ -n "$KILN_ARGS" ]] && read -r -a extra <<< "$KILN_ARGS"
  echo "kiln_args=serve --host 127.0.0.1 --port P --grpc-port G --data-dir D --access-log=false${KILN_ARGS:+ $KILN_ARGS}" >> "$RUN/meta.txt"
  log "== kiln (port $PORT, grpc $gport, dir $dir); loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
  quiet start
  if ! tdrv launch --port "$PORT" --health /health --timeout 60 --log "$dir/server.log" --pidfile "$dir/pid" \
        --cwd "$dir" -- "$bin" serve --host 127.0.0.1 --port "$PORT" --grpc-port "$gport" --data-dir "$dir/data" \
        --access-log=false "${extra[@]}" > "$SDIR/startup.json"; then
    SERVER_PID="$(cat "$dir/pid" 2>/dev/null || true)"; [[ -n "$SERVER_PID" ]] && stop_group "$SERVER_PID"
    log "  kiln did not start: $(cat "$SDIR/startup.json"); tail of its log:"; tail -20 "$dir/server.log" >&2 || true
    cp "$dir/server.log" "$SDIR/server.log" 2>/dev/null || true
    return 0
  fi
  SERVER_PID="$(cat "$dir/pid")"; PGIDS+=("$SERVER_PID"); STEP_PID="$SERVER_PID"
  log "  ready: $(cat "$SDIR/startup.json")"
  fdrv repo --dir "$dir/repo" --data "$DATA" --target kiln --http-port "$PORT" --grpc-port "$gport" > /dev/null
  cp "$dir/repo/feature_store.yaml" "$SDIR/feature_store.yaml"
  if step apply "$PY" "$HERE/timed.py" --cwd "$dir/repo" -- "$FEAST" apply &&
     step mat_online fdrv materialize --dir "$dir/repo" --data "$DATA" --view online; then
    load_phases
    if [[ "$SKIP_MAT" != 1 ]]; then
      quiet mat
      step mat_mat_small fdrv materialize --dir "$dir/repo" --data "$DATA" --view mat_small || true
      step mat_mat fdrv materialize --dir "$dir/repo" --data "$DATA" --view mat || true
      tdrv rss --pid "$SERVER_PID" --min-wait 1 --max-wait 10 > "$SDIR/rss_after_mat.json" || true
      log "  rss after materializing: $(cat "$SDIR/rss_after_mat.json")"
    fi
    if [[ "$SKIP_HIST" != 1 ]]; then
      quiet hist
      local -a hargs=(--mode "$KILN_HIST_MODE" --port "$PORT" --kiln "$bin" --data-dir "$dir/data" --data "$DATA")
      step hist_small fdrv hist-kiln "${hargs[@]}" --view hist_small --entity-df entity_df_small.parquet \
        --out "$SDIR/hist_small.parquet" || true
      step hist_full fdrv hist-kiln "${hargs[@]}" --view hist --entity-df entity_df.parquet \
        --out "$SDIR/hist_full.parquet" || true
      local f src
      for f in hist_small hist_full; do
        src="$DATA/hist_small.parquet"; [[ "$f" == hist_full ]] && src="$DATA/hist.parquet"
        if [[ -f "$RUN/feast/$f.parquet" && -f "$SDIR/$f.parquet" ]]; then
          step "compare_$f" fdrv compare "$RUN/feast/$f.parquet" "$SDIR/$f.parquet" --features-parquet "$src" || true
        fi
      done
    fi
  fi
  ps -eo pid,ppid,pgid,rss,args | awk -v g="$SERVER_PID" 'NR == 1 || $3 == g' | cut -c1-200 > "$SDIR/processes.txt" || true
  stop_all; STEP_PID=""
  cp "$dir/server.log" "$SDIR/server.log" 2>/dev/null || true
  rm -rf "$dir"
}

if [[ -n "$REUSE_FEAST" ]]; then
  [[ -d "$REUSE_FEAST/feast" ]] || { echo "REUSE_FEAST: no feast/ in $REUSE_FEAST" >&2; exit 1; }
  if ! cmp -s <("$PY" -c "import json;print(json.load(open('$REUSE_FEAST/data-meta.json'))['params'])") \
              <("$PY" -c "import json;print(json.load(open('$RUN/data-meta.json'))['params'])"); then
    echo "REUSE_FEAST: $REUSE_FEAST ran on data with other parameters" >&2; exit 1
  fi
  cp -r "$REUSE_FEAST/feast" "$RUN/feast"; echo "$REUSE_FEAST" > "$RUN/feast/reused_from"
  echo "feast_results=reused from $REUSE_FEAST" >> "$RUN/meta.txt"
elif [[ "$SKIP_FEAST" != 1 ]]; then
  bench_feast
fi
[[ "$SKIP_KILN" == 1 ]] || bench_kiln

echo "wall_s=$(( $(date +%s) - T0 ))" >> "$RUN/meta.txt"
fdrv report "$RUN" > "$RUN/results.md"
cat "$RUN/results.md"
log "results written to $RUN/results.md"
