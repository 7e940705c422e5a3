#!/usr/bin/env bash
# Builds bench/.work/offline_bench from the engine's sources (no CMake target:
# it is a measuring program, not part of the build or of ctest).
set -euo pipefail
cd "$(dirname "$0")/../../.."
DUCK=third_party/duckdb
[ -f "$DUCK/lib/libduckdb.so" ] || { echo "run scripts/setup.sh first (needs $DUCK)" >&2; exit 1; }
mkdir -p bench/.work
srcs=$(ls src/storage/duckdb/*.cc | grep -v '_test\.cc$')
# shellcheck disable=SC2086
g++ -std=c++20 -O2 -Wall -Wextra -Wno-unused-parameter -DKILN_DUCKDB_VERSION='"v1.5.6"' \
  -Isrc -isystem "$DUCK/include" bench/features/offline/offline_bench.cc $srcs src/core/status.cc \
  -L"$DUCK/lib" -lduckdb -Wl,-rpath,"$PWD/$DUCK/lib" -o bench/.work/offline_bench
echo "built bench/.work/offline_bench"
