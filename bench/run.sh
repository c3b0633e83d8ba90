#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds and runs every benchmark, then prints throughput and ratios against the
# baselines measured in the same run. Usage: bench/run.sh [--benchmark_filter=REGEX]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
out=$(mktemp)
build/otap_parquet_benchmarks --benchmark_format=json --benchmark_out="$out" \
  --benchmark_out_format=json --benchmark_repetitions="${BENCH_REPETITIONS:-3}" \
  --benchmark_report_aggregates_only=true "$@" >/dev/null
.venv/bin/python bench/report.py "$out"
rm -f "$out"
