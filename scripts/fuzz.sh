#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# libFuzzer targets (fuzz/*_fuzz.cc) under ASan + UBSan: installs clang, builds
# build-fuzz/ (only the decoders the targets reach) and runs each target for
# SECONDS (default 45, what CI runs) from its checked-in seed corpus
# tests/fuzz/corpus/<target>/. New inputs go to build-fuzz/corpus/<target>/, crashes
# to build-fuzz/artifacts/<target>/ (the run then fails, printing the reproducer).
# Usage: scripts/fuzz.sh [--seconds N] [--jobs N] [TARGET...]
#   scripts/fuzz.sh --seconds 3600                 # an hour per target
#   build-fuzz/fuzz/cbor_fuzz build-fuzz/artifacts/cbor_fuzz/crash-…   # reproduce
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=45
targets=()
while (($#)); do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=(otlp_wire_fuzz otlp_json_fuzz cbor_fuzz parquet_table_fuzz otap_bar_fuzz
                           wal_fuzz)

# Debian bookworm's clang 14; libclang-rt-14-dev holds libFuzzer and the sanitizer
# runtimes.
apt_packages=(clang libclang-rt-14-dev)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "fuzz: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[[ -x .venv/bin/python ]] || scripts/setup.sh >/dev/null  # the venv (Arrow C++, descriptors)

export CCACHE_DIR="${CCACHE_DIR:-$root/.ccache}"
# As scripts/setup.sh: hits across clones at other paths (CI clones afresh).
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
build=build-fuzz
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DOTAP_FUZZ=ON -DOTAP_BUILD_TESTS=OFF -DOTAP_BUILD_BENCHMARKS=OFF \
    -DOTAP_PYTHON="$root/.venv/bin/python" >/dev/null
fi
start=$(date +%s)
cmake --build "$build" -j "${OTAP_BUILD_JOBS:-2}" --target "${targets[@]}"
echo "fuzz: build took $(($(date +%s) - start))s"

# Arrow allocates through malloc so ASan sees it; the reader's jemalloc would hide it.
export ARROW_DEFAULT_MEMORY_POOL=system
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  artifacts="$build/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  log="$build/$t.log"
  echo "fuzz: $t for ${seconds}s"
  if "$build/fuzz/$t" "$corpus" "tests/fuzz/corpus/$t" -max_total_time="$seconds" \
      -timeout=20 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$artifacts/" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    echo "fuzz: $t ok: ${runs:-?} inputs, ${cov:-cov ?}, corpus $(ls "$corpus" | wc -l) new"
  else
    status=1
    echo "fuzz: $t FAILED (log $log):"
    tail -60 "$log"
    ls "$artifacts"
  fi
done
exit $status
