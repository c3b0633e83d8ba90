# SPDX-License-Identifier: Apache-2.0
"""Real OTLP clients against `otap-parquet run` (issue 14 item 5).

The clients are telemetrygen (the Collector contrib load generator: the OpenTelemetry
Go SDK's OTLP exporters) and an OpenTelemetry Collector made by the Collector builder
(OTLP receiver → batch → `otlp_grpc` or `otlp_http` exporter with its default sending
queue and retry, 10 consumers), built from pinned sources by scripts/build_peers.sh
(the `peers` fixture). The engine runs receiver:otlp (gRPC and HTTP) →
exporter:parquet on one core, with the acknowledgement settings of ACKS below.

Every telemetrygen run sends a fixed number of items as fast as its
acknowledgements come back, so counts never depend on timing. Logs are counted by
(body, time): each logs run has one worker and its own body, and a worker's
timestamps strictly increase. Spans are counted by (trace_id, span_id) (random ids).
Checked: no client reports a failed or dropped export, every item generated is in
the dataset exactly once (kill -9: at least once, duplicates reported), and the
Collector's own metrics show nothing failed or dropped. A `real clients: ...` line
per test reports records/s, the engine's CPU and latencies (printed at the end).
"""
import json
import pathlib
import sys
import threading
import time

import pytest
from engines import wait_until
from otlp_clients import (Collector, Process, Telemetrygen, cpu_seconds, log_counts,
                          span_counts, summary)
from s3_server import free_port
from test_engine_otlp_receiver import metric

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "bench"))
from otlp_http_slow_clients import SlowClients, payload, percentile, valid_requests  # noqa: E402

# What an OK means here: exporter:parquet's write-ahead log is on and the receiver
# waits for the outcome, so an OK means fdatasynced in the WAL (under
# <dataset>/_wal); files are cut by the size/age rules, as in the shipped
# configs/otlp-parquet.yaml.
ACKS = {
    "receiver": {"wait_for_result": True, "timeout": "30s"},
    "exporter": {"wal": {"enabled": True},
                 "writer_options": {"target_rows_per_file": 1_000_000,
                                    "flush_when_older_than": "30s"}},
}

LOG_RUNS = 4  # telemetrygen logs processes (one worker each: see the docstring)
LOGS_PER_RUN = 15_000
TRACE_WORKERS = 4  # one telemetrygen traces process
TRACES_PER_WORKER = 2_500  # a parent and a child span each


@pytest.fixture(autouse=True)
def kill_clients_left():
    """Clients still running after a test (it failed) are killed."""
    yield
    Process.kill_all()


def engine_config(path, dataset, grpc_port, http_port, **receiver_keys):
    receiver = {"protocols": {
        "grpc": {"listening_addr": f"127.0.0.1:{grpc_port}",
                 "max_decoding_message_size": "16MiB", **ACKS["receiver"], **receiver_keys},
        "http": {"listening_addr": f"127.0.0.1:{http_port}",
                 "max_request_body_size": "16MiB", **ACKS["receiver"], **receiver_keys}}}
    exporter = {"storage": {"file": {"base_uri": str(dataset)}},
                "partitioning_strategies": [{"schema_metadata": ["_part_id"]}],
                **ACKS["exporter"]}
    config = {"version": "otel_dataflow/v1", "groups": {"default": {"pipelines": {"main": {
        "nodes": {"otlp": {"type": "receiver:otlp", "config": receiver},
                  "parquet": {"type": "exporter:parquet", "config": exporter}},
        "connections": [{"from": "otlp", "to": "parquet"}]}}}}}
    path.write_text(json.dumps(config, indent=1))  # JSON is YAML
    return path


class Load:
    """LOG_RUNS telemetrygen logs runs (bodies `<tag>-<k>`) and, unless traces is 0,
    one traces run of TRACE_WORKERS workers, all to `endpoint`."""

    def __init__(self, peers, tmp_path, tag, endpoint, http=False, logs=LOGS_PER_RUN,
                 traces=TRACES_PER_WORKER, timeout="60s"):
        binary = peers["telemetrygen"]
        self.logs = [Telemetrygen(binary, "logs", endpoint, tmp_path / f"{tag}-logs-{k}.log",
                                  count=logs, http=http, body=f"{tag}-{k}", timeout=timeout)
                     for k in range(LOG_RUNS)]
        self.traces = traces and Telemetrygen(
            binary, "traces", endpoint, tmp_path / f"{tag}-traces.log", count=traces,
            workers=TRACE_WORKERS, batch_size=1000, http=http, timeout=timeout)
        self.started = time.monotonic()

    def check(self, timeout=120):
        """Waits for every run; asserts no failure; returns (logs {body: n}, spans)."""
        expected = {run.args[run.args.index("--body") + 1]: run.check(timeout)
                    for run in self.logs}
        spans = self.traces.check(timeout) if self.traces else 0
        self.seconds = time.monotonic() - self.started
        return expected, spans

    def acked_logs(self):
        return sum(run.acked() for run in self.logs)


def check_dataset(dataset, logs, spans, duplicates_allowed=False, other_bodies=()):
    """Asserts every generated item is in the dataset (exactly once unless
    duplicates_allowed) and no log record of another body than those of `logs`
    and `other_bodies`; returns the duplicate count."""
    counts = log_counts(dataset)
    lost = {body: n - counts.get(body, (0, 0))[1] for body, n in logs.items()
            if counts.get(body, (0, 0))[1] != n}
    phantom = set(counts) - set(logs) - set(other_bodies)
    rows, distinct = span_counts(dataset)
    duplicates = sum(counts[body][0] - counts[body][1] for body in logs if body in counts)
    duplicates += rows - distinct
    assert not lost and not phantom and distinct == spans, (
        f"log records lost per run {lost}, unknown bodies {phantom}, "
        f"spans distinct {distinct} of {spans}")
    if not duplicates_allowed:
        assert duplicates == 0, f"{duplicates} duplicates: logs {counts}, spans {rows}"
    return duplicates


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_telemetrygen_to_engine(peers, engine, tmp_path, protocol):
    """telemetrygen (4 logs runs + 4 trace workers, unthrottled) → our receiver
    (OTLP/gRPC or OTLP/HTTP protobuf) → exporter:parquet: no failed export, every
    item exactly once."""
    gport, hport = free_port(), free_port()
    dataset = tmp_path / "dataset"
    eng = engine(engine_config(tmp_path / "engine.yaml", dataset, gport, hport))
    load = Load(peers, tmp_path, f"tg{protocol}",
                f"127.0.0.1:{gport if protocol == 'grpc' else hport}", http=protocol == "http")
    logs, spans = load.check()
    cpu = cpu_seconds(eng.proc.pid)
    eng.stop()
    check_dataset(dataset, logs, spans)
    items = sum(logs.values()) + spans
    summary(f"telemetrygen-{protocol}", items=items, seconds=round(load.seconds, 1),
            items_per_s=round(items / load.seconds), engine_cpu_s=round(cpu, 1),
            items_per_engine_cpu_s=round(items / cpu), duplicates=0)


@pytest.mark.parametrize("exporter", ["otlp_grpc", "otlp_http"])
def test_collector_to_engine(peers, engine, tmp_path, exporter):
    """telemetrygen → Collector (batch, `exporter` with its default queue and retry,
    10 consumers) → our receiver: the Collector sends everything without a failed
    export or a retry, and every item is in the dataset exactly once."""
    gport, hport = free_port(), free_port()
    dataset = tmp_path / "dataset"
    eng = engine(engine_config(tmp_path / "engine.yaml", dataset, gport, hport))
    col = Collector(peers["otelcol"], tmp_path, exporter, gport, hport)
    load = Load(peers, tmp_path, exporter, f"127.0.0.1:{col.port}")
    logs, spans = load.check()
    col.wait_sent(sum(logs.values()), spans)
    seconds = time.monotonic() - load.started
    failed, retries, failures = col.failed(), col.retries(), col.failures()
    assert (failed, retries, failures) == (0, 0, []), (
        f"Collector: {failed} items failed, {retries} retries, {failures[:5]}")
    cpu = cpu_seconds(eng.proc.pid)
    assert col.stop() == 0, col.tail()
    eng.stop()
    check_dataset(dataset, logs, spans)
    items = sum(logs.values()) + spans
    summary(f"collector-{exporter}", items=items, seconds=round(seconds, 1),
            items_per_s=round(items / seconds), engine_cpu_s=round(cpu, 1), duplicates=0)


def test_slow_http_connections_with_real_clients(peers, engine, tmp_path):
    """64 idle + 16 slow-drip connections (bench/otlp_http_slow_clients.py) on our
    OTLP/HTTP port while telemetrygen sends logs over OTLP/HTTP and a client of 4
    threads posts 25 small requests each: every valid request is answered 200
    within its 10 s timeout, telemetrygen reports no failure, every record lands."""
    gport, hport = free_port(), free_port()
    dataset = tmp_path / "dataset"
    eng = engine(engine_config(tmp_path / "engine.yaml", dataset, gport, hport))
    slow = SlowClients(hport, idle=64, drip=16)
    try:
        wait_until(lambda: metric(eng.metrics(), "otlp_http_connections") >= 80,
                   "80 slow connections open")
        load = Telemetrygen(peers["telemetrygen"], "logs", f"127.0.0.1:{hport}",
                            tmp_path / "slow-logs.log", count=10_000, http=True,
                            body="slow-tg")
        results = []

        def client():
            results.append(valid_requests(hport, payload(10), 25, timeout=10))

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        telemetrygen_logs = load.check()
        still_open = metric(eng.metrics(), "otlp_http_connections")
    finally:
        slow.close()
    eng.stop()
    latencies = sorted(x for lat, _ in results for x in lat)
    failures = [f for _, f in results if f]
    assert not failures, f"valid requests failed: {failures}"
    # payload(10): records with the bodies "bench 0" ... "bench 9", once per request.
    bench = [f"bench {i}" for i in range(10)]
    check_dataset(dataset, {"slow-tg": telemetrygen_logs}, 0, other_bodies=bench)
    counts = log_counts(dataset)
    assert [counts.get(b, (0, 0))[0] for b in bench] == [len(latencies)] * 10, counts
    summary("slow-http", requests=len(latencies),
            p50_ms=round(percentile(latencies, 50) * 1000, 1),
            p99_ms=round(percentile(latencies, 99) * 1000, 1),
            max_ms=round(latencies[-1] * 1000, 1), connections_at_end=still_open,
            telemetrygen_logs=telemetrygen_logs)


# telemetrygen over OTLP/HTTP is not among them: the Go SDK's HTTP exporters do not
# retry a refused or reset connection (only HTTP statuses), so a kill fails its
# export; the Collector's otlp_http exporter retries them.
@pytest.mark.parametrize("path", ["telemetrygen", "collector-otlp_grpc", "collector-otlp_http"])
def test_kill9_with_real_clients(peers, engine, tmp_path, path):
    """kill -9 of the engine during the load (telemetrygen direct over gRPC: once a
    quarter of its log records are acknowledged; through the Collector's otlp_grpc
    or otlp_http exporter: after its first acknowledged batch), then a restart on
    the same ports and dataset: the clients retry what was in flight or refused
    (telemetrygen's exporters for up to `timeout`; the Collector's
    retry_on_failure), no export fails for good, and every generated item is in the
    dataset (at least once: a request whose rows were published just before the
    kill is sent again; duplicates are reported)."""
    gport, hport = free_port(), free_port()
    dataset = tmp_path / "dataset"
    config = engine_config(tmp_path / "engine.yaml", dataset, gport, hport)
    eng = engine(config)
    col = None
    if path.startswith("collector"):
        # The Collector takes everything from telemetrygen within a second and
        # sends it in batches of 8192: the kill follows its first acknowledged
        # batch, so that nearly all of it is queued or in flight.
        col = Collector(peers["otelcol"], tmp_path, path.split("-")[1], gport, hport)
        load = Load(peers, tmp_path, "kill-col", f"127.0.0.1:{col.port}")
        progress = lambda: col.metric("exporter_sent_log_records")  # noqa: E731
        kill_after = 1
    else:
        load = Load(peers, tmp_path, "kill-tg", f"127.0.0.1:{gport}", timeout="120s")
        progress = load.acked_logs
        kill_after = LOG_RUNS * LOGS_PER_RUN // 4
    wait_until(lambda: progress() >= kill_after, f"{kill_after} log records acknowledged",
               120, interval=0.05)
    at_kill = progress()
    eng.kill()
    restarted = engine(config, name="restart")
    logs, spans = load.check()
    retries = "n/a"
    if col is not None:
        col.wait_sent(sum(logs.values()), spans)
        failed, failures = col.failed(), col.failures()
        assert (failed, failures) == (0, []), f"Collector: {failed} failed, {failures[:5]}"
        retries = col.retries()
        assert col.stop() == 0, col.tail()
    restarted.stop()
    duplicates = check_dataset(dataset, logs, spans, duplicates_allowed=True)
    summary(f"kill9-{path}", items=sum(logs.values()) + spans,
            log_records_acked_at_kill=int(at_kill), lost=0, duplicates=duplicates,
            collector_retries=retries)


@pytest.mark.parametrize("client", ["telemetrygen", "collector"])
def test_backpressure_with_real_clients(peers, engine, tmp_path, client):
    """Our refusals for load are retried by real clients (issue 14 item 4): with
    `max_concurrent_requests: 1` on both protocols, telemetrygen (4 runs over gRPC
    and 4 over HTTP, 2 requests each), or a Collector's `otlp_grpc` exporter (10
    consumers; telemetrygen → Collector), send more requests at once than the
    receiver admits. A refused request gets RESOURCE_EXHAUSTED + RetryInfo / 429 +
    Retry-After and the client sends it again (the Go SDK and the Collector back
    off 5 s at first): no export fails, every record lands exactly once. How many
    were refused depends on timing: reported, not asserted."""
    gport, hport = free_port(), free_port()
    dataset = tmp_path / "dataset"
    eng = engine(engine_config(tmp_path / "engine.yaml", dataset, gport, hport,
                               max_concurrent_requests=1))
    if client == "telemetrygen":
        loads = [Load(peers, tmp_path, f"bp{protocol}",
                      f"127.0.0.1:{gport if protocol == 'grpc' else hport}",
                      http=protocol == "http", logs=1000, traces=0, timeout="300s")
                 for protocol in ("grpc", "http")]
        logs = {}
        for load in loads:
            logs.update(load.check(timeout=300)[0])
        spans, retries = 0, "n/a"
    else:
        col = Collector(peers["otelcol"], tmp_path, "otlp_grpc", gport, hport)
        load = Load(peers, tmp_path, "bpcol", f"127.0.0.1:{col.port}", traces=0)
        logs, spans = load.check()
        col.wait_sent(sum(logs.values()), spans, timeout=300)
        failed, failures, retries = col.failed(), col.failures(), col.retries()
        assert (failed, failures) == (0, []), f"Collector: {failed} failed, {failures[:5]}"
        assert col.stop() == 0, col.tail()
    text = eng.metrics()
    refused = {p: metric(text, f"otlp_{p}_requests_rejected", reason="exhausted")
               for p in ("grpc", "http")}
    eng.stop()
    check_dataset(dataset, logs, spans)
    summary(f"backpressure-{client}", log_records=sum(logs.values()),
            refused_grpc=refused["grpc"], refused_http=refused["http"],
            collector_retries=retries, duplicates=0)
