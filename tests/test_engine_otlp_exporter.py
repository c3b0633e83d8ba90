# SPDX-License-Identifier: Apache-2.0
"""`exporter:otlp_grpc` and `exporter:otlp_http` end to end: `otap-parquet run`
replays a dataset (`otap-parquet convert` of generated OTLP) through
receiver:parquet into the exporter, which sends to a real OTLP peer (grpcio's
collector servicers / http.server, tests/otlp_peer.py); what the peer received is
compared with the source by `otap-parquet compare`."""
import json
import re
import socket
import subprocess

import pytest
from engines import v1_config

from otlp_peer import OtlpPeer, self_signed_cert

SIGNALS = ("logs", "traces", "metrics")
# receiver:parquet retries Nacked batches by default (about two minutes); tests of
# a peer that never accepts turn that off: the batches are given up at once and
# the run exits 3.
NO_REPLAY_RETRIES = "retry: {max_retries: 0}"


def metric(text, name, node="out", label=None):
    """Sum of `otap_node_<name>[_total]` over the lines of `node` (with `label`)."""
    total = 0
    for m in re.finditer(rf"^otap_node_{name}(?:_total)?\{{([^}}]*)\}} (\d+)$", text, re.M):
        labels = m.group(1)
        if f'node="{node}"' in labels and (label is None or label in labels):
            total += int(m.group(2))
    return total


@pytest.fixture
def lake(run, tmp_path):
    """Generated OTLP per signal (src.<signal>.pb) and one dataset of all three."""
    sources = {}
    for i, signal in enumerate(SIGNALS):
        src = tmp_path / f"src.{signal}.pb"
        run("generate", "--signal", signal, "--requests", "4", "--items", "15",
            "--seed", str(11 + i), src)
        sources[signal] = src
    out = tmp_path / "lake"
    run("convert", "--max-batch-rows", "40", *sources.values(), out)
    return out, sources


def write_config(tmp_path, lake_dir, exporter, config, signals=SIGNALS, receiver=""):
    body = "\n".join("      " + line for line in config.strip().splitlines())
    extra = "".join("\n    " + line for line in receiver.strip().splitlines())
    text = v1_config(f"""
replay:
  type: receiver:parquet
  config:
    base_uri: {lake_dir}
    signal_types: [{", ".join(signals)}]
    processing_options:
      batch_size: 40{extra}
out:
  type: exporter:{exporter}
  config:
{body}""", "- {from: replay, to: out}", "channel_capacity:\n  pdata: 8")
    path = tmp_path / "otlp.yaml"
    path.write_text(text)
    return path


def run_pipeline(cli, tmp_path, config, expect=0):
    """Runs the config; `expect` is the exit code (3: some data was given up)."""
    metrics = tmp_path / "metrics.prom"
    proc = subprocess.run(
        [str(cli), "run", "-c", str(config), "--duration", "60s",
         "--shutdown-timeout", "20s", "--metrics-file", str(metrics)],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == expect, proc.stderr
    return metrics.read_text(), proc.stderr


def assert_same_telemetry(run, peer, tmp_path, sources, signals=SIGNALS, ext=".pb"):
    for signal in signals:
        got = tmp_path / f"got.{signal}{ext}"
        peer.write(got, signal)
        proc = run("compare", "--signal", signal, sources[signal], got, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def source_items(sources, signal):
    """Items of a generated source file (parsed with the peer's protobuf classes)."""
    from google.protobuf.internal.decoder import _DecodeVarint32

    from otlp_peer import SIGNALS as TYPES, count_items
    data = sources[signal].read_bytes()
    pos, total = 0, 0
    while pos < len(data):
        size, pos = _DecodeVarint32(data, pos)
        request = TYPES[signal][0]()
        request.ParseFromString(data[pos:pos + size])
        pos += size
        total += count_items(signal, request)
    return total


def test_grpc_replay_equals_source_with_gzip_and_headers(cli, run, tmp_path, lake):
    # Scenario: the dataset (logs, traces, metrics) replayed into exporter:otlp_grpc
    # with gzip, a header, max_in_flight 4, towards a grpcio peer.
    # Guarantees: exit 0; per signal the peer received exactly the source telemetry
    # (compare); the header reached the peer as metadata; the exporter's metrics
    # count every item exported, requests == successes, nothing nacked.
    lake_dir, sources = lake
    with OtlpPeer("grpc") as peer:
        config = write_config(tmp_path, lake_dir, "otlp_grpc", f"""
grpc_endpoint: {peer.endpoint}
compression: gzip
max_in_flight: 4
timeout: 10s
headers: {{x-tenant: acme}}
""")
        text, _ = run_pipeline(cli, tmp_path, config)
        assert_same_telemetry(run, peer, tmp_path, sources)
        assert all(h.get("x-tenant") == "acme" for h in peer.headers())
        for signal in SIGNALS:
            expected = source_items(sources, signal)
            assert expected > 0
            assert metric(text, "otlp_grpc_items_exported", label=f'signal="{signal}"') \
                == expected
        sent = metric(text, "otlp_grpc_requests_sent")
        assert sent == len(peer.accepted) > 3
        assert metric(text, "otlp_grpc_requests_succeeded") == sent
        assert metric(text, "otlp_grpc_batches_acked") == sent
        assert metric(text, "otlp_grpc_batches_nacked") == 0
        assert metric(text, "otlp_grpc_bytes_sent") > 0


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_http_replay_equals_source_with_compression_and_headers(cli, run, tmp_path, lake,
                                                                compression):
    # Scenario: the same replay into exporter:otlp_http (protobuf, gzip or zstd, a header).
    # Guarantees: POSTs arrive as application/x-protobuf with that Content-Encoding
    # and the header; the peer (Python's gzip / the zstandard package) decoded exactly
    # the source telemetry.
    lake_dir, sources = lake
    with OtlpPeer("http") as peer:
        config = write_config(tmp_path, lake_dir, "otlp_http", f"""
endpoint: {peer.endpoint}
client_pool_size: 2
max_in_flight: 4
http:
  compression: {compression}
  timeout: 10s
  headers: {{x-tenant: acme}}
""")
        text, _ = run_pipeline(cli, tmp_path, config)
        assert_same_telemetry(run, peer, tmp_path, sources)
        headers = peer.headers()
        assert headers and all(h["content-encoding"] == compression for h in headers)
        assert all(h["content-type"] == "application/x-protobuf" for h in headers)
        assert all(h["x-tenant"] == "acme" for h in headers)
        assert metric(text, "otlp_http_batches_acked") == len(headers)


def test_http_json_encoding(cli, run, tmp_path, lake):
    # Scenario: exporter:otlp_http with `encoding: json`, logs and traces.
    # Guarantees: the peer gets application/json bodies that the CLI reads back as
    # OTLP/JSON equal to the source.
    lake_dir, sources = lake
    with OtlpPeer("http") as peer:
        config = write_config(tmp_path, lake_dir, "otlp_http", f"""
endpoint: {peer.endpoint}
encoding: json
""", signals=("logs", "traces"))
        run_pipeline(cli, tmp_path, config)
        assert all(h["content-type"] == "application/json" for h in peer.headers())
        assert_same_telemetry(run, peer, tmp_path, sources, ("logs", "traces"), ".jsonl")


def tls_exporter_settings(protocol, endpoint, tls):
    """Exporter config for `endpoint` with `tls` (a `tls: {...}` line) and quick
    retries that give up after 200ms."""
    retry = "retry_on_failure: {initial_interval: 10ms, max_interval: 20ms, " \
            "max_elapsed_time: 200ms}"
    if protocol == "grpc":
        return f"grpc_endpoint: {endpoint}\ntimeout: 5s\n{tls}\n{retry}"
    return f"endpoint: {endpoint}\nhttp: {{timeout: 5s, {tls}}}\n{retry}"


def export_over_tls(cli, run, tmp_path, lake, protocol, cert_key, tls, delivered):
    """Replays the lake's logs to a TLS peer serving `cert_key` with exporter
    `tls`; then either every log record arrived (`delivered`) or none did, every
    batch was Nacked as retryable and given up by the receiver (its retries off),
    and the run exited 3."""
    lake_dir, sources = lake
    exporter = "otlp_grpc" if protocol == "grpc" else "otlp_http"
    with OtlpPeer(protocol, tls=cert_key) as peer:
        assert peer.endpoint.startswith("https://localhost:")
        config = write_config(tmp_path, lake_dir, exporter,
                              tls_exporter_settings(protocol, peer.endpoint, tls),
                              signals=("logs",),
                              receiver="" if delivered else NO_REPLAY_RETRIES)
        text, _ = run_pipeline(cli, tmp_path, config, expect=0 if delivered else 3)
        if delivered:
            assert_same_telemetry(run, peer, tmp_path, sources, ("logs",))
        else:
            assert peer.items() == 0
            assert metric(text, f"{exporter}_batches_nacked",
                          label='outcome="retryable"') > 0
            assert metric(text, f"{exporter}_batches_acked") == 0


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_tls_with_self_signed_ca(cli, run, tmp_path, lake, protocol):
    # Scenario: the peer serves TLS with a certificate made in the test; the
    # exporter trusts it through tls.ca_file, then through tls.ca_pem.
    # Guarantees: every log record arrives over TLS; without the CA the same run
    # exports nothing (verification fails), Nacks every batch and exits 3.
    cert, key = self_signed_cert()
    ca = tmp_path / "ca.pem"
    ca.write_bytes(cert)
    export_over_tls(cli, run, tmp_path, lake, protocol, (cert, key),
                    f"tls: {{ca_file: {ca}}}", delivered=True)
    # The same CA given inline (ca_pem) instead of a file.
    export_over_tls(cli, run, tmp_path, lake, protocol, (cert, key),
                    f"tls: {{ca_pem: {json.dumps(cert.decode())}}}", delivered=True)
    export_over_tls(cli, run, tmp_path, lake, protocol, (cert, key),
                    "tls: {include_system_ca_certs_pool: true}", delivered=False)


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_tls_server_name_override(cli, run, tmp_path, lake, protocol):
    # Scenario: the peer's certificate names only "otlp.internal" (no localhost,
    # no IP); the exporter connects to https://localhost:<port>.
    # Guarantees: with tls.server_name_override: otlp.internal the certificate is
    # checked against that name and every log record arrives; without it the
    # same run exports nothing (the name does not match) and Nacks every batch.
    cert, key = self_signed_cert("otlp.internal", with_ip=False)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(cert)
    export_over_tls(cli, run, tmp_path, lake, protocol, (cert, key),
                    f"tls: {{ca_file: {ca}, server_name_override: otlp.internal}}",
                    delivered=True)
    export_over_tls(cli, run, tmp_path, lake, protocol, (cert, key),
                    f"tls: {{ca_file: {ca}}}", delivered=False)


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_tls_server_name_override_unresolvable_host(cli, tmp_path, lake, protocol):
    # Scenario: tls.server_name_override with an endpoint whose host does not
    # resolve (.invalid); then the override on a plaintext http:// endpoint.
    # Guarantees: the run ends cleanly (exit 3, the batches given up: a client that
    # could not be built leaves nothing behind for shutdown); every batch is Nacked as retryable,
    # never permanent (name resolution may work later); nothing is acked; the
    # override that cannot apply is reported as unused.
    lake_dir, _ = lake
    cert, _ = self_signed_cert("otlp.internal", with_ip=False)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(cert)
    exporter = "otlp_grpc" if protocol == "grpc" else "otlp_http"
    tls = f"tls: {{ca_file: {ca}, server_name_override: otlp.internal}}"

    def settings(endpoint):
        return tls_exporter_settings(protocol, endpoint, tls)

    config = write_config(tmp_path, lake_dir, exporter,
                          settings("https://no-such-host.invalid:4318"), signals=("logs",),
                          receiver=NO_REPLAY_RETRIES)
    text, stderr = run_pipeline(cli, tmp_path, config, expect=3)
    assert metric(text, f"{exporter}_batches_nacked", label='outcome="retryable"') > 0
    assert metric(text, f"{exporter}_batches_nacked", label='outcome="permanent"') == 0
    assert metric(text, f"{exporter}_batches_acked") == 0
    if protocol == "http":
        assert metric(text, f"{exporter}_requests_failed", label='reason="transport"') > 0
        assert "cannot resolve no-such-host.invalid" in stderr

    config = write_config(tmp_path, lake_dir, exporter,
                          settings("http://127.0.0.1:9"), signals=("logs",),
                          receiver=NO_REPLAY_RETRIES)
    _, stderr = run_pipeline(cli, tmp_path, config, expect=3)
    assert 'tls.server_name_override "otlp.internal" is unused' in stderr


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_retry_then_success(cli, run, tmp_path, lake, protocol):
    # Scenario: the peer answers UNAVAILABLE / 503 with a retry hint (RetryInfo
    # 10ms / Retry-After: 0) to the first 3 requests, then accepts.
    # Guarantees: every log record arrives exactly once (compare); the exporter
    # counts 3 failures of that reason and 3 retries; nothing is Nacked.
    lake_dir, sources = lake
    exporter = "otlp_grpc" if protocol == "grpc" else "otlp_http"
    endpoint_key = "grpc_endpoint" if protocol == "grpc" else "endpoint"
    with OtlpPeer(protocol, fail_first=3,
                  retry_after=0.01 if protocol == "grpc" else 0) as peer:
        config = write_config(tmp_path, lake_dir, exporter, f"""
{endpoint_key}: {peer.endpoint}
max_in_flight: 1
retry_on_failure: {{initial_interval: 5ms, max_interval: 50ms}}
""", signals=("logs",))
        text, _ = run_pipeline(cli, tmp_path, config)
        assert_same_telemetry(run, peer, tmp_path, sources, ("logs",))
        reason = "UNAVAILABLE" if protocol == "grpc" else "http_503"
        assert metric(text, f"{exporter}_requests_failed", label=f'reason="{reason}"') == 3
        assert metric(text, f"{exporter}_retries") == 3
        assert metric(text, f"{exporter}_batches_nacked") == 0
        assert metric(text, "acked", node="replay") == len(peer.accepted)


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_permanent_error_nacks_and_run_continues(cli, run, tmp_path, lake, protocol):
    # Scenario: the peer rejects the first request with INVALID_ARGUMENT / 400.
    # Guarantees: that batch is Nacked permanently at once (1 attempt, no retry),
    # counted by the exporter and the receiver; every other batch is exported; the
    # run ends by itself with exit 3 and a summary of the batch given up.
    lake_dir, sources = lake
    exporter = "otlp_grpc" if protocol == "grpc" else "otlp_http"
    endpoint_key = "grpc_endpoint" if protocol == "grpc" else "endpoint"
    with OtlpPeer(protocol, fail_first=1, failure="invalid") as peer:
        config = write_config(tmp_path, lake_dir, exporter, f"""
{endpoint_key}: {peer.endpoint}
max_in_flight: 1
retry_on_failure: {{initial_interval: 5ms}}
""", signals=("logs",))
        text, stderr = run_pipeline(cli, tmp_path, config, expect=3)
        assert metric(text, f"{exporter}_batches_nacked", label='outcome="permanent"') == 1
        assert metric(text, f"{exporter}_retries") == 0
        assert metric(text, "nacked_permanent", node="replay") == 1
        assert metric(text, "acked", node="replay") == len(peer.accepted) > 0
        assert peer.attempts == len(peer.accepted) + 1
        assert 0 < peer.items("logs") < source_items(sources, "logs")
        assert "permanent=true" in stderr
        assert metric(text, "parquet_batches_abandoned", node="replay") == 1
        assert re.search(r"undelivered: \S+/replay: 1 batches \(\d+ records\)", stderr)


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_peer_down_for_the_whole_run(cli, tmp_path, lake, protocol):
    # Scenario: nothing listens at the endpoint; the exporter retries for at most
    # 100ms, receiver:parquet sends each Nacked batch twice more (10-20ms backoff).
    # Guarantees: every batch the receiver sent is Nacked retryable (receiver and
    # exporter agree); nothing is Acked; each batch is sent 3 times, then given up;
    # the run ends by itself with exit 3 and a summary naming every batch and
    # record of the dataset.
    lake_dir, _ = lake
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: connection refused
    exporter = "otlp_grpc" if protocol == "grpc" else "otlp_http"
    endpoint_key = "grpc_endpoint" if protocol == "grpc" else "endpoint"
    config = write_config(tmp_path, lake_dir, exporter, f"""
{endpoint_key}: http://127.0.0.1:{port}
max_in_flight: 2
retry_on_failure: {{initial_interval: 10ms, max_interval: 20ms, max_elapsed_time: 100ms}}
""", signals=("logs",), receiver="retry: {max_retries: 2, init_backoff: 10ms, max_backoff: 20ms}")
    text, stderr = run_pipeline(cli, tmp_path, config, expect=3)
    sent = metric(text, "sent_batches", node="replay")
    batches = metric(text, "parquet_batches_emitted", node="replay")
    records = metric(text, "parquet_records_emitted", node="replay")
    assert sent == 3 * batches > 0
    assert metric(text, "parquet_batches_retried", node="replay") == 2 * batches
    assert metric(text, "parquet_batches_abandoned", node="replay") == batches
    assert metric(text, "parquet_records_abandoned", node="replay") == records > 0
    assert f"/replay: {batches} batches ({records} records) refused downstream" in stderr
    assert metric(text, "nacked_retryable", node="replay") == sent
    assert metric(text, f"{exporter}_batches_nacked", label='outcome="retryable"') == sent
    assert metric(text, f"{exporter}_batches_acked") == 0
    assert metric(text, f"{exporter}_retries") >= sent
    assert "retries exhausted" in stderr


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_partial_success_is_acked_and_counted(cli, tmp_path, lake, protocol):
    # Scenario: the peer accepts every request but answers partial_success with
    # 2 rejected log records each time.
    # Guarantees: every batch is Acked (the peer answered success); the rejected
    # items are counted (2 per request) and logged; items_exported excludes them.
    lake_dir, sources = lake
    exporter = "otlp_grpc" if protocol == "grpc" else "otlp_http"
    endpoint_key = "grpc_endpoint" if protocol == "grpc" else "endpoint"
    with OtlpPeer(protocol, partial_reject=2) as peer:
        config = write_config(tmp_path, lake_dir, exporter,
                              f"{endpoint_key}: {peer.endpoint}", signals=("logs",))
        text, stderr = run_pipeline(cli, tmp_path, config)
        requests = len(peer.accepted)
        assert requests > 0
        assert metric(text, f"{exporter}_batches_acked") == requests
        assert metric(text, f"{exporter}_items_rejected") == 2 * requests
        assert metric(text, f"{exporter}_items_exported", label='signal="logs"') == \
            source_items(sources, "logs") - 2 * requests
        assert "partial_success" in stderr and "peer told to reject some" in stderr


@pytest.mark.parametrize("max_retries", [8, 0])
def test_replay_retries_nacked_batches(cli, run, tmp_path, lake, max_retries):
    # Scenario: exporter:otlp_grpc with its own retries off, so a refused request
    # Nacks the batch at once; the peer answers UNAVAILABLE to its first 3 requests.
    # Guarantees: receiver:parquet sends Nacked batches again after its backoff and
    # the peer ends with exactly the source telemetry; with `max_retries: 0` the
    # batches are given up (counted as abandoned, exit 3) and the peer misses them.
    # Counts are relative to the Nacks: the peer refuses exactly 3 requests, but a
    # loaded machine can add retryable Nacks of its own (a request past its
    # deadline), so "3 retries" would depend on timing.
    lake_dir, sources = lake
    with OtlpPeer("grpc", fail_first=3) as peer:
        config = write_config(tmp_path, lake_dir, "otlp_grpc", f"""
grpc_endpoint: {peer.endpoint}
max_in_flight: 2
retry_on_failure: {{enabled: false}}
""", receiver=f"retry: {{max_retries: {max_retries}, init_backoff: 20ms, "
                  "max_backoff: 100ms}")
        text, _ = run_pipeline(cli, tmp_path, config, expect=0 if max_retries else 3)
        received = peer.items()
        nacked = metric(text, "parquet_batches_nacked", node="replay")
        assert nacked >= 3
        assert peer.attempts - len(peer.accepted) == 3
        if max_retries:
            assert_same_telemetry(run, peer, tmp_path, sources)
            assert metric(text, "parquet_batches_retried", node="replay") == nacked
            assert metric(text, "parquet_batches_abandoned", node="replay") == 0
        else:
            assert received < sum(source_items(sources, s) for s in SIGNALS)
            assert metric(text, "parquet_batches_retried", node="replay") == 0
            assert metric(text, "parquet_batches_abandoned", node="replay") == nacked
