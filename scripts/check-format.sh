#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fails if any tracked C++ file is not clang-format clean (.clang-format).
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror
echo "clang-format: clean"
