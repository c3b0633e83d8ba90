# SPDX-License-Identifier: Apache-2.0
"""Interop with upstream's Rust engine, `df_engine` (otel-arrow `rust/otap-dataflow`,
built by hand: docs/otap.md "Compatibility notes"). Optional: skipped unless the
environment variable DF_ENGINE names the binary (CI has none).

    DF_ENGINE=/path/to/df_engine \
        .venv/bin/python -m pytest -q tests/test_df_engine_interop.py

Per signal, realistic telemetry (seed 3) and the generator's edge cases (seed 7):
(a) df_engine → us: our replay → OTLP/gRPC → df_engine (receiver:otlp → exporter:otap)
    → our receiver:otap → exporter:parquet;
(b) us → df_engine: our replay → exporter:otap → df_engine (receiver:otap with zstd
    → exporter:otlp_grpc) → our receiver:otlp → exporter:parquet;
each converted back and compared exactly with the source after removing the named
upstream losses (tests/df_otap_losses.py)."""
import json
import os
import signal
import socket
import subprocess

import pyarrow.parquet as pq
import pytest
from df_otap_losses import apply_file
from engines import wait_until
from s3_server import free_port
from test_engine_e2e import parquet_exporter, start_otlp_to_parquet, write_config
from test_otap_exporter import (SIGNALS, count_items, metric, otap_exporter,
                                start_receiver)

DF_ENGINE = os.environ.get("DF_ENGINE")
pytestmark = pytest.mark.skipif(not DF_ENGINE,
                                reason="DF_ENGINE (df_engine binary) unset")

def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


CASES = [pytest.param(3, False, id="realistic"), pytest.param(7, True, id="edge-cases")]


def df_engine_config(path, receiver, exporter):
    """A df_engine pipeline receiver → exporter (upstream's otel_dataflow/v1 format)."""
    path.write_text(f"""version: otel_dataflow/v1
engine: {{}}
groups:
  default:
    pipelines:
      main:
        nodes:
          receiver:
{receiver}
          exporter:
{exporter}
        connections:
          - from: receiver
            to: exporter
""")
    return path


class DfEngine:
    def __init__(self, tmp_path, name, config):
        self.out = open(tmp_path / f"{name}.log", "wb")
        self.proc = subprocess.Popen(
            [DF_ENGINE, "-c", str(config), "--num-cores", "1", "--http-admin-bind",
             f"127.0.0.1:{free_port()}"], stdout=self.out, stderr=subprocess.STDOUT)

    def wait_listening(self, port, what):
        wait_until(lambda: self.proc.poll() is not None or listening(port), what)
        assert self.proc.poll() is None, f"df_engine exited: see {self.out.name}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()


def make_source(run, tmp_path, signal_name, seed, edge_cases):
    src = tmp_path / f"{signal_name}.jsonl"
    run("generate", "--signal", signal_name, "--requests", "4", "--items", "60",
        "--seed", str(seed), *(["--edge-cases"] if edge_cases else []), src)
    lake = tmp_path / "lake"
    run("convert", src, lake)
    return src, lake


def assert_same_after_losses(run, tmp_path, src, back_lake, sender, receiver):
    expected = tmp_path / "expected.jsonl"
    apply_file(src, expected, sender=sender, receiver=receiver)
    back = tmp_path / "back.jsonl"
    run("convert", back_lake, back)
    proc = run("compare", expected, back, check=False)
    assert "hold the same telemetry" in proc.stdout, (proc.stdout[-3000:] +
                                                      proc.stderr[-3000:])


def wait_received(sink, signal_name, src):
    expected = count_items(src, signal_name)
    wait_until(
        lambda: metric(sink.metrics(), "received_items", node="parquet") >= expected,
        f"{expected} items at our sink", timeout=120)


@pytest.mark.parametrize("seed,edge_cases", CASES)
@pytest.mark.parametrize("signal_name", SIGNALS)
def test_df_engine_to_us(engine, run, tmp_path, signal_name, seed, edge_cases):
    # Scenario: df_engine converts our OTLP replay to OTAP and sends it to our
    # receiver:otap.
    # Guarantees: what we store equals the source but for df_engine's named encoder
    # losses.
    src, lake = make_source(run, tmp_path, signal_name, seed, edge_cases)
    otap_port, otlp_port = free_port(), free_port()
    sink = start_receiver(engine, tmp_path, tmp_path / "back-lake", otap_port)
    df = DfEngine(tmp_path, "df_engine", df_engine_config(
        tmp_path / "df.yaml",
        f"""            type: receiver:otlp
            config:
              protocols:
                grpc:
                  listening_addr: "127.0.0.1:{otlp_port}\"""",
        f"""            type: exporter:otap
            config:
              grpc_endpoint: "http://127.0.0.1:{otap_port}\""""))
    try:
        df.wait_listening(otlp_port, "df_engine receiver:otlp")
        config = write_config(
            tmp_path / "replay.yaml",
            {"src": {"type": "receiver:parquet",
                     "config": {"base_uri": str(lake), "signal_types": [signal_name]}},
             "otlp": {"type": "exporter:otlp_grpc",
                      "config": {"grpc_endpoint": f"http://127.0.0.1:{otlp_port}"}}},
            [{"from": "src", "to": "otlp"}])
        run("run", "--num-cores", "1", "-c", config)
        wait_received(sink, signal_name, src)
    finally:
        df.stop()
    sink.stop(signal.SIGINT, timeout=120)
    assert_same_after_losses(run, tmp_path, src, tmp_path / "back-lake", sender=True,
                             receiver=False)


@pytest.mark.parametrize("seed,edge_cases", CASES)
@pytest.mark.parametrize("signal_name", SIGNALS)
def test_us_to_df_engine(engine, run, tmp_path, signal_name, seed, edge_cases):
    # Scenario: our replay → exporter:otap → df_engine's receiver:otap (zstd allowed)
    # → its exporter:otlp_grpc → our receiver:otlp.
    # Guarantees: every batch is Acked; what we store equals the source but for
    # df_engine's named decoder losses.
    src, lake = make_source(run, tmp_path, signal_name, seed, edge_cases)
    replay_to_df_engine(engine, run, tmp_path, signal_name, src, lake)
    assert_same_after_losses(run, tmp_path, src, tmp_path / "back-lake", sender=False,
                             receiver=True)


def replay_to_df_engine(engine, run, tmp_path, signal_name, src, lake):
    """Replays `lake` → exporter:otap → df_engine → our receiver:otlp → back-lake."""
    otap_port, otlp_port = free_port(), free_port()
    sink = start_otlp_to_parquet(engine, tmp_path, "sink", tmp_path / "back-lake",
                                 otlp_port)
    df = DfEngine(tmp_path, "df_engine", df_engine_config(
        tmp_path / "df.yaml",
        f"""            type: receiver:otap
            config:
              listening_addr: "127.0.0.1:{otap_port}"
              response_stream_channel_size: 256
              compression_method: zstd""",
        f"""            type: exporter:otlp_grpc
            config:
              grpc_endpoint: "http://127.0.0.1:{otlp_port}\""""))
    try:
        df.wait_listening(otap_port, "df_engine receiver:otap")
        config = write_config(
            tmp_path / "replay.yaml",
            {"src": {"type": "receiver:parquet",
                     "config": {"base_uri": str(lake), "signal_types": [signal_name]}},
             "otap": otap_exporter(otap_port)},
            [{"from": "src", "to": "otap"}])
        metrics = tmp_path / "replay.prom"
        run("run", "--num-cores", "1", "-c", config, "--metrics-file", metrics)
        text = metrics.read_text()
        assert metric(text, "otap_batches_acked") > 0
        assert metric(text, "otap_batches_nacked") == 0
        wait_received(sink, signal_name, src)
    finally:
        df.stop()
    sink.stop(signal.SIGINT, timeout=120)


def _kv(key, value):
    return {"key": key, "value": {"stringValue": value}}


def _cursor_resources(signal_name):
    """Resources A, B, C of one request, each with one scope: `a` and `b` with
    attributes, `c` without. Per signal, B's record has children that df_engine
    loses when A's and C's rows are one resource (see cursor_lake):
    logs: scope b's attributes;
    traces: span b's attributes and event (c has only a link: no attributes, no
    event);
    metrics: scope b's attributes, gauge b's point (c's gauge has none), histogram
    b's point's attributes (c's point has an exemplar, no attributes)."""
    def records(name):
        if signal_name == "logs":
            return {"logRecords": [{"timeUnixNano": "1700000000000000000",
                                    "body": {"stringValue": name},
                                    **({"attributes": [_kv("k", name)]}
                                       if name != "c" else {})}]}
        if signal_name == "traces":
            span = {"traceId": "0af7651916cd43dd8448eb211c80319c",
                    "spanId": f"b7ad6b716920333{'abc'.index(name)}", "name": name,
                    "startTimeUnixNano": "1700000000000000000",
                    "endTimeUnixNano": "1700000001000000000"}
            if name == "c":
                span["links"] = [{"traceId": "0af7651916cd43dd8448eb211c80319d",
                                  "spanId": "b7ad6b7169203339"}]
            else:
                span["attributes"] = [_kv("k", name)]
                span["events"] = [{"timeUnixNano": "1700000000500000000",
                                   "name": f"e-{name}"}]
            return {"spans": [span]}
        point = {"timeUnixNano": "1700000000000000000", "asInt": "1"}
        hist_point = {"timeUnixNano": "1700000000000000000", "count": "1",
                      "sum": 1.5, "bucketCounts": ["1"], "explicitBounds": []}
        if name == "c":
            hist_point["exemplars"] = [{"timeUnixNano": "1700000000000000000",
                                        "asDouble": 1.5}]
        else:
            point["attributes"] = [_kv("k", name)]
            hist_point["attributes"] = [_kv("k", name)]
        return {"metrics": [
            {"name": f"g-{name}",
             "gauge": {"dataPoints": [point] if name != "c" else []}},
            {"name": f"h-{name}",
             "histogram": {"aggregationTemporality": 2, "dataPoints": [hist_point]}}]}

    key = {"logs": ("resourceLogs", "scopeLogs"), "traces": ("resourceSpans",
           "scopeSpans"), "metrics": ("resourceMetrics", "scopeMetrics")}[signal_name]
    return {key[0]: [
        {"resource": {"attributes": [_kv("r", name)]},
         key[1]: [{"scope": {"name": name,
                             **({"attributes": [_kv("s", name)]} if name != "c" else {})},
                   **records(name)}]}
        for name in "abc"]}


def cursor_lake(run, tmp_path, signal_name):
    """A lake whose root rows are not grouped by resource: A's row, B's row, then C's
    row re-pointed at resource A (as a producer that numbers equal resources once
    would store them). The reader numbers scopes and roots by first appearance (a=0,
    b=1, c=2) and df_engine visits them by (resource, scope, id): 0, 2, 1. Returns
    the lake and its own OTLP (the source to compare with)."""
    src = tmp_path / f"{signal_name}-crafted.jsonl"
    src.write_text(json.dumps(_cursor_resources(signal_name)) + "\n")
    lake = tmp_path / "lake"
    run("convert", src, lake)
    root = {"logs": "logs", "traces": "spans", "metrics": "univariate_metrics"}
    for table, rewrite in ((root[signal_name], "root"), ("resource_attrs", "attrs")):
        for path in (lake / table).rglob("*.parquet"):
            data = pq.read_table(path)
            if rewrite == "root":
                rows = data.to_pylist()
                for row in rows:
                    if row["resource"]["id"] == 2:
                        row["resource"]["id"] = 0
                data = data.from_pylist(rows, schema=data.schema)
            else:
                data = data.filter([p != 2 for p in data.column("parent_id").to_pylist()])
            pq.write_table(data, path)
    stored = tmp_path / f"{signal_name}-stored.jsonl"
    run("convert", lake, stored)
    return stored, lake


@pytest.mark.parametrize("signal_name", SIGNALS)
def test_us_to_df_engine_parents_out_of_id_order(engine, run, tmp_path, signal_name):
    # Scenario: a replay whose scopes, roots and data points df_engine visits out of
    # id order (cursor_lake), with a parent without rows in a child table visited
    # just before one with rows, → exporter:otap (Rust dialect) → df_engine → us.
    # Guarantees: every record arrives with exactly its own scope, attributes, events
    # and data points (df_engine's cursor, otlp/common.rs:1088-1098, lost them when
    # the ids were sent as stored).
    src, lake = cursor_lake(run, tmp_path, signal_name)
    replay_to_df_engine(engine, run, tmp_path, signal_name, src, lake)
    assert_same_after_losses(run, tmp_path, src, tmp_path / "back-lake", sender=False,
                             receiver=True)
