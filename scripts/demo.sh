#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sets everything up (idempotent) and runs the main job on its built-in default.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec build/otap-parquet demo "$@"
