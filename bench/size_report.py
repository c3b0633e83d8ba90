#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Bytes per log record on disk (issue #18, item 5), one run on the same data:

- our writer with its defaults (zstd, `bench write`);
- our writer uncompressed (`--compression none`, upstream's codec);
- the same tables as Arrow IPC streams, zstd-compressed buffers, in batches of the
  OTAP batches' sizes (4,000 logs per request and their attribute rows), as
  otel-arrow's study compares them.

Usage: .venv/bin/python bench/size_report.py [--logs 200000]
"""
import argparse
import pathlib
import subprocess
import tempfile

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.ipc as ipc

ROOT = pathlib.Path(__file__).resolve().parent.parent
CLI = ROOT / "build" / "otap-parquet"
LOGS_PER_BATCH = 4_000


def write(src: pathlib.Path, lake: pathlib.Path, *extra) -> None:
    subprocess.run([CLI, "bench", "write", "--no-fsync", "--dir", lake, *extra, src],
                   check=True, capture_output=True)


def parquet_bytes(lake: pathlib.Path) -> int:
    return sum(p.stat().st_size for p in lake.rglob("*.parquet"))


def ipc_bytes(lake: pathlib.Path, out: pathlib.Path, logs: int) -> int:
    total = 0
    batches = max(1, logs // LOGS_PER_BATCH)
    for table_dir in sorted(lake.iterdir()):
        table = ds.dataset(table_dir, format="parquet", partitioning="hive",
                           ignore_prefixes=["."]).to_table()
        table = table.drop_columns([c for c in table.column_names if c == "_part_id"])
        rows = max(1, -(-table.num_rows // batches))
        path = out / f"{table_dir.name}.arrows"
        options = ipc.IpcWriteOptions(compression="zstd")
        with pa.OSFile(str(path), "wb") as sink, ipc.new_stream(sink, table.schema,
                                                                options=options) as writer:
            for batch in table.to_batches(max_chunksize=rows):
                writer.write_batch(batch)
        total += path.stat().st_size
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--logs", type=int, default=200_000, help="log records (multiple of 4000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        src = tmp / "logs.pb"
        subprocess.run([CLI, "generate", "--signal", "logs", "--requests",
                        str(max(1, args.logs // LOGS_PER_BATCH)), "--items", "1000", src],
                       check=True, capture_output=True)
        ours, plain, arrows = tmp / "ours", tmp / "plain", tmp / "ipc"
        arrows.mkdir()
        write(src, ours)
        write(src, plain, "--compression", "none")
        logs = ds.dataset(ours / "logs", format="parquet", partitioning="hive",
                          ignore_prefixes=["."]).count_rows()
        zstd_ipc = ipc_bytes(ours, arrows, logs)
        rows = [("otap-parquet, defaults (zstd)", parquet_bytes(ours)),
                ("otap-parquet, uncompressed (upstream's codec)", parquet_bytes(plain)),
                ("Arrow IPC of the same batches, zstd buffers", zstd_ipc)]
    print(f"{logs:,} realistic logs (10 attributes each), batches of {LOGS_PER_BATCH:,} logs")
    print(f"{'':<48} {'bytes/log':>10} {'vs IPC+zstd':>12}")
    for name, size in rows:
        print(f"{name:<48} {size / logs:>10.1f} {size / zstd_ipc:>11.2f}x")


if __name__ == "__main__":
    main()
