# SPDX-License-Identifier: Apache-2.0
"""`receiver:otlp` end to end: `otap-parquet run` with receiver:otlp → exporter:parquet,
fed by real peers — the OpenTelemetry Python SDK's OTLP/gRPC and OTLP/HTTP
exporters, grpcio raw calls and urllib — and the dataset read back with pyarrow
and DuckDB."""
import datetime
import gzip
import json
import pathlib
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import duckdb
import grpc
import pyarrow.dataset as ds
import pytest
import zstandard
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from google.rpc.status_pb2 import Status
from engines import v1_config, wait_until
from protowire import varint
from s3_server import free_port

LOGS_METHOD = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
TRACES_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def parquet_exporter(out, rows_per_file=100000, flush="1s"):
    return {"type": "exporter:parquet",
            "config": {"storage": {"file": {"base_uri": str(out)}},
                       "partitioning_strategies": [{"schema_metadata": ["_part_id"]}],
                       "writer_options": {"target_rows_per_file": rows_per_file,
                                          "flush_when_older_than": flush}}}


class OtlpPipeline:
    """One background `otap-parquet run` with receiver:otlp → `exporter` (JSON is
    YAML), ready (so listening) when constructed."""

    def __init__(self, start, tmp_path, receiver, exporter, num_cores=1, policies=None):
        config = {"version": "otel_dataflow/v1", **({"policies": policies} if policies else {}),
                  "groups": {"default": {"pipelines": {"main": {
                      "nodes": {"otlp": {"type": "receiver:otlp", "config": receiver},
                                "out": exporter},
                      "connections": [{"from": "otlp", "to": "out"}]}}}}}
        path = tmp_path / "otlp.yaml"
        path.write_text(json.dumps(config, indent=1))
        self.metrics_file = tmp_path / "metrics.prom"
        self.run = start(path, "--num-cores", num_cores, "--shutdown-timeout", "20s",
                         "--metrics-file", self.metrics_file, name="otlp")

    def stop(self):
        """SIGINT, exit 0; keeps the final log (`stderr`) and metrics (`metrics`)."""
        self.run.stop(signal.SIGINT)
        self.stderr = self.run.stderr()
        self.metrics = self.metrics_file.read_text()
        return self.stderr


@pytest.fixture
def engines(engine):
    """engines(tmp_path, receiver, exporter, num_cores=1) -> OtlpPipeline."""
    return lambda *args, **kwargs: OtlpPipeline(engine, *args, **kwargs)


def metric(text, name, **labels):
    total = 0
    for line in text.splitlines():
        m = re.match(rf"otap_node_{name}(?:_total)?\{{([^}}]*)\}} (\d+)", line)
        if m and all(f'{k}="{v}"' in m.group(1) for k, v in labels.items()):
            total += int(m.group(2))
    return total


def read_table(base, table):
    path = base / table
    if not path.exists():
        return None
    return ds.dataset(path, format="parquet", partitioning="hive",
                      ignore_prefixes=["."]).to_table()


def duck(base, sql):
    con = duckdb.connect()
    for table in ("logs", "log_attrs", "spans", "span_attrs", "univariate_metrics"):
        if (base / table).exists():
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet("
                        f"'{base}/{table}/**/*.parquet', hive_partitioning=true)")
    return con.execute(sql).fetchall()


def logs_request(n, tag="raw"):
    records = [LogRecord(time_unix_nano=1_700_000_000_000_000_000 + i, severity_number=9,
                         body=AnyValue(string_value=f"{tag} {i}"),
                         attributes=[KeyValue(key="test.tag",
                                              value=AnyValue(string_value=tag))])
               for i in range(n)]
    return ExportLogsServiceRequest(resource_logs=[ResourceLogs(
        scope_logs=[ScopeLogs(log_records=records)])])


def post(port, path, body, content_type="application/x-protobuf", headers=None,
         method="POST", scheme="http", context=None):
    """Returns (status, headers, body) of a raw HTTP request."""
    request = urllib.request.Request(f"{scheme}://127.0.0.1:{port}{path}", data=body,
                                     method=method,
                                     headers={"Content-Type": content_type, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def grpc_call(port, method, payload, metadata=None, channel=None, timeout=10):
    """Raw unary call with bytes in and out; returns (code, details)."""
    channel = channel or grpc.insecure_channel(f"127.0.0.1:{port}")
    with channel:
        call = channel.unary_unary(method)
        try:
            call(payload, timeout=timeout, metadata=metadata)
            return grpc.StatusCode.OK, ""
        except grpc.RpcError as e:
            return e.code(), e.details()


def receiver_config(grpc_port=None, http_port=None, grpc_extra=None, http_extra=None,
                    **top):
    protocols = {}
    if grpc_port:
        protocols["grpc"] = {"listening_addr": f"127.0.0.1:{grpc_port}", **(grpc_extra or {})}
    if http_port:
        protocols["http"] = {"listening_addr": f"127.0.0.1:{http_port}", **(http_extra or {})}
    return {"protocols": protocols, **top}


def test_sdk_exporters_to_parquet(cli, tmp_path, engines):
    # Scenario: 2 cores sharing the ports (SO_REUSEPORT); the Python SDK's OTLP/gRPC
    # and OTLP/HTTP log, span and metric exporters send 25 logs, 10 spans and one
    # counter each (the gRPC one gzip-compressed) into exporter:parquet.
    # Guarantees: every export succeeds; after SIGINT the engine exits 0 and the
    # dataset holds exactly the logs and spans sent, with their attributes; the
    # receiver's metrics count the requests and items.
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GLog
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
        OTLPMetricExporter as GMetric)
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
        OTLPSpanExporter as GSpan)
    from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HLog
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter as HMetric)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HSpan)
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    gport, hport = free_port(), free_port()
    out = tmp_path / "out"
    engine = engines(tmp_path, receiver_config(gport, hport), parquet_exporter(out),
                    num_cores=2)
    grpc_endpoint = f"127.0.0.1:{gport}"
    http_endpoint = f"http://127.0.0.1:{hport}"
    exporters = {
        "grpc": (GLog(endpoint=grpc_endpoint, insecure=True,
                      compression=grpc.Compression.Gzip),
                 GSpan(endpoint=grpc_endpoint, insecure=True),
                 GMetric(endpoint=grpc_endpoint, insecure=True)),
        "http": (HLog(endpoint=f"{http_endpoint}/v1/logs", compression=HttpCompression.Gzip),
                 HSpan(endpoint=f"{http_endpoint}/v1/traces"),
                 HMetric(endpoint=f"{http_endpoint}/v1/metrics")),
    }
    for proto, (log_exporter, span_exporter, metric_exporter) in exporters.items():
        resource = Resource.create({"service.name": f"sdk-{proto}"})
        logs = LoggerProvider(resource=resource)
        logs.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
        logger = logs.get_logger("otlp-receiver-test")
        for i in range(25):
            logger.emit(body=f"{proto} log {i}", severity_text="INFO",
                        attributes={"test.proto": proto, "test.index": i})
        logs.shutdown()
        tracer_provider = TracerProvider(resource=resource)
        tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
        tracer = tracer_provider.get_tracer("otlp-receiver-test")
        for i in range(10):
            with tracer.start_as_current_span(f"{proto}-span-{i}") as span:
                span.set_attribute("test.proto", proto)
        tracer_provider.shutdown()
        reader = InMemoryMetricReader()
        meters = MeterProvider(resource=resource, metric_readers=[reader])
        meters.get_meter("otlp-receiver-test").create_counter("test.requests").add(
            7, {"test.proto": proto})
        assert metric_exporter.export(reader.get_metrics_data()) == MetricExportResult.SUCCESS
        meters.shutdown()
    # The exporter holds at most 64 batches until its 1s age flush; a SIGINT while
    # batches still wait in its channel would stall the drain (an exporter:parquet
    # limitation, not the receiver's): stop once it has taken every item.
    wait_until(lambda: metric(engine.run.metrics(), "received_items", node="out") == 72,
               "the exporter took all 50 logs, 20 spans and 2 points")
    engine.stop()

    assert read_table(out, "logs").num_rows == 50
    assert read_table(out, "spans").num_rows == 20
    assert read_table(out, "univariate_metrics").num_rows >= 2
    assert sorted(duck(out, "SELECT str, count(*) FROM log_attrs WHERE key = 'test.proto' "
                            "GROUP BY str")) == [("grpc", 25), ("http", 25)]
    assert duck(out, "SELECT sum(int) FROM log_attrs WHERE key = 'test.index'") == [(600,)]
    assert sorted(duck(out, "SELECT str, count(*) FROM span_attrs WHERE key = 'test.proto' "
                            "GROUP BY str")) == [("grpc", 10), ("http", 10)]
    m = engine.metrics
    assert metric(m, "otlp_grpc_requests_started", signal="logs") == 25
    assert metric(m, "otlp_grpc_items_received", signal="logs") == 25
    assert metric(m, "otlp_http_requests_completed", signal="traces") == 10
    assert metric(m, "otlp_http_requests_completed", signal="metrics") == 1
    assert metric(m, "otlp_grpc_request_bytes", signal="traces") > 0


def test_http_raw_requests(cli, tmp_path, engines):
    # Scenario: raw urllib requests against OTLP/HTTP with a bearer token and a
    # 64KiB body limit: protobuf, OTLP/JSON, gzip, then each kind of bad request.
    # Guarantees: good requests get 200 with an empty Export*ServiceResponse in
    # their content type; malformed → 400, too large (on the wire or once
    # decompressed) → 413, wrong type/encoding → 415, bad token → 401, wrong
    # method → 405, wrong path → 404, each with a readable message; only the
    # good requests' logs are in the dataset.
    port = free_port()
    out = tmp_path / "out"
    engine = engines(tmp_path,
                    receiver_config(http_port=port,
                                    http_extra={"max_request_body_size": "64KiB"},
                                    auth={"bearer_token": "s3cret"}),
                    parquet_exporter(out))
    auth = {"Authorization": "Bearer s3cret"}

    status, headers, body = post(port, "/v1/logs", logs_request(3, "proto").SerializeToString(),
                                 headers=auth)
    assert (status, headers["Content-Type"], body) == (200, "application/x-protobuf", b"")

    json_body = json.dumps({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name",
                                     "value": {"stringValue": "json-client"}}]},
        "scopeLogs": [{"logRecords": [
            {"timeUnixNano": "1700000000000000000", "severityNumber": 9,
             "body": {"stringValue": f"json {i}"},
             "attributes": [{"key": "test.tag", "value": {"stringValue": "json"}}]}
            for i in range(4)]}]}]}).encode()
    status, headers, body = post(port, "/v1/logs", json_body, "application/json; charset=utf-8",
                                 headers=auth)
    assert (status, headers["Content-Type"], json.loads(body)) == (200, "application/json", {})

    status, _, _ = post(port, "/v1/logs",
                        gzip.compress(logs_request(5, "gzip").SerializeToString()),
                        headers={**auth, "Content-Encoding": "gzip"})
    assert status == 200
    status, _, _ = post(port, "/v1/logs",
                        zstandard.compress(logs_request(6, "zstd").SerializeToString()),
                        headers={**auth, "Content-Encoding": "zstd"})
    assert status == 200

    status, _, body = post(port, "/v1/logs", b"\xff\xff\xff\xff", headers=auth)
    assert status == 400 and b"malformed protobuf" in body
    status, _, body = post(port, "/v1/logs", b'{"resourceLogs": [', "application/json",
                           headers=auth)
    assert status == 400 and json.loads(body)["code"] == 3
    assert "malformed OTLP/JSON" in json.loads(body)["message"]
    status, _, body = post(port, "/v1/logs", b"\0" * 100_000, headers=auth)
    assert status == 413
    status, _, body = post(port, "/v1/logs", gzip.compress(b"\0" * 1_000_000),
                           headers={**auth, "Content-Encoding": "gzip"})
    assert status == 413 and b"max_request_body_size" in body
    status, _, body = post(port, "/v1/logs", b"x", "text/plain", headers=auth)
    assert status == 415 and b"unsupported Content-Type" in body
    # A 1 MB zstd "bomb" of a few bytes: refused once the decompressed size passes the limit.
    status, _, body = post(port, "/v1/logs", zstandard.compress(b"\0" * 1_000_000),
                           headers={**auth, "Content-Encoding": "zstd"})
    assert status == 413 and b"max_request_body_size" in body
    status, _, body = post(port, "/v1/logs", b"x", headers={**auth, "Content-Encoding": "zstd"})
    assert status == 400 and b"cannot decompress the zstd request body" in body
    status, _, body = post(port, "/v1/logs", b"x", headers={**auth, "Content-Encoding": "lzma"})
    assert status == 415 and b"Content-Encoding" in body
    status, headers, body = post(port, "/v1/logs", logs_request(1).SerializeToString(),
                                 headers={"Authorization": "Bearer wrong"})
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
    status, _, _ = post(port, "/v1/logs", logs_request(1).SerializeToString())
    assert status == 401
    status, _, _ = post(port, "/v1/logs", None, method="GET", headers=auth)
    assert status == 405
    status, _, body = post(port, "/v2/logs", b"", headers=auth)
    assert status == 404 and b"/v1/logs" in body
    # A protobuf client's wrong path gets a protobuf Status (OTLP: errors in the
    # request's encoding); a JSON client's a JSON one.
    status, headers, body = post(port, "/v1/log", logs_request(1).SerializeToString(),
                                 headers=auth)
    assert (status, headers["Content-Type"]) == (404, "application/x-protobuf")
    assert Status.FromString(body).code == 5 and "/v1/log" in Status.FromString(body).message
    status, headers, body = post(port, "/v1/logs/", b"{}", "application/json", headers=auth)
    assert (status, headers["Content-Type"], json.loads(body)["code"]) == (
        404, "application/json", 5)
    engine.stop()

    assert sorted(duck(out, "SELECT str, count(*) FROM log_attrs WHERE key = 'test.tag' "
                            "GROUP BY str")) == [("gzip", 5), ("json", 4), ("proto", 3),
                                                 ("zstd", 6)]
    m = engine.metrics
    assert metric(m, "otlp_http_requests_completed", signal="logs") == 4
    assert metric(m, "otlp_http_requests_rejected", reason="invalid") == 3
    assert metric(m, "otlp_http_requests_rejected", reason="too_large") == 3
    assert metric(m, "otlp_http_requests_rejected", reason="unsupported") == 2
    assert metric(m, "otlp_http_requests_rejected", reason="unauthenticated") == 2
    # The wrong method and the three wrong paths.
    assert metric(m, "otlp_http_requests_rejected", reason="not_found") == 4


def test_http_compressed_bodies_are_decoded_whole(cli, tmp_path, engines):
    # Scenario: gzip bodies of two members (RFC 1952: a gzip body is a series of
    # members; what concatenating compressed chunks gives), a zstd body of two
    # frames, then gzip, deflate and zstd bodies followed by bytes that are not
    # compressed data. (Two serialized export requests one after the other are one
    # valid request holding both.)
    # Guarantees: every member and frame is decoded: the multi-part bodies get 200
    # and all their logs are stored; trailing bytes get 400 naming them, never a 200
    # for the part before them (which would drop the rest after an acknowledgement).
    port = free_port()
    out = tmp_path / "out"
    engine = engines(tmp_path, receiver_config(http_port=port), parquet_exporter(out))
    first = logs_request(2, "gzip").SerializeToString()
    second = logs_request(3, "gzip").SerializeToString()
    status, _, body = post(port, "/v1/logs", gzip.compress(first) + gzip.compress(second),
                           headers={"Content-Encoding": "gzip"})
    assert status == 200, body
    frames = (zstandard.compress(logs_request(4, "zstd").SerializeToString()) +
              zstandard.compress(logs_request(5, "zstd").SerializeToString()))
    status, _, body = post(port, "/v1/logs", frames, headers={"Content-Encoding": "zstd"})
    assert status == 200, body
    import zlib
    trailing = logs_request(1, "trailing").SerializeToString()
    for encoding, packed in (("gzip", gzip.compress(trailing)),
                             ("deflate", zlib.compress(trailing)),
                             ("zstd", zstandard.compress(trailing))):
        status, _, body = post(port, "/v1/logs", packed + b"garbage",
                               headers={"Content-Encoding": encoding})
        assert status == 400, (encoding, status, body)
        assert f"cannot decompress the {encoding} request body".encode() in body, body
    engine.stop()
    assert sorted(duck(out, "SELECT str, count(*) FROM log_attrs WHERE key = 'test.tag' "
                            "GROUP BY str")) == [("gzip", 5), ("zstd", 9)]
    assert metric(engine.metrics, "otlp_http_requests_rejected", reason="invalid") == 3


def test_http_body_framing_on_one_connection(cli, tmp_path, engines):
    # Scenario: one raw keep-alive connection: a request whose headers and first body
    # bytes come in one write and the rest in small pieces; two requests pipelined
    # in a single write (the second's headers right after the first's body); a
    # chunked request; a 1 MiB body; then a request whose body ends early (the
    # client half-closes its side).
    # Guarantees: each complete request gets its own 200 in order and its logs are
    # stored once; the truncated one gets 400 "ended before its announced size",
    # its logs are not stored and the connection is closed after the answer.
    port = free_port()
    out = tmp_path / "out"
    engine = engines(tmp_path, receiver_config(http_port=port), parquet_exporter(out))

    def head(body, extra=b""):
        return (b"POST /v1/logs HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/x-protobuf\r\n" + extra +
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")

    def answers(sock, count):
        data = b""
        while data.count(b"HTTP/1.1 ") < count or not data.endswith(b"\r\n\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return [line.decode() for line in data.split(b"\r\n")
                if line.startswith(b"HTTP/1.1 ")]

    split = logs_request(3, "split").SerializeToString()
    first = logs_request(4, "first").SerializeToString()
    second = logs_request(5, "second").SerializeToString()
    big = logs_request(30_000, "big").SerializeToString()
    chunked = logs_request(6, "chunked").SerializeToString()
    cut = logs_request(7, "cut").SerializeToString()
    assert len(big) > 1 << 20
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head(split) + split[:5])
        for i in range(5, len(split), 7):
            time.sleep(0.01)
            s.sendall(split[i:i + 7])
        assert answers(s, 1) == ["HTTP/1.1 200 OK"]
        s.sendall(head(first) + first + head(second) + second)
        assert answers(s, 2) == ["HTTP/1.1 200 OK"] * 2
        s.sendall(b"POST /v1/logs HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/x-protobuf\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n" +
                  b"".join(b"%x\r\n%s\r\n" % (len(c), c)
                           for c in (chunked[:9], chunked[9:])) + b"0\r\n\r\n")
        assert answers(s, 1) == ["HTTP/1.1 200 OK"]
        s.sendall(head(big) + big)
        assert answers(s, 1) == ["HTTP/1.1 200 OK"]
        s.sendall(head(cut) + cut[:-3])
        s.shutdown(socket.SHUT_WR)
        rest = b""
        while chunk := s.recv(65536):
            rest += chunk
        assert rest.startswith(b"HTTP/1.1 400 "), rest
        assert b"ended before its announced size" in rest
    engine.stop()

    assert sorted(duck(out, "SELECT str, count(*) FROM log_attrs WHERE key = 'test.tag' "
                            "GROUP BY str")) == [("big", 30_000), ("chunked", 6),
                                                 ("first", 4), ("second", 5), ("split", 3)]
    assert metric(engine.metrics, "otlp_http_requests_rejected", reason="invalid") == 1


def test_http_head_answer_has_no_body(cli, tmp_path, engines):
    # Scenario: on one raw connection, a HEAD /v1/logs and a POST /v1/logs
    # (Connection: close) are pipelined; the connection is read to its close.
    # Guarantees: the HEAD gets 405 with headers only (RFC 9110: a HEAD response has
    # no content; the old server wrote its JSON Status after them, which a
    # keep-alive client reads as the start of the next answer); the POST's 200
    # follows the HEAD answer's blank line directly.
    port = free_port()
    engine = engines(tmp_path, receiver_config(http_port=port), {"type": "exporter:noop"})
    body = logs_request(1, "head").SerializeToString()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"HEAD /v1/logs HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  b"Content-Type: application/x-protobuf\r\n"
                  b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 405 "), data
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n"), data
    engine.stop()


def test_http_error_messages_are_utf8(cli, tmp_path, engines):
    # Scenario: raw requests whose path or Content-Type holds a byte that is not
    # UTF-8 (0xFF): a protobuf POST to /v1/\xff, a JSON one, and a POST /v1/logs
    # with Content-Type "application/x-protobuf\xff".
    # Guarantees: 404 / 415 with a Status the client can decode: its message is
    # UTF-8 (the byte replaced by U+FFFD). The old server echoed the raw byte, and
    # protobuf runtimes refuse such a Status ("String field had bad UTF-8").
    port = free_port()
    engine = engines(tmp_path, receiver_config(http_port=port), {"type": "exporter:noop"})

    def answer(path, content_type):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                      b"Content-Type: " + content_type + b"\r\nContent-Length: 0\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        return head.split(b"\r\n", 1)[0].decode(), body

    status, body = answer(b"/v1/\xff", b"application/x-protobuf")
    assert status.startswith("HTTP/1.1 404 ")
    assert "/v1/\ufffd" in Status.FromString(body).message
    status, body = answer(b"/v1/\xff", b"application/json")
    assert status.startswith("HTTP/1.1 404 ")
    assert "/v1/\ufffd" in json.loads(body.decode("utf-8"))["message"]
    status, body = answer(b"/v1/logs", b"application/x-protobuf\xff")
    assert status.startswith("HTTP/1.1 415 ")
    assert "x-protobuf\ufffd" in Status.FromString(body).message
    engine.stop()


def test_grpc_raw_calls(cli, tmp_path, engines):
    # Scenario: raw grpcio calls (bytes in, bytes out) against OTLP/gRPC with a
    # bearer token and a 64KiB message limit.
    # Guarantees: a valid request → OK; malformed protobuf → INVALID_ARGUMENT with
    # a readable message; too large → RESOURCE_EXHAUSTED; no/wrong token →
    # UNAUTHENTICATED; unknown method → UNIMPLEMENTED; the engine keeps serving
    # and stores only the valid logs.
    port = free_port()
    out = tmp_path / "out"
    engine = engines(tmp_path,
                    receiver_config(grpc_port=port,
                                    grpc_extra={"max_decoding_message_size": "64KiB"},
                                    auth={"bearer_token": "s3cret"}),
                    parquet_exporter(out))
    auth = [("authorization", "Bearer s3cret")]
    good = logs_request(6, "grpc").SerializeToString()
    assert grpc_call(port, LOGS_METHOD, good, auth)[0] == grpc.StatusCode.OK
    code, details = grpc_call(port, LOGS_METHOD, b"\xff\xff\xff\xff", auth)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "malformed protobuf" in details
    code, _ = grpc_call(port, LOGS_METHOD, b"\0" * 100_000, auth)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    code, details = grpc_call(port, LOGS_METHOD, good, [("authorization", "Bearer nope")])
    assert code == grpc.StatusCode.UNAUTHENTICATED and "Bearer" in details
    assert grpc_call(port, LOGS_METHOD, good)[0] == grpc.StatusCode.UNAUTHENTICATED
    code, _ = grpc_call(port, "/opentelemetry.proto.collector.logs.v1.LogsService/Nope",
                        good, auth)
    assert code == grpc.StatusCode.UNIMPLEMENTED
    # An empty request is valid and stores nothing.
    assert grpc_call(port, TRACES_METHOD, b"", auth)[0] == grpc.StatusCode.OK
    assert grpc_call(port, LOGS_METHOD, good, auth)[0] == grpc.StatusCode.OK
    engine.stop()
    assert read_table(out, "logs").num_rows == 12
    m = engine.metrics
    assert metric(m, "otlp_grpc_requests_rejected", reason="invalid") == 1
    assert metric(m, "otlp_grpc_requests_rejected", reason="unauthenticated") == 2


def test_grpc_request_compression(cli, tmp_path, engines):
    # Scenario: OTLP/gRPC with `request_compression: gzip` (one name, not a list)
    # and gzip responses: a gzip call, a deflate call and a zstd frame as the
    # message (what gRPC C++ hands over undecoded for grpc-encoding zstd); then the
    # default list.
    # Guarantees: only the listed methods are decoded: gzip is stored, deflate is
    # refused UNIMPLEMENTED, the zstd frame is not decompressed (INVALID_ARGUMENT);
    # with the default [zstd, gzip, deflate] deflate and the zstd frame are stored.
    def call(port, payload, compression=None):
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            try:
                channel.unary_unary(LOGS_METHOD)(payload, timeout=10,
                                                 compression=compression)
                return grpc.StatusCode.OK
            except grpc.RpcError as e:
                return e.code()

    results = {}
    for name, extra in (("gzip_only", {"request_compression": "gzip",
                                       "response_compression": "gzip"}),
                        ("default", {})):
        port = free_port()
        work = tmp_path / name
        work.mkdir()
        engine = engines(work, receiver_config(grpc_port=port, grpc_extra=extra),
                         parquet_exporter(work / "out"))
        results[name] = (
            call(port, logs_request(2, "gzip").SerializeToString(), grpc.Compression.Gzip),
            call(port, logs_request(3, "deflate").SerializeToString(),
                 grpc.Compression.Deflate),
            call(port, zstandard.compress(logs_request(4, "zstd").SerializeToString())))
        engine.stop()
        results[name] += (sorted(duck(work / "out", "SELECT str, count(*) FROM log_attrs "
                                                   "WHERE key = 'test.tag' GROUP BY str")),)
    OK = grpc.StatusCode.OK
    assert results["gzip_only"] == (OK, grpc.StatusCode.UNIMPLEMENTED,
                                    grpc.StatusCode.INVALID_ARGUMENT, [("gzip", 2)])
    assert results["default"] == (OK, OK, OK, [("deflate", 3), ("gzip", 2), ("zstd", 4)])


def padded(message, size):
    """`message` (serialized protobuf) with an unknown bytes field 15 of zeros
    appended, `size` bytes in all: still a valid message, which our decoders accept
    and ignore the padding of."""
    extra = size - len(message)
    for length in range(1, 6):
        k = extra - 1 - length
        if k >= 0 and len(varint(k)) == length:
            return message + b"\x7a" + varint(k) + bytes(k)
    raise AssertionError(f"cannot pad {len(message)} bytes to {size}")


def peak_rss(pid):
    """VmHWM (peak resident set) of a running process, in bytes."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/PID/status")


def test_grpc_gzip_and_deflate_bombs_are_refused_without_inflating_them(cli, tmp_path,
                                                                      engines):
    # Scenario: OTLP/gRPC (max_decoding_message_size 4 MiB) gets from grpcio a logs
    # Export padded with 256 MiB of zeros, gzip-compressed (~256 KiB on the wire),
    # and the same deflate-compressed; then, gzip and deflate, a request of exactly
    # 4 MiB and one of 4 MiB + 1 byte once inflated.
    # Guarantees: the bombs and the 4 MiB + 1 requests are refused
    # RESOURCE_EXHAUSTED (as an oversized zstd request), counted as too_large; the
    # engine's peak RSS (VmHWM) grows by less than 64 MiB over the bombs (gRPC C++
    # inflated a whole message before checking its size: +256 MiB and more); the
    # 4 MiB requests are stored.
    def call(port, payload, compression):
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            try:
                channel.unary_unary(LOGS_METHOD)(payload, timeout=120,
                                                 compression=compression)
                return grpc.StatusCode.OK, ""
            except grpc.RpcError as e:
                return e.code(), e.details()

    port = free_port()
    out = tmp_path / "out"
    engine = engines(tmp_path, receiver_config(grpc_port=port), parquet_exporter(out))
    gzip_, deflate = grpc.Compression.Gzip, grpc.Compression.Deflate
    before = peak_rss(engine.run.proc.pid)
    for compression in (gzip_, deflate):
        bomb = padded(logs_request(1, "bomb").SerializeToString(), 256 << 20)
        code, details = call(port, bomb, compression)
        del bomb
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, details
        assert "maximum message size" in details, details
    grown = peak_rss(engine.run.proc.pid) - before
    print(f"peak RSS grew {grown >> 20} MiB over two 256 MiB bombs")
    assert grown < 64 << 20

    limit = 4 << 20
    for compression, tag in ((gzip_, "gzip"), (deflate, "deflate")):
        exact = padded(logs_request(2, tag).SerializeToString(), limit)
        assert call(port, exact, compression) == (grpc.StatusCode.OK, "")
        over = padded(logs_request(2, tag).SerializeToString(), limit + 1)
        assert call(port, over, compression)[0] == grpc.StatusCode.RESOURCE_EXHAUSTED
    engine.stop()
    assert sorted(duck(out, "SELECT str, count(*) FROM log_attrs WHERE key = 'test.tag' "
                            "GROUP BY str")) == [("deflate", 2), ("gzip", 2)]
    assert metric(engine.metrics, "otlp_grpc_requests_rejected", reason="too_large") == 4


def make_cert(tmp_path, name, ca=None, ca_key=None, is_ca=False):
    """A certificate for 127.0.0.1/localhost (self-signed, or signed by `ca`)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(ca.subject if ca else subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), True)
               .add_extension(x509.SubjectAlternativeName(
                   [x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False))
    cert = builder.sign(ca_key or key, hashes.SHA256())
    cert_path, key_path = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert, key, cert_path, key_path


def test_tls_and_mtls(cli, tmp_path, engines):
    # Scenario: gRPC with mTLS (client certificates signed by a test CA required)
    # and HTTP with server TLS only, all certificates generated here.
    # Guarantees: a client trusting the CA with a client certificate is served
    # over gRPC; one without a client certificate is refused; HTTPS with the
    # server certificate trusted gets 200, plain HTTP to the TLS port fails; the
    # logs of the accepted requests are stored.
    ca, ca_key, ca_path, _ = make_cert(tmp_path, "ca", is_ca=True)
    _, _, server_crt, server_key = make_cert(tmp_path, "server", ca, ca_key)
    _, _, client_crt, client_key = make_cert(tmp_path, "client", ca, ca_key)
    gport, hport = free_port(), free_port()
    out = tmp_path / "out"
    tls = {"cert_file": str(server_crt), "key_file": str(server_key)}
    engine = engines(tmp_path,
                    receiver_config(gport, hport,
                                    grpc_extra={"tls": {**tls, "client_ca_file": str(ca_path)}},
                                    http_extra={"tls": tls}),
                    parquet_exporter(out))
    good = logs_request(2, "tls").SerializeToString()
    mtls = grpc.ssl_channel_credentials(root_certificates=ca_path.read_bytes(),
                                        private_key=client_key.read_bytes(),
                                        certificate_chain=client_crt.read_bytes())
    channel = grpc.secure_channel(f"127.0.0.1:{gport}", mtls)
    assert grpc_call(gport, LOGS_METHOD, good, channel=channel)[0] == grpc.StatusCode.OK
    no_client_cert = grpc.ssl_channel_credentials(root_certificates=ca_path.read_bytes())
    channel = grpc.secure_channel(f"127.0.0.1:{gport}", no_client_cert)
    assert grpc_call(gport, LOGS_METHOD, good, channel=channel,
                     timeout=5)[0] == grpc.StatusCode.UNAVAILABLE

    context = ssl.create_default_context(cafile=str(ca_path))
    status, _, _ = post(hport, "/v1/logs", good, scheme="https", context=context)
    assert status == 200
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        post(hport, "/v1/logs", good)
    engine.stop()
    assert read_table(out, "logs").num_rows == 4


def test_inline_pem_tls_both_protocols(run, tmp_path, engines):
    # Scenario: the receiver's certificate, key and client CA given inline
    # (cert_pem, key_pem, client_ca_pem: mTLS) on gRPC and HTTP; a second run,
    # traffic_generator → exporter:otlp_http, presents its client certificate and
    # trusts the CA through cert_pem / key_pem / ca_pem too.
    # Guarantees: grpcio and urllib clients with a client certificate are served;
    # an HTTPS client without one is refused; the exporter's logs all arrive
    # (Acked, none Nacked), so no file is needed for any TLS key on either side.
    ca, ca_key, ca_path, _ = make_cert(tmp_path, "ca", is_ca=True)
    _, _, server_crt, server_key = make_cert(tmp_path, "server", ca, ca_key)
    _, _, client_crt, client_key = make_cert(tmp_path, "client", ca, ca_key)
    gport, hport = free_port(), free_port()
    out = tmp_path / "out"
    tls = {"cert_pem": server_crt.read_text(), "key_pem": server_key.read_text(),
           "client_ca_pem": ca_path.read_text()}
    engine = engines(tmp_path, receiver_config(gport, hport, grpc_extra={"tls": tls},
                                               http_extra={"tls": tls}),
                     parquet_exporter(out))
    good = logs_request(3, "pem").SerializeToString()
    mtls = grpc.ssl_channel_credentials(root_certificates=ca_path.read_bytes(),
                                        private_key=client_key.read_bytes(),
                                        certificate_chain=client_crt.read_bytes())
    channel = grpc.secure_channel(f"127.0.0.1:{gport}", mtls)
    assert grpc_call(gport, LOGS_METHOD, good, channel=channel)[0] == grpc.StatusCode.OK
    context = ssl.create_default_context(cafile=str(ca_path))
    with pytest.raises((urllib.error.URLError, ConnectionError, ssl.SSLError)):
        post(hport, "/v1/logs", good, scheme="https", context=context)
    context.load_cert_chain(str(client_crt), str(client_key))
    assert post(hport, "/v1/logs", good, scheme="https", context=context)[0] == 200

    sender = tmp_path / "sender.yaml"
    sender.write_text(json.dumps({"version": "otel_dataflow/v1", "groups": {"g": {
        "pipelines": {"p": {"nodes": {
            "gen": {"type": "receiver:traffic_generator",
                    "config": {"traffic_config": {"signals_per_second": None,
                                                  "max_batch_size": 10, "log_weight": 1,
                                                  "trace_weight": 0, "metric_weight": 0},
                               "max_batches": 5, "seed": 3}},
            "out": {"type": "exporter:otlp_http",
                    "config": {"endpoint": f"https://127.0.0.1:{hport}",
                               "http": {"tls": {"cert_pem": client_crt.read_text(),
                                                "key_pem": client_key.read_text(),
                                                "ca_pem": ca_path.read_text(),
                                                "include_system_ca_certs_pool": False}}}}},
            "connections": [{"from": "gen", "to": "out"}]}}}}}))
    metrics = tmp_path / "sender.prom"
    run("run", "-c", sender, "--metrics-file", metrics)
    sent = metrics.read_text()
    assert metric(sent, "acked", node="out") == 5
    assert metric(sent, "nacked_retryable", node="out") == 0
    assert metric(sent, "nacked_permanent", node="out") == 0
    engine.stop()
    assert read_table(out, "logs").num_rows == 3 + 3 + 5 * 10


def test_wait_for_result(cli, tmp_path, engines):
    # Scenario: wait_for_result on both protocols into exporter:parquet publishing
    # a file per batch; then the dataset directory is replaced by a file, so the
    # exporter's writes fail.
    # Guarantees: while the exporter works, clients get OK/200 only once the data
    # is in published files (the logs are readable before the engine stops);
    # once it fails, the Nack reaches the clients as UNAVAILABLE / 503 with
    # Retry-After and "pipeline processing failed"; the acknowledgement metrics
    # count both outcomes.
    gport, hport = free_port(), free_port()
    out = tmp_path / "out"
    engine = engines(tmp_path,
                    receiver_config(gport, hport,
                                    grpc_extra={"wait_for_result": True, "timeout": "30s"},
                                    http_extra={"wait_for_result": True, "timeout": "30s"}),
                    {**parquet_exporter(out, rows_per_file=1),
                     "config": {**parquet_exporter(out, rows_per_file=1)["config"],
                                "retry": {"max_retries": 1, "init_backoff": "10ms",
                                          "retry_timeout": "1s"}}})
    assert grpc_call(gport, LOGS_METHOD, logs_request(3, "acked").SerializeToString(),
                     timeout=30)[0] == grpc.StatusCode.OK
    status, _, _ = post(hport, "/v1/logs", logs_request(2, "acked").SerializeToString())
    assert status == 200
    assert read_table(out, "logs").num_rows == 5  # durable before the answer

    shutil.rmtree(out)
    out.write_text("not a directory")
    code, details = grpc_call(gport, LOGS_METHOD, logs_request(1, "x").SerializeToString(),
                              timeout=30)
    assert code == grpc.StatusCode.UNAVAILABLE, details
    assert "pipeline processing failed" in details
    status, headers, body = post(hport, "/v1/logs", logs_request(1, "x").SerializeToString())
    assert status == 503 and headers["Retry-After"]
    assert b"pipeline processing failed" in body
    engine.stop()
    m = engine.metrics
    assert metric(m, "otlp_acknowledgements", outcome="success") == 2
    assert metric(m, "otlp_acknowledgements", outcome="failure") == 2


def test_shutdown_answers_waiting_calls(cli, tmp_path, engines):
    # Scenario: wait_for_result on both protocols into exporter:parquet that
    # publishes only at shutdown (1M-row target, 10m age); one gRPC and one
    # HTTP request are waiting for their outcome when SIGINT arrives.
    # Guarantees: the drain publishes the files, the waiting clients then get
    # OK / 200 (not an error, not before the data is durable), the engine exits 0
    # and the dataset holds both requests' logs.
    import concurrent.futures

    gport, hport = free_port(), free_port()
    out = tmp_path / "out"
    wait = {"wait_for_result": True, "timeout": "60s"}
    engine = engines(tmp_path, receiver_config(gport, hport, grpc_extra=wait,
                                                   http_extra=wait),
                    parquet_exporter(out, rows_per_file=1_000_000, flush="10m"))
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        grpc_reply = pool.submit(grpc_call, gport, LOGS_METHOD,
                                 logs_request(7, "drain").SerializeToString(), None, None, 60)
        http_reply = pool.submit(post, hport, "/v1/logs",
                                 logs_request(4, "drain").SerializeToString())
        # Both batches reached the exporter (its in-progress files exist) and wait.
        wait_until(lambda: metric(engine.run.metrics(), "received_items",
                                  node="out") == 11 and list(out.rglob("*.tmp")),
                   "both requests in the exporter")
        assert not grpc_reply.done() and not http_reply.done()
        engine.stop()
        assert grpc_reply.result(timeout=30)[0] == grpc.StatusCode.OK
        assert http_reply.result(timeout=30)[0] == 200
    assert read_table(out, "logs").num_rows == 11
    assert metric(engine.metrics, "otlp_acknowledgements", outcome="success") == 2


@pytest.mark.parametrize("protocol,limit,capacity,admitted", [
    ("grpc", 2, None, 2),    # the configured limit (the channel holds 128)
    ("grpc", 0, 3, 3),       # 0: upstream's rule, the pdata channel capacity
    ("http", 50, 2, 2),      # a larger limit is clamped to the capacity
])
def test_max_concurrent_requests(cli, tmp_path, engines, protocol, limit, capacity,
                                 admitted):
    # Scenario: wait_for_result into exporter:parquet that publishes only at
    # shutdown, so every admitted request stays in flight; `admitted` requests are
    # sent, then one more.
    # Guarantees: the extra request is refused at once (RESOURCE_EXHAUSTED / 429
    # with Retry-After) naming the effective limit, and counted as rejected
    # "exhausted"; the admitted ones get OK / 200 once their data is durable, at
    # shutdown, and the dataset holds exactly their logs.
    import concurrent.futures

    port = free_port()
    out = tmp_path / "out"
    wait = {"wait_for_result": True, "timeout": "60s", "max_concurrent_requests": limit}
    receiver = (receiver_config(grpc_port=port, grpc_extra=wait) if protocol == "grpc"
                else receiver_config(http_port=port, http_extra=wait))
    engine = engines(tmp_path, receiver,
                     parquet_exporter(out, rows_per_file=1_000_000, flush="10m"),
                     policies={"channel_capacity": {"pdata": capacity}} if capacity else None)

    def send(tag):
        payload = logs_request(2, tag).SerializeToString()
        if protocol == "grpc":
            return grpc_call(port, LOGS_METHOD, payload, timeout=60)
        status, headers, body = post(port, "/v1/logs", payload)
        return status, headers.get("Retry-After"), body

    with concurrent.futures.ThreadPoolExecutor(admitted) as pool:
        held = [pool.submit(send, f"held{i}") for i in range(admitted)]
        wait_until(lambda: metric(engine.run.metrics(), "received_items",
                                  node="out") == 2 * admitted, "admitted requests held")
        refused = send("extra")
        if protocol == "grpc":
            assert refused[0] == grpc.StatusCode.RESOURCE_EXHAUSTED, refused
            assert f"max_concurrent_requests={admitted}" in refused[1]
        else:
            assert refused[0] == 429 and refused[1], refused
            assert f"max_concurrent_requests={admitted}".encode() in refused[2]
        assert not any(f.done() for f in held)
        engine.stop()
        ok = grpc.StatusCode.OK if protocol == "grpc" else 200
        assert [f.result(timeout=30)[0] for f in held] == [ok] * admitted
    assert f"max_concurrent_requests={admitted if protocol == 'grpc' else 0}/" \
           f"{admitted if protocol == 'http' else 0}" in engine.stderr
    assert read_table(out, "logs").num_rows == 2 * admitted
    assert metric(engine.metrics, f"otlp_{protocol}_requests_rejected",
                  reason="exhausted") == 1


def test_bind_conflict_fails_start(cli, tmp_path):
    # Scenario: the gRPC port is already taken by another (non-reuseport) socket.
    # Guarantees: the engine exits 1 naming the node and the address.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "c.yaml"
        config.write_text(json.dumps({"version": "otel_dataflow/v1", "groups": {"g": {
            "pipelines": {"p": {"nodes": {
                "otlp": {"type": "urn:otel:otlp:receiver",  # legacy URN order
                         "config": receiver_config(grpc_port=port)},
                "out": {"type": "exporter:noop"}},
                "connections": [{"from": "otlp", "to": "out"}]}}}}}))
        proc = subprocess.run([str(cli), "run", "-c", str(config)], capture_output=True,
                              text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "receiver:otlp otlp" in proc.stderr and f"127.0.0.1:{port}" in proc.stderr


def test_validate_errors(run, tmp_path):
    # Scenario: --validate-and-exit on a receiver:otlp config with an unknown key,
    # a bad address and a missing TLS file.
    # Guarantees: exit 2 and every error with its YAML path.
    config = tmp_path / "bad.yaml"
    config.write_text(v1_config("""
        in:
          type: receiver:otlp
          config:
            protocols:
              grpc:
                listening_addr: "localhost"
                tls: {cert_file: /nonexistent.crt, key_file: /nonexistent.key}
              http:
                listening_addr: "127.0.0.1:4318"
                max_request_body_sise: 1MiB
        out: {type: exporter:noop}
        """, "- {from: in, to: out}"))
    proc = run("run", "-c", config, "--validate-and-exit", check=False)
    assert proc.returncode == 2
    base = "groups.default.pipelines.main.nodes.in.config.protocols"
    assert f"{base}.grpc.listening_addr (line 12)" in proc.stderr
    assert f"{base}.grpc.tls.cert_file (line 13)" in proc.stderr
    assert (f'{base}.http.max_request_body_sise (line 16): unknown key; did you mean '
            f'"max_request_body_size"?') in proc.stderr


def test_second_engine_on_the_same_ports_is_refused(cli, tmp_path, engines):
    # Scenario: an engine (2 pipeline instances: every instance binds the ports with
    # SO_REUSEPORT) listens for OTLP/gRPC and OTLP/HTTP; a second engine is started
    # with the same gRPC port, then with the same HTTP port.
    # Guarantees: the second engine does not silently share the port (SO_REUSEPORT
    # would let it take part of the traffic): it exits 1 naming the address in use;
    # the first engine keeps serving.
    grpc_port, http_port = free_port(), free_port()
    first = engines(tmp_path, receiver_config(grpc_port, http_port),
                    {"type": "exporter:noop"}, num_cores=2)
    for name, receiver in (("grpc", receiver_config(grpc_port=grpc_port)),
                           ("http", receiver_config(http_port=http_port))):
        path = tmp_path / f"second-{name}.yaml"
        path.write_text(json.dumps({
            "version": "otel_dataflow/v1",
            "groups": {"default": {"pipelines": {"main": {
                "nodes": {"otlp": {"type": "receiver:otlp", "config": receiver},
                          "out": {"type": "exporter:noop"}},
                "connections": [{"from": "otlp", "to": "out"}]}}}}}))
        # Bounded: an engine that shares the port would run until killed.
        proc = subprocess.run([str(cli), "run", "-c", str(path)], capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 1, proc.stderr[-2000:]
        port = grpc_port if name == "grpc" else http_port
        assert f"127.0.0.1:{port}: address in use by another process" in proc.stderr
    status, _, _ = post(http_port, "/v1/logs", logs_request(3).SerializeToString())
    assert status == 200
    first.stop()
