# SPDX-License-Identifier: Apache-2.0
"""exporter:otap end to end (issue #16), the tests start the peers:

(a) receiver:parquet (a replay) → exporter:otap → our receiver:otap →
    exporter:parquet → `otap-parquet convert` → `compare` with the source;
(b) exporter:otap (from a receiver:parquet replay and from receiver:otlp) → a real
    Collector (contrib's otelarrowreceiver v0.148.0 → fileexporter, built by
    scripts/build_peers.sh from tests/peers/collector_otap/manifest.yaml) → OTLP JSON
    lines → `compare` with the source.

Stream rollover is made deterministic with `max_stream_lifetime: 1ns` (every batch
finds its stream expired); "many batches per stream" with an unlimited lifetime."""
import json
import pathlib
import re
import signal
import subprocess
import threading
import time

import go_otap_losses
import grpc
import pytest
from engines import wait_until
from otlp_clients import wait_listening
from protowire import varint
from s3_server import free_port
from test_engine_e2e import parquet_exporter, read_delimited, write_config

ROOT = pathlib.Path(__file__).resolve().parent.parent
SIGNALS = ("logs", "traces", "metrics")
ITEMS = {"logs": ("resourceLogs", "scopeLogs", "logRecords"),
         "traces": ("resourceSpans", "scopeSpans", "spans")}


def metric(text, name, **labels):
    """Sum of otap_node_<name> samples whose labels include `labels`."""
    total = 0
    for m in re.finditer(rf'^otap_node_{name}(?:_total)?\{{([^}}]*)\}} (\d+)', text,
                         re.M):
        if all(f'{k}="{v}"' in m.group(1) for k, v in labels.items()):
            total += int(m.group(2))
    return total


def count_items(path, signal_name):
    total = 0
    # Only whole lines: the Collector's fileexporter may be writing the last one.
    lines = path.read_text().split("\n")[:-1] if path.exists() else []
    for line in lines:
        if not line.strip():
            continue
        request = json.loads(line)
        if signal_name == "metrics":
            for r in request.get("resourceMetrics", []):
                for s in r.get("scopeMetrics", []):
                    for m in s.get("metrics", []):
                        for kind in ("gauge", "sum", "histogram", "exponentialHistogram",
                                     "summary"):
                            total += len(m.get(kind, {}).get("dataPoints", []))
            continue
        top, mid, leaf = ITEMS[signal_name]
        for r in request.get(top, []):
            for s in r.get(mid, []):
                total += len(s.get(leaf, []))
    return total


def make_lake(run, tmp_path, signal_name, requests=4, items=60, seed=3,
              edge_cases=False):
    src = tmp_path / f"{signal_name}.jsonl"
    run("generate", "--signal", signal_name, "--requests", str(requests), "--items",
        str(items), "--seed", str(seed), *(["--edge-cases"] if edge_cases else []), src)
    lake = tmp_path / f"lake-{signal_name}"
    run("convert", src, lake)
    return src, lake


def otap_exporter(port, extra=None):
    config = {"grpc_endpoint": f"http://127.0.0.1:{port}",
              "retry_on_failure": {"initial_interval": "100ms", "max_interval": "1s"}}
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return {"type": "exporter:otap", "config": config}


def replay(run, tmp_path, lake, signal_name, port, batch_size=25, extra=None,
           name="replay"):
    """receiver:parquet → exporter:otap, one shot; returns the metrics text."""
    config = write_config(
        tmp_path / f"{name}.yaml",
        {"src": {"type": "receiver:parquet",
                 "config": {"base_uri": str(lake), "signal_types": [signal_name],
                            "processing_options": {"batch_size": batch_size}}},
         "otap": otap_exporter(port, extra)},
        [{"from": "src", "to": "otap"}])
    metrics = tmp_path / f"{name}.prom"
    proc = run("run", "--num-cores", "1", "-c", config, "--metrics-file", metrics)
    (tmp_path / f"{name}.err").write_text(proc.stderr)  # for a failing assertion
    return metrics.read_text()


def start_receiver(engine, tmp_path, lake, port, extra=None):
    config = write_config(
        tmp_path / "receiver.yaml",
        {"otap": {"type": "receiver:otap",
                  "config": {"listening_addr": f"127.0.0.1:{port}", **(extra or {})}},
         "parquet": parquet_exporter(lake)},
        [{"from": "otap", "to": "parquet"}])
    return engine(config, "--num-cores", "1", "--shutdown-timeout", "30s",
                  name="receiver")


def assert_same(run, tmp_path, source, back):
    proc = run("compare", source, back)
    assert "hold the same telemetry" in proc.stdout


def assert_receiver_lake_same(run, tmp_path, receiver, source):
    # Stops our receiver (its exporter:parquet flushes) and compares its lake,
    # tmp_path/back-lake, with the source telemetry.
    receiver.stop(signal.SIGINT, timeout=120)
    back = tmp_path / "back.jsonl"
    run("convert", tmp_path / "back-lake", back)
    assert_same(run, tmp_path, source, back)


def assert_all_acked(text):
    # Every message sent gets exactly one status, OK, or is left unanswered by a
    # stream that failed (a connect that failed on a busy machine: its batches are
    # retried, so they are sent again): the count of retries is not asserted.
    assert metric(text, "otap_batches_acked") > 0
    assert metric(text, "otap_batches_nacked") == 0
    assert (metric(text, "otap_statuses", code="OK")
            + metric(text, "otap_messages_unanswered")
            == metric(text, "otap_messages_sent"))


# --- (a) our exporter → our receiver ----------------------------------------------

@pytest.mark.parametrize("signal_name", SIGNALS)
def test_replay_to_our_receiver_is_same_telemetry(engine, run, tmp_path, signal_name):
    # Scenario: a converted dataset replayed by receiver:parquet (batches of 25 root
    # rows) into exporter:otap (one stream, unlimited lifetime) → receiver:otap →
    # exporter:parquet; the receiving engine stops.
    # Guarantees: every message is answered OK and every batch Acked; all batches go
    # on one stream (batch ids 0..n-1); the second dataset converts back to the
    # source telemetry.
    src, lake = make_lake(run, tmp_path, signal_name)
    port = free_port()
    receiver = start_receiver(engine, tmp_path, tmp_path / "back-lake", port)
    text = replay(run, tmp_path, lake, signal_name, port,
                  extra={"arrow": {"max_stream_lifetime": "0s"}})
    assert_all_acked(text)
    assert metric(text, "otap_streams_opened") == 1
    assert metric(text, "otap_messages_sent") > 1
    assert_receiver_lake_same(run, tmp_path, receiver, src)


@pytest.mark.parametrize("dialect", ["rust", "go"])
@pytest.mark.parametrize("signal_name", SIGNALS)
def test_edge_cases_to_our_receiver(engine, run, tmp_path, signal_name, dialect):
    # Scenario: edge-case telemetry (generate --edge-cases --seed 7: nulls and zeros
    # side by side in exemplar values, exemplars, events and links without
    # attributes, ...) replayed through exporter:otap with each arrow.id_dialect →
    # receiver:otap → exporter:parquet.
    # Guarantees: the stored telemetry equals the source (Rust's stored-value
    # equality for quasi-delta ids, the null ids of rows without attributes and the
    # empty event names round-trip through our own decoder).
    src, lake = make_lake(run, tmp_path, signal_name, requests=4, items=60, seed=7,
                          edge_cases=True)
    port = free_port()
    receiver = start_receiver(engine, tmp_path, tmp_path / "back-lake", port)
    text = replay(run, tmp_path, lake, signal_name, port,
                  extra={"arrow": {"max_stream_lifetime": "0s", "id_dialect": dialect}})
    assert_all_acked(text)
    assert_receiver_lake_same(run, tmp_path, receiver, src)


# Known bug (stop 15, 1 of 3 CI runs): after every batch was acknowledged, the replay
# engine aborted in its teardown with gRPC's "ref_counted.h:183 assertion failed:
# prior > 0" (exit -6) while exporter:otap stopped streams rolled over every batch.
# No data was lost (all acked, the lake compares equal); the cause is not found yet.
def test_stream_rollover_and_splitting_to_our_receiver(engine, run, tmp_path):
    # Scenario: traces replayed with max_stream_lifetime 1ns (every batch finds its
    # stream expired: a replacement is opened, the old one half-closed and drained)
    # and max_message_size 64KiB (larger batches are split by root rows).
    # Guarantees: streams roll over, batches are split, everything is answered OK,
    # the data arrives complete.
    src, lake = make_lake(run, tmp_path, "traces", requests=3, items=2000)
    port = free_port()
    receiver = start_receiver(engine, tmp_path, tmp_path / "back-lake", port)
    text = replay(run, tmp_path, lake, "traces", port, batch_size=2000,
                  extra={"max_message_size": "64KiB",
                         "arrow": {"max_stream_lifetime": "1ns"}})
    assert_all_acked(text)
    assert metric(text, "otap_streams_rolled_over") >= 1
    assert metric(text, "otap_split_batches") >= 1
    assert_receiver_lake_same(run, tmp_path, receiver, src)


def test_uncompressed_payloads_split_to_our_receiver(engine, run, tmp_path):
    # Scenario: IPC bodies uncompressed (payload_compression: none) and batches of
    # 1000 logs with max_message_size 64KiB (split before encoding: uncompressed,
    # the size estimate is the message size).
    # Guarantees: batches are split, every message answered OK, data complete.
    src, lake = make_lake(run, tmp_path, "logs", requests=2, items=1000)
    port = free_port()
    receiver = start_receiver(engine, tmp_path, tmp_path / "back-lake", port)
    text = replay(run, tmp_path, lake, "logs", port, batch_size=1000,
                  extra={"max_message_size": "64KiB",
                         "arrow": {"payload_compression": "none"}})
    assert_all_acked(text)
    assert metric(text, "otap_split_batches") >= 1
    assert_receiver_lake_same(run, tmp_path, receiver, src)


def test_unimplemented_downgrades_to_otlp(engine, run, tmp_path):
    # Scenario: the peer is receiver:otlp (no Arrow services: every stream is answered
    # UNIMPLEMENTED).
    # Guarantees: exporter:otap downgrades the signal to OTLP Export on the same
    # channel and the data arrives complete; with disable_downgrade it would not.
    src, lake = make_lake(run, tmp_path, "logs", requests=2, items=30)
    port = free_port()
    config = write_config(
        tmp_path / "otlp.yaml",
        {"otlp": {"type": "receiver:otlp",
                  "config": {"protocols": {"grpc": {
                      "listening_addr": f"127.0.0.1:{port}", "wait_for_result": True}}}},
         "parquet": parquet_exporter(tmp_path / "back-lake")},
        [{"from": "otlp", "to": "parquet"}])
    receiver = engine(config, "--num-cores", "1", name="receiver")
    # With disable_downgrade, OTAP is retried and nothing is delivered.
    (tmp_path / "kept").mkdir()
    kept = write_config(
        tmp_path / "kept" / "replay.yaml",
        {"src": {"type": "receiver:parquet",
                 "config": {"base_uri": str(lake), "signal_types": ["logs"],
                            "retry": {"max_retries": 0}}},
         "otap": otap_exporter(port, {
             "arrow": {"disable_downgrade": True},
             "retry_on_failure": {"initial_interval": "10ms", "max_interval": "10ms",
                                  "max_elapsed_time": "200ms"}})},
        [{"from": "src", "to": "otap"}])
    proc = run("run", "--num-cores", "1", "-c", kept, "--metrics-file",
               tmp_path / "kept" / "m.prom", check=False)
    assert proc.returncode == 3, proc.stderr[-2000:]
    kept_text = (tmp_path / "kept" / "m.prom").read_text()
    assert metric(kept_text, "otap_downgraded", signal="logs") == 0
    assert metric(kept_text, "otap_batches_downgraded") == 0
    assert metric(kept_text, "otap_requests_failed", reason="UNIMPLEMENTED") >= 2

    text = replay(run, tmp_path, lake, "logs", port)
    assert metric(text, "otap_streams_unimplemented") >= 1
    assert metric(text, "otap_downgraded", signal="logs") == 1
    assert metric(text, "otap_batches_downgraded") >= 1
    assert metric(text, "otap_batches_nacked") == 0
    assert_receiver_lake_same(run, tmp_path, receiver, src)


def test_tls_and_bearer_token_to_our_receiver(engine, run, tmp_path):
    # Scenario: receiver:otap with TLS (a certificate made in the test) and a bearer
    # token; exporter:otap trusting the certificate through tls.ca_file and sending
    # the token as a static header (exporter:otlp_grpc's settings); then the same
    # with a wrong token.
    # Guarantees: the right token delivers everything; the wrong one delivers
    # nothing and the batch is Nacked permanently (UNAUTHENTICATED at stream open).
    from otlp_peer import self_signed_cert
    cert, key = self_signed_cert()
    for name, data in (("cert.pem", cert), ("key.pem", key)):
        (tmp_path / name).write_bytes(data)
    src, lake = make_lake(run, tmp_path, "logs", requests=2, items=30)
    port = free_port()
    receiver = start_receiver(
        engine, tmp_path, tmp_path / "back-lake", port,
        {"tls": {"cert_file": str(tmp_path / "cert.pem"),
                 "key_file": str(tmp_path / "key.pem")},
         "auth": {"bearer_token": "s3cret"}})
    tls = {"grpc_endpoint": f"https://127.0.0.1:{port}",
           "tls": {"ca_file": str(tmp_path / "cert.pem")}}
    text = replay(run, tmp_path, lake, "logs", port,
                  extra={**tls, "headers": {"authorization": "Bearer s3cret"}})
    assert_all_acked(text)
    (tmp_path / "wrong").mkdir()
    bad = tmp_path / "wrong"
    config = write_config(
        bad / "replay.yaml",
        {"src": {"type": "receiver:parquet",
                 "config": {"base_uri": str(lake), "signal_types": ["logs"],
                            "retry": {"max_retries": 0}}},
         "otap": otap_exporter(port, {**tls, "headers": {"authorization": "Bearer no"}})},
        [{"from": "src", "to": "otap"}])
    proc = run("run", "--num-cores", "1", "-c", config, "--metrics-file",
               bad / "m.prom", check=False)
    assert proc.returncode == 3, proc.stderr[-2000:]
    bad_text = (bad / "m.prom").read_text()
    assert metric(bad_text, "otap_batches_acked") == 0
    assert metric(bad_text, "otap_requests_failed", reason="UNAUTHENTICATED") >= 1
    assert_receiver_lake_same(run, tmp_path, receiver, src)


# --- (b) our exporter → a real Collector (otelarrowreceiver → fileexporter) -------

class OtapCollector:
    """otelcol-otap with otelarrowreceiver → fileexporter (OTLP JSON lines)."""

    def __init__(self, binary, tmp_path, port):
        self.out = tmp_path / "collector.jsonl"
        config = tmp_path / "collector.yaml"
        pipelines = {s: {"receivers": ["otelarrow"], "exporters": ["file"]}
                     for s in SIGNALS}
        config.write_text(json.dumps({
            "receivers": {"otelarrow": {"protocols": {"grpc": {
                "endpoint": f"127.0.0.1:{port}"}}}},
            "exporters": {"file": {"path": str(self.out), "format": "json",
                                   "flush_interval": "100ms"}},
            "service": {"telemetry": {"metrics": {"level": "none"}},
                        "pipelines": pipelines}}))
        self.log = open(tmp_path / "collector.log", "w")
        self.proc = subprocess.Popen([str(binary), "--config", str(config)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_listening(port, "otelcol-otap")

    def wait_items(self, signal_name, expected):
        wait_until(lambda: count_items(self.out, signal_name) >= expected,
                   f"{expected} {signal_name} items in {self.out}", 120)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        self.log.close()


@pytest.fixture(scope="module")
def otelcol_otap(peers):
    if "otelcol-otap" not in peers:
        pytest.skip("scripts/build_peers.sh did not build otelcol-otap")
    return peers["otelcol-otap"]


def expected_items(run, src, signal_name):
    return count_items(src, signal_name)


@pytest.mark.parametrize("signal_name", SIGNALS)
def test_replay_to_collector_is_same_telemetry(run, tmp_path, otelcol_otap,
                                               signal_name):
    # Scenario: receiver:parquet replay → exporter:otap (METRIC_ATTRS off: Go's
    # consumer v0.46.0 fails the stream on it; one stream, unlimited lifetime) → a
    # real Collector's otelarrowreceiver → fileexporter.
    # Guarantees: every BatchStatus OK, every batch Acked on one stream; the
    # Collector's OTLP JSON holds the source telemetry.
    src, lake = make_lake(run, tmp_path, signal_name)
    port = free_port()
    col = OtapCollector(otelcol_otap, tmp_path, port)
    try:
        text = replay(run, tmp_path, lake, signal_name, port,
                      extra={"send_metric_attrs": False,
                             "arrow": {"max_stream_lifetime": "0s"}})
        assert_all_acked(text)
        assert metric(text, "otap_streams_opened") == 1
        col.wait_items(signal_name, count_items(src, signal_name))
    finally:
        col.stop()
    assert_same(run, tmp_path, src, col.out)


@pytest.mark.parametrize("level", [-100, 19])
def test_payload_compression_levels_to_collector(run, tmp_path, otelcol_otap, level):
    # Scenario: logs replayed with IPC bodies at zstd's fastest allowed level and a
    # slow one (arrow.payload_compression_level) to a real Collector.
    # Guarantees: every status OK; the Collector reads the same telemetry (a level is
    # only the encoder's effort: the frames are ordinary zstd frames).
    src, lake = make_lake(run, tmp_path, "logs")
    port = free_port()
    col = OtapCollector(otelcol_otap, tmp_path, port)
    try:
        text = replay(run, tmp_path, lake, "logs", port,
                      extra={"arrow": {"payload_compression_level": level}})
        assert_all_acked(text)
        col.wait_items("logs", count_items(src, "logs"))
    finally:
        col.stop()
    assert_same(run, tmp_path, src, col.out)


@pytest.mark.parametrize("signal_name", SIGNALS)
def test_edge_cases_to_collector(run, tmp_path, otelcol_otap, signal_name):
    # Scenario: edge-case telemetry (generate --edge-cases --seed 7: empty keys and
    # values, empty bytes, NaN, exemplars without ids or value, ...) replayed through
    # exporter:otap (METRIC_ATTRS off, id_dialect: go) to the Collector's
    # otelarrowreceiver.
    # Guarantees: every batch Acked; the Collector's OTLP JSON equals the source
    # exactly, except metric metadata (not sent with send_metric_attrs: false). Before
    # the fixes Go refused every metrics batch (exemplars without ids) and then lost
    # 177 valueless exemplars (parent ids read as deltas).
    src = tmp_path / f"{signal_name}.jsonl"
    run("generate", "--signal", signal_name, "--requests", "3", "--seed", "7",
        "--edge-cases", src)
    lake = tmp_path / f"lake-{signal_name}"
    run("convert", src, lake)
    port = free_port()
    col = OtapCollector(otelcol_otap, tmp_path, port)
    try:
        text = replay(run, tmp_path, lake, signal_name, port,
                      extra={"send_metric_attrs": False,
                             "arrow": {"max_stream_lifetime": "0s", "id_dialect": "go"}})
        assert_all_acked(text)
        col.wait_items(signal_name, count_items(src, signal_name))
    finally:
        col.stop()
    expected = tmp_path / "expected.jsonl"
    with open(src, encoding="utf-8") as f, open(expected, "w", encoding="utf-8") as out:
        for line in f:
            request = json.loads(go_otap_losses.apply_go_json(line))  # -0.0 in JSON
            for rm in request.get("resourceMetrics", []):
                for sm in rm.get("scopeMetrics", []):
                    for m in sm.get("metrics", []):
                        m.pop("metadata", None)
            out.write(json.dumps(request, ensure_ascii=False) + "\n")
    assert_same(run, tmp_path, expected, col.out)


@pytest.mark.parametrize("dialect", ["go", "rust"])
def test_nan_and_negative_zero_attributes_to_collector(run, tmp_path, otelcol_otap,
                                                       dialect):
    # Scenario: four log records each with attribute k = NaN and four with z
    # alternating -0.0 / 0.0, replayed to the Collector with each arrow.id_dialect.
    # Guarantees: with `go` (the setting for Go receivers) the Collector's output is
    # the source exactly; with `rust` (bitwise equality, ignored metadata) Go puts
    # attributes on other records (5 of 8 today): the reason for the setting.
    records = [{"timeUnixNano": str(1700000000000000000 + i),
                "body": {"stringValue": f"r{i}"},
                "attributes": [{"key": "k", "value": {"doubleValue": "NaN"}}]}
               for i in range(4)]
    records += [{"timeUnixNano": str(1700000000000000100 + i),
                 "body": {"stringValue": f"z{i}"},
                 "attributes": [{"key": "z", "value": {"doubleValue": (-0.0, 0.0)[i % 2]}}]}
                for i in range(4)]
    src = tmp_path / "logs.jsonl"
    src.write_text(json.dumps({"resourceLogs": [{"resource": {}, "scopeLogs": [
        {"scope": {}, "logRecords": records}]}]}) + "\n")
    lake = tmp_path / "lake-logs"
    run("convert", src, lake)
    port = free_port()
    col = OtapCollector(otelcol_otap, tmp_path, port)
    try:
        text = replay(run, tmp_path, lake, "logs", port,
                      extra={"arrow": {"max_stream_lifetime": "0s", "id_dialect": dialect}})
        assert_all_acked(text)
        col.wait_items("logs", 8)
    finally:
        col.stop()
    proc = run("compare", src, col.out, check=False)
    if dialect == "go":
        assert "hold the same telemetry" in proc.stdout, proc.stderr
    else:
        assert "only in expected" in proc.stdout + proc.stderr


def test_large_batches_and_rollover_to_collector(run, tmp_path, otelcol_otap):
    # Scenario: large log batches (up to 3000 records, split at 64KiB) replayed with a
    # stream rollover before every batch (max_stream_lifetime 1ns) to the Collector.
    # Guarantees: splitting and rollover happen, every status OK, data complete.
    src, lake = make_lake(run, tmp_path, "logs", requests=3, items=3000)
    port = free_port()
    col = OtapCollector(otelcol_otap, tmp_path, port)
    try:
        text = replay(run, tmp_path, lake, "logs", port, batch_size=3000,
                      extra={"max_message_size": "64KiB",
                             "arrow": {"max_stream_lifetime": "1ns"}})
        assert_all_acked(text)
        assert metric(text, "otap_streams_rolled_over") >= 1
        assert metric(text, "otap_split_batches") >= 1
        col.wait_items("logs", count_items(src, "logs"))
    finally:
        col.stop()
    # A stream is half-closed only once its batches are answered: before, about one
    # run in ten on a busy machine had the Collector write a split batch's parts but
    # answer none for `timeout` (60 s), and the batch went out twice.
    assert metric(text, "otap_batch_timeouts") == 0
    assert_same(run, tmp_path, src, col.out)


def test_otlp_receiver_to_collector(engine, run, tmp_path, otelcol_otap):
    # Scenario: OTLP/gRPC Export requests (logs, traces, metrics) into receiver:otlp →
    # exporter:otap (one stream per signal, many batches each) → the Collector.
    # Guarantees: the Collector's OTLP JSON holds what was sent.
    port = free_port()
    col = OtapCollector(otelcol_otap, tmp_path, port)
    otlp_port = free_port()
    config = write_config(
        tmp_path / "otlp-otap.yaml",
        {"otlp": {"type": "receiver:otlp",
                  "config": {"protocols": {"grpc": {
                      "listening_addr": f"127.0.0.1:{otlp_port}",
                      "wait_for_result": True}}}},
         "otap": otap_exporter(port, {"send_metric_attrs": False,
                                      "arrow": {"max_stream_lifetime": "0s"}})},
        [{"from": "otlp", "to": "otap"}])
    eng = engine(config, "--num-cores", "1", name="otlp-otap")
    services = {"logs": "logs.v1.LogsService", "traces": "trace.v1.TraceService",
                "metrics": "metrics.v1.MetricsService"}
    channel = grpc.insecure_channel(f"127.0.0.1:{otlp_port}")
    sources = []
    try:
        for i, signal_name in enumerate(SIGNALS):
            jsonl = tmp_path / f"{signal_name}.jsonl"
            pb = tmp_path / f"{signal_name}.pb"
            for path in (jsonl, pb):
                run("generate", "--signal", signal_name, "--seed", str(20 + i),
                    "--requests", "4", "--items", "50", path)
            sources.append(jsonl)
            call = channel.unary_unary(
                f"/opentelemetry.proto.collector.{services[signal_name]}/Export",
                request_serializer=None, response_deserializer=None)
            for payload in read_delimited(pb):
                call(payload, timeout=60)
            col.wait_items(signal_name, count_items(jsonl, signal_name))
        text = eng.metrics()
        assert metric(text, "otap_batches_nacked") == 0
        assert metric(text, "otap_statuses", code="OK") >= 12
        eng.stop(signal.SIGINT, timeout=120)
    finally:
        channel.close()
        col.stop()
    source = tmp_path / "source.jsonl"
    source.write_text("".join(p.read_text() for p in sources))
    assert_same(run, tmp_path, source, col.out)


# --- statuses, retries and stream ends against a scripted peer ---------------------

def batch_id_of(message):
    """`batch_id` (field 1, varint) of a serialized BatchArrowRecords; 0 if absent."""
    if not message or message[0] != 0x08:
        return 0
    value, shift, pos = 0, 0, 1
    while True:
        b = message[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value


HANG = "hang"


def serve_arrow_logs(port, stream):
    """A started grpcio server whose ArrowLogs streams (raw bytes) run `stream`."""
    from concurrent import futures
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    handler = grpc.method_handlers_generic_handler(
        "opentelemetry.proto.experimental.arrow.v1.ArrowLogsService",
        {"ArrowLogs": grpc.stream_stream_rpc_method_handler(stream)})
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server


class ScriptedPeer:
    """An ArrowLogs server (grpcio, raw bytes) whose answer to the n-th message it
    receives (over all streams) is `script(n)`: a status code, None to end the
    stream at once without answering, or HANG to never answer and keep the stream
    open until the client cancels it."""

    def __init__(self, port, script):
        self.script = script
        self.messages = 0
        self.streams = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.server = serve_arrow_logs(port, self.stream)

    def stream(self, requests, context):
        with self.lock:
            self.streams += 1
        for message in requests:
            with self.lock:
                n = self.messages
                self.messages += 1
            code = self.script(n)
            if code is None:
                return
            if code == HANG:
                done = threading.Event()
                context.add_callback(done.set)
                while not done.wait(0.05) and not self.stopping.is_set():
                    pass
                return
            yield b"\x08" + varint(batch_id_of(message)) + b"\x10" + varint(code)

    def stop(self):
        self.stopping.set()
        self.server.stop(grace=None)


class HoldingPeer:
    """An ArrowLogs server (grpcio, raw bytes) that holds each message's OK answer
    until the next message arrives or `hold` seconds pass, and counts the streams
    the client half-closed while an answer was still held (the Collector's
    otelarrowreceiver stops answering such a stream when more than NumCPU answers
    are pending)."""

    def __init__(self, port, hold=1.0):
        import queue
        self.queue = queue
        self.hold = hold
        self.messages = 0
        self.streams = 0
        self.early_half_closes = 0
        self.lock = threading.Lock()
        self.server = serve_arrow_logs(port, self.stream)

    def stream(self, requests, context):
        with self.lock:
            self.streams += 1
        items = self.queue.Queue()

        def read():
            try:
                for message in requests:
                    items.put(message)
            except grpc.RpcError:
                # The call ended without a half-close (the client cancelled it or the
                # server is stopping): no more messages, as after a half-close.
                pass
            finally:
                items.put(None)  # half-close (or the call ended)

        threading.Thread(target=read, daemon=True).start()
        message = items.get()
        while message is not None:
            with self.lock:
                self.messages += 1
            try:
                following = items.get(timeout=self.hold)
            except self.queue.Empty:
                yield b"\x08" + varint(batch_id_of(message)) + b"\x10\x00"
                message = items.get()
                continue
            if following is None:
                with self.lock:
                    self.early_half_closes += 1
            yield b"\x08" + varint(batch_id_of(message)) + b"\x10\x00"
            message = following

    def stop(self):
        self.server.stop(grace=None)


def scripted_replay(run, tmp_path, script, extra=None, batch_size=1000, timeout=None,
                    peer_class=None):
    src, lake = make_lake(run, tmp_path, "logs", requests=2, items=30)
    port = free_port()
    peer = peer_class(port) if peer_class else ScriptedPeer(port, script)
    try:
        config = write_config(
            tmp_path / "scripted.yaml",
            {"src": {"type": "receiver:parquet",
                     "config": {"base_uri": str(lake), "signal_types": ["logs"],
                                "processing_options": {"batch_size": batch_size},
                                "retry": {"max_retries": 0}}},
             "otap": otap_exporter(port, {"arrow": {"max_stream_lifetime": "0s"},
                                          **(extra or {})})},
            [{"from": "src", "to": "otap"}])
        metrics = tmp_path / "scripted.prom"
        proc = run("run", "--num-cores", "1", "-c", config, "--metrics-file", metrics,
                   check=False, timeout=timeout)
        return proc, metrics.read_text(), peer
    finally:
        peer.stop()


def test_retryable_status_is_retried(run, tmp_path):
    # Scenario: the peer answers the first message UNAVAILABLE, then OK.
    # Guarantees: the batch is sent again (a new attempt, after the backoff) and
    # Acked; nothing is Nacked; the failure is counted by code.
    proc, text, peer = scripted_replay(run, tmp_path, lambda n: 14 if n == 0 else 0)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert metric(text, "otap_requests_failed", reason="UNAVAILABLE") == 1
    assert metric(text, "otap_retries") == 1
    assert metric(text, "otap_statuses", code="UNAVAILABLE") == 1
    assert metric(text, "otap_batches_acked") == 1
    assert metric(text, "otap_batches_nacked") == 0
    assert peer.messages == 2


def test_permanent_status_is_nacked(run, tmp_path):
    # Scenario: the peer answers INVALID_ARGUMENT.
    # Guarantees: the batch is Nacked permanently at once (no retry); the replay
    # reports it undelivered (exit code 3).
    proc, text, peer = scripted_replay(run, tmp_path, lambda n: 3)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert metric(text, "otap_batches_nacked", outcome="permanent") == 1
    assert metric(text, "otap_retries") == 0
    assert peer.messages == 1


def test_batch_that_keeps_ending_streams_is_nacked(run, tmp_path):
    # Scenario: the peer ends every stream (status OK) as soon as a message arrives,
    # without answering it (what a Rust receiver does on data it cannot decode).
    # Guarantees: the batch is retried on fresh streams, and after
    # max_stream_failures (3) stream ends it is Nacked permanently, not retried forever.
    proc, text, peer = scripted_replay(run, tmp_path, lambda n: None)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert metric(text, "otap_batches_nacked", outcome="permanent") == 1
    assert metric(text, "otap_streams_failed") == 3
    assert metric(text, "otap_messages_unanswered") == 3
    assert metric(text, "otap_requests_failed", reason="stream_ended") == 3
    assert peer.messages == 3 and peer.streams == 3


def test_stale_parts_of_a_failed_split_batch_are_no_strike(run, tmp_path):
    # Scenario: one batch of 1000 logs split into parts (uncompressed, 64KiB
    # messages); the peer answers the first part UNAVAILABLE, then ends the stream
    # on the second part (unanswered); it ends the retry's stream too on its first
    # part; then answers OK. max_stream_failures 2.
    # Guarantees: the first stream's end is no strike: the attempt had already
    # failed (on the first part's status) and the batch was being retried. So the
    # batch has one strike, is retried again and Acked (the stale strike used to
    # make the second stream end its second: Nacked permanently, exit 3).
    src, lake = make_lake(run, tmp_path, "logs", requests=1, items=250)
    port = free_port()
    peer = ScriptedPeer(port, lambda n: 14 if n == 0 else (None if n in (1, 2) else 0))
    try:
        config = write_config(
            tmp_path / "stale.yaml",
            {"src": {"type": "receiver:parquet",
                     "config": {"base_uri": str(lake), "signal_types": ["logs"],
                                "processing_options": {"batch_size": 1000},
                                "retry": {"max_retries": 0}}},
             # A retry backoff far above the time the first stream takes to end,
            # so that the retry never lands on that stream.
            "otap": otap_exporter(port, {"max_message_size": "64KiB",
                                          "retry_on_failure": {"initial_interval": "3s",
                                                               "max_interval": "5s"},
                                          "max_stream_failures": 2,
                                          "arrow": {"payload_compression": "none",
                                                    "max_stream_lifetime": "0s"}})},
            [{"from": "src", "to": "otap"}])
        metrics = tmp_path / "stale.prom"
        proc = run("run", "--num-cores", "1", "-c", config, "--metrics-file", metrics,
                   check=False, timeout=120)
        text = metrics.read_text()
    finally:
        peer.stop()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert metric(text, "otap_split_batches") >= 1
    assert metric(text, "otap_streams_failed") == 2
    assert metric(text, "otap_batches_nacked") == 0
    assert metric(text, "otap_batches_acked") == 1
    assert metric(text, "parquet_batches_emitted", node="src") == 1


def test_hung_batch_is_cancelled_and_retried(run, tmp_path):
    # Scenario: the peer never answers the first message (the stream stays open,
    # the peer keeps reading), then answers OK at once; exporter `timeout: 2s` (far
    # above the peer's answer time, so no OK answer can miss it).
    # Guarantees: after the timeout the exporter cancels that stream, the batch
    # fails retryable (DEADLINE_EXCEEDED) and is sent again on a new stream, where it
    # is Acked; nothing is Nacked.
    proc, text, peer = scripted_replay(run, tmp_path, lambda n: HANG if n == 0 else 0,
                                       {"timeout": "2s"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert metric(text, "otap_batch_timeouts") == 1
    assert metric(text, "otap_requests_failed", reason="DEADLINE_EXCEEDED") == 1
    assert metric(text, "otap_retries") == 1
    assert metric(text, "otap_batches_acked") == 1
    assert metric(text, "otap_batches_nacked") == 0
    assert peer.messages == 2 and peer.streams == 2
    assert "otap.batch_timeout" in proc.stderr


def test_batch_that_always_hangs_is_nacked(run, tmp_path):
    # Scenario: the peer never answers any message.
    # Guarantees: each attempt's stream is cancelled after the timeout and the batch
    # retried on a new one, max_stream_failures (2 here) times; then it is Nacked
    # permanently and the replay ends (exit code 3) instead of waiting forever.
    proc, text, peer = scripted_replay(run, tmp_path, lambda n: HANG,
                                       {"timeout": "2s", "max_stream_failures": 2})
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert metric(text, "otap_batch_timeouts") == 2
    assert metric(text, "otap_requests_failed", reason="DEADLINE_EXCEEDED") == 2
    assert metric(text, "otap_batches_nacked", outcome="permanent") == 1
    assert metric(text, "otap_batches_acked") == 0
    assert peer.messages == 2 and peer.streams == 2


def test_timeout_blames_only_the_hung_batch(run, tmp_path):
    # Scenario: several batches on one stream; the peer never answers the first (and
    # so never reads the others), then answers OK; `timeout: 3s`, max_stream_failures 1
    # (one strike is fatal).
    # Guarantees: the timeout cancels the stream; the hung batch takes the strike and
    # is Nacked; the batches queued behind it are retried without a strike (reason
    # CANCELLED) and Acked on a new stream.
    proc, text, peer = scripted_replay(run, tmp_path, lambda n: HANG if n == 0 else 0,
                                       {"timeout": "3s", "max_stream_failures": 1},
                                       batch_size=30)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert metric(text, "otap_batch_timeouts") == 1
    assert metric(text, "otap_requests_failed", reason="DEADLINE_EXCEEDED") == 1
    queued = metric(text, "otap_requests_failed", reason="CANCELLED")
    assert queued >= 1
    assert metric(text, "otap_batches_nacked", outcome="permanent") == 1
    assert metric(text, "otap_batches_acked") == queued
    assert peer.streams == 2


def test_hung_batch_on_a_rolled_over_stream_times_out(run, tmp_path):
    # Scenario: the peer never answers the first message it gets and answers the
    # second UNAVAILABLE, then OK; `max_stream_lifetime: 1ns`, so every later batch
    # (the UNAVAILABLE one's retry at least) replaces the stream in the slot and
    # half-closes the old one, which then holds the hung batch; `timeout: 2s`.
    # Guarantees: the half-closed stream is still watched: the hung batch times out
    # (DEADLINE_EXCEEDED), is retried on a new stream and Acked; the run ends (it
    # used to wait forever for the unwatched, never-cancelled stream).
    proc, text, peer = scripted_replay(
        run, tmp_path, lambda n: HANG if n == 0 else (14 if n == 1 else 0),
        {"timeout": "2s", "arrow": {"max_stream_lifetime": "1ns"}},
        batch_size=30, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert metric(text, "otap_batch_timeouts") == 1
    assert metric(text, "otap_requests_failed", reason="DEADLINE_EXCEEDED") == 1
    assert metric(text, "otap_requests_failed", reason="UNAVAILABLE") == 1
    assert metric(text, "otap_batches_nacked") == 0
    assert metric(text, "otap_batches_acked") >= 2


def test_rolled_over_stream_half_closes_only_once_answered(run, tmp_path):
    # Scenario: `max_stream_lifetime: 1ns` (each batch replaces the stream and the old
    # one is half-closed) against a peer that holds each answer until the next
    # message or 1 s, and counts half-closes that came while an answer was held.
    # Guarantees: the exporter half-closes a stream only once all its batches are
    # answered (the Collector's otelarrowreceiver v0.148.0 can leave a half-closed
    # stream's batches unanswered: they timed out and were sent twice); every batch
    # is Acked at its first attempt.
    proc, text, peer = scripted_replay(
        run, tmp_path, None, {"arrow": {"max_stream_lifetime": "1ns"}},
        batch_size=30, timeout=120, peer_class=HoldingPeer)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert metric(text, "otap_streams_rolled_over") >= 1
    assert peer.early_half_closes == 0
    assert metric(text, "otap_batches_acked") == peer.messages >= 2
    assert metric(text, "otap_retries") == 0


def test_shipped_replay_config_validates(run):
    proc = run("run", "-c", ROOT / "configs" / "parquet-replay-otap.yaml",
               "--validate-and-exit")
    assert "is valid" in proc.stdout
