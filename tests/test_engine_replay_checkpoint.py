# SPDX-License-Identifier: Apache-2.0
"""receiver:parquet operations end to end: durable checkpoints across `kill -9`,
polling that picks up files and partitions added later, `--num-cores` splitting,
and original-time pacing. Every log record carries a unique body ("rec-<n>") so
that the output dataset can be checked record by record."""
import collections
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import time

import pytest
from engines import v1_config, wait_until

from test_engine_replay import metric

T0 = 1_795_000_000_000_000_000  # 2026-11-18, Unix ns


def write_logs(path, first, count, per_request=100, step_ns=1_000_000):
    """OTLP/JSON lines: `count` logs with bodies rec-<first..>, event times
    T0 + n * step_ns, two resources per request."""
    with open(path, "w") as out:
        for start in range(first, first + count, per_request):
            n_req = min(per_request, first + count - start)
            resources = []
            for r in range(2):
                records = [{
                    "timeUnixNano": str(T0 + n * step_ns),
                    "severityNumber": 9,
                    "body": {"stringValue": f"rec-{n}"},
                    "attributes": [{"key": "seq", "value": {"intValue": str(n)}}],
                } for n in range(start + r, start + n_req, 2)]
                resources.append({
                    "resource": {"attributes": [
                        {"key": "service.name", "value": {"stringValue": f"svc-{r}"}}]},
                    "scopeLogs": [{"scope": {"name": "replay-test"}, "logRecords": records}],
                })
            out.write(json.dumps({"resourceLogs": resources}) + "\n")


def make_lake(run, tmp_path, partitions, per_partition, rows_per_file=150, step_ns=1_000_000):
    """One `convert` per partition (each writer has its own _part_id), files rotated
    every `rows_per_file` rows. Returns the lake and the set of all bodies."""
    lake = tmp_path / "lake"
    for p in range(partitions):
        src = tmp_path / f"in-{p}.jsonl"
        write_logs(src, p * per_partition, per_partition, step_ns=step_ns)
        run("convert", "--max-batch-rows", "100", "--rows-per-file", rows_per_file, src, lake)
    return lake, {f"rec-{n}" for n in range(partitions * per_partition)}


def bodies(run, tmp_path, dataset, name):
    out = tmp_path / f"{name}.jsonl"
    if out.exists():
        out.unlink()
    run("convert", "--signal", "logs", dataset, out)
    found = collections.Counter()
    for line in out.read_text().splitlines():
        if not line.strip():
            continue
        for r in json.loads(line).get("resourceLogs", []):
            for s in r.get("scopeLogs", []):
                for rec in s.get("logRecords", []):
                    found[rec["body"]["stringValue"]] += 1
    return found


def records(run, tmp_path, dataset, name):
    """Counter of (body, seq attribute, service.name) over the dataset's logs: a
    record replayed without its attributes or resource shows as a different key."""
    out = tmp_path / f"{name}.jsonl"
    if out.exists():
        out.unlink()
    run("convert", "--signal", "logs", dataset, out)
    found = collections.Counter()
    for line in out.read_text().splitlines():
        if not line.strip():
            continue
        for r in json.loads(line).get("resourceLogs", []):
            service = {a["key"]: a["value"].get("stringValue")
                       for a in r.get("resource", {}).get("attributes", [])}.get("service.name")
            for s in r.get("scopeLogs", []):
                for rec in s.get("logRecords", []):
                    seq = {a["key"]: a["value"].get("intValue")
                           for a in rec.get("attributes", [])}.get("seq")
                    found[(rec["body"]["stringValue"], seq, service)] += 1
    return found


def expected_records(bodies_set):
    """The keys `records` gives for write_logs' records rec-<n>."""
    out = set()
    for body in bodies_set:
        n = int(body.split("-")[1])
        out.add((body, str(n), f"svc-{n % 2}"))
    return out


def pipeline(lake, second, receiver_extra="", capacity=2, pending=4, exporter_extra=""):
    """receiver:parquet `src` → exporter:parquet `dst`; the extras are YAML lines at
    the node config's indentation (14 spaces)."""
    return v1_config(f"""
          src:
            type: receiver:parquet
            config:
              base_uri: "{lake}"
              signal_types: [logs]
              processing_options: {{batch_size: 20}}
{receiver_extra}
          dst:
            type: exporter:parquet
            config:
              storage: {{file: {{base_uri: "{second}"}}}}
              writer_options: {{target_rows_per_file: 60, flush_when_older_than: 100ms}}
              max_pending_batches: {pending}
{exporter_extra}""", "- {from: src, to: dst}", f"channel_capacity: {{pdata: {capacity}}}")


def load_checkpoint(path):
    """The checkpoint's units, or None while it does not exist (or is replaced)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    if not text.endswith("# end\n"):
        return None
    return json.loads(text[: -len("# end\n")])["units"]


def done_files(units):
    return sum(len(u["files_done"]) for u in units or [])


def root_files(lake):
    return sorted((lake / "logs").glob("*/*.parquet"))


@pytest.mark.parametrize("first_cores,second_cores", [(1, 1), (2, 3)],
                         ids=["one-core", "2-then-3-cores"])
def test_kill_9_and_restart_replays_only_unacknowledged(engine, run, tmp_path, first_cores,
                                                        second_cores):
    # Scenario: a 3-partition dataset (6000 logs, many files) replayed in batches of
    # 20 into a second dataset with a checkpoint written after every Ack; the process
    # is killed with SIGKILL once the checkpoint shows some but not all root files
    # replayed; the same config runs again to the end; then a third time. With
    # cores, the restart runs on 3 (the third partition in path order moves from
    # instance 0 to instance 2) and the third run on 2 again.
    # Guarantees: every source record is in the output; duplicates are at most what
    # can be in flight (channel + exporter pending + one outbox, in batches of 20,
    # per instance); the restart skips the replayed files (emits fewer records than
    # the dataset); the third run emits nothing; the checkpoint then lists every
    # root file.
    lake, expected = make_lake(run, tmp_path, partitions=3, per_partition=2000)
    total_files = len(root_files(lake))
    assert total_files >= 30
    second = tmp_path / "second"
    ckpt = tmp_path / "state" / "replay.json"
    config = tmp_path / "replay.yaml"
    config.write_text(pipeline(lake, second, f"""              checkpoint:
                path: "{ckpt}"
                interval: 0s"""))

    # The run may end before the checkpoint shows enough: not waited on for ready.
    proc = engine(config, "--num-cores", first_cores, ready=False)
    killed_at = None

    def some_but_not_all_replayed():
        nonlocal killed_at
        units = load_checkpoint(ckpt)
        if units is not None and 3 <= done_files(units) < total_files - 10:
            proc.proc.send_signal(signal.SIGKILL)
            killed_at = done_files(units)
            return True
        return proc.returncode is not None

    wait_until(some_but_not_all_replayed, "a partly replayed checkpoint", 60,
               interval=0.005)
    proc.wait(timeout=30)
    assert killed_at is not None, "the run ended before it could be killed: " + proc.tail()
    assert proc.returncode == -signal.SIGKILL

    metrics = tmp_path / "m2.prom"
    run("run", "--num-cores", second_cores, "-c", config, "--metrics-file", metrics)
    m2 = metrics.read_text()
    resumed_emitted = metric(m2, "parquet_records_emitted", "src")
    assert 0 < resumed_emitted < len(expected)
    assert metric(m2, "parquet_resume_skipped_files", "src") >= killed_at
    assert metric(m2, "parquet_checkpoint_writes", "src") > 0
    assert metric(m2, "parquet_checkpoint_lag_batches", "src") == 0
    assert metric(m2, "parquet_orphan_rows", "src") == 0

    found = bodies(run, tmp_path, second, "out")
    missing = expected - set(found)
    assert not missing, f"{len(missing)} records lost, e.g. {sorted(missing)[:5]}"
    assert set(found) == expected
    duplicates = sum(c - 1 for c in found.values())
    in_flight_bound = (2 + 4 + 2) * 20 * first_cores
    assert duplicates <= in_flight_bound, duplicates

    # Third run: nothing new.
    metrics3 = tmp_path / "m3.prom"
    run("run", "--num-cores", first_cores, "-c", config, "--metrics-file", metrics3)
    m3 = metrics3.read_text()
    assert metric(m3, "parquet_records_emitted", "src") == 0
    assert metric(m3, "parquet_files_read", "src") == 0
    assert bodies(run, tmp_path, second, "out3") == found
    assert done_files(load_checkpoint(ckpt)) == total_files


def test_corrupt_checkpoint_is_a_clear_error(run, tmp_path):
    # Scenario: the checkpoint file is truncated (or garbage).
    # Guarantees: the run fails with exit 1 naming the file and the problem; it does
    # not silently replay from the beginning (nothing written to the output).
    lake, _ = make_lake(run, tmp_path, partitions=1, per_partition=200)
    second = tmp_path / "second"
    ckpt = tmp_path / "replay.json"
    config = tmp_path / "replay.yaml"
    config.write_text(pipeline(lake, second, f"""              checkpoint: {{path: "{ckpt}"}}"""))
    run("run", "-c", config)
    text = ckpt.read_text()
    assert text.endswith("# end\n")
    for bad in (text[: len(text) // 2], "garbage {{{"):
        ckpt.write_text(bad)
        shutil.rmtree(second)
        proc = run("run", "-c", config, check=False)
        assert proc.returncode == 1, proc.stderr
        assert str(ckpt) in proc.stderr
        assert "not a valid replay checkpoint" in proc.stderr
        assert not list(second.glob("logs/*/*.parquet"))


def test_checkpoint_object_next_to_the_dataset(run, tmp_path):
    # Scenario: `checkpoint: {object: _state/replay.json}`: stored in the dataset.
    # Guarantees: written at <base>/_state/replay.json; a second run replays nothing;
    # discovery never treats it as data.
    lake, expected = make_lake(run, tmp_path, partitions=1, per_partition=300)
    second = tmp_path / "second"
    config = tmp_path / "replay.yaml"
    config.write_text(pipeline(lake, second, "              checkpoint: {object: _state/replay.json}"))
    run("run", "-c", config)
    assert load_checkpoint(lake / "_state" / "replay.json")
    metrics = tmp_path / "m.prom"
    run("run", "-c", config, "--metrics-file", metrics)
    assert metric(metrics.read_text(), "parquet_records_emitted", "src") == 0
    assert set(bodies(run, tmp_path, second, "out")) == expected


def test_checkpoint_forgets_files_gone_from_the_dataset(run, tmp_path):
    # Scenario: a replay with a checkpoint; then retention deletes one of the two
    # partitions and a file of the other is gone (its name put in files_done by
    # hand); the replay runs again.
    # Guarantees: the checkpoint keeps no unit of the deleted partition and no name
    # of the gone file (they used to stay forever, growing with every file a
    # long-lived lake had), keeps every existing file done, and nothing is replayed
    # again.
    lake, _ = make_lake(run, tmp_path, partitions=2, per_partition=300)
    second = tmp_path / "second"
    ckpt = tmp_path / "replay.ckpt"
    config = tmp_path / "replay.yaml"
    config.write_text(pipeline(lake, second, f"""              checkpoint: {{path: "{ckpt}"}}"""))
    run("run", "-c", config)
    parts = sorted(u["partition"] for u in load_checkpoint(ckpt))
    assert len(parts) == 2
    run("partitions", "delete", lake, "--partition", parts[0], "--apply")
    doc = json.loads(ckpt.read_text()[: -len("# end\n")])
    for unit in doc["units"]:
        if unit["partition"] == parts[1]:
            unit["files_done"].append("part-0000000000000-gone.parquet")
    ckpt.write_text(json.dumps(doc) + "\n# end\n")
    metrics = tmp_path / "m.prom"
    run("run", "-c", config, "--metrics-file", metrics)
    assert metric(metrics.read_text(), "parquet_records_emitted", "src") == 0
    units = load_checkpoint(ckpt)
    assert [u["partition"] for u in units] == [parts[1]]
    assert sorted(units[0]["files_done"]) == sorted(
        f.name for f in (lake / "logs" / parts[1]).glob("*.parquet"))


def test_num_cores_split_partitions_exactly_once(run, tmp_path):
    # Scenario: 6 partitions replayed with --num-cores 3 into one output dataset.
    # Guarantees: every record exactly once; the instances' emitted counts add up to
    # the dataset.
    lake, expected = make_lake(run, tmp_path, partitions=6, per_partition=200)
    second = tmp_path / "second"
    config = tmp_path / "replay.yaml"
    config.write_text(pipeline(lake, second))
    metrics = tmp_path / "m.prom"
    run("run", "--num-cores", "3", "-c", config, "--metrics-file", metrics)
    assert metric(metrics.read_text(), "parquet_records_emitted", "src") == len(expected)
    found = bodies(run, tmp_path, second, "out")
    assert set(found) == expected
    assert max(found.values()) == 1


def fnv1a(text):
    h = 1469598103934665603
    for byte in text.encode():
        h = ((h ^ byte) * 1099511628211) % 2**64
    return h


# `_part_id` values in sorted order that the hash split of the cores (FNV-1a of the
# partition path modulo --num-cores, before the core assignment) gives all to core 0
# of 2 and of 3: the balance checks below fail on it, deterministically.
PART_IDS = [n for n in (f"00000000-0000-4000-8000-{i:012d}" for i in range(200))
            if fnv1a(f"_part_id={n}") % 6 == 0][:6]


def add_partition(run, tmp_path, lake, part_id, first, count, hold=None):
    """Logs rec-<first..first+count) as partition `_part_id=<part_id>` of `lake`:
    converted aside, then moved in a table at a time, the root table (logs) last, as
    a writer publishes. With `hold` (a directory), the newest file of every table is
    kept there instead (a flush published later, put_back_all)."""
    stage = tmp_path / f"stage-{part_id}"
    src = tmp_path / f"in-{part_id}.jsonl"
    write_logs(src, first, count)
    run("convert", "--max-batch-rows", "100", "--rows-per-file", 150, src, stage)
    for table in sorted(stage.iterdir(), key=lambda t: t.name == "logs"):
        [part] = list(table.iterdir())
        if hold is not None:
            newest = sorted(part.glob("*.parquet"))[-1]
            dest = hold / table.name / f"_part_id={part_id}" / newest.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.rename(newest, dest)
        dest = lake / table.name / f"_part_id={part_id}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.rename(part, dest)
    return {f"rec-{n}" for n in range(first, first + count)}


def put_back_all(lake, hold):
    """Publishes what add_partition held back: child tables first, the root last."""
    for dest in sorted(hold.glob("*/*/*.parquet"), key=lambda d: d.parts[-3] == "logs"):
        os.rename(dest, lake / dest.relative_to(hold))


def core_metric(text, name, node, core):
    return sum(map(int, re.findall(
        rf'otap_node_{name}(?:_total)?\{{[^}}]*node="{node}"[^}}]*core="{core}"[^}}]*\}} (\d+)',
        text)))


def per_core_config(lake, out, receiver_extra=""):
    """receiver:parquet `src` → exporter:file `out` (one OTLP/JSON file per core:
    `out` holds `{core_id}`)."""
    return v1_config(f"""
          src:
            type: receiver:parquet
            config:
              base_uri: "{lake}"
              signal_types: [logs]
              processing_options: {{batch_size: 20}}
{receiver_extra}
          out:
            type: exporter:file
            config: {{path: "{out}"}}""", "- {from: src, to: out}")


def file_bodies(paths):
    found = collections.Counter()
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            for r in json.loads(line).get("resourceLogs", []):
                for s in r.get("scopeLogs", []):
                    for rec in s.get("logRecords", []):
                        found[rec["body"]["stringValue"]] += 1
    return found


@pytest.mark.parametrize("cores,assigned", [(2, [2, 2]), (3, [2, 1, 1])])
def test_num_cores_balance_few_partitions(run, tmp_path, cores, assigned):
    # Scenario: 4 partitions of 200 logs, whose paths the old hash split gave all to
    # one core, replayed one-shot with --num-cores 2 and 3, each core writing its
    # own file.
    # Guarantees: the partitions are dealt round-robin in path order (2:2, 2:1:1:
    # `parquet_assigned_partitions` and the records each core emitted and wrote);
    # every record exactly once.
    lake = tmp_path / "lake"
    expected = set()
    for i, part_id in enumerate(PART_IDS[:4]):
        expected |= add_partition(run, tmp_path, lake, part_id, i * 200, 200)
    config = tmp_path / "replay.yaml"
    config.write_text(per_core_config(lake, tmp_path / "out-{core_id}.jsonl"))
    metrics = tmp_path / "m.prom"
    run("run", "--num-cores", cores, "-c", config, "--metrics-file", metrics)
    m = metrics.read_text()
    assert [core_metric(m, "parquet_records_emitted", "src", c)
            for c in range(cores)] == [200 * a for a in assigned]
    assert [core_metric(m, "parquet_assigned_partitions", "src", c)
            for c in range(cores)] == assigned
    for c in range(cores):
        assert sum(file_bodies([tmp_path / f"out-{c}.jsonl"]).values()) == 200 * assigned[c]
    found = file_bodies(tmp_path.glob("out-*.jsonl"))
    assert set(found) == expected
    assert max(found.values()) == 1


def test_num_cores_balance_partitions_appearing_while_following(engine, run, tmp_path):
    # Scenario: following (polling every 200ms, checkpoint) with --num-cores 2 a lake
    # of 2 partitions; once they are replayed 2 more partitions are published (all 4
    # hash to one core), then SIGTERM.
    # Guarantees: the first two are split 1:1 at start; each later one goes to the
    # core with fewer partitions (2:2 whether one pass or two see them); every
    # record exactly once.
    lake = tmp_path / "lake"
    expected = set()
    for i, part_id in enumerate(PART_IDS[:2]):
        expected |= add_partition(run, tmp_path, lake, part_id, i * 200, 200)
    config = tmp_path / "follow.yaml"
    config.write_text(per_core_config(lake, tmp_path / "out-{core_id}.jsonl", f"""\
              polling_interval: 200ms
              checkpoint: {{path: "{tmp_path / 'replay.json'}", interval: 50ms}}"""))
    metrics = tmp_path / "m.prom"
    proc = engine(config, "--num-cores", "2", "--metrics-file", metrics)

    def delivered(n):
        def reached():
            proc.check_running()
            m = proc.metrics()
            return (metric(m, "parquet_records_emitted", "src") >= n and
                    metric(m, "received_items", "out") >= n)
        wait_until(reached, f"{n} records replayed", 60)

    delivered(400)
    for i, part_id in enumerate(PART_IDS[2:4], start=2):
        expected |= add_partition(run, tmp_path, lake, part_id, i * 200, 200)
    delivered(800)
    proc.stop()
    m = metrics.read_text()
    assert [core_metric(m, "parquet_records_emitted", "src", c) for c in range(2)] == [400, 400]
    assert [core_metric(m, "parquet_assigned_partitions", "src", c) for c in range(2)] == [2, 2]
    found = file_bodies(tmp_path.glob("out-*.jsonl"))
    assert set(found) == expected
    assert max(found.values()) == 1


def test_num_cores_restart_with_other_owners_replays_each_record_once(run, tmp_path):
    # Scenario: a checkpointed one-shot replay with --num-cores 2 of partitions B and
    # C (C's newest flush not published yet); then C's flush is published and a
    # partition A, sorting first, is added; the replay runs again with --num-cores 3,
    # then a third time with 2. Owners change every run (B: core 0, 1, 1; C: 1, 2, 0).
    # Guarantees: each run's instances load the checkpoint units of the partitions
    # they own now: run 2 emits only A and C's new files, run 3 nothing; every record
    # exactly once over the runs.
    lake, hold = tmp_path / "lake", tmp_path / "held"
    b = add_partition(run, tmp_path, lake, PART_IDS[1], 0, 600)
    c = add_partition(run, tmp_path, lake, PART_IDS[2], 1000, 600, hold=hold)
    ckpt = tmp_path / "replay.json"
    extra = f"""              checkpoint: {{path: "{ckpt}", interval: 0s}}"""

    def replay(name, cores):
        config = tmp_path / f"{name}.yaml"
        config.write_text(per_core_config(lake, tmp_path / f"{name}-{{core_id}}.jsonl", extra))
        metrics = tmp_path / f"{name}.prom"
        run("run", "--num-cores", cores, "-c", config, "--metrics-file", metrics)
        m = metrics.read_text()
        return (m, [core_metric(m, "parquet_assigned_partitions", "src", k)
                    for k in range(cores)])

    m1, assigned1 = replay("run1", 2)
    assert assigned1 == [1, 1]
    first = metric(m1, "parquet_records_emitted", "src")
    assert first < len(b | c)
    put_back_all(lake, hold)
    a = add_partition(run, tmp_path, lake, PART_IDS[0], 2000, 200)
    m2, assigned2 = replay("run2", 3)
    assert assigned2 == [1, 1, 1]
    assert metric(m2, "parquet_records_emitted", "src") == len(a | b | c) - first
    assert metric(m2, "parquet_resume_skipped_files", "src") > 0
    m3, assigned3 = replay("run3", 2)
    assert assigned3 == [2, 1]
    assert metric(m3, "parquet_records_emitted", "src") == 0
    found = file_bodies(tmp_path.glob("run*-*.jsonl"))
    assert set(found) == a | b | c
    assert max(found.values()) == 1


def test_polling_picks_up_added_files_and_partitions(engine, run, tmp_path):
    # Scenario: polling every 200ms with a checkpoint (min_file_age 300ms). The last
    # root and child files of partition 1 are held back at start; once the first
    # pass is checkpointed they are put back (files added to a partition already
    # read) and a new partition is converted into the lake; then SIGTERM.
    # Guarantees: every record of the final lake exactly once in the output (no
    # duplicate: earlier files are not replayed again).
    lake, expected = make_lake(run, tmp_path, partitions=2, per_partition=600)
    held = tmp_path / "held"
    # The newest file of every table of partition 0: its last flush.
    part0 = sorted(p.name for p in (lake / "logs").iterdir())[0]
    moved = []
    for table in lake.iterdir():
        files = sorted((table / part0).glob("*.parquet"))
        if not files:
            continue
        dest = held / files[-1].relative_to(lake)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(files[-1], dest)
        moved.append(dest)
    assert moved
    first_pass_files = len(root_files(lake))
    second = tmp_path / "second"
    ckpt = tmp_path / "replay.json"
    config = tmp_path / "poll.yaml"
    config.write_text(pipeline(lake, second, f"""              polling_interval: 200ms
              checkpoint: {{path: "{ckpt}", interval: 50ms}}""").replace(
        "processing_options: {batch_size: 20}",
        "processing_options: {batch_size: 20, min_file_age: 300ms}"))
    metrics = tmp_path / "m.prom"
    proc = engine(config, "--metrics-file", metrics)

    def wait_for(files, what):
        def reached():
            proc.check_running()
            return done_files(load_checkpoint(ckpt)) >= files
        wait_until(reached, f"{what}: the checkpoint to reach {files} files")

    wait_for(first_pass_files, "first pass")
    # As a writer publishes: children first, the root table's file last.
    for dest in sorted(moved, key=lambda d: d.relative_to(held).parts[0] == "logs"):
        back = lake / dest.relative_to(held)
        shutil.move(dest, back)
        os.utime(back)  # new: younger than min_file_age for a moment
    src = tmp_path / "late.jsonl"
    write_logs(src, 10_000, 300)
    run("convert", "--max-batch-rows", "100", "--rows-per-file", "150", src, lake)
    expected |= {f"rec-{n}" for n in range(10_000, 10_300)}
    wait_for(len(root_files(lake)), "added files")
    proc.stop(signal.SIGTERM)
    found = records(run, tmp_path, second, "out")
    assert set(found) == expected_records(expected)
    assert max(found.values()) == 1
    m = metrics.read_text()
    assert metric(m, "parquet_records_emitted", "src") == len(expected)
    assert metric(m, "parquet_passes", "src") >= 2
    assert metric(m, "parquet_orphan_rows", "src") == 0


def test_pacing_original_spreads_replay_over_event_time(run, tmp_path):
    # Scenario: 400 logs whose event times span 4 s (one partition), replayed with
    # pacing original at speed 8, batch size 20.
    # Guarantees: every record delivered; the run cannot end before the schedule
    # lets the batch holding rec-300 (event time 3.0 s, the first of its batch) go,
    # 3.0 / 8 s after the first batch (enforced by the schedule, so not flaky).
    lake, expected = make_lake(run, tmp_path, partitions=1, per_partition=400,
                               step_ns=10_000_000)
    second = tmp_path / "second"
    config = tmp_path / "paced.yaml"
    config.write_text(pipeline(lake, second, "              pacing: {mode: original, speed: 8}"))
    start = time.monotonic()
    run("run", "-c", config)
    elapsed = time.monotonic() - start
    assert elapsed >= 3.0 / 8
    assert set(bodies(run, tmp_path, second, "out")) == expected


def test_checkpoint_object_on_s3(cli, s3_server, tmp_path, run):
    # Scenario: a dataset on S3 (moto server process), replayed with the checkpoint
    # stored as an object next to it, twice.
    # Guarantees: the checkpoint object is written in the bucket (one complete
    # object); the second run replays nothing.
    bucket = "replay"
    s3_server.client().create_bucket(Bucket=bucket)
    src = tmp_path / "in.jsonl"
    write_logs(src, 0, 300)
    env = s3_server.env()
    subprocess.run([str(cli), "convert", "--s3-endpoint", s3_server.endpoint, "--allow-http",
                    "--rows-per-file", "100", str(src), f"s3://{bucket}/lake"],
                   env=env, check=True, capture_output=True)
    config = tmp_path / "s3.yaml"
    config.write_text(v1_config(f"""
        src:
          type: receiver:parquet
          config:
            storage:
              s3: {{base_uri: "s3://{bucket}/lake", endpoint: "{s3_server.endpoint}",
                    allow_http: true}}
            processing_options: {{batch_size: 50}}
            checkpoint: {{object: _state/replay.json}}
        out: {{type: exporter:noop}}""", "- {from: src, to: out}"))
    counts = []
    for i in range(2):
        metrics = tmp_path / f"m{i}.prom"
        proc = subprocess.run([str(cli), "run", "-c", str(config), "--metrics-file", str(metrics)],
                              env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        counts.append(metric(metrics.read_text(), "parquet_records_emitted", "src"))
    assert counts == [300, 0]
    body = s3_server.client().get_object(Bucket=bucket, Key="lake/_state/replay.json")["Body"].read()
    text = body.decode()
    assert text.endswith("# end\n")
    units = json.loads(text[: -len("# end\n")])["units"]
    assert done_files(units) >= 3


def hold_newest(lake, held, tables=None):
    """Moves the newest file of each table (of the one partition) out of the lake:
    a flush not published yet. Returns {table: held path}."""
    moved = {}
    for table in sorted(lake.iterdir()):
        if tables is not None and table.name not in tables:
            continue
        files = sorted(table.glob("*/*.parquet"))
        if not files:
            continue
        dest = held / files[-1].relative_to(lake)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(files[-1], dest)
        moved[table.name] = dest
    return moved


def put_back(lake, held, dest):
    back = lake / dest.relative_to(held)
    shutil.move(dest, back)
    return back


def poll_config(tmp_path, lake, second, ckpt, grace="1h"):
    config = tmp_path / "poll.yaml"
    config.write_text(pipeline(lake, second, f"""              polling_interval: 100ms
              checkpoint: {{path: "{ckpt}", interval: 0s}}""").replace(
        "processing_options: {batch_size: 20}",
        f"processing_options: {{batch_size: 20, orphan_grace_period: {grace}}}"))
    return config


def wait_metric(proc, name, predicate, what):
    def reached():
        proc.check_running()
        value = metric(proc.metrics(), name, "src")
        return predicate(value) and value is not None
    wait_until(reached, what, 60)
    return metric(proc.metrics(), name, "src")


def test_polling_holds_children_until_their_root_arrives(engine, run, tmp_path):
    # Scenario: the last flush of a one-partition dataset is published the way a
    # writer does it, slowed down: its child files (log_attrs, resource_attrs,
    # scope_attrs) are there from the start and stay alone for several poll passes;
    # only then does its root file (logs) appear. Polling every 100ms, grace 1h.
    # Guarantees: while the root is missing its children are held (metric), not
    # counted as orphans; once it appears every record is replayed exactly once
    # with its attributes and resource; orphan_rows 0 (the old reader counted the
    # children as orphans in the passes before their root came).
    lake, expected = make_lake(run, tmp_path, partitions=1, per_partition=600)
    held = tmp_path / "held"
    moved = hold_newest(lake, held, tables={"logs"})
    second = tmp_path / "second"
    ckpt = tmp_path / "replay.json"
    proc = engine(poll_config(tmp_path, lake, second, ckpt))
    wait_until(lambda: done_files(load_checkpoint(ckpt)) >= len(root_files(lake)),
               "the first pass checkpointed")
    passes = metric(proc.metrics(), "parquet_passes", "src")
    wait_metric(proc, "parquet_passes", lambda v: v >= passes + 3, "3 passes without the root")
    m = proc.metrics()
    assert metric(m, "parquet_tail_held_files", "src") >= 1
    assert metric(m, "parquet_tail_held_rows", "src") > 0
    assert metric(m, "parquet_orphan_rows", "src") == 0
    put_back(lake, held, moved["logs"])
    wait_until(lambda: done_files(load_checkpoint(ckpt)) >= len(root_files(lake)),
               "the late root replayed")
    m = proc.metrics()
    assert metric(m, "parquet_tail_held_files", "src") == 0
    proc.stop(signal.SIGTERM)
    found = records(run, tmp_path, second, "out")
    assert set(found) == expected_records(expected)
    assert max(found.values()) == 1
    assert metric(m, "parquet_orphan_rows", "src") == 0
    assert metric(m, "parquet_tail_released_files", "src") == 0


def test_polling_counts_true_orphans_after_the_grace_period(engine, run, tmp_path):
    # Scenario: as above, but the root file never comes; grace period 1s.
    # Guarantees: the held log_attrs file is read after the grace period and its
    # rows (their parents never came) are counted as orphans, exactly; the other
    # records replay with their attributes.
    import pyarrow.parquet as pq
    lake, expected = make_lake(run, tmp_path, partitions=1, per_partition=600)
    held = tmp_path / "held"
    newest_attrs = sorted((lake / "log_attrs").glob("*/*.parquet"))[-1]
    orphans = pq.read_metadata(newest_attrs).num_rows
    assert orphans > 0
    moved = hold_newest(lake, held, tables={"logs"})
    missing_roots = pq.read_metadata(moved["logs"]).num_rows
    second = tmp_path / "second"
    ckpt = tmp_path / "replay.json"
    proc = engine(poll_config(tmp_path, lake, second, ckpt, grace="1s"))
    wait_until(lambda: done_files(load_checkpoint(ckpt)) >= len(root_files(lake)),
               "the first pass checkpointed")
    wait_metric(proc, "parquet_tail_released_files", lambda v: v >= 1, "released")
    wait_metric(proc, "parquet_orphan_rows", lambda v: v >= orphans, "orphans counted")
    passes = metric(proc.metrics(), "parquet_passes", "src")
    wait_metric(proc, "parquet_passes", lambda v: v >= passes + 2, "2 more passes")
    m = proc.metrics()
    proc.stop(signal.SIGTERM)
    assert metric(m, "parquet_orphan_rows", "src") == orphans
    assert metric(m, "parquet_tail_held_files", "src") == 0
    found = records(run, tmp_path, second, "out")
    lost = expected - {body for body, _, _ in found}
    assert len(lost) == missing_roots > 0
    assert set(found) == expected_records(expected - lost)
    assert max(found.values()) == 1


def test_polling_while_a_writer_converts_on_a_busy_machine(engine, run, cli, tmp_path):
    # Scenario: receiver:parquet polls every 10ms with min_file_age 0 (so it sees
    # every file the moment it is renamed into place) while `otap-parquet convert`
    # writes 8 partitions into the same lake, flushing every 20 rows, and two
    # busy-loop processes load the CPU.
    # Guarantees: every record exactly once, with its attributes and resource;
    # orphan_rows 0: children published before their roots are held, not counted
    # (main at cd5e03e counted 40-100 orphan rows in each of 3 runs).
    lake = tmp_path / "lake"
    lake.mkdir()
    second = tmp_path / "second"
    ckpt = tmp_path / "replay.json"
    config = tmp_path / "poll.yaml"
    config.write_text(pipeline(lake, second, f"""              polling_interval: 10ms
              checkpoint: {{path: "{ckpt}", interval: 0s}}"""))
    proc = engine(config)
    burners = [subprocess.Popen(["python3", "-c", "while True: pass"]) for _ in range(2)]
    expected = set()
    try:
        for p in range(8):
            src = tmp_path / f"w{p}.jsonl"
            write_logs(src, p * 1000, 400)
            expected |= {f"rec-{n}" for n in range(p * 1000, p * 1000 + 400)}
            run("convert", "--max-batch-rows", "20", "--rows-per-file", "20", src, lake)
    finally:
        for b in burners:
            b.kill()
            b.wait()
    wait_until(lambda: done_files(load_checkpoint(ckpt)) >= len(root_files(lake)),
               "every root file replayed", 120)
    m = proc.metrics()
    proc.stop(signal.SIGTERM)
    found = records(run, tmp_path, second, "out")
    assert set(found) == expected_records(expected)
    assert max(found.values()) == 1
    assert metric(m, "parquet_orphan_rows", "src") == 0


def test_kill_9_duplicates_bounded_by_checkpoint_max_batches(engine, run, tmp_path):
    # Scenario: like the kill -9 test above, but the checkpoint interval is 1h, so
    # only `max_batches: 4` makes it written (every 4 acknowledged batches).
    # Guarantees: the killed run left a partial checkpoint; after the restart every
    # record is in the output and the duplicates are at most (max_batches + what
    # can be in flight: channel 2 + exporter pending 4 + 2 outboxes) batches of 20.
    lake, expected = make_lake(run, tmp_path, partitions=3, per_partition=2000)
    total_files = len(root_files(lake))
    second = tmp_path / "second"
    ckpt = tmp_path / "state" / "replay.json"
    config = tmp_path / "replay.yaml"
    config.write_text(pipeline(lake, second, f"""              checkpoint:
                path: "{ckpt}"
                interval: 1h
                max_batches: 4"""))
    proc = engine(config, ready=False)
    killed_at = None

    def some_but_not_all_replayed():
        nonlocal killed_at
        units = load_checkpoint(ckpt)
        if units is not None and 3 <= done_files(units) < total_files - 10:
            proc.proc.send_signal(signal.SIGKILL)
            killed_at = done_files(units)
            return True
        return proc.returncode is not None

    wait_until(some_but_not_all_replayed, "a partly replayed checkpoint", 60,
               interval=0.005)
    proc.wait(timeout=30)
    assert killed_at is not None, "the run ended before it could be killed: " + proc.tail()
    run("run", "-c", config)
    found = bodies(run, tmp_path, second, "out")
    assert set(found) == expected
    duplicates = sum(c - 1 for c in found.values())
    bound = (4 + 2 + 4 + 2) * 20
    assert duplicates <= bound, duplicates


def otlp_pipeline(lake, endpoint, receiver_extra=""):
    """receiver:parquet `src` → exporter:otlp_http `out` (its own retries off: a
    refused request Nacks the batch at once)."""
    return v1_config(f"""
          src:
            type: receiver:parquet
            config:
              base_uri: "{lake}"
              signal_types: [logs]
              processing_options: {{batch_size: 20}}
{receiver_extra}
          out:
            type: exporter:otlp_http
            config:
              endpoint: {endpoint}
              max_in_flight: 1
              retry_on_failure: {{enabled: false}}""", "- {from: src, to: out}",
                     "channel_capacity: {pdata: 2}")


def dead_letter_bodies(path):
    found = collections.Counter()
    for line in path.read_text().splitlines():
        for r in json.loads(line)["resourceLogs"]:
            for s in r["scopeLogs"]:
                for rec in s["logRecords"]:
                    found[rec["body"]["stringValue"]] += 1
    return found


def test_refused_batches_are_dead_lettered_and_the_checkpoint_moves_on(run, cli, tmp_path):
    # Scenario: the OTLP peer answers 400 (permanent) to every request; the
    # receiver has a checkpoint and `dead_letter: {path: ...}`. Run twice.
    # Guarantees: every batch is written to the dead letter file as one OTLP/JSON
    # line, every record exactly once; the run exits 3 with a summary of the
    # batches and records dead-lettered; the checkpoint moved past them, so the
    # second run replays nothing (exit 0).
    from otlp_peer import OtlpPeer
    lake, expected = make_lake(run, tmp_path, partitions=1, per_partition=300)
    dead = tmp_path / "dead.jsonl"
    ckpt = tmp_path / "replay.json"
    with OtlpPeer("http", fail_all=True, failure="invalid") as peer:
        config = tmp_path / "dl.yaml"
        config.write_text(otlp_pipeline(lake, peer.endpoint, f"""              checkpoint: {{path: "{ckpt}", interval: 0s}}
              dead_letter: {{path: "{dead}"}}"""))
        metrics = tmp_path / "m1.prom"
        proc = run("run", "-c", config, "--metrics-file", metrics, check=False)
        assert proc.returncode == 3, proc.stderr
        m = metrics.read_text()
        batches = metric(m, "parquet_batches_emitted", "src")
        assert metric(m, "parquet_batches_dead_lettered", "src") == batches > 0
        assert metric(m, "parquet_records_dead_lettered", "src") == len(expected)
        assert metric(m, "parquet_batches_abandoned", "src") == 0
        assert f"src: {batches} batches ({len(expected)} records) refused downstream and " \
               "dead-lettered" in proc.stderr
        assert "finished with undelivered data" in proc.stdout
        lines = dead.read_text().splitlines()
        assert len(lines) == batches
        found = dead_letter_bodies(dead)
        assert set(found) == expected and max(found.values()) == 1
        metrics2 = tmp_path / "m2.prom"
        proc = run("run", "-c", config, "--metrics-file", metrics2)
        assert metric(metrics2.read_text(), "parquet_records_emitted", "src") == 0
        assert len(dead.read_text().splitlines()) == batches


def test_dead_letter_write_failure_keeps_the_checkpoint(run, tmp_path):
    # Scenario: as above, but the dead letter file is /dev/full (every write fails
    # with ENOSPC). Then the same config with a peer that accepts.
    # Guarantees: nothing is dead-lettered, the batches are abandoned (exit 3, errors
    # counted) and the checkpoint does not move past them: the second run replays
    # every record to the accepting peer (exit 0).
    from otlp_peer import OtlpPeer
    lake, expected = make_lake(run, tmp_path, partitions=1, per_partition=200)
    ckpt = tmp_path / "replay.json"
    receiver = f"""              checkpoint: {{path: "{ckpt}", interval: 0s}}
              dead_letter: {{path: /dev/full}}"""
    config = tmp_path / "dl.yaml"
    with OtlpPeer("http", fail_all=True, failure="invalid") as peer:
        config.write_text(otlp_pipeline(lake, peer.endpoint, receiver))
        metrics = tmp_path / "m1.prom"
        proc = run("run", "-c", config, "--metrics-file", metrics, check=False)
        assert proc.returncode == 3, proc.stderr
        m = metrics.read_text()
        batches = metric(m, "parquet_batches_emitted", "src")
        assert metric(m, "parquet_dead_letter_errors", "src") == batches > 0
        assert metric(m, "parquet_batches_dead_lettered", "src") == 0
        assert metric(m, "parquet_batches_abandoned", "src") == batches
        assert "dead letter write failed" in proc.stderr
    with OtlpPeer("http") as peer:
        config.write_text(otlp_pipeline(lake, peer.endpoint, receiver))
        metrics = tmp_path / "m2.prom"
        run("run", "-c", config, "--metrics-file", metrics)
        assert metric(metrics.read_text(), "parquet_records_emitted", "src") == len(expected)
        assert peer.items("logs") == len(expected)


def test_replay_retries_by_default(run, tmp_path):
    # Scenario: the peer answers 503 to its first 2 requests; the receiver has no
    # `retry` block (defaults) and the exporter's own retries are off.
    # Guarantees: the refused batches are sent again (default retries); the peer
    # gets every record; exit 0.
    from otlp_peer import OtlpPeer
    lake, expected = make_lake(run, tmp_path, partitions=1, per_partition=200)
    with OtlpPeer("http", fail_first=2) as peer:
        config = tmp_path / "retry.yaml"
        config.write_text(otlp_pipeline(lake, peer.endpoint))
        metrics = tmp_path / "m.prom"
        proc = run("run", "-c", config, "--metrics-file", metrics)
        assert "Pipeline run successfully" in proc.stdout
        m = metrics.read_text()
        assert metric(m, "parquet_batches_retried", "src") == \
            metric(m, "parquet_batches_nacked", "src") >= 2
        assert metric(m, "parquet_batches_abandoned", "src") == 0
        assert peer.items("logs") == len(expected)


def test_one_shot_replay_into_a_refusing_peer_exits_3(run, tmp_path):
    # Scenario: no dead letter; the peer answers 400 to every request (one-shot).
    # Guarantees: exit 3 (not "Pipeline run successfully"), a summary line with the
    # batches and records given up; the checkpoint stays before them (a second run
    # emits everything again).
    from otlp_peer import OtlpPeer
    lake, expected = make_lake(run, tmp_path, partitions=1, per_partition=200)
    ckpt = tmp_path / "replay.json"
    with OtlpPeer("http", fail_all=True, failure="invalid") as peer:
        config = tmp_path / "refused.yaml"
        config.write_text(otlp_pipeline(lake, peer.endpoint, f"""              checkpoint: {{path: "{ckpt}", interval: 0s}}"""))
        for name in ("m1", "m2"):
            metrics = tmp_path / f"{name}.prom"
            proc = run("run", "-c", config, "--metrics-file", metrics, check=False)
            assert proc.returncode == 3, proc.stderr
            assert "Pipeline run successfully" not in proc.stdout
            m = metrics.read_text()
            batches = metric(m, "parquet_batches_emitted", "src")
            assert metric(m, "parquet_records_emitted", "src") == len(expected)
            assert metric(m, "parquet_batches_abandoned", "src") == batches > 0
            assert f"src: {batches} batches ({len(expected)} records) refused downstream " \
                   "and given up" in proc.stderr
