# kiln: `make run` and `make test` are all a fresh machine needs.
.PHONY: setup setup-debs setup-build setup-tools build build-debug run test test-unit test-compat test-deploy test-ui test-latest asan tidy format clean fuzz install

JOBS ?= $(shell nproc)
# ccache keys on paths relative to the checkout, so every clone shares the cache.
export CCACHE_BASEDIR := $(CURDIR)

setup:
	./scripts/setup.sh

# The stages of setup.sh: `build` needs only what the compiler does, so the
# test-only tools (virtualenvs, Go builds) can be set up while it compiles.
setup-debs:
	./scripts/setup.sh debs

setup-build: setup-debs
	./scripts/setup.sh build

setup-tools: setup-debs
	./scripts/setup.sh tools

build: setup-build
	cmake --preset release >/dev/null
	cmake --build build/release -j $(JOBS)

build-debug: setup-build
	cmake --preset debug >/dev/null
	cmake --build build/debug -j $(JOBS)

# Starts kiln on embedded defaults: port 5000, data under ./kiln-data.
run: build
	./build/release/kiln serve --port $${KILN_PORT:-5000} --data-dir $${KILN_DATA_DIR:-./kiln-data}

test-unit: build setup-tools
	ctest --preset release -j $(JOBS)

# Both metadata backends (SQLite and PostgreSQL) at once: scripts/run_compat.sh.
test-compat: build setup-tools
	./scripts/run_compat.sh

# The container image tree, Helm chart, Terraform module, Prometheus rules,
# Alertmanager config and dashboards (tests/deploy; a real Prometheus scrapes kiln).
test-deploy: build setup-tools
	./scripts/run_deploy_tests.sh

# kiln's web UI in Debian's Chromium (Playwright), against the real binary.
test-ui: build setup-tools
	./scripts/run_ui_tests.sh

# The C++ build and the test tools' set-up side by side, then the suites.
test:
	$(MAKE) --no-print-directory -j2 build setup-tools
	$(MAKE) --no-print-directory test-unit test-compat test-deploy test-ui

# The runtime tree the container image holds: DESTDIR=/tmp/x make install.
PREFIX ?= /usr/local
install: build
	cmake --install build/release --prefix $(PREFIX) --strip

# The compat suites in a fresh virtualenv with every client unpinned (newest
# releases): finds the next client drift. Not part of `make test`.
test-latest: build setup-tools
	./scripts/test_latest.sh

# Unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
asan: setup-build setup-tools
	cmake --preset asan >/dev/null
	cmake --build build/asan -j $(JOBS)
	ctest --preset asan -j $(JOBS)

# libFuzzer targets (fuzz/README.md): clang-14 build in build/fuzz, then each
# fuzzer runs FUZZ_SECONDS on fuzz/corpus + fuzz/regressions, new inputs going
# to build/fuzz/run/<target>, crashers to build/fuzz/artifacts/<target>/.
# Needs the Debian packages clang-14 and libclang-rt-14-dev.
FUZZ_SECONDS ?= 60
FUZZERS := v2_json_request_fuzzer v2_binary_request_fuzzer

fuzz: setup-build
	@command -v clang++-14 >/dev/null || { echo "make fuzz: needs clang-14 and libclang-rt-14-dev (apt-get install clang-14 libclang-rt-14-dev)"; exit 1; }
	cmake --preset fuzz >/dev/null
	cmake --build build/fuzz --target kiln_fuzzers -j $(JOBS)
	@for f in $(FUZZERS); do \
	  mkdir -p build/fuzz/run/$$f build/fuzz/artifacts/$$f && \
	  echo "fuzz: $$f for $(FUZZ_SECONDS)s" && \
	  ./build/fuzz/fuzz/$$f -dict=fuzz/v2.dict -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -max_len=65536 \
	    -timeout=10 -print_final_stats=1 -artifact_prefix=build/fuzz/artifacts/$$f/ \
	    build/fuzz/run/$$f fuzz/corpus/$$f fuzz/regressions/$$f || exit 1; \
	done

# Static analysis and formatting (Debian packages clang-tidy, clang-format).
tidy: build
	run-clang-tidy -p build/release -quiet 'src/.*'

format:
	clang-format -i $$(git ls-files 'src/*.cc' 'src/*.h')

clean:
	rm -rf build
