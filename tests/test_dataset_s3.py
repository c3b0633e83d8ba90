# SPDX-License-Identifier: Apache-2.0
"""Datasets on S3: the CLI writes through Arrow's S3 filesystem to a real S3 API
server process (moto) on 127.0.0.1; pyarrow and DuckDB read what it wrote."""
import time

import duckdb
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest

from s3_server import ACCESS_KEY, REGION, SECRET_KEY

BUCKET = "telemetry"


def s3fs(server):
    return pafs.S3FileSystem(
        endpoint_override=server.endpoint,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region=REGION,
        scheme="http",
    )


def convert_to_s3(run_env, server, inputs, uri, *extra, check=True):
    return run_env(
        server.env(),
        "convert",
        *inputs,
        uri,
        "--s3-endpoint",
        server.endpoint,
        "--allow-http",
        *extra,
        check=check,
    )


@pytest.fixture
def run_env(cli):
    import subprocess

    def _run(env, *args, check=True, timeout=300):
        proc = subprocess.run(
            [str(cli), *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
        return proc

    return _run


@pytest.fixture
def logs_input(tmp_path, run):
    path = tmp_path / "logs.jsonl"
    run("generate", "--signal", "logs", "--requests", "4", "--items", "50", path)
    return path


def test_writes_dataset_to_s3_readable_by_pyarrow_and_duckdb(s3_server, run_env, logs_input):
    s3_server.client().create_bucket(Bucket=BUCKET)
    convert_to_s3(run_env, s3_server, [logs_input], f"s3://{BUCKET}/lake", "--rows-per-file", "300")

    keys = [
        o["Key"]
        for page in s3_server.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        for o in page.get("Contents", [])
    ]
    assert keys, "nothing written"
    tables = {k.split("/")[1] for k in keys}
    assert {"logs", "log_attrs", "resource_attrs"} <= tables
    for key in keys:
        parts = key.split("/")
        assert parts[0] == "lake" and parts[2].startswith("_part_id="), key
        assert parts[-1].startswith("part-") and parts[-1].endswith(".parquet"), key

    fs = s3fs(s3_server)
    logs = ds.dataset(f"{BUCKET}/lake/logs", filesystem=fs, format="parquet", partitioning="hive", ignore_prefixes=["."]).to_table()
    attrs = ds.dataset(
        f"{BUCKET}/lake/log_attrs", filesystem=fs, format="parquet", partitioning="hive",
        ignore_prefixes=["."],  # pyarrow skips "_"-prefixed names such as _part_id= by default
    ).to_table()
    assert logs.num_rows == 4 * 2 * 2 * 50
    con = duckdb.connect()
    con.register("logs", logs)
    con.register("log_attrs", attrs)
    joined = con.execute(
        "SELECT count(*) FROM logs l JOIN log_attrs a "
        "ON l._part_id = a._part_id AND l.id = a.parent_id"
    ).fetchone()[0]
    assert joined == attrs.num_rows  # every attribute row finds its log record


def test_missing_bucket_is_a_clear_error(s3_server, run_env, logs_input):
    proc = convert_to_s3(run_env, s3_server, [logs_input], "s3://no-such-bucket/lake", check=False)
    assert proc.returncode == 1
    assert "no-such-bucket" in proc.stderr, proc.stderr


def test_unreachable_server_fails_and_leaves_nothing(s3_server, run_env, logs_input):
    """The server stops answering mid-run: the write fails with an error, no partial
    object is visible once it is back, and a retry then succeeds."""
    s3_server.client().create_bucket(Bucket=BUCKET)
    s3_server.proc.send_signal(19)  # SIGSTOP: connections hang, as with a dead peer
    try:
        start = time.monotonic()
        proc = convert_to_s3(
            run_env, s3_server, [logs_input], f"s3://{BUCKET}/lake", "--rows-per-file", "100", check=False
        )
        assert proc.returncode == 1, proc.stderr
        assert "lake" in proc.stderr or BUCKET in proc.stderr, proc.stderr
        assert time.monotonic() - start < 240
    finally:
        s3_server.proc.send_signal(18)  # SIGCONT
    listing = s3_server.client().list_objects_v2(Bucket=BUCKET)
    assert all(o["Key"].endswith(".parquet") for o in listing.get("Contents", []))
    convert_to_s3(run_env, s3_server, [logs_input], f"s3://{BUCKET}/lake")
    fs = s3fs(s3_server)
    logs = ds.dataset(f"{BUCKET}/lake/logs", filesystem=fs, format="parquet", partitioning="hive", ignore_prefixes=["."]).to_table()
    assert logs.num_rows >= 4 * 2 * 2 * 50
