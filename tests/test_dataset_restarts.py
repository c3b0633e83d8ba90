# SPDX-License-Identifier: Apache-2.0
"""Restarts never mix ids: 20 writer instances (20 `convert` runs, 20 `run`s of a
pipeline with exporter:parquet) write one after the other into one dataset, for
every partitioning option; then the DuckDB join on `(_part_id, id) = (_part_id,
parent_id)` gives each log record exactly its own attributes and resource, and our
replay (`convert DATASET out.jsonl`, `compare`) is exactly the union of the inputs.
A dataset where two writers did share an id space (old unpartitioned layout) is
reported, not joined (exit 3)."""
import collections
import json
import pathlib
import shutil

import duckdb
import pytest
from engines import v1_config

RESTARTS = 20
U64 = 2**64 - 1

# convert flags → the exporter's partitioning_strategies for the same layout.
LAYOUTS = {
    "default": ([], None),
    "none": (["--partition-by", "none"], "[]"),
    "part_id": (["--partition-by", "part_id"], '[{schema_metadata: ["_part_id"]}]'),
    "hour": (["--partition-by", "hour"], "[{event_time: hour}]"),
    "day": (["--partition-by", "day"], "[{event_time: day}]"),
    "part_id+hour": (["--partition-by", "part_id", "--partition-by", "hour"],
                     '[{schema_metadata: ["_part_id"]}, {event_time: hour}]'),
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, cli):
    """RESTARTS small, different logs inputs (one OTLP request each: ids of every
    writer start at 0) and each converted to a source dataset for the `run` case."""
    import subprocess

    out = tmp_path_factory.mktemp("restart-inputs")
    every = out / "all.jsonl"
    subprocess.run([str(cli), "generate", "--signal", "logs", "--requests", str(RESTARTS),
                    "--items", "3", "--seed", "5", str(every)], check=True,
                   capture_output=True)
    lines = [line for line in every.read_text().splitlines() if line.strip()]
    assert len(lines) == RESTARTS
    files, lakes = [], []
    for i, line in enumerate(lines):
        path = out / f"in-{i}.jsonl"
        path.write_text(line + "\n")
        files.append(path)
        lake = out / f"src-{i}"
        subprocess.run([str(cli), "convert", str(path), str(lake)], check=True,
                       capture_output=True)
        lakes.append(lake)
    return every, files, lakes


def attr_signature(attributes):
    out = []
    for a in attributes:
        value = a.get("value") or {}
        s = value.get("stringValue")
        out.append((a.get("key", ""), s is not None, s or ""))
    return tuple(sorted(out))


def expected_joins(path: pathlib.Path) -> collections.Counter:
    """(time, observed time, log attributes, resource attributes) of each record."""
    expected = collections.Counter()
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        for rl in json.loads(line).get("resourceLogs", []):
            resource = attr_signature((rl.get("resource") or {}).get("attributes", []))
            for sl in rl.get("scopeLogs", []):
                for rec in sl.get("logRecords", []):
                    expected[(int(rec.get("timeUnixNano", 0)) & U64,
                              int(rec.get("observedTimeUnixNano", 0)) & U64,
                              attr_signature(rec.get("attributes", [])), resource)] += 1
    return expected


def duckdb_joins(base: pathlib.Path) -> collections.Counter:
    def table(name, row_ids=False):
        extra = ", filename = true, file_row_number = true" if row_ids else ""
        return (f"read_parquet('{base / name / '**' / '*.parquet'}', hive_partitioning = true,"
                f" union_by_name = true{extra})")

    def pairs(attrs):
        return tuple(sorted((k or "", v is not None, v or "")
                            for k, v in (x for x in attrs if x is not None)))

    con = duckdb.connect()
    logs = con.execute(f"""
        SELECT l.filename, l.file_row_number,
               coalesce(epoch_ns(l.time_unix_nano), 0),
               coalesce(epoch_ns(l.observed_time_unix_nano), 0),
               list(CASE WHEN a.key IS NULL THEN NULL
                         ELSE [a.key, CASE WHEN a.type = 1 THEN a.str END] END)
        FROM {table('logs', row_ids=True)} l
        LEFT JOIN {table('log_attrs')} a ON a._part_id = l._part_id AND a.parent_id = l.id
        GROUP BY ALL""").fetchall()
    resources = dict(((f, r), pairs(attrs)) for f, r, attrs in con.execute(f"""
        SELECT l.filename, l.file_row_number,
               list(CASE WHEN a.key IS NULL THEN NULL
                         ELSE [a.key, CASE WHEN a.type = 1 THEN a.str END] END)
        FROM {table('logs', row_ids=True)} l
        LEFT JOIN {table('resource_attrs')} a
          ON a._part_id = l._part_id AND a.parent_id = l.resource.id
        GROUP BY ALL""").fetchall())
    actual = collections.Counter()
    for f, r, time, observed, attrs in logs:
        actual[(time & U64, observed & U64, pairs(attrs), resources[(f, r)])] += 1
    return actual


def check_dataset(run, tmp_path, out, every, writers):
    # Each record joined to its attributes and resource, by DuckDB and by our replay.
    assert duckdb_joins(out) == expected_joins(every)
    replay = tmp_path / "replay.jsonl"
    proc = run("convert", out, replay)
    assert "id collisions" not in proc.stderr + proc.stdout
    run("compare", every, replay)
    # Every writer instance has its own _part_id, always the innermost level.
    for f in out.rglob("*.parquet"):
        assert f.parent.name.startswith("_part_id="), f
    part_ids = {f.parent.name for f in (out / "logs").rglob("*.parquet")}
    assert len(part_ids) == writers, sorted(part_ids)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_convert_restarts_into_one_dataset(layout, inputs, run, tmp_path):
    # Scenario: 20 `convert` runs (one writer instance each) into one dataset.
    # Guarantees: 20 `_part_id`s, always innermost; the DuckDB join and our replay
    # give every record exactly its own attributes and resource.
    every, files, _ = inputs
    flags, _ = LAYOUTS[layout]
    out = tmp_path / "lake"
    for path in files:
        run("convert", path, out, *flags)
    check_dataset(run, tmp_path, out, every, RESTARTS)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_exporter_restarts_into_one_dataset(layout, inputs, run, tmp_path):
    # Scenario: 20 runs of configs/parquet-replay-checkpoint.yaml's shape
    # (receiver:parquet → exporter:parquet, one-shot) each replaying another source
    # into the same output dataset, with the layout's partitioning_strategies.
    # Guarantees: as for convert.
    every, _, lakes = inputs
    _, strategies = LAYOUTS[layout]
    out = tmp_path / "lake"
    config = tmp_path / "restart.yaml"
    partitioning = f"\n                partitioning_strategies: {strategies}" if strategies else ""
    for lake in lakes:
        config.write_text(v1_config(f"""
            src:
              type: receiver:parquet
              config:
                base_uri: "{lake}"
                signal_types: [logs]
            lake:
              type: exporter:parquet
              config:
                storage: {{file: {{base_uri: "{out}"}}}}{partitioning}
                writer_options: {{target_rows_per_file: 100000, flush_when_older_than: 5s}}
                max_pending_batches: 1  # publish at once: the one-shot run ends without the age tick""",
                                    "- {from: src, to: lake}"))
        run("run", "--num-cores", "1", "-c", config)
    check_dataset(run, tmp_path, out, every, RESTARTS)


def shared_id_space_dataset(run, files, out):
    """Two writers' files in one id space, as an old writer without `_part_id` wrote
    them on a restart (files moved directly under `<table>/`), next to a third
    writer's clean partition (files[2])."""
    for path in files[:2]:
        run("convert", path, out)
    for table in out.iterdir():
        for part in list(table.glob("_part_id=*")):
            for f in part.iterdir():
                shutil.move(str(f), str(table / f.name))
            part.rmdir()
    run("convert", files[2], out)
    return out


def test_shared_id_space_is_reported_not_joined(inputs, run, tmp_path):
    # Scenario: two writers' files in one id space, as an old writer without
    # `_part_id` wrote them on a restart (files moved directly under `<table>/`),
    # next to a third writer's clean partition.
    # Guarantees: `convert` replays the clean partition, names both colliding files,
    # says the partition was not replayed, and exits 3 (input skipped); no record of the shared id
    # space is emitted with another writer's attributes.
    _, files, _ = inputs
    out = shared_id_space_dataset(run, files, tmp_path / "lake")
    replay = tmp_path / "replay.jsonl"
    proc = run("convert", out, replay, check=False)
    assert proc.returncode == 3, proc.stderr
    text = proc.stdout + proc.stderr
    assert "id_collision" in text and "not replayed" in text, text
    assert text.count(str(out / "logs") + "/part-") >= 2, text
    assert "id collisions: 1 partition signal(s) not replayed" in text, text
    run("compare", files[2], replay)


def test_shared_id_space_makes_a_replay_run_exit_3(inputs, run, tmp_path):
    # Scenario: the dataset of the previous test replayed by `run` (receiver:parquet →
    # exporter:file, one-shot).
    # Guarantees: the clean partition is delivered, the shared id space is not, and the
    # run exits 3 with an `undelivered` line saying why (not "run successfully").
    _, files, _ = inputs
    out = shared_id_space_dataset(run, files, tmp_path / "lake")
    replay = tmp_path / "replay.jsonl"
    config = tmp_path / "replay.yaml"
    config.write_text(v1_config(f"""
            src:
              type: receiver:parquet
              config:
                base_uri: "{out}"
                signal_types: [logs]
            sink:
              type: exporter:file
              config:
                path: "{replay}\"""", "- {from: src, to: sink}"))
    proc = run("run", "--num-cores", "1", "-c", config, check=False)
    assert proc.returncode == 3, proc.stderr
    assert "undelivered:" in proc.stderr and "id space" in proc.stderr, proc.stderr
    run("compare", files[2], replay)


def test_shared_id_space_stays_unreplayed_in_a_checkpointed_rerun(inputs, run, tmp_path):
    # Scenario: the shared id space dataset replayed with a checkpoint (one-shot),
    # then the same config run again.
    # Guarantees: the checkpoint does not mark the shared id space's files replayed
    # (they never were): the rerun reports it again and exits 3 instead of ending as
    # a success with its records silently never delivered; the clean partition is
    # not replayed twice.
    _, files, _ = inputs
    out = shared_id_space_dataset(run, files, tmp_path / "lake")
    replay = tmp_path / "replay.jsonl"
    ckpt = tmp_path / "replay.ckpt"
    config = tmp_path / "replay.yaml"
    config.write_text(v1_config(f"""
            src:
              type: receiver:parquet
              config:
                base_uri: "{out}"
                signal_types: [logs]
                checkpoint: {{path: "{ckpt}", interval: 0s}}
            sink:
              type: exporter:file
              config:
                path: "{replay}\"""", "- {from: src, to: sink}"))
    for attempt in range(2):
        proc = run("run", "--num-cores", "1", "-c", config, check=False)
        assert proc.returncode == 3, (attempt, proc.stderr)
        assert "undelivered:" in proc.stderr and "id space" in proc.stderr, proc.stderr
    run("compare", files[2], replay)
