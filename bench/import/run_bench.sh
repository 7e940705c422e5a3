#!/usr/bin/env bash
# Import benchmark: RUNS runs x 100 metric keys x 100 steps from an MLflow
# SQLite database (made by make_source.py) into a fresh kiln data dir.
# usage: bench/import/run_bench.sh [RUNS] [KILN_BINARY]   (defaults: 10000, build/release/kiln)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-10000}
KILN=${2:-build/release/kiln}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kiln-import-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
.venv/bin/python bench/import/make_source.py "$WORK/mlflow.db" "$RUNS"
start=$(date +%s.%N)
"$KILN" import mlflow --from "sqlite:///$WORK/mlflow.db" --data-dir "$WORK/kiln" --no-verify \
  --artifact-root-map /old/root=mlflow-artifacts: 2>/dev/null | head -3
end=$(date +%s.%N)
echo "import (wall, incl. process start): $(echo "$end - $start" | bc) s"
start=$(date +%s.%N)
"$KILN" import mlflow --from "sqlite:///$WORK/mlflow.db" --data-dir "$WORK/kiln" --resume 2>/dev/null | grep -E "MISMATCH|^metrics|^runs" || true
end=$(date +%s.%N)
echo "verify pass (reads source digests back, scans every kiln table): $(echo "$end - $start" | bc) s"
