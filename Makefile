# RingDB developer workflow. `make test` and `make demo` work on a fresh Debian machine (as root).
JOBS ?= 2
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=

.PHONY: all deps build build-asan test bench demo fuzz format clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)
	ninja -C build -j $(JOBS)

build-asan: deps
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRINGDB_SANITIZE=ON $(CMAKE_FLAGS)
	ninja -C build-asan -j $(JOBS)

# All tests: unit, crash and driver tests on the optimised build, then the unit and driver tests
# again under AddressSanitizer, UndefinedBehaviorSanitizer and LeakSanitizer.
test: build build-asan
	cd build && ctest --output-on-failure -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS) -L 'unit|driver'

# libFuzzer targets for the frame decoder and the CQL parser (clang, ASan + fuzzer); runs each
# for FUZZ_SECONDS.
FUZZ_SECONDS ?= 30
fuzz: deps
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev >/dev/null
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINGDB_FUZZ=ON -DRINGDB_SANITIZE=ON -DRINGDB_WERROR=OFF
	ninja -C build-fuzz -j $(JOBS) frame_fuzzer cql_parser_fuzzer
	./build-fuzz/fuzz/frame_fuzzer -max_total_time=$(FUZZ_SECONDS)
	./build-fuzz/fuzz/cql_parser_fuzzer -max_total_time=$(FUZZ_SECONDS)

bench: build
	bash bench/run.sh

# Starts a node on 127.0.0.1:9042 with sample data, prints a few queries, keeps serving.
demo: build
	./build/ringdb demo --data-dir data/demo

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf build build-asan
