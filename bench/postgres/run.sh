#!/usr/bin/env bash
# PostgreSQL backend benchmark (issue 13): `mlflow server` and `kiln serve` on
# the same PostgreSQL 15 (a throwaway server on a free loopback port, one
# database each), same load generator (wrk + bench/tracking/lua/log_batch.lua,
# bench/tracking/driver.py's setup and search probe), one server at a time;
# then N kiln replicas on one database against one replica. Prints ratios.
#
# Usage: bench/postgres/run.sh [--kiln PATH] [--only mlflow,kiln,kiln_noaudit,replicas] [--duration S]
#          [--conns N] [--threads T] [--metrics M] [--search-runs N] [--replicas R]
#          [--repeats K] [--replicas-audit-off] [--durable] [--kiln-arg FLAG]... [--quick]
# Phases (--only, comma-separated, in this order by default): mlflow, kiln
# (defaults: audit log on), kiln_noaudit (--audit=false), replicas (audit on
# unless --replicas-audit-off).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$ROOT/bench/.work"
PY="$ROOT/.venv/bin/python"
KILN="${KILN_BINARY:-$ROOT/build/release/kiln}"
# SQLAlchemy 2.1 (in .venv) maps postgresql:// to psycopg 3.
PSYCOPG=(psycopg==3.3.9 psycopg-binary==3.3.9)
PYLIB="$WORK/pg-pylib"

args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --kiln) KILN="$2"; shift 2 ;;
    --quick) args+=(--duration 3 --warmup 1 --search-runs 300 --search-n 10 --repeats 1); shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
[[ -x "$KILN" ]] || { echo "no kiln binary at $KILN (--kiln PATH or KILN_BINARY)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 2; }
[[ -x /usr/lib/postgresql/15/bin/postgres ]] || { echo "PostgreSQL 15 is missing (apt-get install postgresql)" >&2; exit 2; }

# mlflow's SQLAlchemy store needs a PostgreSQL driver, which the pinned .venv
# does not carry: install it beside, not into, the venv (PYTHONPATH for the
# mlflow server only; --no-deps: its one dependency, typing_extensions, is in
# .venv already and must not be shadowed).
if ! PYTHONPATH="$PYLIB" "$PY" -c 'import psycopg' 2>/dev/null; then
  echo "installing ${PSYCOPG[*]} into $PYLIB" >&2
  "$PY" -m pip install -q --no-deps --target "$PYLIB" "${PSYCOPG[@]}"
fi

STAMP="$(date -u +%Y%m%d-%H%M%S)"
RUN="$WORK/postgres-$STAMP"
mkdir -p "$RUN"
# Snapshot the binary, so a concurrent rebuild cannot change it mid-run.
cp "$KILN" "$RUN/kiln-bin"
echo "kiln binary: $KILN built $(date -u -r "$KILN" +%Y-%m-%dT%H:%M:%SZ), version $("$KILN" version 2>/dev/null || true)" >&2
"$PY" "$HERE/pgbench.py" --kiln "$RUN/kiln-bin" --pylib "$PYLIB" --out "$RUN" "${args[@]}"
echo "results: $RUN/results.md (raw: $RUN/results.json, wrk output and server logs beside it)" >&2
