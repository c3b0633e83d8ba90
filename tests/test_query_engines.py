# SPDX-License-Identifier: Apache-2.0
"""Datasets are readable as they are by polars and Spark (DuckDB and pyarrow are
covered in test_dataset_writer.py): every table of all three signals, the hive
partitions (`_part_id=`, `date=`/`hour=`), and the logs ⋈ log_attrs join on
`(_part_id, id) = (_part_id, parent_id)` giving each record exactly its own
attributes. The read options used here are the ones docs/datasets.md documents."""
import collections
import pathlib
import shutil

import pyarrow.dataset as ds
import pytest

from test_dataset_writer import U64, expected_log_attrs, tables_of


@pytest.fixture(scope="module")
def lakes(tmp_path_factory, cli):
    """Edge-case telemetry of each signal written with small batches (ids restart in
    every batch), plus logs partitioned by event hour; returns (inputs, datasets)."""
    import subprocess

    out = tmp_path_factory.mktemp("lakes")
    inputs, lakes = {}, {}

    def cli_run(*args):
        subprocess.run([str(cli), *map(str, args)], check=True, capture_output=True, text=True)

    for signal in ("logs", "traces", "metrics"):
        inputs[signal] = out / f"{signal}.jsonl"
        cli_run("generate", "--edge-cases", "--signal", signal, "--requests", 8, "--items", 12,
                "--seed", 3, inputs[signal])
        lakes[signal] = out / f"ds-{signal}"
        cli_run("convert", inputs[signal], lakes[signal], "--max-batch-rows", 7)
    lakes["logs-by-hour"] = out / "ds-logs-by-hour"
    cli_run("convert", inputs["logs"], lakes["logs-by-hour"], "--max-batch-rows", 7,
            "--partition-by", "part_id", "--partition-by", "hour")
    return inputs, lakes


def pyarrow_table(base: pathlib.Path, table: str):
    # pyarrow skips names starting with "_" unless told otherwise: `_part_id=` levels.
    return ds.dataset(base / table, format="parquet", partitioning="hive",
                      ignore_prefixes=["."]).to_table()


def joined_signature(time, observed, attrs) -> tuple:
    """The same key from one joined row: attrs is a list of (key, str-or-None)."""
    pairs = tuple(sorted((k or "", v is not None, v or "") for k, v in attrs if k is not None))
    return ((time or 0) & U64, (observed or 0) & U64, pairs)


# --- polars ------------------------------------------------------------------


def polars_scan(base: pathlib.Path, table: str):
    import polars as pl

    return pl.scan_parquet(str(base / table / "**" / "*.parquet"), hive_partitioning=True)


@pytest.mark.parametrize("lake", ["logs", "traces", "metrics", "logs-by-hour"])
def test_polars_reads_every_table(lake, lakes):
    base = lakes[1][lake]
    for table in tables_of(base):
        frame = polars_scan(base, table).collect()
        reference = pyarrow_table(base, table)
        assert frame.height == reference.num_rows, table
        assert sorted(frame.columns) == sorted(reference.column_names), table
        assert frame["_part_id"].n_unique() == 1, table
        if lake == "logs-by-hour":
            assert {"date", "hour"} <= set(frame.columns), table
            assert frame["hour"].null_count() == 0, table


def test_polars_join_logs_with_log_attrs(lakes):
    import polars as pl

    inputs, datasets = lakes
    base = datasets["logs"]
    logs = polars_scan(base, "logs").with_row_index("row")
    attrs = polars_scan(base, "log_attrs").select(
        "_part_id", "parent_id", "key",
        pl.when(pl.col("type") == 1).then(pl.col("str")).alias("value"))
    rows = (logs.join(attrs, left_on=["_part_id", "id"], right_on=["_part_id", "parent_id"],
                      how="left")
            .group_by("row")
            .agg(pl.col("time_unix_nano").first().cast(pl.Int64).alias("time"),
                 pl.col("observed_time_unix_nano").first().cast(pl.Int64).alias("observed"),
                 pl.col("key"), pl.col("value"))
            .collect())
    actual = collections.Counter(
        joined_signature(r["time"], r["observed"], zip(r["key"], r["value"]))
        for r in rows.iter_rows(named=True))
    expected = expected_log_attrs(inputs["logs"])
    assert rows.height == sum(expected.values())
    assert actual == expected


# --- Spark -------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark():
    """A local one-core Spark session. `nanosAsLong`: Spark has no nanosecond
    timestamp type and refuses TIMESTAMP(NANOS) columns unless told to read them as
    longs (nanoseconds since the epoch)."""
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime (scripts/setup.sh installs openjdk-17-jre-headless)")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[1]").appName("otap-parquet-tests")
               .config("spark.driver.memory", "512m")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "1")
               .config("spark.sql.legacy.parquet.nanosAsLong", "true")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_spark_reads_every_table(spark, lakes):
    for lake in ("logs", "traces", "metrics", "logs-by-hour"):
        base = lakes[1][lake]
        for table in tables_of(base):
            frame = spark.read.parquet(str(base / table))
            reference = pyarrow_table(base, table)
            assert frame.count() == reference.num_rows, (lake, table)
            assert sorted(frame.columns) == sorted(reference.column_names), (lake, table)
            parts = frame.select("_part_id").distinct().collect()
            assert len(parts) == 1 and parts[0][0], (lake, table)
            if lake == "logs-by-hour":
                assert frame.where("date IS NULL OR hour IS NULL").count() == 0, table


def test_spark_join_logs_with_log_attrs(spark, lakes):
    inputs, datasets = lakes
    base = datasets["logs"]
    spark.read.parquet(str(base / "logs")).createOrReplaceTempView("logs")
    spark.read.parquet(str(base / "log_attrs")).createOrReplaceTempView("log_attrs")
    rows = spark.sql("""
        SELECT first(l.time_unix_nano) AS time, first(l.observed_time_unix_nano) AS observed,
               collect_list(named_struct('key', a.key,
                                         'value', CASE WHEN a.type = 1 THEN a.str END)) AS attrs
        FROM (SELECT *, monotonically_increasing_id() AS row FROM logs) l
        LEFT JOIN log_attrs a ON a._part_id = l._part_id AND a.parent_id = l.id
        GROUP BY l.row
    """).collect()
    actual = collections.Counter(
        joined_signature(r["time"], r["observed"], ((a["key"], a["value"]) for a in r["attrs"]))
        for r in rows)
    expected = expected_log_attrs(inputs["logs"])
    assert len(rows) == sum(expected.values())
    assert actual == expected
