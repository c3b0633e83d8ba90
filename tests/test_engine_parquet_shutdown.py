# SPDX-License-Identifier: Apache-2.0
"""A graceful shutdown loses no acknowledged data: OTLP/HTTP senders faster than
exporter:parquet (answered on admission, `wait_for_result: false`), then SIGINT;
every record of every request answered 200 is in the dataset, whatever the
exporter's only flush rule (age, rows or bytes) — none of which fires during the
test."""
import collections
import concurrent.futures
import json
import signal
import urllib.error
import urllib.request

import duckdb
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from s3_server import free_port

RECORDS = 500     # per request
REQUESTS = 240    # > max_pending_batches (64) + the channel (128 by default)
SENDERS = 4

# The only flush rule of each case never fires while the test runs.
RULES = {
    "age": {"target_rows_per_file": 0, "target_bytes_per_file": 0,
            "flush_when_older_than": "10m"},
    "rows": {"target_rows_per_file": 100_000_000, "target_bytes_per_file": 0,
             "flush_when_older_than": "0s"},
    "bytes": {"target_rows_per_file": 0, "target_bytes_per_file": "8GiB",
              "flush_when_older_than": "0s"},
}


def logs_request(n):
    records = [LogRecord(time_unix_nano=1_700_000_000_000_000_000 + i, severity_number=9,
                         body=AnyValue(string_value=f"shutdown {i}"),
                         attributes=[KeyValue(key="i", value=AnyValue(int_value=i))])
               for i in range(n)]
    return ExportLogsServiceRequest(resource_logs=[ResourceLogs(
        scope_logs=[ScopeLogs(log_records=records)])]).SerializeToString()


def post(port, body):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/logs", data=body,
                                     method="POST",
                                     headers={"Content-Type": "application/x-protobuf"})
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, ConnectionError):
        return None


def metric(text, name, **labels):
    import re

    total = 0
    for line in text.splitlines():
        m = re.match(rf"otap_node_{name}(?:_total)?\{{([^}}]*)\}} (\d+)", line)
        if m and all(f'{k}="{v}"' in m.group(1) for k, v in labels.items()):
            total += int(m.group(2))
    return total


@pytest.mark.parametrize("rule", list(RULES))
def test_sigint_keeps_every_acknowledged_record(rule, engine, tmp_path):
    # Scenario: 240 requests of 500 logs from 4 concurrent senders into receiver:otlp
    # (HTTP, answered on admission) → exporter:parquet whose only flush rule does not
    # fire; SIGINT once every request has its answer.
    # Guarantees: exit 0; every log of every request answered 200 is in a published
    # file (DuckDB count), nothing is dropped or Nacked at shutdown, no batch failed;
    # the exporter never sat on max_pending_batches waiting for a timer (it flushed
    # with reason "pending" or not at all, and the drain did not hit its deadline).
    port = free_port()
    out = tmp_path / "out"
    config = {"version": "otel_dataflow/v1", "groups": {"default": {"pipelines": {"main": {
        "nodes": {
            "otlp": {"type": "receiver:otlp", "config": {"protocols": {"http": {
                "listening_addr": f"127.0.0.1:{port}", "wait_for_result": False}}}},
            "pq": {"type": "exporter:parquet", "config": {
                "storage": {"file": {"base_uri": str(out)}},
                "writer_options": RULES[rule]}}},
        "connections": [{"from": "otlp", "to": "pq"}]}}}}}
    path = tmp_path / "shutdown.yaml"
    path.write_text(json.dumps(config, indent=1))
    metrics_file = tmp_path / "metrics.prom"
    run = engine(path, "--num-cores", "1", "--shutdown-timeout", "120s",
                 "--metrics-file", metrics_file)
    body = logs_request(RECORDS)
    with concurrent.futures.ThreadPoolExecutor(SENDERS) as pool:
        statuses = list(pool.map(lambda _: post(port, body), range(REQUESTS)))
    acked = sum(1 for s in statuses if s == 200)
    assert acked > 0, statuses
    run.stop(signal.SIGINT, timeout=180)
    log = run.stderr()
    assert "deadline_exceeded" not in log, log[-3000:]
    m = metrics_file.read_text()
    assert metric(m, "dropped") == 0, m
    assert metric(m, "parquet_batches_failed", node="pq") == 0
    assert metric(m, "parquet_pending_batches", node="pq") == 0
    assert not list(out.rglob("*.tmp"))
    rows = duckdb.connect().execute(
        f"SELECT count(*) FROM read_parquet('{out}/logs/**/*.parquet')").fetchone()[0]
    assert rows == acked * RECORDS, (rows, acked, collections.Counter(statuses))
