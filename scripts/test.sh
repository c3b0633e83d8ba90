#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every test: sets up and builds (idempotent), then the C++ unit tests (ctest)
# and the interop tests (pytest: independent readers and peers against the CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --test-dir build --output-on-failure -j2
.venv/bin/python -m pytest -q tests
