#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Dataset writer and replay against their baselines, in one run on the same data:

- writer: `otap-parquet bench write` vs the floor, pyarrow writing the same tables
  (read back into memory) with the same Parquet properties (zstd, dictionary,
  statistics, 1,048,576-row row groups, ARROW:schema stored);
- replay: `otap-parquet bench replay` vs DuckDB rebuilding logs with their
  attributes by a SQL LEFT JOIN (the original design's approach), one thread each.

Usage: .venv/bin/python bench/dataset_baselines.py [--logs N]   (after scripts/setup.sh)
"""
import argparse
import pathlib
import re
import subprocess
import tempfile
import time

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq

ROOT = pathlib.Path(__file__).resolve().parent.parent
CLI = ROOT / "build" / "otap-parquet"


def cli(*args) -> str:
    proc = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, check=True)
    return proc.stdout + proc.stderr


def rate(text: str) -> float:
    m = re.search(r"([\d.]+) records/s", text.replace(",", ""))
    if not m:
        raise RuntimeError(f"no records/s in: {text}")
    return float(m.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--logs", type=int, default=200_000, help="log records (multiple of 4000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        src = tmp / "logs.jsonl"
        cli("generate", "--signal", "logs", "--requests", max(1, args.logs // 4000), "--items", 1000, src)
        lake = tmp / "lake"
        ours_write = rate(cli("bench", "write", "--no-fsync", "--dir", lake, src))

        # Floor: pyarrow writes the same tables from memory.
        tables = {}
        for table_dir in sorted(lake.iterdir()):
            tables[table_dir.name] = ds.dataset(
                table_dir, format="parquet", partitioning="hive", ignore_prefixes=["."]
            ).to_table()
        n_logs = tables["logs"].num_rows
        out = tmp / "floor"
        out.mkdir()
        start = time.perf_counter()
        for name, table in tables.items():
            pq.write_table(
                table,
                out / f"{name}.parquet",
                compression="zstd",
                row_group_size=1_048_576,
                use_dictionary=True,
                write_statistics=True,
                store_schema=True,
            )
        floor_write = n_logs / (time.perf_counter() - start)

        ours_replay = rate(cli("bench", "replay", "--signal", "logs", lake))

        con = duckdb.connect()
        con.execute("SET threads = 1")
        start = time.perf_counter()
        joined = con.sql(
            f"""SELECT l.*, a.* FROM read_parquet('{lake}/logs/*/*.parquet', hive_partitioning = true) l
                LEFT JOIN read_parquet('{lake}/log_attrs/*/*.parquet', hive_partitioning = true) a
                ON l._part_id = a._part_id AND l.id = a.parent_id"""
        ).to_arrow_table()
        duckdb_replay = n_logs / (time.perf_counter() - start)
        assert joined.num_rows >= n_logs

    print(f"{n_logs:,} realistic logs (10 attributes each), zstd")
    print(f"{'':<34} {'logs/s':>12} {'ratio':>28}")
    print(f"{'write: otap-parquet':<34} {ours_write:>12,.0f} {ours_write / floor_write:>10.2f}x pyarrow floor")
    print(f"{'write: pyarrow floor':<34} {floor_write:>12,.0f}")
    print(f"{'replay: otap-parquet (logs+attrs)':<34} {ours_replay:>12,.0f} {ours_replay / duckdb_replay:>10.2f}x DuckDB join")
    print(f"{'replay: DuckDB LEFT JOIN, 1 thread':<34} {duckdb_replay:>12,.0f}")


if __name__ == "__main__":
    main()
