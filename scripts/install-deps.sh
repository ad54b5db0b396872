#!/usr/bin/env bash
# Installs every Debian package RingDB needs to build, test and benchmark.
# Idempotent; run as root (CI and the developer machines run as root).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config clang-format
  librocksdb-dev libasio-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev
  liblz4-dev libssl-dev nlohmann-json3-dev libedit-dev libjemalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-cassandra nodejs npm
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# A machine image may bring its own Node.js (with npm) outside Debian's packages: keep it.
if command -v node >/dev/null && command -v npm >/dev/null; then
  kept=()
  for p in "${missing[@]}"; do [ "$p" = nodejs ] || [ "$p" = npm ] || kept+=("$p"); done
  missing=("${kept[@]}")
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all Debian packages present"
else
  echo "install-deps: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: must run as root to install packages" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The Node.js driver for the driver tests, from the npm registry (no lock file is kept).
here=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -d "$here/tests/node/node_modules/cassandra-driver" ]; then
  (cd "$here/tests/node" && npm install --no-audit --no-fund --no-package-lock --loglevel=error)
fi
