#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""How fast Arrow itself writes our logs tables, per codec and per column (issue #3).

Writes realistic logs with `otap-parquet bench write --dir`, reads the `logs` and
`log_attrs` tables back, and times pyarrow (the same Arrow C++) writing them again
with our dictionary columns and no string statistics, once per codec; with
`--columns`, also each `log_attrs` column alone with dictionary encoding off and on.
Rates are logs per CPU second of this process; sizes are bytes per log on disk.

Usage: .venv/bin/python bench/writer_codec_floor.py [--requests 200] [--columns]
"""
import argparse
import os
import pathlib
import subprocess
import tempfile
import time

import pyarrow.dataset as ds
import pyarrow.parquet as pq

ROOT = pathlib.Path(__file__).resolve().parent.parent
CLI = ROOT / "build" / "otap-parquet"
DICTIONARY = ["key", "str", "severity_text", "event_name", "scope.name", "scope.version",
              "schema_url", "resource.schema_url"]
CODECS = [("zstd", None), ("zstd", -1), ("zstd", -3), ("lz4", None), ("snappy", None),
          ("none", None)]


def load(lake: pathlib.Path, table: str):
    # ignore_prefixes: pyarrow skips `_part_id=` directories by default.
    return ds.dataset(lake / table, format="parquet", partitioning="hive",
                      ignore_prefixes=["."]).to_table().drop_columns(["_part_id"])


def timed_write(tables: dict, out: pathlib.Path, **options) -> tuple:
    start, size = time.process_time(), 0
    for name, table in tables.items():
        path = out / f"{name}.parquet"
        pq.write_table(table, path, write_statistics=False, store_schema=True, **options)
        size += os.path.getsize(path)
    return time.process_time() - start, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200, help="requests of 4,000 logs")
    parser.add_argument("--columns", action="store_true", help="also time each log_attrs column")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        src, lake = tmp / "logs.pb", tmp / "lake"
        subprocess.run([CLI, "generate", "--signal", "logs", "--requests", str(args.requests),
                        "--items", "1000", src], check=True, capture_output=True)
        subprocess.run([CLI, "bench", "write", "--no-fsync", "--dir", lake, src], check=True,
                       capture_output=True)
        tables = {name: load(lake, name) for name in ("logs", "log_attrs")}
        logs = tables["logs"].num_rows
        print(f"{logs:,} logs, {tables['log_attrs'].num_rows:,} attribute rows")
        for codec, level in CODECS:
            extra = {} if level is None else {"compression_level": level}
            cpu, size = timed_write(tables, tmp, compression=codec, use_dictionary=DICTIONARY,
                                    **extra)
            label = codec if level is None else f"{codec} level {level}"
            print(f"  {label:<16} {logs / cpu:>10,.0f} logs/CPU-s {size / logs:>7.1f} bytes/log")
        if args.columns:
            attrs = tables["log_attrs"]
            print("log_attrs columns, zstd (ms): dictionary off / on")
            for name in attrs.column_names:
                one = {"column": attrs.select([name])}
                off, _ = timed_write(one, tmp, compression="zstd", use_dictionary=False)
                on, _ = timed_write(one, tmp, compression="zstd", use_dictionary=True)
                print(f"  {name:<10} {off * 1000:>7.0f} / {on * 1000:.0f}")


if __name__ == "__main__":
    main()
