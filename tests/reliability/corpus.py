#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The corrupt / odd-file corpus of the reliability suite, generated (never checked
in): a valid dataset written by `otap-parquet convert` (partitions A and B, the
good data every case must replay exactly) plus, per case, one more partition V
("victim", written the same way) and the bad entries the case adds or makes of V's
files, with pyarrow and the file system.

    python tests/reliability/corpus.py build/otap-parquet OUT   # writes OUT/<case>/ datasets

Each case says what the readers must do with its entries:
  reported  - skipped with a warning naming the entry; `convert` exits non-zero
              (some input skipped) but still writes all good data;
  ignored   - not data (hidden temp files, other extensions, empty directories):
              exit 0, nothing said needed;
  odd       - unusual but not necessarily wrong: no crash and no hang, good data
              replayed; the exit code is not prescribed.
V's records may come out or not, complete or not; A's and B's exactly once and
exactly as written; nothing else (no empty records made of a foreign file)."""
import os
import pathlib
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from google.protobuf.internal.encoder import _VarintBytes

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from rel_common import canonical_records, logs_request  # noqa: E402

# A file name that sorts after the writer's (`part-<ms>-<uuid>.parquet`).
LATE = "part-9999999999999-"


def write_partition(cli, dataset, tag, requests):
    """One `convert` (one new `_part_id`) of `requests` requests tagged `<tag>-<k>`;
    returns {body: canonical} of its records."""
    expected = {}
    src = dataset.parent / f"{dataset.name}-{tag}.logs.pb"
    with open(src, "wb") as out:
        for k in range(requests):
            request = logs_request(f"{tag}-{k}", 7 + k % 5)
            expected.update(canonical_records(request))
            data = request.SerializeToString()
            out.write(_VarintBytes(len(data)) + data)
    subprocess.run([str(cli), "convert", "--max-batch-rows", "10", "--rows-per-file", "20",
                    str(src), str(dataset)], check=True, capture_output=True, timeout=120)
    src.unlink()
    return expected


def build_base(cli, root):
    """root/base (partitions A and B) and root/victim (V alone). Returns (good
    {body: canonical}, victim {body: canonical})."""
    root.mkdir(parents=True, exist_ok=True)
    good = write_partition(cli, root / "base", "a", 4)
    good.update(write_partition(cli, root / "base", "b", 4))
    victim = write_partition(cli, root / "victim", "v", 3)
    return good, victim


class Victim:
    """V's partition inside one case's dataset."""

    def __init__(self, dataset, part):
        self.dataset, self.part = dataset, part

    def dir(self, table):
        return self.dataset / table / self.part

    def file(self, table, index=0):
        return sorted(self.dir(table).glob("*.parquet"))[index]

    def rewrite(self, table, change, index=0):
        """Rewrites V's `table` file with `change(pyarrow Table)`; returns its path."""
        path = self.file(table, index)
        pq.write_table(change(pq.read_table(path)), path)
        return path

    def replace_bytes(self, table, change, index=0):
        path = self.file(table, index)
        path.write_bytes(change(path.read_bytes()))
        return path


def _rnd(name):
    return random.Random(f"corpus-{name}")


def _flip(data, start, end, name, count=16):
    data = bytearray(data)
    rnd = _rnd(name)
    for _ in range(count):
        i = rnd.randrange(max(0, start), max(start + 1, end))
        data[i] ^= 1 << rnd.randrange(8)
    return bytes(data)


def _set_column(table, name, array):
    return table.set_column(table.schema.get_field_index(name), name, array)


def _struct_with(column, field_name, values):
    """A struct column like `column` with one child replaced."""
    arr = column.combine_chunks()
    children = [values if f.name == field_name else arr.field(f.name) for f in arr.type]
    return pa.StructArray.from_arrays(children, fields=list(arr.type))


@dataclass
class Case:
    name: str
    expect: str  # reported | ignored | odd
    apply: Callable  # (dataset, victim, base partitions) -> [paths of the bad entries]
    allow_foreign: bool = False  # records of V may come out altered (undetected bit flips)
    polling: bool = False  # the receiver runs with polling (entries appear and vanish)
    notes: str = ""
    # What a report must name: "file" (the bad entry's path) or "partition" (values
    # that fail only when a batch is converted may be reported by partition).
    located_by: str = "file"


def _late(v, table, name, data):
    path = v.dir(table) / f"{LATE}{name}.parquet"
    path.write_bytes(data)
    return [path]


def _fifo(v):
    path = v.dir("logs") / f"{LATE}fifo.parquet"
    os.mkfifo(path)
    return [path]


def _symlink_loop(ds, v):
    link = v.dir("logs") / "loop"
    link.symlink_to("..", target_is_directory=True)  # back to the table directory
    return [link]


def _table_is_file(ds, v):
    path = ds / "spans"
    path.write_bytes(b"not a directory\n")
    return [path]


def _partition_is_file(ds, v):
    path = ds / "logs" / "_part_id=zz-file"
    path.write_bytes(b"not a directory\n")
    return [path]


def _copy_partition_to(v, table, target):
    target.mkdir(parents=True)
    for f in v.dir(table).glob("*.parquet"):
        shutil.copy(f, target / f.name)
    return target


def _invalid_utf8(n):
    """A string array of `n` values that are not UTF-8 (pyarrow refuses to build one
    the ordinary way; Parquet readers do not check)."""
    data = b"bad\xff\xfe" * n
    offsets = pa.array([5 * i for i in range(n + 1)], pa.int32())
    return pa.Array.from_buffers(pa.string(), n, [None, offsets.buffers()[1],
                                                   pa.py_buffer(data)])


def _huge_ids(ds, v):
    top = 2**32 - 1000
    paths = []
    for table, column in (("logs", "id"), ("log_attrs", "parent_id")):
        for path in v.dir(table).glob("*.parquet"):
            t = pq.read_table(path)
            t = _set_column(t, column, pc.add(t[column], pa.scalar(top, pa.uint32())))
            pq.write_table(t, path)
            paths.append(path)
    return paths


CASES = [
    # --- bytes that are not a (complete) Parquet file -------------------------------
    Case("zero_length", "reported", lambda ds, v: [v.replace_bytes("logs", lambda b: b"")]),
    Case("truncated_half", "reported",
         lambda ds, v: [v.replace_bytes("logs", lambda b: b[: len(b) // 2])]),
    Case("truncated_footer", "reported",
         lambda ds, v: [v.replace_bytes("logs", lambda b: b[:-12])]),
    Case("random_bytes", "reported", lambda ds, v: [v.replace_bytes(
        "logs", lambda b: _rnd("random").randbytes(len(b)))]),
    Case("magic_only", "reported", lambda ds, v: _late(v, "logs", "magic", b"PAR1")),
    Case("magic_around_garbage", "reported", lambda ds, v: _late(
        v, "logs", "magic2", b"PAR1" + _rnd("m").randbytes(3000) + b"PAR1")),
    Case("text_file", "reported",
         lambda ds, v: _late(v, "logs", "text", b"hello, this is not parquet\n")),
    Case("footer_bit_flips", "odd", lambda ds, v: [v.replace_bytes(
        "logs", lambda b: _flip(b, len(b) - 400, len(b) - 8, "footer"))], allow_foreign=True,
        notes="flipped metadata may still parse"),
    Case("page_bit_flips", "odd", lambda ds, v: [v.replace_bytes(
        "logs", lambda b: _flip(b, 4, len(b) // 2, "page"))], allow_foreign=True,
        notes="Parquet pages without checksums: altered values may go undetected"),
    Case("attrs_truncated", "reported",
         lambda ds, v: [v.replace_bytes("log_attrs", lambda b: b[: len(b) // 3])]),
    Case("attrs_zero_length", "reported",
         lambda ds, v: [v.replace_bytes("log_attrs", lambda b: b"")]),
    Case("resource_attrs_random", "reported", lambda ds, v: [v.replace_bytes(
        "resource_attrs", lambda b: _rnd("res").randbytes(len(b)))]),
    # --- Parquet files of the wrong shape -------------------------------------------
    Case("foreign_schema", "reported", lambda ds, v: [v.rewrite(
        "logs", lambda t: pa.table({"a": pa.array(range(t.num_rows), pa.int64()),
                                    "b": pa.array(["x"] * t.num_rows)}))]),
    Case("logs_missing_body", "reported",
         lambda ds, v: [v.rewrite("logs", lambda t: t.drop_columns(["body"]))]),
    Case("logs_missing_id", "reported",
         lambda ds, v: [v.rewrite("logs", lambda t: t.drop_columns(["id"]))]),
    Case("logs_id_as_string", "reported", lambda ds, v: [v.rewrite(
        "logs", lambda t: _set_column(t, "id", pc.cast(t["id"], pa.string())))]),
    Case("logs_negative_ids", "reported", lambda ds, v: [v.rewrite(
        "logs", lambda t: _set_column(t, "id", pc.subtract(
            pa.scalar(-1, pa.int64()), pc.cast(t["id"], pa.int64()))))]),
    Case("logs_time_as_string", "reported", lambda ds, v: [v.rewrite(
        "logs", lambda t: _set_column(t, "time_unix_nano", pa.array(
            ["yesterday"] * t.num_rows)))]),
    Case("logs_body_not_struct", "reported", lambda ds, v: [v.rewrite(
        "logs", lambda t: _set_column(t, "body", t["body"].combine_chunks().field("str")))]),
    Case("logs_body_type_250", "reported", lambda ds, v: [v.rewrite(
        "logs", lambda t: _set_column(t, "body", _struct_with(
            t["body"], "type", pa.array([250] * t.num_rows, pa.uint8()))))],
        notes="issue 13 item 8"),
    Case("logs_body_invalid_utf8", "reported", lambda ds, v: [v.rewrite(
        "logs", lambda t: _set_column(t, "body", _struct_with(
            t["body"], "str", _invalid_utf8(t.num_rows))))],
        notes="found by parquet_table_fuzz: strings are not checked when read"),
    Case("attrs_key_invalid_utf8", "reported", lambda ds, v: [v.rewrite(
        "log_attrs", lambda t: _set_column(t, "key", _invalid_utf8(t.num_rows)))],
        notes="found by parquet_table_fuzz"),
    Case("footer_size_statistics_mismatch", "reported", lambda ds, v: [_copy(
        pathlib.Path(__file__).resolve().parents[2] / "src/otap_parquet/dataset/testdata"
        / "size_statistics_mismatch.parquet", _mkdir(ds / "spans" / v.part)
        / f"{LATE}stats.parquet")],
        notes="found by parquet_table_fuzz: used to abort the process"),
    Case("footer_negative_row_count", "reported", lambda ds, v: [_copy(
        pathlib.Path(__file__).resolve().parents[2] / "src/otap_parquet/dataset/testdata"
        / "negative_row_count.parquet", v.dir("logs") / f"{LATE}rows.parquet")],
        notes="found by parquet_table_fuzz: used to abort the process"),
    Case("logs_null_ids", "odd", lambda ds, v: [v.rewrite(
        "logs", lambda t: _set_column(t, "id", pa.array([None] * t.num_rows, pa.uint32())))]),
    Case("logs_extra_column", "odd", lambda ds, v: [v.rewrite(
        "logs", lambda t: t.append_column("unknown_column", pa.array(["?"] * t.num_rows)))]),
    Case("logs_zero_rows", "odd", lambda ds, v: [v.rewrite("logs", lambda t: t.slice(0, 0))]),
    Case("huge_ids", "odd", _huge_ids, notes="ids near 2^32 on both sides of the join"),
    Case("attrs_orphan_parent_ids", "odd", lambda ds, v: [v.rewrite(
        "log_attrs", lambda t: _set_column(t, "parent_id", pc.add(
            t["parent_id"], pa.scalar(1_000_000, pa.uint32()))))]),
    Case("attrs_missing_key", "reported",
         lambda ds, v: [v.rewrite("log_attrs", lambda t: t.drop_columns(["key"]))]),
    Case("attrs_key_as_int", "reported", lambda ds, v: [v.rewrite(
        "log_attrs", lambda t: _set_column(t, "key", pa.array(range(t.num_rows),
                                                                pa.int64())))]),
    Case("attrs_type_250", "reported", lambda ds, v: [v.rewrite(
        "log_attrs", lambda t: _set_column(t, "type", pa.array([250] * t.num_rows,
                                                                 pa.uint8())))]),
    Case("attrs_bad_cbor", "reported", lambda ds, v: [v.rewrite(
        "log_attrs", lambda t: _set_column(
            _set_column(t, "type", pa.array([5] * t.num_rows, pa.uint8())), "ser",
            pa.array([b"\xbf\xff\x00garbage"] * t.num_rows, pa.binary())))]),
    # --- the file system -------------------------------------------------------------
    Case("table_is_a_file", "reported", lambda ds, v: _table_is_file(ds, v),
         notes="issue 13 item 8"),
    Case("partition_is_a_file", "reported", lambda ds, v: _partition_is_file(ds, v)),
    Case("symlink_loop", "reported", lambda ds, v: _symlink_loop(ds, v),
         notes="issue 13 item 9"),
    Case("dangling_symlink", "reported", lambda ds, v: [
        _symlink(v.dir("logs") / f"{LATE}dangling.parquet", "/nonexistent/x.parquet")]),
    Case("fifo", "reported", lambda ds, v: _fifo(v), notes="must not block the reader"),
    Case("directory_named_parquet", "odd",
         lambda ds, v: [_mkdir(v.dir("logs") / f"{LATE}dir.parquet")]),
    Case("hidden_temp_file", "ignored", lambda ds, v: [
        _write(v.dir("logs") / ".part-123.parquet.tmp", b"PAR1xx")]),
    Case("other_extension", "ignored",
         lambda ds, v: [_write(v.dir("logs") / "README.txt", b"notes\n")]),
    Case("empty_partition", "ignored",
         lambda ds, v: [_mkdir(ds / "logs" / "_part_id=zz-empty")]),
    Case("unknown_table_directory", "odd", lambda ds, v: [
        _write(_mkdir(ds / "not_a_table" / "_part_id=x") / "part-1-a.parquet", b"junk")]),
    Case("nested_directories", "odd", lambda ds, v: [
        _write(_mkdir(v.dir("logs") / "deeper" / "still") / "part-1-a.parquet", b"junk")]),
    Case("child_without_root", "odd", lambda ds, v: [_copy_partition_to(
        v, "log_attrs", ds / "log_attrs" / "_part_id=zz-no-root")]),
    Case("appearing_and_vanishing", "odd", lambda ds, v: [], polling=True,
         notes="a thread adds and removes files and partitions while the receiver polls"),
]

# Bad values (not bad files) that show only when a batch is converted to OTLP.
for _case in CASES:
    if _case.name in ("logs_body_type_250", "logs_body_invalid_utf8", "attrs_key_invalid_utf8",
                      "attrs_type_250", "attrs_bad_cbor"):
        _case.located_by = "partition"


def _symlink(path, target):
    path.symlink_to(target)
    return path


def _copy(src, dst):
    shutil.copy(src, dst)
    return dst


def _mkdir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write(path, data):
    path.write_bytes(data)
    return path


def make_case(root, case):
    """root/cases/<name>: the base dataset plus V with the case applied. Returns
    (dataset, [bad entries])."""
    dataset = root / "cases" / case.name
    shutil.copytree(root / "base", dataset, symlinks=True)
    for table_dir in (root / "victim").iterdir():
        for part in table_dir.iterdir():
            shutil.copytree(part, dataset / table_dir.name / part.name)
    return dataset, case.apply(dataset, victim_of(root, dataset))


def victim_of(root, dataset):
    """V's partition in a case dataset made under `root`."""
    return Victim(dataset, next((root / "victim" / "logs").iterdir()).name)


def main():
    cli, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    build_base(cli, out)
    for case in CASES:
        dataset, bad = make_case(out, case)
        paths = " ".join(str(p.relative_to(dataset)) for p in bad)
        print(f"{case.name:32} {case.expect:9} {paths}")


if __name__ == "__main__":
    main()
