# SPDX-License-Identifier: Apache-2.0
"""Reliability: the disk fills up under exporter:parquet.

The dataset lives on a small tmpfs the test mounts (root only: CI runs as root;
otherwise the test is skipped with a message). receiver:otlp (HTTP and gRPC,
`wait_for_result: true`) → exporter:parquet. Phases: requests acknowledged while
there is space; a filler file takes every free byte and requests keep coming;
the filler is deleted and requests are acknowledged again.

Guarantees: while the disk is full no request is acknowledged without being
durable, and every refusal is retryable (HTTP 503 / 429, gRPC UNAVAILABLE /
RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED: a client retries later); the engine keeps
running; once space returns requests are acknowledged again (waited for as a
condition); at the end every acknowledged record is in the dataset exactly as
sent, and the files are all readable."""
import os
import shutil
import signal
import subprocess
import urllib.error
import urllib.request

import grpc
import pytest
from engines import wait_until
from s3_server import free_port

from rel_common import canonical_records, compare, convert_dataset, logs_request, summary
from test_reliability_kill9_ingest import LOGS_METHOD, engine_config

RETRYABLE_HTTP = {429, 503}
RETRYABLE_GRPC = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED,
                  grpc.StatusCode.DEADLINE_EXCEEDED}


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("disk-full scenario needs root to mount a tmpfs (CI runs as root)")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"disk-full scenario: cannot mount a tmpfs: {proc.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(path):
    """Writes `path` until the file system is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for size in (1 << 20, 65536, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)


def send(protocol, port, request):
    """'ok', or the refusal: an HTTP status or a gRPC code."""
    payload = request.SerializeToString()
    if protocol == "http":
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/logs", data=payload,
                                     headers={"Content-Type": "application/x-protobuf"})
        try:
            with urllib.request.urlopen(req, timeout=60) as res:
                return "ok" if res.status == 200 else res.status
        except urllib.error.HTTPError as e:
            return e.code
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            channel.unary_unary(LOGS_METHOD)(payload, timeout=60)
            return "ok"
        except grpc.RpcError as e:
            return e.code()


def test_disk_full(cli, engine, tmp_path, small_disk):
    dataset = small_disk / "dataset"
    gport, hport = free_port(), free_port()
    config = engine_config(tmp_path / "engine.yaml", dataset, gport, hport,
                           [{"schema_metadata": ["_part_id"]}], timeout="5s")
    proc = engine(config, "--shutdown-timeout", "20s")
    acked, refused, answers = {}, {}, []
    k = 0

    def post(phase, protocol):
        nonlocal k
        request = logs_request(f"{phase}-{k}", 20)
        k += 1
        outcome = send(protocol, gport if protocol == "grpc" else hport, request)
        answers.append((phase, protocol, outcome))
        (acked if outcome == "ok" else refused).update(canonical_records(request))
        return outcome

    for protocol in ("http", "grpc") * 3:
        assert post("before", protocol) == "ok"

    fill(small_disk / "filler")
    full = [post("full", protocol) for protocol in ("http", "grpc") * 4]
    proc.check_running()
    not_retryable = [o for o in full
                     if o != "ok" and o not in RETRYABLE_HTTP and o not in RETRYABLE_GRPC]

    os.unlink(small_disk / "filler")
    # Space is back: the first acknowledgement is waited for (the exporter may still
    # be backing off a failed flush), then every further request must succeed.
    wait_until(lambda: post("recovering", "http") == "ok",
               "an acknowledgement after space returned", 120)
    after = [post("after", protocol) for protocol in ("http", "grpc") * 3]
    proc.stop(signal.SIGTERM)

    proc_c, counts, records, stats = convert_dataset(cli, dataset, tmp_path / "replay.logs.pb")
    lost, duplicates, misjoined, phantom = compare(acked, counts, records, refused)
    refused_present = sum(1 for body in refused if body in counts)
    codes = sorted({str(o) for _, _, o in answers if o != "ok"})
    summary("disk-full", trials=1, records=len(acked), lost=lost, duplicates=duplicates,
            misjoined=misjoined, crashes=0, acked_while_full=full.count("ok"),
            refused_while_full=len(full) - full.count("ok"), refusal_codes="|".join(codes) or "-",
            refused_records_present=refused_present)
    assert not_retryable == [], f"non-retryable answers while the disk was full: {answers}"
    assert after == ["ok"] * len(after), answers
    assert (lost, duplicates, misjoined, phantom) == (0, 0, 0, 0), proc_c.stdout
    assert stats is not None and stats["corrupt"] == 0, proc_c.stdout
