#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Idempotent setup: Debian packages, the project venv (pinned pyarrow wheel for Arrow
# C++, opentelemetry-proto for the OTLP descriptors, test readers), then configure and
# build into build/. Usage: scripts/setup.sh [--sanitize]  (ASan+UBSan into build-asan/)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

build_dir=build
cmake_extra=()
if [[ "${1:-}" == "--sanitize" ]]; then
  build_dir=build-asan
  cmake_extra=(-DOTAP_SANITIZE=ON -DOTAP_BUILD_BENCHMARKS=OFF -DCMAKE_BUILD_TYPE=Debug)
fi

apt_packages=(
  g++ cmake ninja-build ccache pkg-config python3-venv
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libcbor-dev
  libcpp-httplib-dev zlib1g-dev libzstd-dev
  libboost-dev libbrotli-dev libssl-dev  # OTLP/HTTP server: Boost.Beast/Asio, br bodies, TLS
  libnghttp2-dev  # HPACK decoder of receiver:otap's per-batch headers
  libisal-dev  # CRC-32 of the write-ahead log (exporter:parquet's wal)
  libgtest-dev libgmock-dev libbenchmark-dev clang-format
  openjdk-17-jre-headless  # Spark (pyspark) reads datasets in the interop tests
)
# Node.js and npm install Azurite, the Azure Blob emulator of the object-store tests
# (scripts/build_peers.sh); a machine may already have them from elsewhere.
command -v npm >/dev/null || apt_packages+=(nodejs npm)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

venv=.venv
stamp="$venv/.requirements.sha256"
want=$(sha256sum scripts/requirements.txt | cut -d' ' -f1)
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  echo "setup: creating $venv with pinned Python packages"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/requirements.txt
  echo "$want" > "$stamp"
fi

# One cache for every clone of the project on the machine (as .ci/run uses).
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/otap-parquet-ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-8G}"
# Paths relative to the checkout and no working directory in the hash: a clone in
# another folder (CI, a worktree) reuses the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
if [[ ! -f "$build_dir/build.ninja" ]]; then
  cmake -S . -B "$build_dir" -G Ninja -DOTAP_PYTHON="$root/$venv/bin/python" "${cmake_extra[@]}"
fi
# Two cores: keep peak memory of parallel g++ jobs in check.
cmake --build "$build_dir" -j "${OTAP_BUILD_JOBS:-2}"
