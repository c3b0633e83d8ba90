#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Dataset writer and replay against their baselines, in one run on the same data:

- writer: `otap-parquet bench write` vs the floor, pyarrow writing the same tables
  (read back into memory) with the same Parquet properties, which `bench write`
  prints (codec and level, dictionary columns, statistics, row group and page
  sizes, ARROW:schema stored). Both are timed in CPU seconds of their process
  (user + system), the "per core" measure that holds on a busy machine; wall-clock
  rates are printed too.
- replay: `otap-parquet bench replay` vs DuckDB rebuilding logs with their
  attributes by a SQL LEFT JOIN (the original design's approach), one thread each.

Usage: .venv/bin/python bench/dataset_baselines.py [--logs N] [--repeat R] [--no-replay] [--cli PATH]
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
import pyarrow.types as pat

ROOT = pathlib.Path(__file__).resolve().parent.parent
CLI = ROOT / "build" / "otap-parquet"


def cli(*args) -> str:
    proc = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, check=True)
    return proc.stdout + proc.stderr


def rate(text: str, unit: str = "records/s") -> float:
    m = re.search(rf"([\d.]+) {re.escape(unit)}", text.replace(",", ""))
    if not m:
        raise RuntimeError(f"no {unit} in: {text}")
    return float(m.group(1))


def properties(text: str) -> dict:
    """The `properties` line of `bench write` as a dict."""
    m = re.search(r"properties\s+(.*)", text)
    if not m:
        raise RuntimeError(f"no properties in: {text}")
    return dict(item.split("=", 1) for item in m.group(1).split())


def leaves(field, prefix=""):
    path = prefix + field.name
    if pat.is_struct(field.type):
        for child in field.type:
            yield from leaves(child, path + ".")
    else:
        yield path


def typed_leaves(field, prefix=""):
    path = prefix + field.name
    if pat.is_struct(field.type):
        for child in field.type:
            yield from typed_leaves(child, path + ".")
    else:
        yield path, field.type


def floor_options(props: dict, schema) -> dict:
    """pyarrow write_table arguments with the properties our writer used."""
    dictionary = props["dictionary"]
    if dictionary == "off":
        use_dictionary = False
    elif dictionary == "*":
        use_dictionary = True
    else:
        wanted = set(dictionary.split(","))
        use_dictionary = [p for f in schema for p in leaves(f) if p in wanted]
    if props["statistics"] == "off":
        write_statistics = False
    elif props.get("string_statistics", "on") == "on":
        write_statistics = True
    else:  # statistics on every column but strings and binaries
        write_statistics = [
            p
            for f in schema
            for p, t in typed_leaves(f)
            if not (pat.is_string(t) or pat.is_binary(t) or pat.is_fixed_size_binary(t)
                    or pat.is_large_string(t) or pat.is_large_binary(t))
        ]
    extra = {}
    encodings = props.get("encodings", "none")
    if encodings != "none":  # column:encoding,... (our writer's column_encodings)
        names = {p for f in schema for p in leaves(f)}
        extra["column_encoding"] = {
            col: enc.upper() for col, enc in (e.split(":", 1) for e in encodings.split(","))
            if col in names}
    if "max_rows_per_page" in props:
        extra["max_rows_per_page"] = int(props["max_rows_per_page"])
    if "write_batch_size" in props:
        extra["write_batch_size"] = int(props["write_batch_size"])
    return dict(
        compression=props["compression"],
        compression_level=None if props["level"] == "default" else int(props["level"]),
        row_group_size=int(props["row_group_size"]),
        data_page_size=int(props["data_page_size"]),
        write_statistics=write_statistics,
        use_dictionary=use_dictionary,
        version="2.6",
        store_schema=True,
        **extra,
    )


def replay_rates(lake: pathlib.Path, n_logs: int):
    """Our replay and DuckDB's LEFT JOIN of logs with attributes, logs/s wall."""
    ours = rate(cli("bench", "replay", "--signal", "logs", lake))
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
    return ours, duckdb_replay


def main() -> None:
    global CLI
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--logs", type=int, default=200_000, help="log records (multiple of 4000)")
    parser.add_argument("--repeat", type=int, default=3, help="write the data R times (each side)")
    parser.add_argument("--no-replay", action="store_true",
                        help="writer only: skip the replay and DuckDB's join (~5 GB of RAM at 1 M logs)")
    parser.add_argument("--cli", type=pathlib.Path, default=None,
                        help="otap-parquet binary (another build, for before/after pairs)")
    args = parser.parse_args()
    if args.cli is not None:
        CLI = args.cli
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        src = tmp / "logs.pb"
        cli("generate", "--signal", "logs", "--requests", max(1, args.logs // 4000), "--items", 1000, src)
        lake = tmp / "lake"
        # Our writer, then once more into `lake` for the floor's input.
        report = cli("bench", "write", "--no-fsync", "--repeat", args.repeat, src)
        ours_cpu, ours_wall = rate(report, "records/cpu-s"), rate(report)
        props = properties(report)
        cli("bench", "write", "--no-fsync", "--dir", lake, src)

        # Floor: pyarrow writes the same tables from memory (without the hive
        # `_part_id` column that reading the directories adds).
        tables = {}
        for table_dir in sorted(lake.iterdir()):
            table = ds.dataset(
                table_dir, format="parquet", partitioning="hive", ignore_prefixes=["."]
            ).to_table()
            if "_part_id" in table.column_names:
                table = table.drop_columns(["_part_id"])
            tables[table_dir.name] = table
        n_logs = tables["logs"].num_rows
        out = tmp / "floor"
        out.mkdir()
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        for r in range(args.repeat):
            for name, table in tables.items():
                pq.write_table(table, out / f"{name}-{r}.parquet", **floor_options(props, table.schema))
        floor_cpu = n_logs * args.repeat / (time.process_time() - cpu_start)
        floor_wall = n_logs * args.repeat / (time.perf_counter() - wall_start)

        if args.no_replay:
            ours_replay = duckdb_replay = None
        else:
            ours_replay, duckdb_replay = replay_rates(lake, n_logs)

    print(f"{n_logs:,} realistic logs (10 attributes each), written {args.repeat}x; properties: {props}")
    print(f"{'':<34} {'logs/cpu-s':>12} {'logs/s wall':>12} {'ratio':>28}")
    print(f"{'write: otap-parquet':<34} {ours_cpu:>12,.0f} {ours_wall:>12,.0f} {ours_cpu / floor_cpu:>10.2f}x pyarrow floor (CPU)")
    print(f"{'write: pyarrow floor':<34} {floor_cpu:>12,.0f} {floor_wall:>12,.0f}")
    if ours_replay is not None:
        print(f"{'replay: otap-parquet (logs+attrs)':<34} {'':>12} {ours_replay:>12,.0f} {ours_replay / duckdb_replay:>10.2f}x DuckDB join")
        print(f"{'replay: DuckDB LEFT JOIN, 1 thread':<34} {'':>12} {duckdb_replay:>12,.0f}")

if __name__ == "__main__":
    main()
