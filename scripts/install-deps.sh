#!/usr/bin/env bash
# Installs every Debian package RingDB needs to build, test and benchmark.
# Idempotent; run as root (CI and the developer machines run as root).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config clang-format
  librocksdb-dev libasio-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev
  liblz4-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: must run as root to install packages" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
