# SPDX-License-Identifier: Apache-2.0
"""arrow-rs, the Parquet implementation of upstream's Rust engine, reads our datasets
exactly as pyarrow does (issue #18, item 2): tests/peers/arrow_rs_reader (the
`parquet` crate, pinned in its Cargo.toml, built by scripts/build_peers.sh) reads every
file of a dataset with ParquetRecordBatchReaderBuilder and prints per table and file
the row groups, rows and, per column, the Arrow type it inferred from the stored
`ARROW:schema` and a content signature; the same signature is computed here from
pyarrow's reading of the same files and must be equal. Datasets: all three signals
written with the default writer options (delta encodings on ids, parent ids and
times), partitioned by event hour, from the edge-case generator, and with other
writer options (plain encodings and no dictionaries with small row groups and pages
and snappy; every other v2 encoding; upstream's settings: uncompressed, dictionaries
on every column). Upstream's own datasets (tests/data/upstream/) are read
too: they fail in arrow-rs exactly where documented below."""
import collections
import json
import pathlib
import re
import subprocess

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from test_dataset_writer import U64

UPSTREAM = pathlib.Path(__file__).resolve().parent / "data" / "upstream"
SIGNALS = ("logs", "traces", "metrics")

# Writer options of the variants besides the defaults (`--writer-options`).
PLAIN = ("{dictionary: false, column_encodings: {}, compression: snappy, row_group_size: 700,"
         " data_page_size: 4KiB, max_rows_per_page: 100, bloom_filter_columns: [trace_id]}")
# Upstream's writer settings: uncompressed, dictionaries on every column. Upstream's
# own build of arrow-rs has no codec (its Cargo.lock: parquet without zstd, snap, ...),
# so this is the layout it can decode.
UPSTREAM_LIKE = '{compression: none, dictionary_columns: ["*"], column_encodings: {}}'
V2_ENCODINGS = ("{dictionary: false, attribute_order: key_parent_id, column_encodings: {"
                "id: delta_binary_packed, parent_id: delta_binary_packed, key: delta_byte_array,"
                " str: delta_length_byte_array, body.str: delta_byte_array,"
                " name: delta_byte_array, int: delta_binary_packed,"
                " double: byte_stream_split, time_unix_nano: byte_stream_split}}")


@pytest.fixture(scope="session")
def arrow_rs_reader():
    """build/peers/arrow_rs_reader from scripts/build_peers.sh (cargo; fails, like
    the other peers, when it cannot be built)."""
    from otlp_clients import build_peers

    try:
        return build_peers("arrow_rs_reader")["arrow_rs_reader"]
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)


def read_with_arrow_rs(reader, base, *args):
    """(exit code, {table: {file: signature}}, stderr) of the peer on `base`."""
    proc = subprocess.run([str(reader), *args, str(base)], capture_output=True, text=True,
                          timeout=600)
    assert proc.stdout, f"arrow_rs_reader printed nothing (exit {proc.returncode}):\n{proc.stderr}"
    return proc.returncode, json.loads(proc.stdout), proc.stderr


# --- the signature of tests/peers/arrow_rs_reader/src/main.rs, from pyarrow ----------


def mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & U64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & U64
    return z ^ (z >> 31)


def fnv1a(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & U64
    return h


def key(value) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value & U64
    return fnv1a(value.encode() if isinstance(value, str) else value)


RS_TYPES = {
    pa.bool_(): "Boolean", pa.int8(): "Int8", pa.int16(): "Int16", pa.int32(): "Int32",
    pa.int64(): "Int64", pa.uint8(): "UInt8", pa.uint16(): "UInt16", pa.uint32(): "UInt32",
    pa.uint64(): "UInt64", pa.float32(): "Float32", pa.float64(): "Float64",
    pa.string(): "Utf8", pa.large_string(): "LargeUtf8", pa.binary(): "Binary",
    pa.large_binary(): "LargeBinary",
}
RS_UNITS = {"s": "Second", "ms": "Millisecond", "us": "Microsecond", "ns": "Nanosecond"}


def rs_type(t: pa.DataType) -> str:
    """arrow-rs's name (`{:?}` of DataType) for a pyarrow type, as the peer prints it."""
    if pa.types.is_struct(t):
        return "Struct"
    if pa.types.is_list(t):
        return "List"
    if pa.types.is_large_list(t):
        return "LargeList"
    if pa.types.is_dictionary(t):
        return f"Dictionary({rs_type(t.index_type)}, {rs_type(t.value_type)})"
    if pa.types.is_fixed_size_binary(t):
        return f"FixedSizeBinary({t.byte_width})"
    if pa.types.is_timestamp(t):
        return f"Timestamp({RS_UNITS[t.unit]}, {'None' if t.tz is None else repr(t.tz)})"
    if pa.types.is_duration(t):
        return f"Duration({RS_UNITS[t.unit]})"
    return RS_TYPES.get(t, str(t))


def leaf_keys(array: pa.Array):
    """(nulls, Counter of keys) of a leaf column, as leaf_keys() of the peer."""
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    t = array.type
    if pa.types.is_timestamp(t) or pa.types.is_duration(t):
        array = array.view(pa.int64())
    elif pa.types.is_float32(t):
        array = array.cast(pa.float64()).view(pa.uint64())
    elif pa.types.is_float64(t):
        array = array.view(pa.uint64())
    counts = pc.value_counts(array)
    keys = collections.Counter()
    for value, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()):
        if value is not None:
            keys[key(value)] += n
    return array.null_count, keys


def add(columns: dict, path: str, array: pa.Array):
    t = array.type
    children = []
    if pa.types.is_struct(t):
        nulls = array.null_count
        keys = collections.Counter({0: len(array) - nulls})
        children = [(f"{path}.{t.field(i).name}", array.field(i)) for i in range(t.num_fields)]
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        nulls, keys = leaf_keys(pc.list_value_length(array))
        start, end = array.offsets[0].as_py(), array.offsets[-1].as_py()
        children = [(f"{path}[]", array.values.slice(start, end - start))]
    else:
        nulls, keys = leaf_keys(array)
    column = columns.setdefault(
        path, {"type": rs_type(t), "nulls": 0, "values": 0, "sum": 0, "hash": 0})
    column["nulls"] += nulls
    for k, n in keys.items():
        column["values"] += n
        column["sum"] = (column["sum"] + n * k) & U64
        column["hash"] = (column["hash"] + n * mix(k)) & U64
    for child_path, child in children:
        add(columns, child_path, child)


def pyarrow_signature(path: pathlib.Path, columns=None) -> dict:
    parquet = pq.ParquetFile(path)
    data = parquet.read(columns=columns)
    signature = {}
    for field, column in zip(data.schema, data.columns):
        for chunk in column.chunks:
            if len(chunk):  # arrow-rs yields no empty batches
                add(signature, field.name, chunk)
    return {"row_groups": parquet.num_row_groups, "rows": data.num_rows, "columns": signature}


def differences(rs: dict, base: pathlib.Path, skip_columns=(), dictionary_types=True) -> list:
    """Where arrow-rs's reading of `base` differs from pyarrow's (every file the peer
    read; `skip_columns`: top-level columns left out of both). dictionary_types=False:
    a column arrow-rs reads as a dictionary of non-strings may have another type in
    pyarrow, which keeps only string and binary dictionaries of `ARROW:schema`."""
    found = []
    tables = sorted(p.name for p in base.iterdir() if p.is_dir())
    if sorted(rs) != tables:
        return [f"tables: arrow-rs {sorted(rs)}, directories {tables}"]
    for table in tables:
        files = sorted(str(p.relative_to(base / table)) for p in (base / table).rglob("*.parquet")
                       if not any(part.startswith(".") for part in p.relative_to(base).parts))
        if sorted(rs[table]) != files:
            found.append(f"{table}: files: arrow-rs {sorted(rs[table])}, on disk {files}")
            continue
        for name in files:
            mine = rs[table][name]
            if "error" in mine:
                continue
            top = pq.ParquetFile(base / table / name).schema_arrow.names
            theirs = pyarrow_signature(base / table / name,
                                       [c for c in top if c not in skip_columns])
            mine = dict(mine, columns={c: s for c, s in mine["columns"].items()
                                       if c.split(".")[0].split("[")[0] not in skip_columns})
            for what in ("row_groups", "rows"):
                if mine[what] != theirs[what]:
                    found.append(f"{table}/{name}: {what}: arrow-rs {mine[what]}, "
                                 f"pyarrow {theirs[what]}")
            for column in sorted(set(mine["columns"]) | set(theirs["columns"])):
                a, b = mine["columns"].get(column), theirs["columns"].get(column)
                if a and b and not dictionary_types and a["type"].startswith("Dictionary("):
                    a, b = dict(a, type=None), dict(b, type=None)
                if a != b:
                    found.append(f"{table}/{name}: column {column}: arrow-rs {a}, pyarrow {b}")
    return found


def failing_columns(error: str) -> set:
    return set(re.findall(r"column (\S+) \(", error.split("; alone: ", 1)[1]))


# --- our datasets ----------------------------------------------------------------


@pytest.fixture(scope="module")
def lakes(tmp_path_factory, cli):
    """{(signal, variant): dataset}: realistic and edge-case telemetry of each signal,
    written with the default writer options, by event hour, and with the variants'
    options."""
    out = tmp_path_factory.mktemp("arrow-rs")

    def cli_run(*args):
        subprocess.run([str(cli), *map(str, args)], check=True, capture_output=True, text=True)

    lakes = {}
    for signal in SIGNALS:
        realistic, edge = out / f"{signal}.jsonl", out / f"{signal}-edge.jsonl"
        cli_run("generate", "--signal", signal, "--requests", 6, "--items", 40, "--seed", 5,
                realistic)
        cli_run("generate", "--edge-cases", "--signal", signal, "--requests", 8, "--items", 12,
                "--seed", 3, edge)
        variants = {
            "default": (realistic,),
            "hour": (realistic, "--partition-by", "part_id", "--partition-by", "hour"),
            "edge": (edge, "--max-batch-rows", 7),
            "plain": (realistic, "--writer-options", PLAIN),
            "v2": (realistic, "--writer-options", V2_ENCODINGS),
            "upstream_like": (realistic, "--writer-options", UPSTREAM_LIKE),
        }
        for variant, (source, *args) in variants.items():
            lakes[signal, variant] = out / f"{signal}-{variant}"
            cli_run("convert", source, lakes[signal, variant], *args)
    return lakes


def encodings(base: pathlib.Path, table: str, column: str) -> set:
    found = set()
    for path in (base / table).rglob("*.parquet"):
        meta = pq.ParquetFile(path).metadata
        for rg in range(meta.num_row_groups):
            chunk = meta.row_group(rg)
            for i in range(chunk.num_columns):
                if chunk.column(i).path_in_schema == column:
                    found |= set(chunk.column(i).encodings)
    return found


def test_layouts_are_the_ones_named(lakes):
    # The variants really store what their names say (else the comparisons below
    # would not cover the encodings).
    assert "DELTA_BINARY_PACKED" in encodings(lakes["logs", "default"], "logs", "id")
    assert "DELTA_BINARY_PACKED" in encodings(lakes["logs", "default"], "log_attrs", "parent_id")
    assert "DELTA_BINARY_PACKED" in encodings(lakes["traces", "hour"], "spans", "start_time_unix_nano")
    assert "RLE_DICTIONARY" in encodings(lakes["logs", "default"], "log_attrs", "key")
    assert encodings(lakes["logs", "plain"], "log_attrs", "key") <= {"PLAIN", "RLE"}
    assert encodings(lakes["logs", "plain"], "logs", "id") <= {"PLAIN", "RLE"}
    assert "DELTA_BYTE_ARRAY" in encodings(lakes["logs", "v2"], "log_attrs", "key")
    assert "DELTA_LENGTH_BYTE_ARRAY" in encodings(lakes["logs", "v2"], "log_attrs", "str")
    assert "BYTE_STREAM_SPLIT" in encodings(lakes["logs", "v2"], "logs", "time_unix_nano")
    meta = pq.ParquetFile(next((lakes["traces", "plain"] / "spans").rglob("*.parquet"))).metadata
    assert meta.num_row_groups > 1 and meta.row_group(0).column(0).compression == "SNAPPY"
    meta = pq.ParquetFile(next((lakes["logs", "upstream_like"] / "logs").rglob("*.parquet"))).metadata
    assert meta.row_group(0).column(0).compression == "UNCOMPRESSED"
    assert "RLE_DICTIONARY" in encodings(lakes["logs", "upstream_like"], "logs", "id")


@pytest.mark.parametrize("variant", ["default", "hour", "edge", "plain", "v2", "upstream_like"])
@pytest.mark.parametrize("signal", SIGNALS)
def test_arrow_rs_reads_like_pyarrow(arrow_rs_reader, lakes, signal, variant):
    # Scenario: one dataset read by arrow-rs and by pyarrow. Every file decodes in
    # arrow-rs (exit 0, no error), with the same row groups, rows, Arrow types and
    # column signatures as pyarrow's reading.
    base = lakes[signal, variant]
    code, rs, stderr = read_with_arrow_rs(arrow_rs_reader, base)
    assert code == 0, stderr
    assert differences(rs, base) == []
    assert sum(f["rows"] for t in rs.values() for f in t.values()) > 0


def test_signature_tells_values_apart(arrow_rs_reader, lakes):
    # Scenario: the comparison is not vacuous: one value more or less, a changed value
    # or another type in a column shows as a difference.
    base = lakes["logs", "default"]
    _, rs, _ = read_with_arrow_rs(arrow_rs_reader, base)
    name, signature = next(iter(rs["log_attrs"].items()))
    key = signature["columns"]["key"]
    for changed in ({"values": key["values"] - 1}, {"hash": (key["hash"] + 1) & U64},
                    {"type": "LargeUtf8"}):
        signature["columns"]["key"] = dict(key, **changed)
        assert [d.split(": ")[1] for d in differences(rs, base)] == ["column key"], changed


@pytest.mark.parametrize("damage", ["corrupt", "gzip"])
def test_arrow_rs_failure_is_reported(arrow_rs_reader, cli, lakes, tmp_path, damage):
    # Scenario: a file arrow-rs cannot decode makes the peer exit 1 and name the file
    # and the failing columns; the other files are still read. "corrupt": the column
    # chunk of logs.id overwritten with 0xff bytes; "gzip": the dataset written with a
    # codec the peer is built without (Cargo.toml: zstd and snappy only).
    import shutil

    base = tmp_path / "lake"
    if damage == "corrupt":
        shutil.copytree(lakes["logs", "default"], base)
        path = next((base / "logs").rglob("*.parquet"))
        meta = pq.ParquetFile(path).metadata.row_group(0).column(0)
        assert meta.path_in_schema == "id"
        data = bytearray(path.read_bytes())
        start = meta.dictionary_page_offset or meta.data_page_offset
        data[start:start + meta.total_compressed_size] = b"\xff" * meta.total_compressed_size
        path.write_bytes(bytes(data))
        expected = {"id"}
    else:
        source = tmp_path / "logs.jsonl"
        subprocess.run([str(cli), "generate", "--signal", "logs", "--requests", "1", source],
                       check=True, capture_output=True)
        subprocess.run([str(cli), "convert", source, base, "--compression", "gzip"],
                       check=True, capture_output=True)
        path = next((base / "logs").rglob("*.parquet"))
        schema = pq.ParquetFile(path).schema
        expected = {schema.column(i).path for i in range(len(schema))}  # every leaf
    code, rs, stderr = read_with_arrow_rs(arrow_rs_reader, base)
    error = rs["logs"][str(path.relative_to(base / "logs"))]["error"]
    assert code == 1, stderr
    assert str(path) in stderr, stderr
    assert failing_columns(error) == expected, error
    if damage == "corrupt":
        assert all("error" not in f for t, files in rs.items() if t != "logs"
                   for f in files.values())
        assert differences(rs, base) == []  # the rest is read as pyarrow reads it


# --- upstream's datasets ---------------------------------------------------------


@pytest.mark.parametrize("name", [f"otlp-realistic-{s}" for s in SIGNALS])
def test_arrow_rs_reads_upstream_datasets(arrow_rs_reader, name):
    # Scenario: datasets written by upstream's Rust exporter (parquet-rs 58.4.0) read by
    # arrow-rs at its default batch size (1,024 rows), then at 256. Upstream stores
    # repeated trace/span ids as Dictionary(UInt8, FixedSizeBinary) in `ARROW:schema`
    # (Q14: written length-prefixed, pyarrow aborts on them): arrow-rs refuses
    # logs.trace_id/span_id ("dictionary too large for index type": 900 distinct ids
    # in one UInt8 dictionary), at any batch size. spans.duration_time_unix_nano is a
    # Dictionary(UInt8, Duration) whose values overflow UInt8 keys in a 1,024-row batch
    # (arrow-rs panics); 256-row batches read it. Every other file and column equals
    # pyarrow's reading, but for the types of upstream's Dictionary(_, Int32/Int64/
    # Duration) columns (pyarrow reads them undictionaried, the Duration as Int64)
    # and the values of the length-prefixed id columns arrow-rs does read (span_links,
    # exemplars), where pyarrow aborts.
    base = UPSTREAM / name / "dataset"
    expected = {"otlp-realistic-logs": {"logs": {"trace_id", "span_id"}},
                "otlp-realistic-traces": {"spans": {"duration_time_unix_nano"}},
                "otlp-realistic-metrics": {}}[name]
    for batch_size in ("1024", "256"):
        code, rs, stderr = read_with_arrow_rs(arrow_rs_reader, base, "--batch-size", batch_size)
        failures = {table: failing_columns(f["error"]) for table, files in rs.items()
                    for f in files.values() if "error" in f}
        if batch_size == "256":
            expected = {t: c for t, c in expected.items() if t == "logs"}
        assert failures == expected, stderr
        assert code == (1 if expected else 0), stderr
        malformed = {c for files in rs.values() for f in files.values()
                     for c, s in f.get("columns", {}).items()
                     if re.fullmatch(r"Dictionary\(\w+, FixedSizeBinary\(\d+\)\)", s["type"])}
        assert differences(rs, base, skip_columns=malformed, dictionary_types=False) == []
        for f in (f for files in rs.values() for f in files.values() if "columns" in f):
            for column in malformed & set(f["columns"]):  # read, not compared
                assert f["columns"][column]["nulls"] + f["columns"][column]["values"] == f["rows"]
