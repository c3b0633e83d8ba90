#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The reliability suite, longer than CI runs it (docs/development.md, "Reliability
# suite"): the kill -9, corpus, disk-full and malformed-request scenarios of
# tests/reliability/ with TRIALS kill/restart trials per kill scenario, then every
# libFuzzer target for FUZZ_SECONDS each. Prints one summary line per scenario.
# Usage: scripts/reliability.sh [--trials N] [--fuzz-seconds S] [--seed N]
#   scripts/reliability.sh --trials 100 --fuzz-seconds 3600   # the long run (~4.5 h)
#   scripts/reliability.sh --trials 10 --fuzz-seconds 0       # what CI runs, no fuzzing
set -euo pipefail
cd "$(dirname "$0")/.."

trials=100
fuzz_seconds=3600
seed=""
while (($#)); do
  case "$1" in
    --trials) trials="$2"; shift 2 ;;
    --fuzz-seconds) fuzz_seconds="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    *) echo "usage: $0 [--trials N] [--fuzz-seconds S] [--seed N]" >&2; exit 2 ;;
  esac
done

export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/otap-parquet-ccache}"
scripts/setup.sh >/dev/null
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
export OTAP_RELIABILITY_TRIALS="$trials" OTAP_RELIABILITY_SUMMARY="$summary"
[[ -n "$seed" ]] && export OTAP_RELIABILITY_SEED="$seed"
status=0
.venv/bin/python -m pytest -q tests/reliability || status=$?
if ((fuzz_seconds > 0)); then
  scripts/fuzz.sh --seconds "$fuzz_seconds" || status=1
fi
echo "=== reliability summary (trials=$trials, fuzz ${fuzz_seconds}s per target) ==="
cat "$summary"
exit $status
