# SPDX-License-Identifier: Apache-2.0
"""receiver:parquet: a checkpointed replay that resumes in the middle of a file,
combined with `time_range`, `pacing` and `dead_letter`. Every log record carries
a unique body ("rec-<n>") and event time T0 + n ms, so what each run delivered
can be checked record by record against what the checkpoint had not covered."""
import collections
import json

import pyarrow as pa
import pyarrow.parquet as pq

from test_engine_replay import metric
from test_engine_replay_checkpoint import (T0, dead_letter_bodies, make_lake,
                                           otlp_pipeline, pipeline, records,
                                           expected_records)

MS = 1_000_000


def rows_of(f):
    """(body, event time) of a root file's rows, in file order."""
    t = pq.read_table(f, columns=["body", "time_unix_nano"])
    times = t["time_unix_nano"].cast(pa.int64()).to_pylist()
    return list(zip((b["str"] for b in t["body"].to_pylist()), times))


def peer_bodies(peer):
    """Counter of the log bodies the peer accepted (protobuf requests)."""
    found = collections.Counter()
    with peer.lock:
        requests = [r for s, r, _ in peer.accepted if s == "logs"]
    for request in requests:
        for r in request.resource_logs:
            for s in r.scope_logs:
                for rec in s.log_records:
                    found[rec.body.string_value] += 1
    return found


def hand_checkpoint(lake, path, done, file, row):
    """A checkpoint of the lake's single logs partition: `done` root files
    replayed, `row` rows of `file`."""
    part = next((lake / "logs").iterdir()).name
    units = [{"signal": "logs", "partition": part, "files_done": [f.name for f in done],
              "file": file.name if file else "", "row": row}]
    path.write_text(json.dumps({"format": "otap-parquet-replay-checkpoint", "version": 1,
                                "dataset": lake.resolve().as_uri(),
                                "written_unix_nano": 1, "units": units}) + "\n# end\n")


def uncovered(roots, done_count, row):
    """(body, time) of every root row a checkpoint at roots[done_count] row `row`
    has not covered."""
    out = []
    for i, f in enumerate(roots[done_count:]):
        rows = rows_of(f)
        out += rows[row:] if i == 0 else rows
    return out


def test_resume_mid_file_with_time_range_and_pacing(run, tmp_path):
    # Scenario: a checkpoint stands at row 7 of the second root file (written by
    # hand); the replay resumes with a time_range that cuts through the file in
    # progress and a later one, and original-time pacing (a high speed). Then the
    # same run again.
    # Guarantees: the first run delivers exactly the records after the checkpoint
    # that lie in [start, end), each once with its own attributes; the second run
    # emits nothing (the checkpoint moved to the end of what the range selects).
    lake, _ = make_lake(run, tmp_path, partitions=1, per_partition=300, rows_per_file=40)
    roots = sorted((lake / "logs").glob("*/*.parquet"))
    assert len(roots) >= 3
    start, end = T0 + 30 * MS, T0 + 170 * MS
    ckpt = tmp_path / "replay.ckpt"
    hand_checkpoint(lake, ckpt, roots[:1], roots[1], 7)
    want = {b for b, t in uncovered(roots, 1, 7) if start <= t < end}
    assert 0 < len(want) < 300
    second = tmp_path / "copy"
    config = tmp_path / "replay.yaml"
    config.write_text(pipeline(lake, second, f"""              checkpoint: {{path: "{ckpt}", interval: 0s}}
              time_range: {{start: {start}, end: {end}}}
              pacing: {{mode: original, speed: 1000}}"""))
    run("run", "-c", config)
    found = records(run, tmp_path, second, "out")
    assert set(found) == expected_records(want)
    assert max(found.values()) == 1
    metrics = tmp_path / "m2.prom"
    run("run", "-c", config, "--metrics-file", metrics)
    assert metric(metrics.read_text(), "parquet_records_emitted", "src") == 0


def test_dead_letter_and_delivered_together_cover_the_rest_once(run, tmp_path):
    # Scenario: a checkpoint mid-file (by hand), a time_range, and an OTLP peer that
    # refuses (400, permanent) its first 3 requests; dead_letter set. Then again
    # with the same config.
    # Guarantees: the run exits 3 with 3 batches dead-lettered; the dead letter
    # file and the peer together hold exactly the uncovered records in range, each
    # once; the checkpoint moved past the dead-lettered batches, so the second run
    # emits nothing and exits 0.
    from otlp_peer import OtlpPeer
    lake, _ = make_lake(run, tmp_path, partitions=1, per_partition=300, rows_per_file=40)
    roots = sorted((lake / "logs").glob("*/*.parquet"))
    start, end = T0 + 30 * MS, T0 + 250 * MS
    ckpt = tmp_path / "replay.ckpt"
    hand_checkpoint(lake, ckpt, roots[:1], roots[1], 7)
    want = collections.Counter(b for b, t in uncovered(roots, 1, 7)
                               if start <= t < end)
    dead = tmp_path / "dead.jsonl"
    config = tmp_path / "dl.yaml"
    with OtlpPeer("http", fail_first=3, failure="invalid") as peer:
        config.write_text(otlp_pipeline(lake, peer.endpoint, f"""              checkpoint: {{path: "{ckpt}", interval: 0s}}
              time_range: {{start: {start}, end: {end}}}
              dead_letter: {{path: "{dead}"}}"""))
        metrics = tmp_path / "m1.prom"
        proc = run("run", "-c", config, "--metrics-file", metrics, check=False)
        assert proc.returncode == 3, proc.stderr
        m = metrics.read_text()
        assert metric(m, "parquet_batches_dead_lettered", "src") == 3
        assert len(dead.read_text().splitlines()) == 3
        got = dead_letter_bodies(dead) + peer_bodies(peer)
        assert got == want
        metrics2 = tmp_path / "m2.prom"
        proc = run("run", "-c", config, "--metrics-file", metrics2)
        assert metric(metrics2.read_text(), "parquet_records_emitted", "src") == 0



def test_checkpoint_of_another_time_range_is_refused(run, tmp_path):
    # Scenario: a checkpointed one-shot replay with time_range [30 ms, 170 ms) runs
    # to its end; then the same checkpoint with no time_range, and with another
    # one; then the first range again.
    # Guarantees: the checkpoint counts the root files as done although the rows
    # outside its range were filtered, so resuming it with another range would skip
    # those rows silently (160 of 300 here, exit 0, on the old code): such a run
    # stops at start (exit 1) naming both ranges and leaves the checkpoint as it
    # was; the same range resumes (nothing left to emit); a new checkpoint path
    # replays every record once.
    lake, expected = make_lake(run, tmp_path, partitions=1, per_partition=300,
                               rows_per_file=40)
    ckpt = tmp_path / "replay.ckpt"
    start, end = T0 + 30 * MS, T0 + 170 * MS
    ranged = f"""              checkpoint: {{path: "{ckpt}", interval: 0s}}
              time_range: {{start: {start}, end: {end}}}"""
    first = tmp_path / "first"
    config = tmp_path / "replay.yaml"
    config.write_text(pipeline(lake, first, ranged))
    run("run", "-c", config)
    in_range = {f"rec-{n}" for n in range(30, 170)}
    assert set(records(run, tmp_path, first, "first")) == expected_records(in_range)
    written = ckpt.read_text()
    second = tmp_path / "second"
    for other in ("", f"""
              time_range: {{start: {start}, end: {end + MS}}}"""):
        config.write_text(pipeline(lake, second, f"""              checkpoint: {{path: "{ckpt}", interval: 0s}}{other}"""))
        proc = run("run", "-c", config, check=False)
        assert proc.returncode == 1, proc.stderr
        assert f"was written with time_range [{start}, {end})" in proc.stderr
        assert ckpt.read_text() == written
        assert not list(second.rglob("*.parquet"))
    assert f'"time_range": "[{start}, {end})"' in written
    config.write_text(pipeline(lake, second, ranged))
    metrics = tmp_path / "again.prom"
    run("run", "-c", config, "--metrics-file", metrics)
    assert metric(metrics.read_text(), "parquet_records_emitted", "src") == 0
    config.write_text(pipeline(lake, second, f"""              checkpoint: {{path: "{tmp_path / 'new.ckpt'}", interval: 0s}}"""))
    run("run", "-c", config)
    found = records(run, tmp_path, second, "all")
    assert set(found) == expected_records(expected) and max(found.values()) == 1


def test_polling_replay_dead_letters_and_exits_3_when_stopped(engine, run, tmp_path):
    # Scenario: a polling receiver (checkpoint, dead_letter) replays into an OTLP
    # peer that refuses (400, permanent) its first 3 requests; a second partition
    # is added while it follows; it is stopped with SIGTERM. Then a one-shot run
    # with the same checkpoint.
    # Guarantees: the stopped run exits 3 (the batches dead-lettered are
    # reported), the dead letter file and the peer together hold every record
    # exactly once; the checkpoint moved past the dead-lettered batches, so the
    # one-shot run emits nothing.
    from otlp_peer import OtlpPeer
    from engines import wait_until
    from test_dataset_compact import emitted
    lake, first = make_lake(run, tmp_path, partitions=1, per_partition=200)
    dead = tmp_path / "dead.jsonl"
    ckpt = tmp_path / "replay.ckpt"
    with OtlpPeer("http", fail_first=3, failure="invalid") as peer:
        receiver = f"""              checkpoint: {{path: "{ckpt}", interval: 0s}}
              dead_letter: {{path: "{dead}"}}"""
        config = tmp_path / "poll.yaml"
        config.write_text(otlp_pipeline(lake, peer.endpoint, receiver + """
              polling_interval: 100ms"""))
        proc = engine(config, "--metrics-file", tmp_path / "m.prom")
        wait_until(lambda: emitted(proc) >= 200, "the first partition emitted", 60)
        src = tmp_path / "in-late.jsonl"
        from test_engine_replay_checkpoint import write_logs
        write_logs(src, 200, 200)
        run("convert", "--max-batch-rows", "100", "--rows-per-file", 150, src, lake)
        wait_until(lambda: emitted(proc) >= 400, "the added partition emitted", 60)
        wait_until(lambda: metric(proc.metrics(), "parquet_batches_in_flight", "src") == 0,
                   "every batch settled", 60)
        proc.stop(expect=3)
        got = dead_letter_bodies(dead) + peer_bodies(peer)
        assert got == collections.Counter(f"rec-{n}" for n in range(400))
        assert len(dead.read_text().splitlines()) == 3
        assert "refused downstream and dead-lettered" in proc.stderr()
        config.write_text(otlp_pipeline(lake, peer.endpoint, receiver))
        metrics = tmp_path / "again.prom"
        run("run", "-c", config, "--metrics-file", metrics)
        assert metric(metrics.read_text(), "parquet_records_emitted", "src") == 0


def test_paced_polling_replay_while_compaction_deletes_its_files(engine, cli, run,
                                                                 tmp_path):
    # Scenario: a polling replay with original-time pacing (slow: a partition takes
    # seconds) and a checkpoint; once it has emitted something, `compact --grace
    # 0s` replaces both partitions and deletes the files it is reading. Wherever
    # the replay then is (a paced batch waiting, mid-file, between passes), it
    # must continue in the compacted partitions.
    # Guarantees: every record delivered exactly once with its attributes; no
    # corrupt files; a one-shot rerun from the checkpoint emits nothing.
    from engines import wait_until
    from test_dataset_compact import compact, emitted, finish_polling_replay
    lake, expected = make_lake(run, tmp_path, partitions=2, per_partition=300,
                               rows_per_file=40)
    second = tmp_path / "second"
    ckpt = tmp_path / "replay.ckpt"
    receiver = f"""              checkpoint: {{path: "{ckpt}", interval: 0s}}"""
    config = tmp_path / "poll.yaml"
    config.write_text(pipeline(lake, second, receiver + """
              polling_interval: 100ms
              pacing: {mode: original, speed: 0.2}"""))
    proc = engine(config, "--metrics-file", tmp_path / "m.prom")
    wait_until(lambda: emitted(proc) > 0, "a first batch", 60)
    compact(cli, lake, "--older-than", "0s", "--grace", "0s")
    finish_polling_replay(proc, run, tmp_path, second, expected)
    config.write_text(pipeline(lake, tmp_path / "third", receiver))
    metrics = tmp_path / "again.prom"
    run("run", "-c", config, "--metrics-file", metrics)
    assert metric(metrics.read_text(), "parquet_records_emitted", "src") == 0


def test_retries_exhausted_are_dead_lettered(run, tmp_path):
    # Scenario: the peer answers 503 (retryable) to every request; the receiver
    # retries once (10 ms backoff), has a checkpoint and a dead_letter.
    # Guarantees: each batch is sent twice, then dead-lettered once (retries
    # exhausted count as refused for good): the dead letter file holds every
    # record exactly once; exit 3; the checkpoint moved past them, so a rerun
    # emits nothing.
    from otlp_peer import OtlpPeer
    lake, expected = make_lake(run, tmp_path, partitions=1, per_partition=200)
    dead = tmp_path / "dead.jsonl"
    ckpt = tmp_path / "replay.ckpt"
    with OtlpPeer("http", fail_all=True) as peer:
        config = tmp_path / "retry.yaml"
        config.write_text(otlp_pipeline(lake, peer.endpoint, f"""              checkpoint: {{path: "{ckpt}", interval: 0s}}
              retry: {{max_retries: 1, init_backoff: 10ms, max_backoff: 10ms}}
              dead_letter: {{path: "{dead}"}}"""))
        metrics = tmp_path / "m1.prom"
        proc = run("run", "-c", config, "--metrics-file", metrics, check=False)
        assert proc.returncode == 3, proc.stderr
        m = metrics.read_text()
        batches = metric(m, "parquet_batches_emitted", "src")
        assert metric(m, "parquet_batches_dead_lettered", "src") == batches > 0
        assert metric(m, "parquet_batches_retried", "src") == batches
        assert metric(m, "parquet_batches_abandoned", "src") == 0
        assert "refused downstream and dead-lettered" in proc.stderr
        assert dead_letter_bodies(dead) == collections.Counter(expected)
        assert peer.items("logs") == 0
        metrics2 = tmp_path / "m2.prom"
        run("run", "-c", config, "--metrics-file", metrics2)
        assert metric(metrics2.read_text(), "parquet_records_emitted", "src") == 0
