#!/usr/bin/env bash
# Auth overhead benchmark (issue 12): added p50 latency of GET
# /api/2.0/mlflow/experiments/get with auth off vs HTTP Basic vs a kiln API
# token, one keep-alive connection each, both servers in the same run, modes
# interleaved in rounds. Target: added p50 < 20 us. See bench/auth/README.md.
#
# Usage: [ENV=value ...] bench/auth/run.sh
#   KILN_BINARY=build/release/kiln   the kiln binary
#   REQUESTS=5000   requests per mode per round;  ROUNDS=5;  WARMUP=1000
#   OUT=bench/.work/auth/summary.json   the JSON summary
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
case "${1:-}" in
  -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
esac
KILN_BINARY="${KILN_BINARY:-$ROOT/build/release/kiln}"
[[ "$KILN_BINARY" == /* ]] || KILN_BINARY="$ROOT/$KILN_BINARY"
OUT="${OUT:-$ROOT/bench/.work/auth/summary.json}"
mkdir -p "$(dirname "$OUT")"
PY="${PY:-$ROOT/.venv/bin/python}"
[[ -x "$PY" ]] || PY=python3
exec "$PY" "$HERE/authbench.py" --kiln "$KILN_BINARY" --requests "${REQUESTS:-5000}" --rounds "${ROUNDS:-5}" \
  --warmup "${WARMUP:-1000}" --json "$OUT"
