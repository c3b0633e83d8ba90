#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Prints Google Benchmark JSON results as a table of items/s (median of the
repetitions), with each benchmark's ratio to its baseline from the same run."""
import json
import sys

# benchmark name prefix -> baseline name prefix (same suffix, e.g. "/logs").
BASELINES = {
    "BM_OtlpToOtap": "BM_ParseOtlpProtobuf",
    "BM_OtapToOtlp": "BM_ParseOtlpProtobuf",
    "BM_ReaderReplay": "BM_ArrowScanBaseline",  # one baseline for every batch size
    "BM_MergeNative": "BM_MergeOtlpRoundTrip",
    # suffix "<signal>_<decode>": against "<signal>_heap_messages" (see below)
    "BM_OtlpBytesToOtap": "BM_OtlpBytesToOtap",
}


def baseline_suffix(prefix: str, suffix: str) -> str:
    """The baseline's suffix: the same, except the OTLP decode paths, which compare
    with parsing into heap messages of the same signal."""
    if prefix == "BM_OtlpBytesToOtap":
        return suffix.split("_")[0] + "_heap_messages"
    return suffix


def main(path: str) -> None:
    with open(path) as f:
        data = json.load(f)
    rate = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name", "median") != "median":
            continue
        name = b.get("run_name", b["name"])
        rate[name] = b.get("items_per_second", 0.0)
    print(f"{'benchmark':<40} {'items/s':>14} {'vs baseline':>24}")
    for name, value in rate.items():
        prefix, _, suffix = name.partition("/")
        base = BASELINES.get(prefix)
        ratio = ""
        base_suffix = baseline_suffix(prefix, suffix)
        base_name = (
            f"{base}/{base_suffix}" if base and f"{base}/{base_suffix}" in rate else base
        )
        if base_name in rate and rate[base_name]:
            ratio = f"{value / rate[base_name]:.2f}x {base}"
        print(f"{name:<40} {value:>14,.0f} {ratio:>24}")
    ctx = data.get("context", {})
    print(f"\n{ctx.get('num_cpus')} cpus, {ctx.get('mhz_per_cpu')} MHz, load {ctx.get('load_avg')}")


if __name__ == "__main__":
    main(sys.argv[1])
