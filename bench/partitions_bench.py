#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`otap-parquet partitions` and `partitions delete` on an hourly dataset: wall time,
CPU and peak RSS of listing every partition, and of deleting the older ones.

The dataset: `--hours` hours (default 168, a week) of `--per-hour` logs (default
1,200, one attribute each) ending 2026-10-31T23:00Z, converted with
`--partition-by hour --rows-per-file 400` (one id space per hour); the deletion
removes the hours before 2026-10-28 (96 of the default 168).

    .venv/bin/python bench/partitions_bench.py
"""
import argparse
import datetime
import json
import pathlib
import resource
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def timed(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"{cmd[1]} failed: {proc.stderr[-2000:]}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return proc, {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                  "peak_rss_mib_so_far": round(after.ru_maxrss / 1024)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cli", default=str(ROOT / "build" / "otap-parquet"))
    ap.add_argument("--hours", type=int, default=168)
    ap.add_argument("--per-hour", type=int, default=1200)
    args = ap.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="partitions-bench-"))
    src, lake = tmp / "in.jsonl", tmp / "lake"
    last = datetime.datetime(2026, 10, 31, 23, tzinfo=datetime.timezone.utc)
    n = 0
    with open(src, "w") as out:
        for h in range(args.hours):
            hour = last - datetime.timedelta(hours=args.hours - 1 - h)
            records = []
            for k in range(args.per_hour):
                t = int((hour.timestamp() + k * 3600 / args.per_hour) * 1e9)
                records.append({"timeUnixNano": str(t), "body": {"stringValue": f"rec-{n}"},
                                "attributes": [{"key": "seq",
                                                "value": {"intValue": str(n)}}]})
                n += 1
            out.write(json.dumps({"resourceLogs": [{
                "resource": {"attributes": [
                    {"key": "service.name", "value": {"stringValue": "svc"}}]},
                "scopeLogs": [{"scope": {"name": "bench"}, "logRecords": records}]}]}) + "\n")
    subprocess.run([args.cli, "convert", str(src), str(lake), "--partition-by", "hour",
                    "--rows-per-file", "400"], check=True, capture_output=True)
    files = sum(1 for _ in lake.rglob("*.parquet"))
    proc, listing = timed([args.cli, "partitions", str(lake), "--json"])
    partitions = len(json.loads(proc.stdout)["partitions"])
    _, deletion = timed([args.cli, "partitions", "delete", str(lake), "--before",
                         "2026-10-28", "--apply"])
    left = sum(1 for _ in lake.rglob("*.parquet"))
    print(json.dumps({"logs": n, "partitions": partitions, "files": files,
                      "list": listing, "delete": deletion,
                      "files_deleted": files - left, "files_left": left}, indent=1))


if __name__ == "__main__":
    main()
