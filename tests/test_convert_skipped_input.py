# SPDX-License-Identifier: Apache-2.0
"""`convert DATASET OUTPUT` skips bad input, reports it and replays the rest; exit
code 3 says that some input was skipped (docs/cli.md). Also: discovery reads no file
twice through directory symlinks."""
import json
import os
import pathlib
import re

import pyarrow as pa
import pytest
import pyarrow.parquet as pq


def generate(run, path, seed, signal="logs"):
    run("generate", "--signal", signal, "--requests", "2", "--items", "10", "--seed", seed,
        path)
    return path


def two_writer_lake(run, tmp_path):
    """A lake with writer A's and writer B's logs (two `_part_id`s)."""
    a = generate(run, tmp_path / "a.jsonl", 1)
    b = generate(run, tmp_path / "b.jsonl", 2)
    lake = tmp_path / "lake"
    run("convert", a, lake)
    (part_a,) = os.listdir(lake / "logs")
    run("convert", b, lake)
    (part_b,) = [p for p in os.listdir(lake / "logs") if p != part_a]
    return lake, a, b, part_a, part_b


def set_body_type(path, value, rows=None):
    """Rewrites a logs file with `body.type` set to `value` in `rows` (default all)."""
    table = pq.read_table(path)
    index = table.schema.get_field_index("body")
    body = table.column("body").combine_chunks()
    fields = [body.field(i) for i in range(body.type.num_fields)]
    names = [body.type.field(i).name for i in range(body.type.num_fields)]
    t = names.index("type")
    types = fields[t].to_pylist()
    for row in range(len(body)) if rows is None else rows:
        types[row] = value
    fields[t] = pa.array(types, type=body.type.field(t).type)
    new_body = pa.StructArray.from_arrays(
        fields, fields=[body.type.field(i) for i in range(body.type.num_fields)],
        mask=body.is_null())
    table = table.set_column(index, table.schema.field(index), new_body)
    pq.write_table(table.replace_schema_metadata(pq.read_schema(path).metadata), path)


def test_unknown_any_value_type_skips_the_batch_and_exits_3(run, tmp_path):
    # Scenario: writer B's logs file has AnyValue type 250 in `body` (every row).
    # Guarantees: convert completes with exit 3, the warning names the partition and
    # the file, the summary counts the skipped records, and the output holds exactly
    # writer A's logs (before: exit 1 and an empty output).
    lake, a, _, _, part_b = two_writer_lake(run, tmp_path)
    (logs_b,) = (lake / "logs" / part_b).glob("*.parquet")
    set_body_type(logs_b, 250)
    out = tmp_path / "out.jsonl"
    proc = run("convert", lake, out, check=False)
    assert proc.returncode == 3, proc.stderr
    assert part_b in proc.stderr and "250" in proc.stderr, proc.stderr
    assert "skipped input" in proc.stderr, proc.stderr
    run("compare", a, out)


def log_records(path):
    """Every log record of an OTLP JSON lines file with its resource and scope, as
    canonical JSON strings (a multiset)."""
    out = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        for r in json.loads(line)["resourceLogs"]:
            for s in r["scopeLogs"]:
                for record in s["logRecords"]:
                    out.append(json.dumps([r.get("resource"), s.get("scope"), record],
                                          sort_keys=True))
    return sorted(out)


@pytest.mark.parametrize("batch_rows", ["65535", "7"])
def test_bad_records_skip_only_those_records(run, tmp_path, batch_rows):
    # Scenario: rows 3 and 30 of writer B's logs file have AnyValue type 250 in
    # `body`; replayed in one batch per partition, and in batches of 7 roots (the
    # failing batches then start inside the file: the root-by-root re-read resumes
    # there).
    # Guarantees: exit 3; each warning names the partition, the file and the row; the
    # output is every record of A and B except exactly those two.
    lake, a, b, _, part_b = two_writer_lake(run, tmp_path)
    full = tmp_path / "full.jsonl"
    run("convert", lake, full)
    (logs_b,) = (lake / "logs" / part_b).glob("*.parquet")
    set_body_type(logs_b, 250, rows=[3, 30])
    out = tmp_path / "out.jsonl"
    proc = run("convert", "--max-batch-rows", batch_rows, lake, out, check=False)
    assert proc.returncode == 3, proc.stderr
    for row in (3, 30):
        assert f"partition={part_b} root_file={logs_b} row={row} " in proc.stderr, proc.stderr
    assert "2 records that do not convert" in proc.stderr, proc.stderr
    expected, got = log_records(full), log_records(out)
    assert len(got) == len(expected) - 2
    remaining = list(expected)
    for record in got:
        remaining.remove(record)  # raises if the output holds a record not in full
    assert len(remaining) == 2


def test_table_path_that_is_a_file_is_skipped_and_exits_3(run, tmp_path):
    # Scenario: `spans` in a logs lake is a regular file, not a directory.
    # Guarantees: convert replays every log (exit 3) and names the path.
    a = generate(run, tmp_path / "a.jsonl", 1)
    lake = tmp_path / "lake"
    run("convert", a, lake)
    (lake / "spans").write_text("not a directory")
    out = tmp_path / "out.jsonl"
    proc = run("convert", lake, out, check=False)
    assert proc.returncode == 3, proc.stderr
    assert str(lake / "spans") in proc.stderr, proc.stderr
    run("compare", a, out)


def test_clean_dataset_exits_0(run, tmp_path):
    a = generate(run, tmp_path / "a.jsonl", 1)
    lake = tmp_path / "lake"
    run("convert", a, lake)
    proc = run("convert", lake, tmp_path / "out.jsonl")
    assert proc.returncode == 0 and "skipped input" not in proc.stderr


def test_symlink_loop_and_sibling_link_replay_each_file_once(run, tmp_path):
    # Scenario: a directory symlink loop inside a partition and a symlink to a sibling
    # partition (before: the loop replayed the data 41 times).
    # Guarantees: the replay is exactly the input once; both links are named in
    # warnings; exit 3 (paths were skipped).
    lake, a, b, part_a, part_b = two_writer_lake(run, tmp_path)
    os.symlink("..", lake / "logs" / part_a / "loop")
    os.symlink(lake / "log_attrs" / part_b, lake / "log_attrs" / part_a / "sibling")
    os.symlink(lake / "logs" / part_b, lake / "logs" / "_part_id=linked")
    out = tmp_path / "out.jsonl"
    proc = run("convert", lake, out, check=False)
    assert proc.returncode == 3, proc.stderr
    for link in ("loop", "sibling", "_part_id=linked"):
        assert link in proc.stderr, proc.stderr
    both = tmp_path / "both.jsonl"
    both.write_text(a.read_text() + b.read_text())
    run("compare", both, out)


def test_receiver_replays_symlinked_files_once(run, tmp_path):
    # Scenario: receiver:parquet (one-shot, configs/parquet-receiver-demo.yaml) over a
    # lake with a directory symlink loop in a partition.
    # Guarantees: every log record is emitted once (before: once per loop level), and
    # the skipped path is a metric.
    lake, a, b, part_a, _ = two_writer_lake(run, tmp_path)
    os.symlink("..", lake / "logs" / part_a / "loop")
    os.symlink("..", lake / "log_attrs" / part_a / "loop")
    expected = sum(len(s["logRecords"]) for path in (a, b)
                   for line in path.read_text().splitlines() if line.strip()
                   for r in json.loads(line)["resourceLogs"]
                   for s in r["scopeLogs"])
    configs = pathlib.Path(__file__).resolve().parent.parent / "configs"
    text = ((configs / "parquet-receiver-demo.yaml").read_text()
            .replace('"output_parquet_files"', f'"{lake}"')
            .replace('polling_interval: "5s"', 'polling_interval: "0s"')
            .replace('min_file_age: "10s"', 'min_file_age: "0s"')
            .replace("verbosity: detailed", "verbosity: basic"))
    assert str(lake) in text
    config = tmp_path / "demo.yaml"
    config.write_text(text)
    metrics = tmp_path / "metrics.prom"
    proc = run("run", "--num-cores", "1", "--pipeline", config, "--metrics-file", metrics)
    assert "loop" in proc.stderr + proc.stdout

    def metric(name):
        return sum(map(int, re.findall(
            rf'otap_node_{name}(?:_total)?\{{[^}}]*node="parquet_receiver"[^}}]*\}} (\d+)',
            metrics.read_text())))

    assert metric("parquet_records_emitted") == expected
    assert metric("parquet_skipped_paths") == 2
    assert metric("parquet_orphan_rows") == 0


def test_fifo_named_like_a_parquet_file_is_skipped(run, tmp_path):
    # Scenario: a FIFO named part-….parquet in a partition (opening it would block).
    # Guarantees: convert names it, skips it (exit 3) and replays everything else.
    a = generate(run, tmp_path / "a.jsonl", 1)
    lake = tmp_path / "lake"
    run("convert", a, lake)
    (part,) = os.listdir(lake / "logs")
    fifo = lake / "logs" / part / "part-0-fifo.parquet"
    os.mkfifo(fifo)
    out = tmp_path / "out.jsonl"
    proc = run("convert", lake, out, check=False)
    assert proc.returncode == 3, proc.stderr
    assert str(fifo) in proc.stderr, proc.stderr
    run("compare", a, out)
