#!/usr/bin/env bash
# Builds the `kiln` binary of an earlier commit, once, for the side-by-side
# upgrade test (tests/compat/test_upgrade_side_by_side.py): the previous
# release must be a real binary, not this tree pretending. Cached by commit
# outside the checkout, in ${KILN_CACHE_DIR:-~/.cache/kiln}/old-kiln/<commit>/
# (CI tests a fresh clone each time; a cold build takes minutes even with
# ccache), so a second call -- from any clone -- only prints the path. Progress goes to stderr, the
# binary's absolute path to stdout.
#
#   scripts/build_old_kiln.sh [COMMIT]    (default: the pin below)
#
# The pin is the last commit before schema v9: it already records and honours
# compatible_since, and its schema is 8.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
OLD_KILN_COMMIT=${1:-${OLD_KILN_COMMIT:-a393e9c0e55f6e267a7bb0c8cb3298e02bba02d2}}
commit=$(git rev-parse --verify "$OLD_KILN_COMMIT^{commit}") || {
  echo "build_old_kiln: commit $OLD_KILN_COMMIT is not in this clone (a shallow clone? fetch more history)" >&2
  exit 1
}
cache=${KILN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kiln}/old-kiln
dir=$cache/$commit
bin=$dir/src/build/release/kiln
if [ -f "$dir/ok" ] && [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$cache"
exec 9>"$cache/$commit.lock"
flock 9  # two test passes may ask at once
if [ -f "$dir/ok" ] && [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
start=$(date +%s)
rm -rf "$dir"
mkdir -p "$dir/src"
git archive "$commit" | tar -x -C "$dir/src"
# Downloaded dependencies (DuckDB, hiredis, the built UI) are not in git:
# copied from this tree's (the binary finds libduckdb.so there at run time,
# after this clone is gone).
mkdir -p "$dir/src/third_party"
for d in duckdb hiredis ui-dist; do
  [ -e "$root/third_party/$d" ] && cp -a "$root/third_party/$d" "$dir/src/third_party/"
done
# Same relative layout as build/release, and ccache keyed on paths relative to
# the checkout (the Makefile's CCACHE_BASEDIR), so unchanged files hit the cache.
(
  cd "$dir/src"
  export CCACHE_BASEDIR=$PWD
  cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ >build-configure.log 2>&1 ||
    { cat build-configure.log >&2; exit 1; }
  cmake --build build/release --target kiln -j "${JOBS:-$(nproc)}" >&2
)
touch "$dir/ok"
echo "build_old_kiln: built $commit in $(( $(date +%s) - start )) s" >&2
echo "$bin"
