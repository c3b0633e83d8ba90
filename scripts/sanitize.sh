#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds build-asan/ with AddressSanitizer + UndefinedBehaviorSanitizer and runs the
# unit tests there. Arrow's allocations go through malloc so ASan sees them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --sanitize
export ARROW_DEFAULT_MEMORY_POOL=system
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export LSAN_OPTIONS=suppressions=$(pwd)/scripts/lsan.supp
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j2
