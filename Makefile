# RingDB developer workflow. `make test` and `make demo` work on a fresh Debian machine (as root).
JOBS ?= 2
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=

.PHONY: all deps build build-asan test unit-test asan-test crash-test bench demo format clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)
	ninja -C build -j $(JOBS)

build-asan: deps
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRINGDB_SANITIZE=ON $(CMAKE_FLAGS)
	ninja -C build-asan -j $(JOBS)

# All tests: unit tests and the crash test on the optimised build, then the unit tests again
# under AddressSanitizer and UndefinedBehaviorSanitizer.
test: build build-asan
	cd build && ctest --output-on-failure -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS) -L unit

bench: build
	bash bench/run.sh

demo: build
	mkdir -p data/demo
	./build/ringdb server --data-dir data/demo

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf build build-asan
