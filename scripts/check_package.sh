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
