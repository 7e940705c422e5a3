# kiln: `make run` and `make test` are all a fresh machine needs.
.PHONY: setup build build-debug run test test-unit test-compat asan tidy format clean

JOBS ?= $(shell nproc)

setup:
	./scripts/setup.sh

build: setup
	cmake --preset release >/dev/null
	cmake --build build/release -j $(JOBS)

build-debug: setup
	cmake --preset debug >/dev/null
	cmake --build build/debug -j $(JOBS)

# Starts kiln on embedded defaults: port 5000, data under ./kiln-data.
run: build
	./build/release/kiln serve --port $${KILN_PORT:-5000} --data-dir $${KILN_DATA_DIR:-./kiln-data}

test-unit: build
	ctest --preset release -j $(JOBS)

test-compat: build
	.venv/bin/python -m pytest tests/compat -q

test: test-unit test-compat

# Unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
asan: setup
	cmake --preset asan >/dev/null
	cmake --build build/asan -j $(JOBS)
	ctest --preset asan -j $(JOBS)

# Static analysis and formatting (Debian packages clang-tidy, clang-format).
tidy: build
	run-clang-tidy -p build/release -quiet 'src/.*'

format:
	clang-format -i $$(git ls-files 'src/*.cc' 'src/*.h')

clean:
	rm -rf build
