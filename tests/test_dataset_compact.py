# SPDX-License-Identifier: Apache-2.0
"""`otap-parquet compact` (docs/operations.md "Compacting small files"): every record,
attribute and join kept (replay compared with the input, DuckDB joins compared
before and after), writer options applied, supersession honoured by replay,
`partitions`, checkpoints resumed after a compaction, a polling receiver:parquet
running through compactions (each record exactly once), kill -9 at every step of a
compaction, refusals, and S3."""
import collections
import io
import json
import os
import re
import shutil
import signal
import subprocess
import time

import duckdb
import pyarrow.parquet as pq
import pytest
from engines import wait_until

from test_engine_replay import metric
from test_engine_replay_checkpoint import (expected_records, load_checkpoint, make_lake,
                                           pipeline, records)

SIGNALS = ("logs", "traces", "metrics")


def compact(cli, lake, *args, code=0, env=None, merge=False):
    if merge:  # the reader's merge (as for files of other writers), not the copy
        env = dict(env or os.environ, OTAP_PARQUET_COMPACT_MERGE="1")
    proc = subprocess.run([str(cli), "compact", str(lake), *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == code, proc.stdout + proc.stderr
    return proc


def stopped_compact(cmd, env, point, stdout=subprocess.DEVNULL):
    """`cmd` (a compact) started and stopped with SIGSTOP at step `point`
    (OTAP_PARQUET_COMPACT_STOP_AT): the test sends SIGCONT to go on, or SIGKILL for
    a crash there."""
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.STDOUT,
                            env=dict(env, OTAP_PARQUET_COMPACT_STOP_AT=point))
    _, status = os.waitpid(proc.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), f"compact ended before {point}"
    return proc


def killed_compact(cli, lake, point, *args):
    """`compact LAKE args` killed with SIGKILL at step `point`."""
    proc = stopped_compact([str(cli), "compact", str(lake), *map(str, args)], os.environ,
                           point)
    proc.kill()
    assert proc.wait(timeout=60) == -9


def parquet_files(lake):
    return sorted(p.relative_to(lake).as_posix() for p in lake.rglob("*.parquet"))


@pytest.fixture(scope="module")
def edge_input(tmp_path_factory, cli):
    """Edge-case OTLP of all signals: traces with events and links, metrics of every
    type with exemplars and their attributes."""
    out = tmp_path_factory.mktemp("compact_in") / "in.jsonl"
    subprocess.run([str(cli), "generate", "--edge-cases", "--signal", "logs", "--signal",
                    "traces", "--signal", "metrics", "--requests", "8", "--items", "12",
                    "--seed", "3", str(out)], check=True, capture_output=True)
    return out


def small_lake(run, src, lake):
    """Many small files: every 7 records a batch, a flush every 20 rows. Converted
    once per input (next to it), then copied: the tests share edge_input, and 1067
    files cost far more to write (each fsynced) than to copy. Into an existing lake:
    converted (another partition)."""
    pristine = src.parent / f"{src.name}.small-lake"
    target = lake if lake.exists() else pristine
    if target == lake or not pristine.exists():
        run("convert", src, target, "--max-batch-rows", "7", "--rows-per-file", "20")
    if target != lake:
        shutil.copytree(pristine, lake)
    return lake


def replay(run, lake, out):
    if out.exists():
        out.unlink()
    run("convert", lake, out)
    return out


# DuckDB over the files as they lie, hiding what compaction manifests hide: the
# query of docs/operations.md ("Plain SQL engines"): files superseded by a committed
# compaction, and partitions of compactions not committed.
HIDDEN = r"""
WITH m AS (SELECT j->>'state' AS state, j->>'part_id' AS part_id, j->>'supersedes' AS supersedes,
             from_json(j->'old_files', '[{{"table": "VARCHAR", "name": "VARCHAR"}}]') AS old_files
           FROM (SELECT CAST(content AS JSON) AS j
                 FROM read_text('{base}/_compactions/*.json'))),
superseded AS (
  SELECT '{base}/' || f.table || '/' || m.supersedes || '/' || f.name AS filename
  FROM (SELECT supersedes, unnest(old_files) AS f FROM m WHERE state = 'committed') m),
committed AS (SELECT part_id FROM m WHERE state = 'committed')
"""


def visible(lake, table):
    """SQL for the rows of `table` a compaction-aware DuckDB query sees."""
    base = str(lake)
    return HIDDEN.format(base=base) + rf"""
SELECT * EXCLUDE (filename) FROM read_parquet('{base}/{table}/**/*.parquet',
                                               hive_partitioning=true, filename=true)
WHERE filename NOT IN (SELECT filename FROM superseded)
  AND (NOT regexp_matches(_part_id, '\.c[0-9a-f]{{16}}$')
       OR _part_id IN (SELECT part_id FROM committed))"""


def joined(lake):
    """Counter of spans with their attributes and events' names (DuckDB joins by
    (_part_id, id) = (_part_id, parent_id)), ids left out."""
    con = duckdb.connect()
    for view, table in (("s", "spans"), ("a", "span_attrs"), ("e", "span_events")):
        con.execute(f"CREATE VIEW {view} AS {visible(lake, table)}")
    rows = con.execute("""
      SELECT s.name, s.start_time_unix_nano, hex(s.trace_id), hex(s.span_id),
        (SELECT list(a.key || '=' || coalesce(a.str, '') || coalesce(CAST(a.int AS VARCHAR), '')
                     ORDER BY a.key, a.str, a.int)
           FROM a WHERE a._part_id = s._part_id AND a.parent_id = s.id),
        (SELECT list(e.name ORDER BY e.name, e.time_unix_nano) FROM e
           WHERE e._part_id = s._part_id AND e.parent_id = s.id)
      FROM s""").fetchall()
    return collections.Counter(map(repr, rows))


@pytest.mark.parametrize("merge", [False, True], ids=["copy", "merge"])
def test_compact_keeps_every_record_of_every_signal(cli, run, edge_input, tmp_path, merge):
    # Scenario: all signals written in many small files, compacted (grace 1h: the
    # old files stay), then compacted again with --grace 0s (they go).
    # Guarantees: the replay after compaction holds the same telemetry as the input
    # and as the replay before (every record, attribute, event, link, exemplar);
    # DuckDB's joins with the documented filter equal those before; `partitions`
    # lists the new partition only; fewer files; old files deleted after the grace.
    lake = small_lake(run, edge_input, tmp_path / "lake")
    before_files = parquet_files(lake)
    before = replay(run, lake, tmp_path / "before.jsonl")
    spans_before = joined(lake)
    out = compact(cli, lake, "--older-than", "0s", merge=merge).stdout
    assert "compacted _part_id=" in out and "1 partitions compacted" in out, out
    after = replay(run, lake, tmp_path / "after.jsonl")
    run("compare", edge_input, after)
    run("compare", before, after)
    assert joined(lake) == spans_before
    # During the grace period a plain glob sees old and new rows.
    con = duckdb.connect()
    glob = f"read_parquet('{lake}/logs/**/*.parquet')"
    logs = con.execute(f"SELECT count(*) FROM {glob}").fetchone()[0]
    assert logs == 2 * con.execute(
        f"SELECT count(*) FROM ({visible(lake, 'logs')})").fetchone()[0]
    listing = json.loads(run("partitions", lake, "--json").stdout)
    assert len(listing["partitions"]) == 1
    assert ".c" in listing["partitions"][0]["partition"]
    new_files = [f for f in parquet_files(lake) if f not in before_files]
    assert 0 < len(new_files) < len(before_files) / 10
    # Per table the new partition holds the rows of the old one (the merge may repeat
    # resource and scope attributes: each signal's batches carry their own).
    shared = {"resource_attrs", "scope_attrs"} if merge else set()
    for table in {f.split("/")[0] for f in before_files} - shared:
        old = sum(pq.ParquetFile(lake / f).metadata.num_rows for f in before_files
                  if f.startswith(table + "/"))
        new = sum(pq.ParquetFile(lake / f).metadata.num_rows for f in new_files
                  if f.startswith(table + "/"))
        assert old == new, table
    out = compact(cli, lake, "--older-than", "0s", "--grace", "0s").stdout
    assert "removed" in out, out
    assert parquet_files(lake) == sorted(new_files)
    run("compare", before, replay(run, lake, tmp_path / "final.jsonl"))
    assert con.execute(f"SELECT count(*) FROM {glob}").fetchone()[0] == logs // 2
    # Nothing left to do: already compacted.
    out = compact(cli, lake, "--older-than", "0s").stdout
    assert "0 partitions compacted" in out and "already compacted" in out, out


def test_writer_options_apply_to_the_new_files(cli, run, edge_input, tmp_path):
    lake = small_lake(run, edge_input, tmp_path / "lake")
    old = set(parquet_files(lake))
    compact(cli, lake, "--older-than", "0s", "--compression", "snappy",
            "--row-group-size", "50", "--bloom-filter-column", "trace_id")
    spans = [f for f in parquet_files(lake) if f not in old and f.startswith("spans/")]
    assert len(spans) == 1
    meta = pq.ParquetFile(lake / spans[0]).metadata
    assert meta.num_row_groups == (meta.num_rows + 49) // 50
    column = meta.row_group(0).column(0)
    assert column.compression == "SNAPPY"


def test_dry_run_and_older_than_change_nothing(cli, run, edge_input, tmp_path):
    lake = small_lake(run, edge_input, tmp_path / "lake")
    files = parquet_files(lake)
    out = compact(cli, lake, "--older-than", "0s", "--dry-run", code=3).stdout
    assert "would compact" in out, out
    out = compact(cli, lake, "--older-than", "1h").stdout
    assert "younger than --older-than" in out, out
    out = compact(cli, lake, "--older-than", "0s", "--partition", "_part_id=nope").stdout
    assert "0 partitions compacted" in out and "no such partition" in out, out
    assert parquet_files(lake) == files
    assert not (lake / "_compactions").exists()


def test_dry_run_with_only_superseded_files_to_remove_exits_3(cli, run, edge_input,
                                                              tmp_path):
    # Scenario: a compaction committed (grace 1h: old files kept), then a dry run with
    # --grace 0s, whose only work is removing the superseded files.
    # Guarantees: exit 3, as documented for a dry run that finds work (scripts run
    # the real thing on it); nothing removed. Failed on the old code: exit 0.
    lake = small_lake(run, edge_input, tmp_path / "lake")
    compact(cli, lake, "--older-than", "0s")
    files = parquet_files(lake)
    out = compact(cli, lake, "--grace", "0s", "--dry-run", code=3).stdout
    assert "(dry run: would)" in out and "0 partitions to compact" in out, out
    assert parquet_files(lake) == files
    compact(cli, lake, "--grace", "0s")
    compact(cli, lake, "--grace", "0s", "--dry-run", code=0)


def test_refuses_a_partition_with_orphans(cli, run, edge_input, tmp_path):
    # A crash leftover (a child file whose root file never appeared) would be lost by
    # the reader's merge: refused, exit 3, nothing changed. (The copy of our own files
    # keeps such rows as they were.)
    lake = small_lake(run, edge_input, tmp_path / "lake")
    root = sorted((lake / "logs").rglob("*.parquet"))[3]
    root.unlink()
    files = parquet_files(lake)
    out = compact(cli, lake, "--older-than", "0s", code=3, merge=True).stdout
    assert "refused" in out and "orphan_rows=" in out, out
    assert parquet_files(lake) == files
    assert not list((lake / "_compactions").glob("*.json"))


def test_refuses_a_partition_whose_root_ids_collide(cli, run, tmp_path):
    # Two writers' files in one _part_id (e.g. copied together): their root ids
    # overlap, so a replay cannot tell whose attributes are whose and skips the
    # signal (id collision). The copy must not merge them into one file, where the
    # collision no longer shows (every log would get the attributes of two).
    # Failed on the old code: compacted (exit 0), and the replay then joined logs of
    # both writers.
    lake = tmp_path / "lake"
    for seed, name in (("1", "a"), ("2", "b")):
        src = tmp_path / f"{name}.jsonl"
        run("generate", "--signal", "logs", "--requests", "3", "--items", "10",
            "--seed", seed, src)
        small_lake(run, src, tmp_path / name)
    part = next((tmp_path / "a" / "logs").iterdir()).name
    for table in (tmp_path / "b").iterdir():
        for f in table.rglob("*.parquet"):
            shutil.copy(f, tmp_path / "a" / table.name / part / f.name)
    shutil.move(tmp_path / "a", lake)
    files = parquet_files(lake)
    out = compact(cli, lake, "--older-than", "0s", "--grace", "0s", code=3).stdout
    assert "refused" in out and "id collision" in out and "ids 0.." in out, out
    assert parquet_files(lake) == files
    assert not list((lake / "_compactions").glob("*.json"))
    # DuckDB still sees two writers' ids in the one id space.
    con = duckdb.connect()
    dup = con.execute(f"SELECT count(*) - count(DISTINCT id) FROM read_parquet("
                      f"'{lake}/logs/**/*.parquet')").fetchone()[0]
    assert dup > 0


def test_refuses_a_partition_with_a_corrupt_file_and_compacts_the_others(
        cli, run, edge_input, tmp_path):
    # A file that is not Parquet (a truncated copy) in one partition: that partition
    # is refused naming the file (exit 3), the others are compacted all the same.
    # Failed on the old code: the whole run stopped with exit 1 and compacted nothing.
    lake = small_lake(run, edge_input, tmp_path / "lake")
    small_lake(run, edge_input, lake)
    parts = sorted(p.name for p in (lake / "logs").iterdir())
    assert len(parts) == 2
    bad = sorted((lake / "log_attrs" / parts[0]).glob("*.parquet"))[0]
    bad.write_bytes(b"not parquet")
    out = compact(cli, lake, "--older-than", "0s", code=3).stdout
    assert f"refused   {parts[0]}" in out and bad.name in out, out
    assert f"compacted {parts[1]}" in out, out
    assert "1 partitions compacted, 1 refused" in out, out


def test_a_file_finished_recently_is_young_whatever_its_mtime(cli, run, tmp_path):
    # On object stores a file's Last-Modified is when its multipart upload started,
    # i.e. when the writer opened it (docs: repair): a writer that keeps files open
    # longer than --older-than publishes a flush whose child files look old while its
    # root file is not there yet (roots are published last). Reproduced on local
    # files: the last root file not yet published (moved aside), every file's mtime
    # set two hours back, then `compact` with the default --older-than 1h.
    # Guarantees: the partition is skipped (its files were finished moments ago, as
    # their footers say); once the root file is published the replay equals the
    # input. Failed on the old code: the children were compacted without their root
    # (and the old files deleted), so the root published afterwards replayed without
    # its attributes and resources.
    src = tmp_path / "in.jsonl"
    run("generate", "--signal", "logs", "--requests", "3", "--items", "10", "--seed",
        "5", src)
    lake = small_lake(run, src, tmp_path / "lake")
    root = sorted((lake / "logs").rglob("*.parquet"))[-1]
    aside = tmp_path / root.name
    shutil.move(root, aside)
    two_hours_ago = time.time() - 7200
    for f in lake.rglob("*.parquet"):
        os.utime(f, (two_hours_ago, two_hours_ago))
    files = parquet_files(lake)
    out = compact(cli, lake, "--grace", "0s").stdout
    assert "0 partitions compacted" in out and "finished less than" in out, out
    assert parquet_files(lake) == files
    root.parent.mkdir(parents=True, exist_ok=True)  # as the writer would
    shutil.move(aside, root)
    run("compare", src, replay(run, lake, tmp_path / "out.jsonl"))


def test_checkpoint_resumed_after_compaction(cli, run, tmp_path):
    # Scenario: a checkpoint stands in the middle of partition 1 of 3 (written by
    # hand: first root file done, 7 rows of the second); the partitions are then
    # compacted (old files deleted), and the checkpointed replay resumed.
    # Guarantees: the resumed replay delivers exactly the records the checkpoint had
    # not covered, each once.
    lake, expected = make_lake(run, tmp_path, partitions=3, per_partition=300,
                               rows_per_file=40)
    parts = sorted(p.name for p in (lake / "logs").iterdir())
    roots = {p: sorted((lake / "logs" / p).glob("*.parquet")) for p in parts}
    def bodies_of(f):
        return [b["str"] for b in pq.read_table(f, columns=["body"])["body"].to_pylist()]

    covered = set()
    units = [{"signal": "logs", "partition": parts[0], "files_done":
              [f.name for f in roots[parts[0]]], "file": "", "row": 0}]
    for f in roots[parts[0]]:
        covered |= set(bodies_of(f))
    mid = roots[parts[1]]
    covered |= set(bodies_of(mid[0])) | set(bodies_of(mid[1])[:7])
    units.append({"signal": "logs", "partition": parts[1], "files_done": [mid[0].name],
                  "file": mid[1].name, "row": 7})
    ckpt = tmp_path / "replay.ckpt"
    ckpt.write_text(json.dumps({"format": "otap-parquet-replay-checkpoint", "version": 1,
                                "dataset": lake.resolve().as_uri(),
                                "written_unix_nano": 1, "units": units}) + "\n# end\n")
    compact(cli, lake, "--older-than", "0s", "--grace", "0s")
    assert sorted(p.name for p in (lake / "logs").iterdir()) != parts
    config = tmp_path / "replay.yaml"
    second_lake = tmp_path / "copy"
    config.write_text(pipeline(lake, second_lake, f"""              checkpoint: {{path: "{ckpt}"}}"""))
    run("run", "-c", config)
    found = records(run, tmp_path, second_lake, "out")
    assert set(found) == expected_records(expected - covered)
    assert max(found.values()) == 1


def emitted(proc):
    """Records a running engine's receiver `src` has emitted so far."""
    proc.check_running()
    return metric(proc.metrics(), "parquet_records_emitted", "src")


def finish_polling_replay(proc, run, tmp_path, second, expected):
    """Waits until a polling replay into `second` has emitted every record and
    made two more passes, stops it, and checks each record arrived exactly once
    and no file was skipped as corrupt."""
    wait_until(lambda: emitted(proc) >= len(expected), "every record emitted", 120)
    passes = metric(proc.metrics(), "parquet_passes", "src")
    wait_until(lambda: metric(proc.metrics(), "parquet_passes", "src") >= passes + 2,
               "two more passes", 60)
    assert metric(proc.metrics(), "parquet_corrupt_files", "src") == 0
    proc.stop()
    found = records(run, tmp_path, second, "out")
    assert set(found) == expected_records(expected)
    assert max(found.values()) == 1


def test_polling_receiver_during_compactions_delivers_each_record_once(
        engine, cli, run, tmp_path):
    # Scenario: a polling receiver:parquet (checkpoint, 100ms polls) replays a lake of
    # four partitions of small files while `compact` runs twice: first with a grace
    # period (old files stay), then with --grace 0s (they are deleted); the receiver
    # may be anywhere in its passes meanwhile (the deterministic versions of each
    # interleaving: ReceiverDuringCompactionTest, CompactionInterleavingTest).
    # Guarantees: every record delivered exactly once; nothing skipped as corrupt.
    lake, expected = make_lake(run, tmp_path, partitions=4, per_partition=400,
                               rows_per_file=30)
    second = tmp_path / "second"
    ckpt = tmp_path / "replay.ckpt"
    config = tmp_path / "poll.yaml"
    config.write_text(pipeline(lake, second, f"""              polling_interval: 100ms
              checkpoint: {{path: "{ckpt}", interval: 0s}}"""))
    proc = engine(config, "--metrics-file", tmp_path / "m.prom")
    compact(cli, lake, "--older-than", "0s", "--grace", "1h")
    compact(cli, lake, "--older-than", "0s", "--grace", "0s")
    assert not [f for f in parquet_files(lake) if ".c" not in f]
    finish_polling_replay(proc, run, tmp_path, second, expected)


@pytest.mark.parametrize("point", ["pending", "writing", "written", "committed",
                                   "removing"])
def test_kill_9_at_any_point_keeps_every_record_once(cli, run, edge_input, tmp_path,
                                                     point):
    # Scenario: `compact --grace 0s` killed with SIGKILL at each step (stopped there
    # by OTAP_PARQUET_COMPACT_STOP_AT first), then replayed, then compacted again.
    # Guarantees: after the kill the dataset replays equal to the input (each record
    # once); the next run finishes or undoes the compaction, and afterwards the
    # replay is still equal, with only the new files left.
    lake = small_lake(run, edge_input, tmp_path / "lake")
    killed_compact(cli, lake, point, "--older-than", "0s", "--grace", "0s",
                   "--target-size", "16KiB")
    run("compare", edge_input, replay(run, lake, tmp_path / "killed.jsonl"))
    out = compact(cli, lake, "--older-than", "0s", "--grace", "0s").stdout
    run("compare", edge_input, replay(run, lake, tmp_path / "after.jsonl"))
    if point in ("pending", "writing", "written"):
        assert "abandoned" in out, out
    listing = json.loads(run("partitions", lake, "--json").stdout)
    assert len(listing["partitions"]) == 1
    left = {f.split("/")[1] for f in parquet_files(lake)}
    assert left == {listing["partitions"][0]["partition"]}, left


def test_compact_on_s3(s3_server, cli, run, edge_input, tmp_path):
    client = s3_server.client()
    client.create_bucket(Bucket="telemetry")
    flags = ["--s3-endpoint", s3_server.endpoint, "--allow-http"]
    env = s3_server.env()

    def run_env(*args):
        proc = subprocess.run([str(cli), *map(str, args)], capture_output=True,
                              text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    uri = "s3://telemetry/lake"
    # Every table in 7 or more files (222 in all): every request to moto takes its
    # time, and compact makes about 30 per file (files every 40 rows, 688 of them,
    # made this test 2 minutes).
    run_env("convert", edge_input, uri, "--max-batch-rows", "7", "--rows-per-file", "200",
            *flags)

    def keys():
        return sorted(o["Key"] for page in client.get_paginator("list_objects_v2")
                      .paginate(Bucket="telemetry") for o in page.get("Contents", []))

    old = [k for k in keys() if k.endswith(".parquet")]
    before = tmp_path / "before.jsonl"
    run_env("convert", uri, before, *flags)
    out = run_env("compact", uri, "--older-than", "0s", "--grace", "0s", *flags).stdout
    assert "1 partitions compacted" in out, out
    after = tmp_path / "after.jsonl"
    run_env("convert", uri, after, *flags)
    run("compare", before, after)
    run("compare", edge_input, after)
    new = [k for k in keys() if k.endswith(".parquet")]
    assert not set(new) & set(old)
    assert 0 < len(new) < len(old)
    assert [k for k in keys() if "_compactions/" in k]


@pytest.fixture(scope="module")
def race_input(tmp_path_factory, cli):
    """A smaller input for the S3 race tests (S3Lake): edge-case logs and traces (child
    tables two deep), 2385 rows, 38 files of 3-4 per table in S3Lake. The races are
    about one partition's manifests, markers and file sets, whatever their size or
    tables, and every request to moto takes its time: edge_input's 688 files made
    each race test 2-3 minutes. test_compact_on_s3 covers edge_input's every table."""
    out = tmp_path_factory.mktemp("race_in") / "in.jsonl"
    subprocess.run([str(cli), "generate", "--edge-cases", "--signal", "logs", "--signal",
                    "traces", "--requests", "2", "--items", "12", "--seed", "3", str(out)],
                   check=True, capture_output=True)
    return out


class S3Lake:
    """A small-file lake on the moto S3 server, with an independent row count
    (boto3 + pyarrow footers, applying the manifests as docs/operations.md's
    "Plain SQL engines" filter does), of `race_input`."""

    def __init__(self, server, cli, src, tmp_path):
        self.client = server.client()
        self.client.create_bucket(Bucket="telemetry")
        self.cli, self.env, self.tmp = cli, server.env(), tmp_path
        self.flags = ["--s3-endpoint", server.endpoint, "--allow-http"]
        self.uri = "s3://telemetry/lake"
        self.run("convert", src, self.uri, "--max-batch-rows", "7", "--rows-per-file",
                 "200")

    def run(self, *args, code=0):
        proc = subprocess.run([str(self.cli), *map(str, args), *self.flags],
                              capture_output=True, text=True, env=self.env, timeout=600)
        assert code is None or proc.returncode == code, proc.stdout + proc.stderr
        return proc

    def paused_compact(self, point, *args):
        """A compact run stopped (SIGSTOP) at step `point`; resume() finishes it."""
        log = open(self.tmp / f"compact-{point}-{len(args)}.log", "w+")
        proc = stopped_compact([str(self.cli), "compact", self.uri, *map(str, args),
                                *self.flags], self.env, point, log)

        def resume():
            proc.send_signal(signal.SIGCONT)
            code = proc.wait(timeout=600)
            log.seek(0)
            return code, log.read()
        return resume

    def keys(self):
        return sorted(o["Key"] for page in self.client.get_paginator("list_objects_v2")
                      .paginate(Bucket="telemetry") for o in page.get("Contents", []))

    def visible_rows(self, table):
        keys = self.keys()
        manifests = [json.loads(self.client.get_object(Bucket="telemetry", Key=k)
                                ["Body"].read())
                     for k in keys if "/_compactions/" in k and k.endswith(".json")]
        # In force: committed, and every new file there (as our readers require).
        committed = [m for m in manifests if m["state"] == "committed" and all(
            f"lake/{f['table']}/{m['partition']}/{f['name']}" in keys
            for f in m["new_files"])]
        hidden = {f"lake/{f['table']}/{m['supersedes']}/{f['name']}"
                  for m in committed for f in m["old_files"]}
        in_force = {m["part_id"] for m in committed}
        rows = 0
        for key in keys:
            if not key.startswith(f"lake/{table}/") or not key.endswith(".parquet"):
                continue
            part_id = re.search(r"_part_id=([^/]+)/", key).group(1)
            if key in hidden or (re.search(r"\.c[0-9a-f]{16}$", part_id)
                                 and part_id not in in_force):
                continue
            body = self.client.get_object(Bucket="telemetry", Key=key)["Body"].read()
            rows += pq.ParquetFile(io.BytesIO(body)).metadata.num_rows
        return rows

    def counts(self):
        return {t: self.visible_rows(t) for t in ("logs", "log_attrs", "spans",
                                                  "span_attrs", "span_events")}


@pytest.mark.parametrize("point", ["pending", "written"])
def test_two_compacts_at_once_on_s3_keep_every_row_once(s3_server, cli, run, race_input,
                                                        tmp_path, point):
    # Scenario: two `compact` runs on one S3 dataset at once (two machines, cron
    # overlap; object stores have no flock): run A is stopped after its pending
    # manifest (or after publishing its new files), run B compacts the same
    # partition meanwhile, then A goes on.
    # Guarantee: every row visible exactly once (an independent count and our
    # replay); one of the runs refuses (exit 3). Both used to commit a compaction
    # of the same files: every row twice.
    lake = S3Lake(s3_server, cli, race_input, tmp_path)
    before = lake.counts()
    resume_a = lake.paused_compact(point, "--older-than", "0s")
    b = lake.run("compact", lake.uri, "--older-than", "0s", code=None)
    code_a, out_a = resume_a()
    assert lake.counts() == before
    assert sorted([code_a, b.returncode]) == [0, 3], (out_a, b.stdout, b.stderr)
    refused = out_a if code_a == 3 else b.stdout
    assert "another compaction" in refused, refused
    after = tmp_path / "after.jsonl"
    lake.run("convert", lake.uri, after)
    run("compare", race_input, after)
    # The next run (grace 0s) deletes the superseded files: still every row once.
    lake.run("compact", lake.uri, "--older-than", "0s", "--grace", "0s")
    assert lake.counts() == before


def test_compact_whose_pending_compaction_another_run_abandoned_loses_nothing_on_s3(
        s3_server, cli, run, race_input, tmp_path):
    # Scenario: run A (--grace 0s) is stopped after publishing its new files, before
    # its commit; run B (--grace 0s, nothing of its own to compact) takes A's pending
    # compaction for a crashed one and undoes it (deletes A's new files and
    # manifest); then A goes on.
    # Guarantee: no row lost. A used to commit a manifest naming deleted files and
    # delete the files it superseded: the partition's rows were gone.
    lake = S3Lake(s3_server, cli, race_input, tmp_path)
    before = lake.counts()
    resume_a = lake.paused_compact("written", "--older-than", "0s", "--grace", "0s")
    b = lake.run("compact", lake.uri, "--older-than", "100000h", "--grace", "0s")
    assert "abandoned" in b.stdout, b.stdout
    code_a, out_a = resume_a()
    assert lake.counts() == before
    assert code_a == 3 and "undone by another compact" in out_a, out_a
    after = tmp_path / "after.jsonl"
    lake.run("convert", lake.uri, after)
    run("compare", race_input, after)
    # A later run compacts the partition normally.
    out = lake.run("compact", lake.uri, "--older-than", "0s", "--grace", "0s").stdout
    assert "1 partitions compacted" in out, out
    assert lake.counts() == before


@pytest.mark.parametrize("point", ["abandoning", "abandon-claimed"])
def test_undo_racing_the_commit_of_a_slow_run_loses_nothing_on_s3(
        s3_server, cli, run, race_input, tmp_path, point):
    # Scenario: run A (--grace 0s) is stopped after publishing its new files, before
    # its commit; run B (--grace 0s, nothing of its own to compact) takes A's pending
    # compaction for a crashed one and is stopped inside its undo: right after
    # deciding, or with its marker written and A's manifest read again (still
    # pending). Then A goes on: commits and deletes the files it superseded (unless
    # B's marker is listed); then B goes on.
    # Guarantee: every row visible exactly once (an independent count and our
    # replay). B used to delete A's new files after A had deleted the superseded
    # ones: the partition's rows were gone.
    lake = S3Lake(s3_server, cli, race_input, tmp_path)
    before = lake.counts()
    resume_a = lake.paused_compact("written", "--older-than", "0s", "--grace", "0s")
    resume_b = lake.paused_compact(point, "--older-than", "100000h", "--grace", "0s")
    code_a, out_a = resume_a()
    assert code_a == 0 and "1 partitions compacted" in out_a, out_a
    code_b, out_b = resume_b()
    assert code_b == 0, out_b
    assert lake.counts() == before
    def said(out, kind):  # a cleanup line of this kind
        return re.search(rf"^{kind} ", out, re.M) is not None
    if point == "abandoning":  # B found the commit and left it alone
        assert said(out_b, "waiting") and not said(out_b, "abandoned"), out_b
    else:  # A kept the superseded files while B's marker was there
        assert said(out_a, "abandoning") and not said(out_a, "removed"), out_a
        assert said(out_b, "abandoned"), out_b
    after = tmp_path / "after.jsonl"
    lake.run("convert", lake.uri, after)
    run("compare", race_input, after)
    # A later run finishes (or redoes) the compaction: still every row once, and no
    # marker left.
    lake.run("compact", lake.uri, "--older-than", "0s", "--grace", "0s")
    assert lake.counts() == before
    assert not [k for k in lake.keys() if ".abandoning-" in k]


def test_repair_removes_the_stale_abandon_marker_of_a_killed_compact_on_s3(
        s3_server, cli, run, edge_input, tmp_path):
    # Scenario: run A (--grace 0s) is stopped after publishing its new files, before
    # its commit; run B (--grace 0s) takes A's pending compaction for a crashed one,
    # writes its abandon marker and is killed (SIGKILL) there. A goes on: commits,
    # and keeps the files it superseded while B's marker is listed. Every row is
    # now twice on disk (once for our readers).
    # Guarantees: repair keeps a marker younger than its grace period (a live undo);
    # once the marker is older (--grace-period 0s) repair --apply removes it and
    # deletes the superseded files as compact does: every row exactly once on disk,
    # every row still visible. Repair used to leave the marker (and the second copy)
    # forever.
    lake = S3Lake(s3_server, cli, edge_input, tmp_path)
    before = lake.counts()

    def stored_rows(table):  # every Parquet object of the table, manifests ignored
        return sum(pq.ParquetFile(io.BytesIO(lake.client.get_object(
            Bucket="telemetry", Key=k)["Body"].read())).metadata.num_rows
            for k in lake.keys()
            if k.startswith(f"lake/{table}/") and k.endswith(".parquet"))

    assert {t: stored_rows(t) for t in before} == before
    resume_a = lake.paused_compact("written", "--older-than", "0s", "--grace", "0s")
    b = stopped_compact([str(cli), "compact", lake.uri, "--older-than", "100000h",
                         "--grace", "0s", *lake.flags], lake.env, "abandon-claimed")
    b.kill()
    assert b.wait(timeout=60) == -9
    code_a, out_a = resume_a()
    assert code_a == 0 and re.search(r"^abandoning ", out_a, re.M), out_a
    markers = [k for k in lake.keys() if ".abandoning-" in k]
    assert len(markers) == 1
    assert lake.counts() == before
    assert {t: stored_rows(t) for t in before} == {t: 2 * n for t, n in before.items()}

    young = lake.run("repair", lake.uri, "--apply")
    assert "kept (younger than the grace period)" in young.stdout, young.stdout
    assert [k for k in lake.keys() if ".abandoning-" in k] == markers
    assert {t: stored_rows(t) for t in before} == {t: 2 * n for t, n in before.items()}

    dry = lake.run("repair", lake.uri, "--grace-period", "0s", code=3)
    assert f"abandon-marker s3://telemetry/{markers[0]}" in dry.stdout, dry.stdout
    assert "1 stale abandon markers;" in dry.stdout, dry.stdout
    assert [k for k in lake.keys() if ".abandoning-" in k] == markers

    done = lake.run("repair", lake.uri, "--apply", "--grace-period", "0s")
    old_files = sum(len(m["old_files"]) for m in (
        json.loads(lake.client.get_object(Bucket="telemetry", Key=k)["Body"].read())
        for k in lake.keys() if k.endswith(".json")))
    assert f"{old_files} superseded files removed" in done.stdout, done.stdout
    assert (f"1 stale abandon markers (their compactions finished: {old_files} files "
            f"removed)") in done.stdout, done.stdout
    assert not [k for k in lake.keys() if ".abandoning-" in k]
    assert {t: stored_rows(t) for t in before} == before
    assert lake.counts() == before
    after = tmp_path / "after.jsonl"
    lake.run("convert", lake.uri, after)
    run("compare", edge_input, after)
    # Nothing left for compact to finish.
    out = lake.run("compact", lake.uri, "--older-than", "100000h", "--grace", "0s").stdout
    assert not re.search(r"^(abandoning|removed|incomplete) ", out, re.M), out


def test_compact_refuses_a_partition_a_file_was_published_into_meanwhile_on_s3(
        s3_server, cli, run, race_input, tmp_path):
    # Scenario: every file of a partition looked older than --older-than, but a
    # writer is still adding to it (on S3 a file without our writer's finish time,
    # upstream's, is aged by Last-Modified, the start of its multipart upload): a
    # child file is published into it while compact runs, before its commit.
    # Guarantee: the compaction is undone and refused (exit 3): the late file's
    # parent rows are not moved to new ids behind its back. It used to commit.
    lake = S3Lake(s3_server, cli, race_input, tmp_path)
    before = lake.counts()
    resume_a = lake.paused_compact("written", "--older-than", "0s", "--grace", "0s")
    child = next(k for k in lake.keys() if k.startswith("lake/log_attrs/")
                 and not re.search(r"\.c[0-9a-f]{16}/", k))
    late = child.rsplit("/", 1)[0] + "/part-9999999999999-late.parquet"
    lake.client.copy_object(Bucket="telemetry", Key=late,
                            CopySource={"Bucket": "telemetry", "Key": child})
    code_a, out_a = resume_a()
    assert code_a == 3 and "changed while compacting" in out_a, out_a
    assert not [k for k in lake.keys() if ".c" in k.split("/_part_id=")[-1]
                and k.endswith(".parquet")]
    lake.client.delete_object(Bucket="telemetry", Key=late)
    assert lake.counts() == before


def test_superseded_files_kept_when_new_files_of_a_commit_are_missing_on_s3(
        s3_server, cli, run, race_input, tmp_path):
    # Scenario: a committed compaction whose new partition lost a file (a run that
    # undid it as abandoned right before its commit landed, or a hand deletion):
    # readers ignore that compaction and read the superseded files. Then a run
    # past the grace period cleans up.
    # Guarantee: the superseded files are kept (exit 3, "incomplete"): no row lost.
    # They used to be deleted: the rows were gone.
    lake = S3Lake(s3_server, cli, race_input, tmp_path)
    before = lake.counts()
    lake.run("compact", lake.uri, "--older-than", "0s")
    new = [k for k in lake.keys() if k.startswith("lake/log_attrs/") and ".c" in k]
    lake.client.delete_object(Bucket="telemetry", Key=new[0])
    assert lake.counts() == before
    proc = lake.run("compact", lake.uri, "--older-than", "100000h", "--grace", "0s",
                    code=None)
    assert lake.counts() == before
    assert proc.returncode == 3 and "incomplete" in proc.stdout, proc.stdout
    after = tmp_path / "after.jsonl"
    lake.run("convert", lake.uri, after)
    run("compare", race_input, after)


@pytest.fixture
def counted_s3_server(tmp_path):
    """A moto S3 server that logs every request it answers (S3Server.requests())."""
    from s3_server import S3Server

    server = S3Server(request_log=tmp_path / "s3-requests.jsonl").start()
    try:
        yield server
    finally:
        server.stop()


def test_compact_on_s3_reads_each_file_once_and_pays_few_requests(
        counted_s3_server, cli, run, race_input, tmp_path):
    # Scenario: S3Lake's small files (38 of them, 3-4 per table) compacted on a moto
    # server that counts the requests it answers; object stores bill each one.
    # Guarantees (counts fixed by the data, not by timing): every old file is read
    # by one GET, whole (no HEAD to learn a listed file's size, no footer read
    # before a read per column chunk, not once per check), and the run stays within
    # 10 requests per old file in all (320 now: 110 listings, 3 per deleted file, 3
    # per multipart upload of a new file or the manifest). It used to take 27 per file (1,044): 411 HEAD, 230 ranged
    # GETs, 288 listings.
    server = counted_s3_server
    lake = S3Lake(server, cli, race_input, tmp_path)
    old = [k for k in lake.keys() if k.endswith(".parquet")]
    before = lake.counts()
    server.reset_requests()
    out = lake.run("compact", lake.uri, "--older-than", "0s", "--grace", "0s").stdout
    assert "1 partitions compacted" in out, out
    counts = server.requests()
    new = [k for k in lake.keys() if k.endswith(".parquet")]
    assert len(old) == 38 and 0 < len(new) < len(old)
    reads = counts["GET"] + counts["GET range"]
    # Each old file once; each new file's footer once (its rows for the manifest);
    # the manifest four times, each a check for a concurrent run (rivals, before the
    # commit, the cleanup's listing and its re-read after the abandon markers).
    assert reads <= len(old) + len(new) + 4, counts
    # Arrow's DeleteFile checks that each old file exists; the CLI stats the base;
    # a manifest is read by path (a commit rewrites it: a listed size may be stale).
    assert counts["HEAD"] <= len(old) + 5, counts
    assert counts["total"] <= 10 * len(old), counts
    assert lake.counts() == before


def test_copy_refuses_a_partition_with_orphan_child_rows_until_repair(
        cli, run, edge_input, tmp_path):
    # A root file lost (crash between the renames of one flush): its children are
    # orphans, which `repair --apply` removes. The copy used to gather them into new
    # files next to good rows, where repair only reports a partial-child it never
    # removes and `inspect --check` kept exiting 3. Now refused until repair ran.
    lake = small_lake(run, edge_input, tmp_path / "lake")
    sorted((lake / "logs").rglob("*.parquet"))[3].unlink()
    files = parquet_files(lake)
    out = compact(cli, lake, "--older-than", "0s", "--grace", "0s", code=3).stdout
    assert "refused" in out and "orphan_rows=" in out and "repair --apply" in out, out
    assert parquet_files(lake) == files
    run("repair", lake, "--apply", "--grace-period", "0s")
    before = tmp_path / "before.jsonl"
    replay(run, lake, before)
    out = compact(cli, lake, "--older-than", "0s", "--grace", "0s").stdout
    assert "1 partitions compacted" in out, out
    assert run("inspect", lake, "--check", check=False).returncode == 0
    repaired = run("repair", lake, "--grace-period", "0s", check=False)
    assert repaired.returncode == 0, repaired.stdout
    after = tmp_path / "after.jsonl"
    replay(run, lake, after)
    run("compare", before, after)


def test_second_compact_refuses_while_another_holds_the_lock(cli, run, edge_input,
                                                             tmp_path):
    # Two runs at once could undo each other's pending compaction (--grace 0s): the
    # lock file in the dataset root is held for the run. The test holds it itself,
    # as a running compact would.
    import fcntl
    lake = small_lake(run, edge_input, tmp_path / "lake")
    files = parquet_files(lake)
    with open(lake / ".compact.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        proc = compact(cli, lake, "--older-than", "0s", "--grace", "0s", code=3)
        assert "another compact is running" in proc.stderr, proc.stderr
        assert parquet_files(lake) == files
        assert not list((lake / "_compactions").glob("*.json"))
        # A dry run changes nothing: it does not need the lock.
        compact(cli, lake, "--older-than", "0s", "--dry-run", code=3)
    out = compact(cli, lake, "--older-than", "0s", "--grace", "0s").stdout
    assert "1 partitions compacted" in out, out
    # The lock is released with the run; the lock file does not disturb readers.
    with open(lake / ".compact.lock", "a") as again:
        fcntl.flock(again, fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert run("inspect", lake, "--check", check=False).returncode == 0


def test_compact_takes_the_retry_flags(cli, run, edge_input, tmp_path):
    # Like every other dataset command (object stores: retries of one request).
    lake = small_lake(run, edge_input, tmp_path / "lake")
    compact(cli, lake, "--older-than", "0s", "--grace", "0s", "--retry-timeout", "30s",
            "--max-retries", "2")
