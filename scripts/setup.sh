#!/usr/bin/env bash
# Installs what kiln needs to build and test, only when it is missing:
# Debian packages (compiler, CMake, C++ libraries, test servers) and a
# project-local Python virtualenv with the pinned ecosystem clients.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(g++ cmake ninja-build pkg-config make ccache
      libboost-dev libsqlite3-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libgtest-dev
      libonnx-dev libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
      prometheus sqlite3 python3-venv
      redis-server  # Feast's Redis online store for bench/features (feast serve as the peer)
      chromium)  # headless browser for the MLflow web UI suite (tests/compat/test_mlflow_ui.py)

missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The virtualenv is rebuilt when the pinned requirements change.
REQ=tests/compat/requirements.txt
STAMP=.venv/.requirements.sha256
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating .venv with the pinned test clients"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -r "$REQ"
  echo "$want" > "$STAMP"
fi

# --- XGBoost reference versions (tests/compat/test_serving_xgboost_matrix.py) ---
# One small virtualenv per xgboost release whose models kiln must predict
# exactly; each writes its own model matrix and predictions. The CPU-only
# wheels keep them small (1.7 has no such wheel). Rebuilt when a pin changes.
XGB_VENVS=("1.7|xgboost==1.7.6 numpy==1.26.4 scipy==1.11.4"
           "2.1|xgboost-cpu==2.1.4 numpy==2.2.6 scipy==1.15.3"
           "3.2|xgboost-cpu==3.2.0 numpy==2.2.6 scipy==1.15.3")
for spec in "${XGB_VENVS[@]}"; do
  dir=.venv-xgb/${spec%%|*}
  pins=${spec#*|}
  if [ ! -x "$dir/bin/python" ] || [ "$(cat "$dir/.pins" 2>/dev/null)" != "$pins" ]; then
    echo "setup: creating $dir ($pins)"
    rm -rf "$dir"
    python3 -m venv "$dir"
    # shellcheck disable=SC2086  # the pins are separate words
    "$dir/bin/pip" install -q --disable-pip-version-check $pins
    echo "$pins" > "$dir/.pins"
  fi
done
# --- end of XGBoost reference versions ---
