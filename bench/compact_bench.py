#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`otap-parquet compact`: records per CPU-second of compaction against the dataset
writer alone (`bench write`) on the same data, and replay speed (`bench replay`)
of a dataset written with small files, before and after compaction, against the same
data written with large files.

The data: `otap-parquet generate --signal SIGNAL --requests R --items I` (logs by
default), converted twice: with `--rows-per-file 500 --max-batch-rows 500` (small
files, as a writer flushing often leaves them) and with the defaults (one file per
table). Every step runs single-threaded; CPU time is user + system of the process.

    .venv/bin/python bench/compact_bench.py [--signal logs] [--requests 40] [--items 500]
"""
import argparse
import json
import pathlib
import re
import resource
import shutil
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def timed(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[1]} failed ({proc.returncode}): {proc.stdout[-2000:]}"
                         f"{proc.stderr[-2000:]}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return proc.stdout + proc.stderr, wall, cpu


def replay_rate(cli, dataset):
    out, _, _ = timed([cli, "bench", "replay", dataset])
    m = re.search(r"replayed (\d+) root records .*?CPU ([\d.]+)s: (\d+) records/CPU-s", out)
    return int(m.group(1)), float(m.group(2)), int(m.group(3))


def files(path):
    return sum(1 for _ in pathlib.Path(path).rglob("*.parquet"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cli", default=str(ROOT / "build" / "otap-parquet"))
    ap.add_argument("--signal", default="logs")
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--items", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3, help="replays per dataset (best)")
    args = ap.parse_args()
    cli = args.cli
    with tempfile.TemporaryDirectory(prefix="compact_bench_") as tmp:
        tmp = pathlib.Path(tmp)
        src = tmp / "in.pb"
        timed([cli, "generate", "--signal", args.signal, "--requests", args.requests,
               "--items", args.items, "--seed", "7", src])
        small, large = tmp / "small", tmp / "large"
        timed([cli, "convert", src, small, "--rows-per-file", "500", "--max-batch-rows",
               "500", "--no-fsync"])
        timed([cli, "convert", src, large, "--no-fsync"])
        out, _, _ = timed([cli, "bench", "write", src, "--no-fsync"])
        write_rate = float(re.search(r"per cpu\s+(\d+) records/cpu-s", out).group(1))

        def best_replay(dataset):
            runs = [replay_rate(cli, dataset) for _ in range(args.rounds)]
            return max(runs, key=lambda r: r[2])

        records, _, before_rate = best_replay(small)
        small_files = files(small)
        out, wall, cpu = timed([cli, "compact", small, "--older-than", "0s", "--grace",
                                "0s", "--no-fsync"])
        m = re.search(r"(\d+) rows in ([\d.]+) CPU-s", out)
        compact_cpu = float(m.group(2))
        _, _, after_rate = best_replay(small)
        _, _, large_rate = best_replay(large)
        result = {
            "signal": args.signal,
            "records": records,
            "rows_all_tables": int(m.group(1)),
            "files_small": small_files,
            "files_compacted": files(small),
            "files_large": files(large),
            "compact_wall_s": round(wall, 2),
            "compact_cpu_s": round(compact_cpu, 2),
            "compact_process_cpu_s": round(cpu, 2),
            "compact_records_per_cpu_s": round(records / compact_cpu),
            "bench_write_records_per_cpu_s": round(write_rate),
            "compact_vs_write": round(records / compact_cpu / write_rate, 2),
            "replay_small_records_per_cpu_s": before_rate,
            "replay_compacted_records_per_cpu_s": after_rate,
            "replay_large_records_per_cpu_s": large_rate,
            "large_vs_compacted_replay_cpu": round(large_rate / after_rate, 2),
        }
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
