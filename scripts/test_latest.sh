#!/usr/bin/env bash
# make test-latest: the compatibility suites against the newest release of
# every client and reference library, so drift from the pins in
# tests/compat/requirements.txt is found by one command. Builds a fresh
# virtualenv (.venv-latest) from the same requirements with every version pin
# removed, prints what it installed, and runs tests/compat with it.
# Not part of `make test`: its outcome depends on what the registries serve today.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-latest
REQ=tests/compat/requirements.txt
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip >/dev/null
# "name[extra]==1.2" -> "name[extra]"; comments and blank lines dropped.
unpinned=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e 's/[=<>~!;].*$//' "$REQ" | grep -v '^$' | sort -u)
echo "test-latest: installing unpinned: $(echo $unpinned)"
# shellcheck disable=SC2086
"$VENV/bin/pip" install -q --upgrade $unpinned
echo "test-latest: versions installed (pinned -> latest):"
while read -r name; do
  base=${name%%[*}
  got=$("$VENV/bin/pip" show "$base" 2>/dev/null | sed -n 's/^Version: //p' || true)
  pin=$(grep -iE "^${base}(\[[^]]*\])?==" "$REQ" | head -1 | sed 's/.*==//' || true)
  mark=""; [ -n "$pin" ] && [ "$pin" != "$got" ] && mark="   <- newer than the pin"
  printf '  %-16s %-10s -> %s%s\n' "$base" "${pin:-unpinned}" "$got" "$mark"
done <<< "$unpinned"
exec "$VENV/bin/python" -m pytest tests/compat -q "$@"
