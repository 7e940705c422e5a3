#!/usr/bin/env bash
# Runs the deployment suites (tests/deploy: container image tree, Helm chart,
# and the other deploy helpers' checks) with the project .venv; in parallel
# when pytest-xdist is installed there. KILN_BINARY (default build/release/kiln)
# names the binary under test; extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || { echo "run_deploy_tests: .venv is missing: run scripts/setup.sh" >&2; exit 1; }
args=(-m pytest tests/deploy -q)
if "$PY" -c 'import xdist' 2>/dev/null; then
  args+=(-n auto)
fi
exec "$PY" "${args[@]}" "$@"
