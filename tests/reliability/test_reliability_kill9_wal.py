# SPDX-License-Identifier: Apache-2.0
"""Reliability: kill -9 during OTLP → Parquet writing with exporter:parquet's
write-ahead log (issue 14 item 1).

The engine runs receiver:otlp (gRPC and HTTP, `wait_for_result: true`) →
exporter:parquet with `wal.enabled` and flush rules that are never reached while
the senders run (1 M rows, 30 s): an acknowledgement then means "fdatasynced in the
WAL", and nearly every acknowledged record is only in the WAL when the engine is
killed. After each kill the engine starts again on the same dataset and WAL (it
replays the unfinished segments into the writer before taking data) and is stopped
gracefully (it publishes everything); the dataset is then read back with
`otap-parquet convert`.

Guarantees checked after every trial, over everything written so far: every record
of every acknowledged request is present exactly as sent; no record that was never
sent; requests without an answer may be present or absent. Duplicates (a kill
between a Parquet publish and the WAL's done mark) are counted and reported, not
asserted: docs/operations.md "Durability" describes the window.
"""
import signal

import grpc
from engines import wait_until
from s3_server import free_port
from test_engine_e2e import write_config

import rel_common
from rel_common import canonical_records, compare, convert_dataset, logs_request, summary
from test_reliability_kill9_ingest import LOGS_METHOD, kill_during_ingest


def engine_config(path, dataset, wal, gport, hport, wal_extra=None, writer=None):
    wait = {"wait_for_result": True, "timeout": "30s"}
    exporter = {"storage": {"file": {"base_uri": str(dataset)}},
                "writer_options": writer or {"target_rows_per_file": 1000000,
                                             "flush_when_older_than": "30s"},
                "wal": {"enabled": True, "path": str(wal), **(wal_extra or {})}}
    return write_config(path, {
        "otlp": {"type": "receiver:otlp", "config": {"protocols": {
            "grpc": {"listening_addr": f"127.0.0.1:{gport}", **wait},
            "http": {"listening_addr": f"127.0.0.1:{hport}", **wait}}}},
        "out": {"type": "exporter:parquet", "config": exporter}},
        [{"from": "otlp", "to": "out"}])


def metric(text, name):
    """Sum of the samples of `name` in a Prometheus text exposition."""
    total = 0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def restart_and_drain(engine, config, name):
    """Starts the engine (replaying its WAL), then stops it gracefully (publishing
    everything). Returns the number of records it replayed (from its log)."""
    proc = engine(config, name=name)
    proc.stop(signal.SIGTERM)
    replayed = 0
    for line in proc.stderr().splitlines():
        if "exporter.parquet.wal_replayed" in line:
            replayed += int(line.rsplit("records=", 1)[1].split()[0])
    return replayed


def test_kill9_with_wal(cli, engine, tmp_path):
    rnd = rel_common.rng("kill9-wal")
    dataset, wal = tmp_path / "dataset", tmp_path / "wal"
    acked, unknown = {}, {}
    failures = []
    replayed_total = 0
    crashes = 0
    for trial in range(rel_common.TRIALS):
        gport, hport = free_port(), free_port()
        config = engine_config(tmp_path / f"trial-{trial}.yaml", dataset, wal, gport, hport)
        proc = engine(config, name=f"trial-{trial}")
        if kill_during_ingest(proc, gport, hport, trial, rnd, acked, unknown):
            crashes += 1

        replayed_total += restart_and_drain(engine, config, f"drain-{trial}")
        proc_c, counts, records, stats = convert_dataset(cli, dataset, tmp_path / "replay.logs.pb")
        lost, duplicates, misjoined, phantom = compare(acked, counts, records, unknown)
        if (proc_c.returncode < 0, lost, misjoined, phantom) != (False, 0, 0, 0):
            failures.append(
                f"trial {trial}: acked={len(acked)} lost={lost} duplicates={duplicates} "
                f"misjoined={misjoined} phantom={phantom} stats={stats} "
                f"convert exit {proc_c.returncode}\n{proc_c.stdout}{proc_c.stderr[-2000:]}")

    unknown_present = sum(1 for body in unknown if body in counts)
    summary("kill9-wal", trials=rel_common.TRIALS, records=len(acked), lost=lost,
            duplicates=duplicates, misjoined=misjoined, phantom=phantom,
            replayed_batches=replayed_total, crashes=crashes, failed_trials=len(failures),
            unacked_sent=len(unknown), unacked_present=unknown_present,
            wal_files_left=len(list(wal.rglob("*.wal"))))
    assert not failures, (f"{len(failures)} of {rel_common.TRIALS} trials failed; first:\n"
                          + failures[0])
    assert crashes == 0
    # The acknowledged records were (nearly all) only in the WAL at the kill.
    assert replayed_total > 0


def test_wal_restart_replays_acknowledged_batches(cli, engine, tmp_path):
    """Every request acknowledged, none published (1 h age, 1 M rows), kill -9: the
    next start replays them all (counted in its log and metrics), its graceful stop
    publishes them, nothing is lost or duplicated, and the WAL is empty again."""
    dataset, wal = tmp_path / "dataset", tmp_path / "wal"
    gport, hport = free_port(), free_port()
    config = engine_config(tmp_path / "engine.yaml", dataset, wal, gport, hport,
                           writer={"target_rows_per_file": 1000000,
                                   "flush_when_older_than": "1h"})
    proc = engine(config)
    acked = {}
    with grpc.insecure_channel(f"127.0.0.1:{gport}") as channel:
        call = channel.unary_unary(LOGS_METHOD)
        for k in range(20):
            request = logs_request(f"r-{k}", 5)
            call(request.SerializeToString(), timeout=60)
            acked.update(canonical_records(request))
    assert not list(dataset.rglob("*.parquet"))  # acked before any flush
    proc.kill()
    restarted = engine(config, name="restart")
    assert metric(restarted.metrics(), "otap_node_wal_replayed_records_total") == 20
    restarted.stop(signal.SIGTERM)
    assert "exporter.parquet.wal_replayed node=out core=0 records=20" in restarted.stderr()
    _, counts, records, _ = convert_dataset(cli, dataset, tmp_path / "replay.logs.pb")
    lost, duplicates, misjoined, phantom = compare(acked, counts, records)
    assert (lost, duplicates, misjoined, phantom) == (0, 0, 0, 0)
    third = engine(config, name="third")
    assert metric(third.metrics(), "otap_node_wal_replayed_records_total") == 0
    third.stop(signal.SIGTERM)
    assert not list(wal.rglob("*.wal"))


def test_wal_full_is_a_retryable_refusal_for_grpc_clients(cli, engine, tmp_path):
    """WAL max_size below one request: the first request is acknowledged from the
    WAL; then the dataset becomes unwritable (its directory replaced by a file), the
    next request finds the WAL full, the flush that would free it fails, and a real gRPC
    client gets a retryable code (UNAVAILABLE or RESOURCE_EXHAUSTED), never a
    permanent one. Once the dataset is writable again the logged request is written
    again from the WAL and new requests are taken: nothing acknowledged is lost."""
    dataset, wal = tmp_path / "dataset", tmp_path / "wal"
    gport, hport = free_port(), free_port()
    config = engine_config(tmp_path / "engine.yaml", dataset, wal, gport, hport,
                           wal_extra={"max_size": 1000, "segment_size": 1000},
                           writer={"target_rows_per_file": 1000000,
                                   "flush_when_older_than": "1s"})
    proc = engine(config)
    acked = {}
    with grpc.insecure_channel(f"127.0.0.1:{gport}") as channel:
        call = channel.unary_unary(LOGS_METHOD)
        first = logs_request("full-0", 5)
        call(first.SerializeToString(), timeout=60)
        acked.update(canonical_records(first))
        dataset.rename(tmp_path / "dataset-moved")
        dataset.write_text("not a directory")
        codes = []

        def refused():
            try:
                call(logs_request("full-x", 5).SerializeToString(), timeout=60)
                return False
            except grpc.RpcError as e:
                codes.append(e.code())
                return True
        wait_until(refused, "a refusal while the WAL is full", 60, interval=0.2)
        assert codes[-1] in (grpc.StatusCode.UNAVAILABLE,
                             grpc.StatusCode.RESOURCE_EXHAUSTED), codes
        assert metric(proc.metrics(), "otap_node_wal_refused_full_total") >= 1

        dataset.unlink()
        (tmp_path / "dataset-moved").rename(dataset)
        later = logs_request("full-1", 5)

        def taken():
            try:
                call(later.SerializeToString(), timeout=60)
                return True
            except grpc.RpcError:
                return False
        wait_until(taken, "a request taken once the dataset is writable", 120, interval=0.5)
        acked.update(canonical_records(later))
    proc.stop(signal.SIGTERM)
    _, counts, records, _ = convert_dataset(cli, dataset, tmp_path / "replay.logs.pb")
    lost, _, misjoined, _ = compare(acked, counts, records)
    assert (lost, misjoined) == (0, 0)
    summary("wal-full-grpc", refusal_codes=sorted({c.name for c in codes}))
