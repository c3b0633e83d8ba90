# SPDX-License-Identifier: Apache-2.0
"""`otap-parquet inspect` (docs/cli.md): its numbers against pyarrow's and DuckDB's
reading of the same files, corrupt files, `--check` on crash leftovers and duplicate
ids, upstream's datasets, and S3 (moto)."""
import collections
import json
import os
import pathlib
import shutil
import subprocess
import time

import duckdb
import pyarrow.parquet as pq
import pytest

ROOT = pathlib.Path(__file__).resolve().parent
UPSTREAM = ROOT / "data" / "upstream"
BUCKET = "telemetry"
TWO_HOURS = 2 * 3600

TOP_LEVEL_KEYS = [
    "format", "dataset", "id_spaces", "unpartitioned", "files", "bytes", "records",
    "footers_read", "ignored_files", "unmatched_files", "skipped_entries", "signals",
    "shared_tables", "check", "problem_counts", "problems", "exit_code",
]
TABLE_KEYS = [
    "table", "id_spaces", "files", "bad_files", "row_groups", "rows", "bytes",
    "uncompressed_bytes", "bytes_per_row", "codecs", "writers", "created_by",
    "time_column", "time", "schema_variants",
]
EVENT_TIME = {"logs": "time_unix_nano", "spans": "start_time_unix_nano"}


def uri(path):
    """DisplayUri of a local path (no percent-escaping, unlike Path.as_uri)."""
    return f"file://{path}"


def inspect(run, lake, *args, code=0):
    proc = run("inspect", lake, "--json", *args, check=False)
    assert proc.returncode == code, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["exit_code"] == code
    return doc


def tables_of(doc):
    out = {}
    for signal in doc["signals"]:
        for table in signal["tables"]:
            out[table["table"]] = table
    for table in doc["shared_tables"]:
        out[table["table"]] = table
    return out


def parquet_files(lake, table):
    return sorted(p for p in (lake / table).rglob("*.parquet") if not p.name.startswith("."))


def independent_numbers(lake, table):
    """What pyarrow reads from the footers and the OS says about the files."""
    files = parquet_files(lake, table)
    codecs = collections.Counter()
    created_by = collections.Counter()
    rows = row_groups = uncompressed = 0
    for path in files:
        md = pq.ParquetFile(path).metadata
        rows += md.num_rows
        row_groups += md.num_row_groups
        created_by[md.created_by] += 1
        for g in range(md.num_row_groups):
            for c in range(md.num_columns):
                chunk = md.row_group(g).column(c)
                codecs[chunk.compression.lower()] += 1
                uncompressed += chunk.total_uncompressed_size
    return {
        "files": len(files),
        "rows": rows,
        "row_groups": row_groups,
        "bytes": sum(p.stat().st_size for p in files),
        "uncompressed_bytes": uncompressed,
        "id_spaces": len({p.parent for p in files}),
        "codecs": dict(codecs),
        "created_by": dict(created_by),
    }


def duckdb_time_range(lake, table, column):
    glob = str(lake / table / "**" / "*.parquet")
    if table == "logs":
        # The reader's event time: time_unix_nano, else the observed time.
        expr = ("CASE WHEN epoch_ns(time_unix_nano) = 0 THEN epoch_ns(observed_time_unix_nano) "
                "ELSE epoch_ns(time_unix_nano) END")
    else:
        expr = f"epoch_ns({column})"
    return duckdb.connect().execute(
        f"SELECT min({expr}), max({expr}), count(*) FROM read_parquet('{glob}')").fetchone()


@pytest.fixture
def lake(run, tmp_path):
    """All signals from two writers: one with small files, one partitioned by hour."""
    a = tmp_path / "a.jsonl"
    b = tmp_path / "b.jsonl"
    run("generate", "--signal", "logs", "--requests", "6", "--items", "40", "--seed", "1", a)
    run("generate", "--requests", "3", "--items", "20", "--seed", "2", b)
    lake = tmp_path / "lake"
    run("convert", a, lake, "--rows-per-file", "500")
    run("convert", b, lake, "--partition-by", "hour", "--compression", "snappy")
    return lake


def test_inspect_numbers_match_pyarrow_and_duckdb(run, lake):
    # Scenario: two writers' files (zstd small files; snappy hourly partitions) of
    # all three signals.
    # Guarantees: exit 0; for every table the files, rows, row groups, bytes,
    # uncompressed bytes, id spaces, codecs and created_by equal pyarrow's reading of
    # the footers and the file sizes; records per signal equal DuckDB's count of the
    # root table; logs' and spans' event time equals DuckDB's min/max of the column
    # (logs: observed time when time_unix_nano is 0); every file is ours, every schema
    # canonical; the JSON has the documented keys.
    doc = inspect(run, lake)
    assert list(doc) == TOP_LEVEL_KEYS
    assert doc["format"] == "otap-parquet-inspect/1"
    tables = tables_of(doc)
    on_disk = sorted(d.name for d in lake.iterdir() if parquet_files(lake, d.name))
    assert sorted(tables) == on_disk
    for name, table in tables.items():
        assert list(table) == TABLE_KEYS
        expected = independent_numbers(lake, name)
        for key, value in expected.items():
            assert table[key] == value, (name, key)
        assert table["writers"] == {"ours": table["files"]}, name
        assert [v["canonical"] for v in table["schema_variants"]] == [True], name
        assert table["bad_files"] == 0
    assert set(tables["logs"]["codecs"]) == {"zstd", "snappy"}
    assert doc["files"] == sum(t["files"] for t in tables.values())
    assert doc["bytes"] == sum(t["bytes"] for t in tables.values())
    assert doc["footers_read"] == doc["files"]
    # Two writers: two id spaces of logs, one of traces and metrics.
    assert doc["id_spaces"] == 2
    signals = {s["signal"]: s for s in doc["signals"]}
    assert signals["logs"]["id_spaces"] == 2 and signals["traces"]["id_spaces"] == 1
    con = duckdb.connect()
    for signal, root in [("logs", "logs"), ("traces", "spans"), ("metrics", "univariate_metrics")]:
        count = con.execute(
            f"SELECT count(*) FROM read_parquet('{lake}/{root}/**/*.parquet')").fetchone()[0]
        assert signals[signal]["records"] == count
        own = [t for t in signals[signal]["tables"]]
        assert signals[signal]["bytes"] == sum(t["bytes"] for t in own)
    for root, column in EVENT_TIME.items():
        low, high, _ = duckdb_time_range(lake, root, column)
        time = tables[root]["time"]
        assert time["exact"], root
        assert (time["min_unix_nano"], time["max_unix_nano"]) == (low, high), root
    points = [duckdb_time_range(lake, t, "time_unix_nano")
              for t in ("number_data_points", "histogram_data_points",
                        "exp_histogram_data_points", "summary_data_points")]
    metrics_time = signals["metrics"]["event_time"]
    assert metrics_time["min_unix_nano"] == min(p[0] for p in points)
    assert metrics_time["max_unix_nano"] == max(p[1] for p in points)
    assert doc["problems"] == [] and doc["check"] is None


def test_inspect_human_table_is_aligned(run, lake):
    # Scenario: the same dataset, without --json.
    # Guarantees: exit 0; a header row and one row per table, every column starting
    # at the same offset in every row; a summary line per signal.
    proc = run("inspect", lake)
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("SIGNAL"))
    rows = [lines[header]]
    for line in lines[header + 1:]:
        if not line.split() or line.split()[0] not in ("logs", "traces", "metrics", "shared"):
            break
        rows.append(line)
    doc = inspect(run, lake)
    assert len(rows) - 1 == len(tables_of(doc))
    start = rows[0].index("TABLE")
    assert all(row[start - 2:start] == "  " and row[start] != " " for row in rows)
    # Right-aligned numbers end where their header ends.
    end = rows[0].index("ROWS") + len("ROWS")
    assert all(row[end - 1].isdigit() and row[end] == " " for row in rows[1:])
    for signal in ("logs", "traces", "metrics"):
        assert any(line.startswith(f"{signal}: ") for line in lines), proc.stdout
    assert "0 problems" in proc.stdout


def test_inspect_reports_corrupt_files_and_exits_3(run, lake):
    # Scenario: a logs file truncated to half, a log_attrs file replaced by text.
    # Guarantees: exit 3; each is listed by path with its error (JSON and text); they
    # count as files and bad_files of their tables, not as rows; the rest is counted
    # as before.
    before = tables_of(inspect(run, lake))
    logs = parquet_files(lake, "logs")
    attrs = parquet_files(lake, "log_attrs")
    truncated_rows = pq.ParquetFile(logs[0]).metadata.num_rows
    with open(logs[0], "r+b") as f:
        f.truncate(os.path.getsize(logs[0]) // 2)
    attrs[0].write_text("not parquet")
    doc = inspect(run, lake, code=3)
    assert doc["problem_counts"]["corrupt"] == 2
    corrupt = {p["uri"]: p for p in doc["problems"] if p["kind"] == "corrupt"}
    assert set(corrupt) == {uri(logs[0]), uri(attrs[0])}
    assert all(p["detail"] and p["problem"] for p in corrupt.values())
    tables = tables_of(doc)
    assert tables["logs"]["files"] == before["logs"]["files"]
    assert tables["logs"]["bad_files"] == 1
    assert tables["logs"]["rows"] == before["logs"]["rows"] - truncated_rows
    text = run("inspect", lake, check=False)
    assert text.returncode == 3
    assert "corrupt" in text.stdout and uri(logs[0]) in text.stdout


def backdate(lake, seconds=TWO_HOURS):
    old = time.time() - seconds
    for path in lake.rglob("*"):
        if path.is_file():
            os.utime(path, (old, old))


def test_inspect_check_finds_leftovers_and_duplicate_ids(run, tmp_path):
    # Scenario: writer B of two was killed before its root file (deleted here) and
    # left a temporary file; a copy of writer A's root file sits in A's id space (two
    # writers numbering one id space); everything two hours old.
    # Guarantees: without --check exit 3 for the overlapping id ranges (footers), the
    # orphans only counted as unmatched; --check exits 3 and lists every orphan child
    # file, the temporary file and the copy (duplicate-ids) by path; with a grace
    # period longer than their age the leftovers are in flight, not problems; after
    # removing the copy and `repair --apply`, --check exits 0.
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    run("generate", "--signal", "logs", "--requests", "3", "--items", "20", "--seed", "1", a)
    run("generate", "--signal", "logs", "--requests", "3", "--items", "20", "--seed", "2", b)
    lake = tmp_path / "lake"
    run("convert", a, lake)
    (part_a,) = [p.name for p in (lake / "logs").iterdir()]
    run("convert", b, lake)
    (part_b,) = [p.name for p in (lake / "logs").iterdir() if p.name != part_a]
    assert inspect(run, lake, "--check", "--grace-period", "0s")["problems"] == []
    for root in (lake / "logs" / part_b).iterdir():
        root.unlink()
    temp = lake / "log_attrs" / part_b / ".part-1795000000000-dead.parquet.tmp"
    temp.write_bytes(b"PAR1 half a file")
    (root_a,) = (lake / "logs" / part_a).iterdir()
    copy = root_a.with_name("part-9999999999999-copy.parquet")
    shutil.copy(root_a, copy)
    backdate(lake)

    footers = inspect(run, lake, code=3)
    assert [p["kind"] for p in footers["problems"]] == ["id-collision"]
    assert footers["problems"][0]["uri"] in (uri(copy), uri(root_a))
    assert footers["unmatched_files"] >= 2

    checked = inspect(run, lake, "--check", code=3)
    kinds = collections.defaultdict(set)
    for p in checked["problems"]:
        kinds[p["kind"]].add(p["uri"])
    orphans = {uri(p) for p in lake.glob(f"*/{part_b}/*.parquet")}
    assert len(orphans) >= 2
    assert kinds["orphan-child"] == orphans
    assert kinds["stale-temp"] == {uri(temp)}
    assert kinds["duplicate-ids"] == {uri(copy)}
    assert checked["check"]["partitions_checked"] >= 2

    young = inspect(run, lake, "--check", "--grace-period", "10h", code=3)
    assert {p["kind"] for p in young["problems"]} == {"id-collision", "duplicate-ids"}
    assert young["check"]["in_flight"] >= len(orphans) + 1

    text = run("inspect", lake, "--check", check=False)
    assert text.returncode == 3
    for expected in orphans | {uri(temp), uri(copy)}:
        assert expected in text.stdout

    copy.unlink()
    run("repair", lake, "--apply")
    assert inspect(run, lake, "--check")["problems"] == []


@pytest.mark.parametrize("name", ["otlp-realistic-logs", "otlp-realistic-traces",
                                  "otlp-realistic-metrics"])
def test_inspect_upstream_datasets(run, name):
    # Scenario: real datasets of upstream's Rust exporter, some id columns written
    # malformed (length-prefixed, Q14).
    # Guarantees: inspect and inspect --check exit 0 (recovered columns are notes);
    # every file is upstream's; rows per table equal DuckDB's count; the malformed
    # columns are listed as recovered-column by path; the UInt16 resource.id and
    # dictionary columns show as a schema variant.
    lake = UPSTREAM / name / "dataset"
    doc = inspect(run, lake)
    checked = inspect(run, lake, "--check", "--grace-period", "0s")
    assert [p["kind"] for p in checked["problems"]] == [p["kind"] for p in doc["problems"]]
    con = duckdb.connect()
    for table in tables_of(doc).values():
        assert table["writers"] == {"upstream": table["files"]}
        assert table["codecs"] == {"uncompressed": table["codecs"]["uncompressed"]}
        count = con.execute(
            f"SELECT count(*) FROM read_parquet('{lake}/{table['table']}/**/*.parquet')"
        ).fetchone()[0]
        assert table["rows"] == count, table["table"]
    root = doc["signals"][0]["tables"][0]
    (variant,) = root["schema_variants"]
    assert "resource.id:uint16" in variant["retyped"] and variant["dictionary"]
    recovered = [p for p in doc["problems"] if p["kind"] == "recovered-column"]
    assert recovered and all(not p["problem"] for p in recovered)
    assert {p["kind"] for p in doc["problems"]} == {"recovered-column"}
    for p in recovered:
        assert pathlib.Path(p["uri"].removeprefix("file://")).is_file()


def test_inspect_bad_arguments_are_errors(run, tmp_path):
    proc = run("inspect", tmp_path / "no-such-lake", check=False)
    assert proc.returncode == 1 and "no dataset" in proc.stderr
    # A flag value that does not parse is a usage error (exit 2, docs/cli.md).
    proc = run("inspect", tmp_path, "--check", "--grace-period", "soon", check=False)
    assert proc.returncode == 2 and "--grace-period" in proc.stderr
    empty = inspect(run, tmp_path)
    assert empty["files"] == 0 and empty["signals"] == []


def test_inspect_on_s3(s3_server, run, cli, tmp_path):
    # Scenario: the same input converted to a local directory and to S3 (moto), one
    # child object then overwritten with garbage on S3.
    # Guarantees: inspect of s3:// (same --s3-endpoint/--allow-http flags as convert
    # and repair) gives the local numbers per table (bytes aside: names differ, sizes
    # do not) with s3:// URIs; --check exits 0; the corrupt object is then reported by
    # its s3:// URI with exit 3.
    client = s3_server.client()
    client.create_bucket(Bucket=BUCKET)
    flags = ["--s3-endpoint", s3_server.endpoint, "--allow-http"]
    env = s3_server.env()

    def run_env(*args, code=0):
        proc = subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True,
                              env=env, timeout=300)
        assert proc.returncode == code, proc.stdout + proc.stderr
        return proc

    src = tmp_path / "in.jsonl"
    run("generate", "--requests", "3", "--items", "20", "--seed", "5", src)
    uri = f"s3://{BUCKET}/lake"
    run_env("convert", src, uri, *flags)
    run("convert", src, tmp_path / "local")
    local = tables_of(inspect(run, tmp_path / "local"))
    doc = json.loads(run_env("inspect", uri, "--json", *flags).stdout)
    assert doc["dataset"] == uri
    remote = tables_of(doc)
    assert sorted(remote) == sorted(local)
    for name in local:
        for key in ("files", "rows", "row_groups", "id_spaces", "codecs", "writers"):
            assert remote[name][key] == local[name][key], (name, key)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET)["Contents"]
            if o["Key"].endswith(".parquet")]
    assert doc["files"] == len(keys)
    checked = json.loads(run_env("inspect", uri, "--json", "--check", "--grace-period", "0s",
                                 *flags).stdout)
    assert checked["problems"] == [] and checked["check"]["files_checked"] == len(keys)

    victim = next(k for k in keys if k.startswith("lake/log_attrs/"))
    client.put_object(Bucket=BUCKET, Key=victim, Body=b"garbage")
    bad = json.loads(run_env("inspect", uri, "--json", *flags, code=3).stdout)
    assert [p["uri"] for p in bad["problems"]] == [f"s3://{BUCKET}/{victim}"]


def test_inspect_reports_schema_drift(run, lake):
    # Scenario: a logs file rewritten by another tool into an id space of its own:
    # one optional column dropped, one column added, severity_text dictionary-encoded.
    # Guarantees: exit 0 (drift is no problem); logs has two schema variants, the
    # canonical one with every other file and one naming the missing, extra and
    # dictionary columns; the human output lists the variant.
    import pyarrow as pa

    source = parquet_files(lake, "logs")[0]
    table = pq.read_table(source)
    table = table.drop_columns(["dropped_attributes_count"])
    table = table.append_column("tenant", pa.array(["a"] * table.num_rows))
    index = table.schema.get_field_index("severity_text")
    table = table.set_column(index, "severity_text",
                             table.column("severity_text").dictionary_encode())
    target = lake / "logs" / "_part_id=00000000-0000-4000-8000-00000000d01f"
    target.mkdir()
    pq.write_table(table, target / "part-1-drift.parquet")
    doc = inspect(run, lake)
    logs = tables_of(doc)["logs"]
    assert len(logs["schema_variants"]) == 2
    canonical, drift = sorted(logs["schema_variants"], key=lambda v: not v["canonical"])
    assert canonical["canonical"] and canonical["files"] == logs["files"] - 1
    assert drift == {"files": 1, "canonical": False, "missing": ["dropped_attributes_count"],
                     "extra": ["tenant"], "dictionary": ["severity_text"], "retyped": []}
    text = run("inspect", lake).stdout
    assert ("schema logs logs: 1 file: missing dropped_attributes_count; extra tenant; "
            "dictionary severity_text") in text
