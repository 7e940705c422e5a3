#!/usr/bin/env bash
# Import benchmark: RUNS runs x 100 metric keys x 100 steps from an MLflow
# SQLite database (made by make_source.py) into a fresh kiln data dir.
# usage: bench/import/run_bench.sh [RUNS] [KILN_BINARY]   (defaults: 10000, build/release/kiln)
# SOURCE=path keeps (or re-uses, when it exists) the generated MLflow database.
# TARGET=postgresql://... imports into that (empty) PostgreSQL database instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-10000}
KILN=${2:-build/release/kiln}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kiln-import-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
SRC=${SOURCE:-$WORK/mlflow.db}
if [ ! -f "$SRC" ]; then
  .venv/bin/python bench/import/make_source.py "$SRC" "$RUNS"
fi
TARGET_ARGS=(--data-dir "$WORK/kiln")
if [ -n "${TARGET:-}" ]; then TARGET_ARGS=(--database-uri "$TARGET"); fi
start=$(date +%s.%N)
"$KILN" import mlflow --from "sqlite:///$SRC" "${TARGET_ARGS[@]}" --no-verify \
  --artifact-root-map /old/root=mlflow-artifacts: 2>/dev/null | grep -E "^source|^import|^note: time" || true
end=$(date +%s.%N)
echo "import (wall, incl. process start): $(echo "$end - $start" | bc) s"
start=$(date +%s.%N)
"$KILN" import mlflow --from "sqlite:///$SRC" "${TARGET_ARGS[@]}" --resume 2>/dev/null | grep -E "MISMATCH|^metrics|^runs" || true
end=$(date +%s.%N)
echo "verify pass (reads source digests back, scans every kiln table): $(echo "$end - $start" | bc) s"
