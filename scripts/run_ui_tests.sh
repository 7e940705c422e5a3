#!/usr/bin/env bash
# Browser tests of kiln's web UI (tests/ui, docs/ui.md): Playwright driving
# /usr/bin/chromium against the real kiln binary (KILN_BINARY, default
# build/release/kiln), seeded through .venv's mlflow client. Prints a plain
# "N passed, N failed" line (CI does not read Playwright's own summary) and
# exits non-zero when any test failed or the suite could not run.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
cd tests/ui
if [ ! -d node_modules/@playwright/test ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >/dev/null || { echo "0 passed, 1 failed (npm ci in tests/ui)"; exit 1; }
fi
export KILN_BINARY="${KILN_BINARY:-build/release/kiln}"
rm -f test-results/results.json
npx playwright test "$@"
rc=$?
if [ -f test-results/results.json ]; then
  node -e '
    const r = require(process.argv[1]);
    const s = r.stats || {};
    const failed = (s.unexpected || 0) + (s.flaky || 0);
    console.log(`${s.expected || 0} passed, ${failed} failed`);
  ' "$ROOT/tests/ui/test-results/results.json"
else
  echo "0 passed, 1 failed (playwright produced no report)"
  [ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
