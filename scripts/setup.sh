#!/usr/bin/env bash
# Installs what kiln needs to build and test, only when it is missing:
# Debian packages (compiler, CMake, C++ libraries, test servers), what the
# build fetches from registries (DuckDB, hiredis, the web UI's npm packages),
# and what only the tests need (project-local Python virtualenvs with the
# pinned ecosystem clients, Go-built tools).
#
# usage: setup.sh [all|debs|build|tools]
#   debs   the Debian packages only
#   build  what `cmake --build` needs (debs included)
#   tools  what the tests need beyond the build (debs included)
# `make test` runs `build` (then the C++ build) and `tools` side by side after
# `debs`: the Go builds and pip downloads of `tools` overlap the compile.
set -euo pipefail
cd "$(dirname "$0")/.."
STAGE=${1:-all}
case "$STAGE" in all|debs|build|tools) ;; *) echo "usage: $0 [all|debs|build|tools]" >&2; exit 2 ;; esac

# pip for `pip download` of sdists (DuckDB's header, hiredis' sources): the
# system Python's, so the build stage needs no virtualenv.
pip_download() {
  if python3 -m pip --version >/dev/null 2>&1; then
    python3 -m pip download -q --disable-pip-version-check "$@"
  else
    python_envs_main
    .venv/bin/pip download -q --disable-pip-version-check "$@"
  fi
}

install_debs() {
DEBS=(g++ cmake ninja-build pkg-config make ccache
      libboost-dev libsqlite3-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libgtest-dev
      libonnx-dev libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
      libcurl4-openssl-dev  # kiln validate's HTTP client (src/net/http_client.cc)
      libssl-dev  # scrypt, HMAC, Ed25519, JWT signatures and TLS (src/auth, src/audit, src/net)
      zlib1g-dev  # gzip for clients of the embedded web UI that do not accept it (src/api/webui)
      nodejs  # builds the web UI (ui/) and runs its browser tests (tests/ui); Node 20 (webui.md)
      prometheus sqlite3 python3-venv
      prometheus-alertmanager  # amtool and alertmanager for tests/deploy/test_monitoring.py
      postgresql libpq-dev  # PostgreSQL metadata backend (src/storage/postgres) and its test server
      redis-server  # the Redis online store (src/storage/redis), its tests and bench/features
      curl  # the S3 suite's independent S3 client (tests/compat/s3_server.py)
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
}

python_envs_main() {
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
}

python_envs_reference() {
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
# MLflow 2.x for `kiln import mlflow` tests (tests/compat/test_import_mlflow.py):
# its client writes a database with MLflow 2's schema (SQLite, and PostgreSQL through
# psycopg2; SQLAlchemy 2.1 dropped a pool class mlflow 2 imports). Rebuilt when the pins change.
MLFLOW2_PINS="mlflow==2.22.1 SQLAlchemy==2.0.58 psycopg2-binary==2.9.13"
if [ ! -x .venv-mlflow2/bin/python ] || [ "$(cat .venv-mlflow2/.pins 2>/dev/null)" != "$MLFLOW2_PINS" ]; then
  echo "setup: creating .venv-mlflow2 ($MLFLOW2_PINS)"
  rm -rf .venv-mlflow2
  python3 -m venv .venv-mlflow2
  # shellcheck disable=SC2086
  .venv-mlflow2/bin/pip install -q --disable-pip-version-check $MLFLOW2_PINS
  echo "$MLFLOW2_PINS" > .venv-mlflow2/.pins
fi
}

build_deps() {
# --- DuckDB (offline engine, src/storage/duckdb; cmake/duckdb.cmake) ---
# DuckDB publishes its C library (libduckdb.so) inside the Node bindings
# package and its C header (duckdb.h) inside the Python sdist; both are
# fetched once into third_party/duckdb/ and checked against pinned sha256s,
# so nothing third-party is committed and a changed download fails loudly.
# Refetched when a pin changes. npm comes with Node.js; Debian's `npm`
# package is installed only when no npm is on PATH.
DUCKDB_VERSION=1.5.6
DUCKDB_NPM_PKG=@duckdb/node-bindings-linux-x64@1.5.6-r.1
DUCKDB_NPM_TGZ=duckdb-node-bindings-linux-x64-1.5.6-r.1.tgz
DUCKDB_NPM_SHA256=1b9f82478539bb9a1d1df44bd103121a12ae52142c07158dc52b97d2ec1d69ff
DUCKDB_SDIST=duckdb-$DUCKDB_VERSION.tar.gz
DUCKDB_SDIST_SHA256=166a91dbfacfc0c9f08cc76c0243cb6d3d4296bfab5bad72a3cfb63140a5b7c8
DUCKDB_DIR=third_party/duckdb
duckdb_pins="$DUCKDB_VERSION $DUCKDB_NPM_SHA256 $DUCKDB_SDIST_SHA256"
if [ ! -f "$DUCKDB_DIR/lib/libduckdb.so" ] || [ ! -f "$DUCKDB_DIR/include/duckdb.h" ] ||
   [ "$(cat "$DUCKDB_DIR/.pins" 2>/dev/null)" != "$duckdb_pins" ]; then
  [ "$(uname -m)" = x86_64 ] || { echo "setup: DuckDB: only linux-x64 is pinned (this is $(uname -m))" >&2; exit 1; }
  if ! command -v npm >/dev/null; then
    echo "setup: installing Debian package npm (to fetch libduckdb.so)"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  echo "setup: fetching DuckDB $DUCKDB_VERSION into $DUCKDB_DIR"
  (
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    npm pack --silent --pack-destination "$tmp" "$DUCKDB_NPM_PKG" >/dev/null
    echo "$DUCKDB_NPM_SHA256  $tmp/$DUCKDB_NPM_TGZ" | sha256sum -c --quiet -
    pip_download --no-deps --no-binary duckdb \
      --dest "$tmp" "duckdb==$DUCKDB_VERSION"
    echo "$DUCKDB_SDIST_SHA256  $tmp/$DUCKDB_SDIST" | sha256sum -c --quiet -
    tar -xzf "$tmp/$DUCKDB_NPM_TGZ" -C "$tmp" package/libduckdb.so package/LICENSE
    tar -xzf "$tmp/$DUCKDB_SDIST" -C "$tmp" "duckdb-$DUCKDB_VERSION/external/duckdb/src/include/duckdb.h"
    rm -rf "$DUCKDB_DIR"
    mkdir -p "$DUCKDB_DIR/lib" "$DUCKDB_DIR/include"
    cp "$tmp/package/libduckdb.so" "$DUCKDB_DIR/lib/"
    cp "$tmp/package/LICENSE" "$DUCKDB_DIR/"
    cp "$tmp/duckdb-$DUCKDB_VERSION/external/duckdb/src/include/duckdb.h" "$DUCKDB_DIR/include/"
    echo "$DUCKDB_VERSION" > "$DUCKDB_DIR/VERSION"
    echo "$duckdb_pins" > "$DUCKDB_DIR/.pins"
  )
fi
# --- end of DuckDB ---

# --- hiredis (Redis online store, src/storage/redis; cmake/hiredis.cmake) ---
# Debian ships hiredis 0.14 without TLS; hiredis 1.x (with hiredis_ssl) comes
# as C sources inside the PyPI `hiredis` sdist (vendor/hiredis). They are
# fetched once into third_party/hiredis/ (sha256-pinned, nothing committed)
# and compiled by our CMake.
HIREDIS_PY_VERSION=3.5.0
HIREDIS_C_VERSION=1.5.0
HIREDIS_SDIST=hiredis-$HIREDIS_PY_VERSION.tar.gz
HIREDIS_SDIST_SHA256=c227592cc56b7df247abe4755c26723965be68972be2149fa441ac33d82131ba
HIREDIS_DIR=third_party/hiredis
hiredis_pins="$HIREDIS_C_VERSION $HIREDIS_SDIST_SHA256"
if [ ! -f "$HIREDIS_DIR/hiredis/hiredis.h" ] || [ "$(cat "$HIREDIS_DIR/.pins" 2>/dev/null)" != "$hiredis_pins" ]; then
  echo "setup: fetching hiredis $HIREDIS_C_VERSION into $HIREDIS_DIR"
  (
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    pip_download --no-deps --no-binary hiredis \
      --dest "$tmp" "hiredis==$HIREDIS_PY_VERSION"
    echo "$HIREDIS_SDIST_SHA256  $tmp/$HIREDIS_SDIST" | sha256sum -c --quiet -
    tar -xzf "$tmp/$HIREDIS_SDIST" -C "$tmp" "hiredis-$HIREDIS_PY_VERSION/vendor/hiredis"
    rm -rf "$HIREDIS_DIR"
    mkdir -p "$HIREDIS_DIR"
    cp -r "$tmp/hiredis-$HIREDIS_PY_VERSION/vendor/hiredis" "$HIREDIS_DIR/hiredis"
    echo "$HIREDIS_C_VERSION" > "$HIREDIS_DIR/VERSION"
    echo "$hiredis_pins" > "$HIREDIS_DIR/.pins"
  )
fi
# --- end of hiredis ---

# --- kiln web UI (ui/ -> third_party/ui-dist, embedded by src/api/webui; docs/ui.md) ---
# npm ci + vite build only when ui/'s sources or lock file changed since the
# last build: the hash of those files is stored next to the output.
UI_DIST=third_party/ui-dist
ui_hash=$( (cd ui && find index.html vite.config.js package.json package-lock.json src -type f -print0 \
  | sort -z | xargs -0 sha256sum; node --version) | sha256sum | cut -d' ' -f1)
if [ ! -f "$UI_DIST/index.html" ] || [ "$(cat "$UI_DIST/.hash" 2>/dev/null)" != "$ui_hash" ]; then
  command -v npm >/dev/null || { echo "setup: the web UI needs Node.js 20 and npm (apt-get install nodejs npm)" >&2; exit 1; }
  echo "setup: building the web UI (ui/) into $UI_DIST"
  (cd ui && npm ci --no-audit --no-fund && KILN_UI_OUT="$PWD/../$UI_DIST" npm run build)
  echo "$ui_hash" > "$UI_DIST/.hash"
fi
# --- end of kiln web UI ---
}

kube_schemas() {
# The schemas kubeconform checks the chart against (tests/deploy/test_helm.py).
KUBE_SCHEMA_DIR=third_party/kube-schemas
KUBE_SCHEMA_VERSIONS="1.27.0 1.33.0"
kube_schema_pins="$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("kubernetes-validate"))') $KUBE_SCHEMA_VERSIONS"
if [ "$(cat "$KUBE_SCHEMA_DIR/.pins" 2>/dev/null)" != "$kube_schema_pins" ]; then
  echo "setup: converting kubernetes-validate schemas ($KUBE_SCHEMA_VERSIONS) into $KUBE_SCHEMA_DIR"
  # shellcheck disable=SC2086  # the versions are separate words
  .venv/bin/python scripts/kube_schemas.py "$KUBE_SCHEMA_DIR" $KUBE_SCHEMA_VERSIONS
  echo "$kube_schema_pins" > "$KUBE_SCHEMA_DIR/.pins"
fi
}

go_tools() {
# --- the cache of Go-built tools, outside the checkout ---
# CI tests a fresh clone every run: third_party/versitygw and
# third_party/go-tools (helm, kubeconform, tflint, tofu: tens of minutes to
# build cold) are links into a per-user cache, so each is built once per
# machine and pin, not once per clone. An existing folder is left as it is.
KILN_CACHE=${KILN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kiln}
for cached in versitygw go-tools; do
  if [ ! -e "third_party/$cached" ] && [ ! -L "third_party/$cached" ]; then
    mkdir -p "$KILN_CACHE/$cached" third_party
    ln -s "$KILN_CACHE/$cached" "third_party/$cached"
  fi
done
# --- end of the tool cache ---

# --- versitygw (S3-compatible server for tests/compat/test_s3_*.py) ---
# Apache-2.0 S3 gateway with strict SigV4 checking, built once from its pinned
# Go module into third_party/versitygw/bin (~4 min) and reused; rebuilt only
# when the pin changes. Go comes from /usr/local/go or PATH.
VERSITYGW_VERSION=v1.8.0
VERSITYGW_DIR=third_party/versitygw
if [ ! -x "$VERSITYGW_DIR/bin/versitygw" ] || [ "$(cat "$VERSITYGW_DIR/.pins" 2>/dev/null)" != "$VERSITYGW_VERSION" ]; then
  GO=$(command -v go || echo /usr/local/go/bin/go)
  [ -x "$GO" ] || { echo "setup: versitygw needs Go (not found on PATH or at /usr/local/go/bin/go)" >&2; exit 1; }
  echo "setup: building versitygw $VERSITYGW_VERSION into $VERSITYGW_DIR/bin (a few minutes, once)"
  mkdir -p "$VERSITYGW_DIR/bin"
  GOBIN="$PWD/$VERSITYGW_DIR/bin" "$GO" install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
  echo "$VERSITYGW_VERSION" > "$VERSITYGW_DIR/.pins"
fi
# --- end of versitygw ---

# --- Deployment tooling (tests/deploy/test_helm.py) ---
# Helm and kubeconform, built once from their pinned Go modules into
# third_party/go-tools/bin (helm ~10 min) and reused; each is rebuilt only when
# its pin changes (third_party/go-tools/.pins-<tool>). kubeconform validates
# offline against the Kubernetes schemas of the PyPI package kubernetes-validate
# (in .venv), converted once per pin into third_party/kube-schemas/v<version>/.
GO_TOOLS_DIR=third_party/go-tools
GO_TOOLS=("helm|helm.sh/helm/v3/cmd/helm|v3.22.0"
          "kubeconform|github.com/yannh/kubeconform/cmd/kubeconform|v0.8.0")
for spec in "${GO_TOOLS[@]}"; do
  IFS='|' read -r tool module version <<<"$spec"
  if [ ! -x "$GO_TOOLS_DIR/bin/$tool" ] || [ "$(cat "$GO_TOOLS_DIR/.pins-$tool" 2>/dev/null)" != "$module@$version" ]; then
    GO=$(command -v go || echo /usr/local/go/bin/go)
    [ -x "$GO" ] || { echo "setup: $tool needs Go (not found on PATH or at /usr/local/go/bin/go)" >&2; exit 1; }
    echo "setup: building $tool $version into $GO_TOOLS_DIR/bin (once)"
    mkdir -p "$GO_TOOLS_DIR/bin"
    GOBIN="$PWD/$GO_TOOLS_DIR/bin" "$GO" install "$module@$version"
    echo "$module@$version" > "$GO_TOOLS_DIR/.pins-$tool"
  fi
done
# --- end of Helm and kubeconform ---

# --- Terraform checks (tests/deploy/test_terraform.py) ---
# tflint (its bundled terraform rules work offline) and OpenTofu (for
# `tofu fmt -check`; the AWS provider cannot be downloaded here, so no
# init/validate), built once from pinned Go modules into
# third_party/go-tools/bin and reused; each is rebuilt only when its pin
# changes (third_party/go-tools/.pins-<tool>). OpenTofu's go.mod has replace
# directives, which `go install mod@version` refuses: its module is
# downloaded and built as the main module instead (~10 min, once), with the
# release build's ldflags (else it calls itself a -dev build).
TF_GO_TOOLS_DIR=third_party/go-tools
TFLINT_MODULE=github.com/terraform-linters/tflint@v0.64.0
TOFU_MODULE=github.com/opentofu/opentofu@v1.12.6
if [ ! -x "$TF_GO_TOOLS_DIR/bin/tflint" ] || [ "$(cat "$TF_GO_TOOLS_DIR/.pins-tflint" 2>/dev/null)" != "$TFLINT_MODULE" ] ||
   [ ! -x "$TF_GO_TOOLS_DIR/bin/tofu" ] || [ "$(cat "$TF_GO_TOOLS_DIR/.pins-tofu" 2>/dev/null)" != "$TOFU_MODULE" ]; then
  GO=$(command -v go || echo /usr/local/go/bin/go)
  [ -x "$GO" ] || { echo "setup: tflint/tofu need Go (not found on PATH or at /usr/local/go/bin/go)" >&2; exit 1; }
  mkdir -p "$TF_GO_TOOLS_DIR/bin"
  if [ ! -x "$TF_GO_TOOLS_DIR/bin/tflint" ] || [ "$(cat "$TF_GO_TOOLS_DIR/.pins-tflint" 2>/dev/null)" != "$TFLINT_MODULE" ]; then
    echo "setup: building $TFLINT_MODULE into $TF_GO_TOOLS_DIR/bin (once)"
    GOBIN="$PWD/$TF_GO_TOOLS_DIR/bin" "$GO" install "$TFLINT_MODULE"
    echo "$TFLINT_MODULE" > "$TF_GO_TOOLS_DIR/.pins-tflint"
  fi
  if [ ! -x "$TF_GO_TOOLS_DIR/bin/tofu" ] || [ "$(cat "$TF_GO_TOOLS_DIR/.pins-tofu" 2>/dev/null)" != "$TOFU_MODULE" ]; then
    echo "setup: building $TOFU_MODULE into $TF_GO_TOOLS_DIR/bin (about 10 minutes, once)"
    tofu_src=$("$GO" mod download -json "$TOFU_MODULE" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -d "$tofu_src" ] || { echo "setup: go mod download $TOFU_MODULE gave no source directory" >&2; exit 1; }
    (cd "$tofu_src" && GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" "$GO" build -trimpath \
      -ldflags "-X github.com/opentofu/opentofu/version.dev=no" -o "$OLDPWD/$TF_GO_TOOLS_DIR/bin/tofu" ./cmd/tofu)
    echo "$TOFU_MODULE" > "$TF_GO_TOOLS_DIR/.pins-tofu"
  fi
fi
# --- end of Terraform checks ---
}

# The browser suite's npm packages (tests/ui; Playwright drives Debian's
# chromium, so no browser is downloaded). scripts/run_ui_tests.sh checks the
# same condition.
ui_test_deps() {
  if [ ! -d tests/ui/node_modules/@playwright/test ] ||
     [ tests/ui/package-lock.json -nt tests/ui/node_modules/.package-lock.json ]; then
    echo "setup: installing the browser suite's npm packages (tests/ui)"
    (cd tests/ui && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >/dev/null)
  fi
}

# Sections that share nothing run side by side: the virtualenvs (mostly
# downloads) beside the Go builds (mostly CPU).
test_tools() {
  ( python_envs_main; kube_schemas; python_envs_reference ) &
  local py=$!
  ( ui_test_deps ) &
  local ui=$!
  go_tools
  wait "$py"
  wait "$ui"
}

install_debs
case "$STAGE" in
  build) build_deps ;;
  tools) test_tools ;;
  all) build_deps; test_tools ;;
esac
