#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The library package as a user gets it: `cmake --install` of build/ into a fresh
# prefix, examples/dataset_roundtrip configured with find_package(otap_parquet)
# against that prefix only, built and run (it writes, replays, lists and deletes a
# dataset and fails on any difference). CI runs it (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S examples/dataset_roundtrip -B "$work/example" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
  >/dev/null
ninja -C "$work/example" >/dev/null
"$work/example/dataset_roundtrip" "$work/dataset"
echo "check_package: the installed package builds and runs examples/dataset_roundtrip"

# Every installed header compiles on its own, first in a translation unit, with
# only the package's include paths (no header relies on one included before it, or
# on a header that is not installed).
mkdir -p "$work/headers/tu"
(cd "$work/prefix/include" && find otap_parquet -name '*.h' | sort) >"$work/headers/list"
while read -r header; do
  printf '#include <%s>\n#include <%s>\n' "$header" "$header" \
    >"$work/headers/tu/$(echo "$header" | tr '/.' '__').cc"
done <"$work/headers/list"
cat >"$work/headers/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(otap_parquet_headers LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
find_package(otap_parquet 0.1 REQUIRED)
file(GLOB units "${CMAKE_CURRENT_SOURCE_DIR}/tu/*.cc")
add_library(headers OBJECT ${units})
target_link_libraries(headers PRIVATE otap_parquet::otap_parquet)
target_compile_options(headers PRIVATE -Wall -Wextra -Werror)
CMAKE
cmake -S "$work/headers" -B "$work/headers/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" "${launcher[@]}" >/dev/null
ninja -C "$work/headers/build" -j "${OTAP_BUILD_JOBS:-2}" >/dev/null
echo "check_package: $(wc -l <"$work/headers/list") installed headers compile on their own"

# The installed CMake files name no path of this checkout or its build directory
# (the pyarrow wheel's directory aside: the package records it, docs/library.md).
source_dir="$(pwd -P)"
build_dir="$(cd "$build" && pwd -P)"
leaks="$(grep -rnF -e "$source_dir/" -e "$build_dir/" -e "$(pwd)/" "$work/prefix/lib/cmake" |
  grep -vF -e "$source_dir/.venv/" -e "$(pwd)/.venv/" || true)"
if [[ -n "$leaks" ]]; then
  echo "check_package: the installed CMake files name build machine paths:" >&2
  echo "$leaks" >&2
  exit 1
fi
echo "check_package: the installed CMake files name no path of the checkout or build"
