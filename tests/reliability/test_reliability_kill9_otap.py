# SPDX-License-Identifier: Apache-2.0
"""Reliability: kill -9 during OTAP → Parquet writing (receiver:otap, exporter:parquet
with its write-ahead log).

The Go test peer (tests/peers/otap_sender: upstream's producer, as the Collector's
otelarrowexporter sends) streams uniquely tagged log batches to receiver:otap; the
engine is killed at a random moment after the first `BatchStatus OK`. An OK means
the batch is fdatasynced in the WAL (flush rules are never reached while the sender
runs). After each kill the engine starts again on the same dataset and WAL and is
stopped gracefully; the dataset is read back with `otap-parquet convert`.

Guarantees checked after every trial, over everything sent so far: every record of
every batch answered OK is present exactly as sent (attributes, resource, scope);
no record that was never sent; batches without an answer may be present or absent.
Duplicates (a kill between a Parquet publish and the WAL's done mark) are counted
and reported, not asserted (docs/operations.md, "Durability")."""
import json
import signal
import subprocess

from engines import wait_until
from s3_server import free_port
from test_engine_e2e import write_config
from test_engine_otlp_receiver import metric as node_metric
from test_otap_receiver import otap_sender  # noqa: F401 (fixture)
from test_otlp_interop import write_delimited

import rel_common
from rel_common import canonical_records, compare, convert_dataset, logs_request, summary
from test_reliability_kill9_wal import restart_and_drain

LINES = 200  # batches per trial
RECORDS = 24  # log records per batch


def engine_config(path, dataset, wal, port):
    return write_config(path, {
        "otap": {"type": "receiver:otap",
                 "config": {"listening_addr": f"127.0.0.1:{port}"}},
        "out": {"type": "exporter:parquet", "config": {
            "storage": {"file": {"base_uri": str(dataset)}},
            "writer_options": {"target_rows_per_file": 1000000,
                               "flush_when_older_than": "30s"},
            "wal": {"enabled": True, "path": str(wal)}}}},
        [{"from": "otap", "to": "out"}])


def test_kill9_during_otap_ingest(cli, engine, tmp_path, otap_sender):  # noqa: F811
    rnd = rel_common.rng("kill9-otap")
    dataset, wal = tmp_path / "dataset", tmp_path / "wal"
    acked, unknown = {}, {}
    failures = []
    replayed_total = crashes = mid_stream = lost = duplicates = misjoined = phantom = 0
    for trial in range(rel_common.TRIALS):
        requests = [logs_request(f"t{trial}l{j}", RECORDS) for j in range(LINES)]
        # Protobuf, not OTLP/JSON: the sender reads both, json_format is slow.
        source = tmp_path / f"trial-{trial}.logs.pb"
        write_delimited(source, requests)
        port = free_port()
        config = engine_config(tmp_path / f"trial-{trial}.yaml", dataset, wal, port)
        proc = engine(config, name=f"trial-{trial}")
        sender = subprocess.Popen([str(otap_sender), "-endpoint", f"127.0.0.1:{port}",
                                   "-logs", str(source)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Kill once a random number of batches was answered OK (a condition, not
        # a time: the stream is usually still running then).
        answered = rnd.randrange(1, LINES // 2)
        wait_until(lambda: node_metric(proc.metrics(), "otap_arrow_statuses",
                                       code="ok") >= answered, "BatchStatus OK answers", 60)
        proc.proc.send_signal(signal.SIGKILL)
        proc.proc.wait()
        if proc.proc.returncode != -signal.SIGKILL:
            crashes += 1
        out, err = sender.communicate(timeout=120)
        assert sender.returncode in (0, 1), err
        [result] = json.loads(out)
        assert not [m for m in result.get("messages", []) if "duplicate" in m], result
        ok = set(result["ok_lines"])
        mid_stream += len(ok) < LINES
        assert len(ok) == result["statuses"].get("OK", 0), result
        for j, request in enumerate(requests):
            (acked if j in ok else unknown).update(canonical_records(request))

        replayed_total += restart_and_drain(engine, config, f"drain-{trial}")
        proc_c, counts, records, stats = convert_dataset(cli, dataset,
                                                         tmp_path / "replay.logs.pb")
        lost, duplicates, misjoined, phantom = compare(acked, counts, records, unknown)
        if (proc_c.returncode < 0, lost, misjoined, phantom) != (False, 0, 0, 0):
            failures.append(
                f"trial {trial}: ok_batches={len(ok)} acked={len(acked)} lost={lost} "
                f"duplicates={duplicates} misjoined={misjoined} phantom={phantom} "
                f"stats={stats} convert exit {proc_c.returncode}\n"
                f"{proc_c.stdout}{proc_c.stderr[-2000:]}")

    summary("kill9-otap", trials=rel_common.TRIALS, records=len(acked), lost=lost,
            mid_stream_kills=mid_stream,
            duplicates=duplicates, misjoined=misjoined, phantom=phantom,
            replayed_batches=replayed_total, crashes=crashes, failed_trials=len(failures),
            unacked_sent=len(unknown),
            unacked_present=sum(1 for body in unknown if body in counts),
            wal_files_left=len(list(wal.rglob("*.wal"))))
    assert not failures, (f"{len(failures)} of {rel_common.TRIALS} trials failed; first:\n"
                          + failures[0])
    assert crashes == 0
    # Something was acknowledged from the log alone, so the kills tested the WAL.
    assert acked and replayed_total > 0
