# SPDX-License-Identifier: Apache-2.0
"""Parquet datasets written by `otap-parquet convert INPUT... DIR`, read back by
independent readers (pyarrow, DuckDB) and checked against the OTLP JSON input."""
import collections
import json
import pathlib
import re

import duckdb
import pyarrow.parquet as pq
import pytest

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
FILE_NAME = re.compile(rf"part-[0-9]{{13}}-{UUID}\.parquet")

ROOTS = {"logs": "logs", "traces": "spans", "metrics": "univariate_metrics"}


def parquet_files(base: pathlib.Path, table: str):
    return sorted(p for p in (base / table).rglob("*") if p.is_file())


def tables_of(base: pathlib.Path):
    return sorted(p.name for p in base.iterdir() if p.is_dir())


def read_json_requests(path: pathlib.Path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def duck_table(con, base, table, row_ids=False):
    glob = str(base / table / "**" / "*.parquet")
    extra = ", filename = true, file_row_number = true" if row_ids else ""
    return f"read_parquet('{glob}', hive_partitioning = true, union_by_name = true{extra})"


U64 = 2**64 - 1


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, cli):
    """Edge-case OTLP JSON inputs, one file per signal."""
    import subprocess

    out = tmp_path_factory.mktemp("inputs")
    files = {}
    for signal in ("logs", "traces", "metrics"):
        path = out / f"{signal}.jsonl"
        subprocess.run(
            [str(cli), "generate", "--edge-cases", "--signal", signal, "--requests", "8",
             "--items", "12", "--seed", "3", str(path)],
            check=True, capture_output=True, text=True)
        files[signal] = path
    return files


@pytest.mark.parametrize("signal", ["logs", "traces", "metrics"])
def test_every_table_reads_with_pyarrow_and_duckdb(signal, inputs, run, tmp_path):
    base = tmp_path / "ds"
    run("convert", inputs[signal], base, "--max-batch-rows", "7")
    tables = tables_of(base)
    assert ROOTS[signal] in tables
    assert "resource_attrs" in tables
    con = duckdb.connect()
    for table in tables:
        files = parquet_files(base, table)
        assert files, table
        for f in files:
            # Only complete files are visible: no temporary names left.
            assert FILE_NAME.fullmatch(f.name), f
            assert re.fullmatch(rf"_part_id={UUID}", f.parent.name), f
        arrow_rows = sum(pq.read_table(f).num_rows for f in files)
        duck_rows = con.execute(f"SELECT count(*) FROM {duck_table(con, base, table)}").fetchone()[0]
        assert arrow_rows == duck_rows, table
        # _part_id is a hive column for DuckDB, and schema metadata of roots.
        parts = con.execute(
            f"SELECT DISTINCT _part_id FROM {duck_table(con, base, table)}").fetchall()
        assert len(parts) == 1
    root_files = parquet_files(base, ROOTS[signal])
    metadata = pq.read_schema(root_files[0]).metadata
    assert metadata[b"_part_id"].decode() == root_files[0].parent.name.split("=", 1)[1]
    # Root counts match the input.
    requests = read_json_requests(inputs[signal])
    if signal == "logs":
        expected = sum(len(sl.get("logRecords", [])) for r in requests
                       for rl in r.get("resourceLogs", []) for sl in rl.get("scopeLogs", []))
    elif signal == "traces":
        expected = sum(len(ss.get("spans", [])) for r in requests
                       for rs in r.get("resourceSpans", []) for ss in rs.get("scopeSpans", []))
    else:
        expected = sum(len(sm.get("metrics", [])) for r in requests
                       for rm in r.get("resourceMetrics", []) for sm in rm.get("scopeMetrics", []))
    assert sum(pq.read_table(f).num_rows for f in root_files) == expected


def attr_signature(attributes):
    """Sorted (key, is-string, string value) of OTLP JSON attributes."""
    out = []
    for a in attributes:
        value = a.get("value") or {}
        s = value.get("stringValue")
        out.append((a.get("key", ""), s is not None, s or ""))
    return tuple(sorted(out))


def expected_log_attrs(path: pathlib.Path) -> collections.Counter:
    """(time, observed time, attribute signature) of each log record of an OTLP
    JSON-lines input: what a join of logs with log_attrs must give back."""
    expected = collections.Counter()
    for request in read_json_requests(path):
        for rl in request.get("resourceLogs", []):
            for sl in rl.get("scopeLogs", []):
                for rec in sl.get("logRecords", []):
                    expected[(int(rec.get("timeUnixNano", 0)) & U64,
                              int(rec.get("observedTimeUnixNano", 0)) & U64,
                              attr_signature(rec.get("attributes", [])))] += 1
    return expected


def test_duckdb_join_logs_with_log_attrs(inputs, run, tmp_path):
    """Each log record joined to log_attrs on (_part_id, id) = (_part_id, parent_id)
    gets exactly its own attributes, as the input JSON has them."""
    base = tmp_path / "ds"
    # Small batches: ids restart in every batch and must be made unique by the writer.
    run("convert", inputs["logs"], base, "--max-batch-rows", "5")
    expected = expected_log_attrs(inputs["logs"])
    con = duckdb.connect()
    rows = con.execute(f"""
        SELECT coalesce(epoch_ns(l.time_unix_nano), 0),
               coalesce(epoch_ns(l.observed_time_unix_nano), 0),
               list(CASE WHEN a.key IS NULL THEN NULL
                         ELSE [a.key, CASE WHEN a.type = 1 THEN a.str END] END)
        FROM {duck_table(con, base, 'logs', row_ids=True)} l
        LEFT JOIN {duck_table(con, base, 'log_attrs')} a
          ON a._part_id = l._part_id AND a.parent_id = l.id
        GROUP BY l.filename, l.file_row_number, l.time_unix_nano, l.observed_time_unix_nano
    """).fetchall()
    actual = collections.Counter()
    for time, observed, attrs in rows:
        pairs = tuple(sorted((k or "", v is not None, v or "")
                             for k, v in (x for x in attrs if x is not None)))
        actual[(time & U64, observed & U64, pairs)] += 1
    assert sum(expected.values()) == len(rows)
    assert actual == expected
    # The join key is unique: no two log rows share (_part_id, id) (null ids are
    # records without attributes).
    dupes = con.execute(f"""
        SELECT count(*) FROM (SELECT _part_id, id FROM {duck_table(con, base, 'logs')}
                              WHERE id IS NOT NULL GROUP BY ALL HAVING count(*) > 1)
    """).fetchone()[0]
    assert dupes == 0


# pyarrow names the format's LZ4_RAW codec "LZ4" (its Hadoop-framed LZ4 is LZ4_HADOOP);
# DuckDB reports the format's own name, checked below.
@pytest.mark.parametrize("codec,expected", [("zstd", "ZSTD"), ("snappy", "SNAPPY"),
                                            ("lz4", "LZ4"), ("gzip", "GZIP"),
                                            ("none", "UNCOMPRESSED")])
def test_codec_in_every_column_chunk(codec, expected, inputs, run, tmp_path):
    base = tmp_path / "ds"
    run("convert", inputs["traces"], base, "--compression", codec)
    files = [f for t in tables_of(base) for f in parquet_files(base, t)]
    assert files
    for f in files:
        md = pq.ParquetFile(f).metadata
        assert md.format_version == "2.6"
        assert b"ARROW:schema" in md.metadata
        for rg in range(md.num_row_groups):
            for c in range(md.num_columns):
                assert md.row_group(rg).column(c).compression == expected, (f, c)
    if codec == "lz4":
        names = duckdb.sql(f"SELECT DISTINCT compression FROM parquet_metadata("
                           f"'{base}/**/*.parquet')").fetchall()
        assert names == [("LZ4_RAW",)]


def test_default_codec_is_zstd(inputs, run, tmp_path):
    base = tmp_path / "ds"
    run("convert", inputs["logs"], base)
    f = parquet_files(base, "logs")[0]
    assert pq.ParquetFile(f).metadata.row_group(0).column(0).compression == "ZSTD"


def test_rotation_many_batches_per_file(inputs, run, tmp_path):
    """A row target splits the stream into several files per table, each holding
    several consecutive batches; all rows are there exactly once."""
    base = tmp_path / "ds"
    run("convert", inputs["logs"], base, "--max-batch-rows", "4", "--rows-per-file", "60")
    logs = parquet_files(base, "logs")
    assert len(logs) > 1
    counts = [pq.read_metadata(f).num_rows for f in logs]
    assert max(counts) > 4  # more than one batch in a file
    reference = tmp_path / "ref"
    run("convert", inputs["logs"], reference, "--max-batch-rows", "4")  # same batches
    for table in tables_of(reference):
        total = sum(pq.read_metadata(f).num_rows for f in parquet_files(base, table))
        ref_total = sum(pq.read_metadata(f).num_rows for f in parquet_files(reference, table))
        assert total == ref_total, table


def test_writing_into_existing_dataset_adds_files(inputs, run, tmp_path):
    base = tmp_path / "ds"
    run("convert", inputs["logs"], base)
    first = set(parquet_files(base, "logs"))
    run("convert", inputs["logs"], f"file://{base}")
    second = set(parquet_files(base, "logs"))
    assert first < second
    assert len(second) == 2 * len(first)
    con = duckdb.connect()
    parts = con.execute(f"SELECT count(DISTINCT _part_id) FROM {duck_table(con, base, 'logs')}").fetchone()[0]
    assert parts == 2


def event_times_ns(table):
    """Per row: time_unix_nano, else observed_time_unix_nano (0 if neither)."""
    times = table.column("time_unix_nano").cast("int64").to_pylist()
    observed = table.column("observed_time_unix_nano").cast("int64").to_pylist()
    return [t if t else (o or 0) for t, o in zip(times, observed)]


@pytest.mark.parametrize("granularity", ["hour", "day"])
def test_event_time_partitioning(granularity, run, cli, tmp_path):
    import datetime
    import subprocess

    source = tmp_path / "logs.jsonl"
    subprocess.run([str(cli), "generate", "--signal", "logs", "--requests", "4", "--items", "400",
                    str(source)], check=True, capture_output=True)
    base = tmp_path / "ds"
    run("convert", source, base, "--partition-by", "part_id", "--partition-by", granularity)
    # _part_id innermost: each writer's id space is a directory of its own.
    pattern = (rf"date=\d{{4}}-\d{{2}}-\d{{2}}/hour=\d{{2}}/_part_id={UUID}" if granularity == "hour"
               else rf"date=\d{{4}}-\d{{2}}-\d{{2}}/_part_id={UUID}")
    total = 0
    for table in tables_of(base):
        for f in parquet_files(base, table):
            rel = f.relative_to(base / table).parent.as_posix()
            assert re.fullmatch(pattern, rel), rel
    for f in parquet_files(base, "logs"):
        levels = dict(part.split("=", 1) for part in f.relative_to(base / "logs").parent.parts)
        for ns in event_times_ns(pq.read_table(f)):
            ts = datetime.datetime.fromtimestamp(ns // 10**9, datetime.timezone.utc)
            assert ts.strftime("%Y-%m-%d") == levels["date"]
            if granularity == "hour":
                assert ts.strftime("%H") == levels["hour"]
            total += 1
    assert total == 4 * 2 * 2 * 400
    con = duckdb.connect()
    n = con.execute(f"SELECT count(*) FROM {duck_table(con, base, 'logs')} WHERE date IS NOT NULL").fetchone()[0]
    assert n == total


def test_bench_write_reports_throughput(inputs, run):
    out = run("bench", "write", inputs["logs"], "--no-fsync").stdout
    assert re.search(r"throughput\s+\d+ records/s", out), out
    assert re.search(r"\d+(\.\d+)? bytes/record", out), out


def test_dataset_output_errors_are_reported(inputs, run, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run("convert", inputs["logs"], blocker / "ds", check=False)
    assert proc.returncode != 0
    assert str(blocker) in proc.stderr
    proc = run("convert", inputs["logs"], tmp_path / "ds", "--compression", "lzo", check=False)
    assert proc.returncode != 0 and "--compression" in proc.stderr


OLD_LAYOUT = "{attribute_order: as_received, column_encodings: {}}"
ATTRS = {"logs": "log_attrs", "traces": "span_attrs"}
GROUP_BY = {"logs": "severity_text", "traces": "status.code"}


def key_runs(table) -> int:
    """Runs of equal consecutive keys in an attribute table."""
    keys = table.column("key").to_pylist()
    return sum(1 for i, k in enumerate(keys) if i == 0 or k != keys[i - 1])


@pytest.mark.parametrize("signal", ["logs", "traces"])
def test_new_layout_reads_everywhere_and_replays(signal, run, tmp_path):
    """Realistic records (10 attributes each) written with the new layout options
    (issue #18, item 4: delta-encoded ids and times, the default, and attribute rows
    by key within each batch) and with the earlier layout (--writer-options): pyarrow
    sees the same schemas, the new files really are in the new layout, DuckDB's
    query set (count by severity, attribute filter, trace lookup) answers the same
    on both, and the replay of the new files is the input."""
    src = tmp_path / "in.jsonl"
    run("generate", "--signal", signal, "--requests", "3", "--items", "40", "--seed", "5", src)
    new, old = tmp_path / "new", tmp_path / "old"
    run("convert", "--max-batch-rows", "64", "--writer-options", "{attribute_order: key_parent_id}",
        src, new)
    run("convert", "--max-batch-rows", "64", "--writer-options", OLD_LAYOUT, src, old)
    assert tables_of(new) == tables_of(old)
    for table in tables_of(new):
        new_files, old_files = parquet_files(new, table), parquet_files(old, table)
        assert pq.read_schema(new_files[0]).remove_metadata() == \
            pq.read_schema(old_files[0]).remove_metadata(), table
        assert sum(pq.read_table(f).num_rows for f in new_files) == \
            sum(pq.read_table(f).num_rows for f in old_files), table
    attrs = ATTRS[signal]
    meta = pq.ParquetFile(parquet_files(new, attrs)[0]).metadata
    parent = meta.row_group(0).column(meta.schema.names.index("parent_id"))
    assert "DELTA_BINARY_PACKED" in parent.encodings
    old_meta = pq.ParquetFile(parquet_files(old, attrs)[0]).metadata
    assert "DELTA_BINARY_PACKED" not in old_meta.row_group(0).column(0).encodings
    # By key within each batch: far fewer key runs than record by record.
    new_runs = key_runs(pq.read_table(parquet_files(new, attrs)[0]))
    old_runs = key_runs(pq.read_table(parquet_files(old, attrs)[0]))
    assert new_runs * 4 < old_runs

    con = duckdb.connect()
    root = ROOTS[signal]
    trace_id = con.execute(
        f"SELECT trace_id FROM {duck_table(con, old, root)} WHERE trace_id IS NOT NULL "
        "LIMIT 1").fetchone()[0]
    queries = [
        f"SELECT {GROUP_BY[signal]} AS g, count(*) FROM {{t}} GROUP BY ALL ORDER BY g",
        "SELECT count(*) FROM {a} WHERE key = 'http.response.status_code' AND int = 500",
        "SELECT count(*), min(str) FROM {a} WHERE key = 'http.route'",
        "SELECT id FROM {t} WHERE trace_id = $1 ORDER BY id",
    ]
    for sql in queries:
        answers = []
        for lake in (new, old):
            text = sql.format(t=duck_table(con, lake, root), a=duck_table(con, lake, attrs))
            answers.append(con.execute(text, [trace_id] if "$1" in sql else []).fetchall())
        assert answers[0] == answers[1], sql
        assert answers[0], sql

    out = tmp_path / "out.jsonl"
    run("convert", new, out)
    run("compare", src, out)
