#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Dataset replay against its targets (issue #4), in one run on the same files:

- replay: `otap-parquet bench replay --signal logs` (logs with their attributes and
  resource attributes, rebuilt as OtapBatches), one thread;
- floor: a bare Arrow scan decoding every row group of every Parquet file of the
  dataset (pyarrow, the same Arrow C++ build, use_threads=False, pre_buffer,
  64 Ki-row batches), all columns, nothing else;
- SQL: DuckDB rebuilding logs with their attributes by a LEFT JOIN (the original
  design's approach), pinned to 1 thread (per-core comparison) and with its default
  thread count.

Each is run in its own process; rates are logs per wall-clock second and per CPU
second (user + system; for one thread the per-core rate, which stays meaningful on
a busy machine). Peak RSS is the process's maximum resident set.

Datasets (realistic logs, 10 attributes each, written by `otap-parquet bench write`
with its defaults: zstd, 1,048,576-row row groups) are cached under --cache and
reused. The 10 M-log dataset takes several minutes to build: pass --large.

Usage: .venv/bin/python bench/replay_baselines.py [--logs 1000000] [--large]
"""
import argparse
import json
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
CLI = ROOT / "build" / "otap-parquet"
LOGS_PER_REQUEST = 4000  # generate --items 1000: 2 resources x 2 scopes x 1000

SCAN = r"""
import json, pathlib, resource, sys, time
import pyarrow.parquet as pq
files = sorted(p for p in pathlib.Path(sys.argv[1]).rglob("*.parquet"))
wall, cpu = time.perf_counter(), time.process_time()
rows = 0
for f in files:
    pf = pq.ParquetFile(f, pre_buffer=True)
    # 64 Ki-row batches: faster than whole 1 Mi-row groups (fewer fresh pages).
    for batch in pf.iter_batches(batch_size=65536, use_threads=False):
        rows += batch.num_rows
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "rows": rows,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

DUCKDB = r"""
import json, resource, sys, time
import duckdb
lake, threads = sys.argv[1], sys.argv[2]
con = duckdb.connect()
if threads != "default":
    con.execute(f"SET threads = {threads}")
n_threads = con.sql("SELECT current_setting('threads')").fetchall()[0][0]
wall, cpu = time.perf_counter(), time.process_time()
joined = con.sql(
    f'''SELECT l.*, a.* FROM read_parquet('{lake}/logs/*/*.parquet', hive_partitioning = true) l
        LEFT JOIN read_parquet('{lake}/log_attrs/*/*.parquet', hive_partitioning = true) a
        ON l._part_id = a._part_id AND l.id = a.parent_id''').to_arrow_table()
rows = joined.num_rows
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "rows": rows, "threads": n_threads,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(*args) -> str:
    proc = subprocess.run([*map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, args))}\n{proc.stdout}{proc.stderr}")
    return proc.stdout + proc.stderr


def dataset(cache: pathlib.Path, logs: int) -> pathlib.Path:
    """The cached dataset of `logs` realistic logs, built when missing or when it was
    written with other writer properties than the current build's defaults (the
    `.complete` stamp holds the `properties` line of `bench write`)."""
    requests = max(1, logs // LOGS_PER_REQUEST)
    base_requests = min(requests, 250)  # at most 1 M logs generated, written N times
    repeat = max(1, requests // base_requests)
    lake = cache / f"logs-{base_requests * repeat * LOGS_PER_REQUEST}"
    stamp = lake / ".complete"
    properties = writer_properties()
    if stamp.exists() and stamp.read_text() == properties:
        return lake
    src = cache / f"logs-{base_requests}req.pb"
    if not src.exists():
        print(f"generating {base_requests * LOGS_PER_REQUEST:,} logs ...", file=sys.stderr)
        tmp = src.with_suffix(".tmp.pb")
        run(CLI, "generate", "--signal", "logs", "--requests", base_requests, "--items", 1000, tmp)
        tmp.rename(src)
    shutil.rmtree(lake, ignore_errors=True)
    print(f"writing {lake.name} ({repeat}x) ...", file=sys.stderr)
    run(CLI, "bench", "write", "--signal", "logs", "--no-fsync", "--repeat", repeat, "--dir", lake, src)
    stamp.write_text(properties)
    return lake


def writer_properties() -> str:
    """The `properties` line `bench write` prints for the current build's defaults."""
    tiny = pathlib.Path(tempfile.mkdtemp())
    try:
        run(CLI, "generate", "--signal", "logs", "--requests", 1, "--items", 1, tiny / "one.pb")
        out = run(CLI, "bench", "write", "--signal", "logs", "--no-fsync", tiny / "one.pb")
    finally:
        shutil.rmtree(tiny, ignore_errors=True)
    return next((line.strip() for line in out.splitlines() if "properties" in line), out)


def replay(lake: pathlib.Path, batch_size: int) -> dict:
    out = run(CLI, "bench", "replay", "--signal", "logs", "--batch-size", batch_size, lake)
    m = re.search(
        r"replayed (\d+) root records in ([\d.]+)s: \d+ records/s; CPU ([\d.]+)s: \d+ "
        r"records/CPU-s; peak RSS ([\d.]+) MiB",
        out,
    )
    if not m:
        sys.exit(f"unexpected bench replay output:\n{out}")
    return {"rows": int(m.group(1)), "wall": float(m.group(2)), "cpu": float(m.group(3)),
            "rss_mib": float(m.group(4))}


def python(code: str, *args) -> dict:
    return json.loads(run(sys.executable, "-c", code, *args).strip().splitlines()[-1])


def median_run(fn, runs: int) -> dict:
    results = [fn() for _ in range(runs)]
    best = sorted(results, key=lambda r: r["cpu"])[len(results) // 2]
    best["rss_mib"] = max(r["rss_mib"] for r in results)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logs", type=int, default=1_000_000, help="log records of the small dataset")
    parser.add_argument("--large", action="store_true", help="also the 10x larger dataset (10 M logs by default)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median by CPU time)")
    parser.add_argument("--batch-size", type=int, default=16384,
                        help="bench replay --batch-size (roots per OTAP batch)")
    parser.add_argument("--cache", type=pathlib.Path, default=ROOT / "build" / "bench-data")
    parser.add_argument("--no-duckdb", action="store_true", help="skip the DuckDB baselines")
    parser.add_argument(
        "--duckdb-max-logs", type=int, default=1_000_000,
        help="DuckDB only on datasets up to this size (its joined result, 10 rows per log, "
        "takes ~5 GB of RAM per million logs)")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    sizes = [args.logs] + ([args.logs * 10] if args.large else [])

    rows = []
    for size in sizes:
        lake = dataset(args.cache, size)
        ours = median_run(lambda: replay(lake, args.batch_size), args.runs)
        logs = ours["rows"]
        scan = median_run(lambda: python(SCAN, lake), args.runs)
        line = {"logs": logs, "replay": ours, "scan": scan}
        if not args.no_duckdb and logs <= args.duckdb_max_logs:
            line["duck1"] = median_run(lambda: python(DUCKDB, lake, "1"), args.runs)
            line["duckN"] = median_run(lambda: python(DUCKDB, lake, "default"), args.runs)
        rows.append(line)

    def rate(r, logs, key):
        return logs / r[key] if r[key] > 0 else float("nan")

    print(f"replay of realistic logs (10 attributes each), {args.runs} runs, median; "
          f"batch size {args.batch_size}")
    print(f"{'':<36} {'logs/s wall':>12} {'logs/CPU-s':>12} {'peak RSS':>10}")
    for line in rows:
        logs = line["logs"]
        print(f"-- {logs:,} logs")
        items = [("otap-parquet bench replay", line["replay"]), ("bare Arrow scan (floor)", line["scan"])]
        if "duck1" in line:
            items += [("DuckDB LEFT JOIN, 1 thread", line["duck1"]),
                      (f"DuckDB LEFT JOIN, default ({line['duckN']['threads']} threads)", line["duckN"])]
        for name, r in items:
            print(f"{name:<36} {rate(r, logs, 'wall'):>12,.0f} {rate(r, logs, 'cpu'):>12,.0f} "
                  f"{r['rss_mib']:>7.0f} MiB")
        ours, scan = line["replay"], line["scan"]
        print(f"  replay time / bare scan time:      {ours['wall'] / scan['wall']:.2f}x wall, "
              f"{ours['cpu'] / scan['cpu']:.2f}x CPU   (target <= 1.5x)")
        if "duck1" in line:
            d1, dn = line["duck1"], line["duckN"]
            print(f"  replay vs DuckDB, 1 thread:        {d1['wall'] / ours['wall']:.2f}x faster wall, "
                  f"{d1['cpu'] / ours['cpu']:.2f}x CPU   (target >= 5x)")
            print(f"  replay vs DuckDB, default threads: {dn['wall'] / ours['wall']:.2f}x faster wall, "
                  f"{dn['cpu'] / ours['cpu']:.2f}x CPU")
        print(f"  replay logs per CPU-second: {rate(ours, logs, 'cpu'):,.0f}   (target >= 2,000,000)")
    if len(rows) > 1:
        print(f"peak RSS {rows[0]['replay']['rss_mib']:.0f} MiB at {rows[0]['logs']:,} logs, "
              f"{rows[-1]['replay']['rss_mib']:.0f} MiB at {rows[-1]['logs']:,} (target: flat, <= 256 MiB)")


if __name__ == "__main__":
    main()
