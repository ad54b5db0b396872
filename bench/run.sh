#!/usr/bin/env bash
# Runs the benchmarks and prints the side-by-side ratios. Usage: bench/run.sh [benchmark flags]
set -euo pipefail
cd "$(dirname "$0")/.."
./build/bench/storage_bench "$@"
