# SPDX-License-Identifier: Apache-2.0
"""Reliability: malformed and oversized OTLP requests on gRPC and HTTP.

One engine (receiver:otlp on both protocols, `wait_for_result: true`, 64 KiB
request limits → exporter:parquet) gets each bad request followed by a valid one.
Guarantees: each bad request gets its clear status (400 / INVALID_ARGUMENT for
undecodable data, 413 / RESOURCE_EXHAUSTED over the limit, 415 for a wrong type or
encoding, 404 / 405 / UNIMPLEMENTED for wrong routes), the engine never stops, every
valid request in between is acknowledged, and at the end the dataset holds exactly
the valid records (nothing of the bad requests)."""
import gzip
import json
import signal
import socket
import urllib.error
import urllib.request
import zlib

import grpc
from google.protobuf.internal.encoder import _VarintBytes
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from s3_server import free_port

from rel_common import canonical_records, compare, convert_dataset, logs_request, summary
from test_reliability_kill9_ingest import LOGS_METHOD

LIMIT = 64 * 1024
GOOD = logs_request("shape", 3).SerializeToString()


def deep_request(depth):
    """A log whose body nests `depth` kvlists, built at the wire level (the Python
    protobuf library itself refuses to build it)."""
    def field(tag, data):
        return bytes([tag]) + _VarintBytes(len(data)) + data

    inner = AnyValue(string_value="leaf").SerializeToString()
    for _ in range(depth):
        inner = field(0x32, field(0x0A, field(0x0A, b"k") + field(0x12, inner)))
    record = LogRecord(time_unix_nano=1).SerializeToString() + field(0x2A, inner)
    return field(0x0A, field(0x12, field(0x12, record)))


def bad_trace_id():
    request = logs_request("badid", 1)
    request.resource_logs[0].scope_logs[0].log_records[0].trace_id = b"short"
    return request.SerializeToString()


def invalid_utf8():
    # body.string_value = b"\xff" spliced in at the wire level (protobuf refuses it).
    return GOOD.replace(b"shape-0", b"shap\xff-0", 1)


# (name, body, content type, headers, accepted statuses)
HTTP_CASES = [
    ("garbage_protobuf", b"\xff\xff\xff\xff", "application/x-protobuf", {}, {400}),
    ("truncated_protobuf", GOOD[: len(GOOD) // 2], "application/x-protobuf", {}, {400}),
    ("invalid_utf8", invalid_utf8(), "application/x-protobuf", {}, {400}),
    ("trace_id_too_short", bad_trace_id(), "application/x-protobuf", {}, {400}),
    ("deep_nesting", deep_request(200), "application/x-protobuf", {}, {400}),
    ("bad_json", b'{"resourceLogs": [', "application/json", {}, {400}),
    ("json_wrong_types", b'{"resourceLogs": 5}', "application/json", {}, {400}),
    ("json_not_utf8", b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": '
                      b'{"stringValue": "\xff"}}]}]}]}', "application/json", {}, {400}),
    ("wrong_content_type", GOOD, "text/plain", {}, {415}),
    ("body_over_limit", b"\0" * (LIMIT + 1), "application/x-protobuf", {}, {413}),
    ("gzip_over_limit", gzip.compress(b"\0" * (4 * LIMIT)), "application/x-protobuf",
     {"Content-Encoding": "gzip"}, {413}),
    ("bad_gzip", b"not gzip at all", "application/x-protobuf", {"Content-Encoding": "gzip"},
     {400}),
    ("truncated_gzip", gzip.compress(GOOD)[:-10], "application/x-protobuf",
     {"Content-Encoding": "gzip"}, {400}),
    ("bad_deflate", b"\x78\x9cnope", "application/x-protobuf", {"Content-Encoding": "deflate"},
     {400}),
    ("unknown_encoding", zlib.compress(GOOD), "application/x-protobuf",
     {"Content-Encoding": "lzma"}, {415}),
    ("empty_request", b"", "application/x-protobuf", {}, {200}),
]


def http(port, body, content_type="application/x-protobuf", headers=None, method="POST",
         path="/v1/logs"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method,
                                 headers={"Content-Type": content_type, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            return res.status
    except urllib.error.HTTPError as e:
        return e.code


def grpc_call(port, payload, method=LOGS_METHOD):
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            channel.unary_unary(method)(payload, timeout=60)
            return grpc.StatusCode.OK
        except grpc.RpcError as e:
            return e.code()


def short_body(port):
    """A request whose Content-Length promises more than is sent before the
    connection closes (a client dying mid-body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf"
                  b"\r\nContent-Length: 100000\r\n\r\n" + GOOD[:10])
        s.shutdown(socket.SHUT_WR)
        try:
            return s.recv(100).split(b" ")[1].decode() or "closed"
        except (OSError, IndexError):
            return "closed"


GRPC_CASES = [
    ("garbage_protobuf", b"\xff\xff\xff\xff", LOGS_METHOD, {grpc.StatusCode.INVALID_ARGUMENT}),
    ("truncated_protobuf", GOOD[: len(GOOD) // 2], LOGS_METHOD,
     {grpc.StatusCode.INVALID_ARGUMENT}),
    ("invalid_utf8", invalid_utf8(), LOGS_METHOD, {grpc.StatusCode.INVALID_ARGUMENT}),
    ("trace_id_too_short", bad_trace_id(), LOGS_METHOD, {grpc.StatusCode.INVALID_ARGUMENT}),
    ("deep_nesting", deep_request(200), LOGS_METHOD, {grpc.StatusCode.INVALID_ARGUMENT}),
    ("over_limit", b"\0" * (LIMIT + 1), LOGS_METHOD, {grpc.StatusCode.RESOURCE_EXHAUSTED}),
    ("unknown_method", GOOD, "/opentelemetry.proto.collector.logs.v1.LogsService/Nope",
     {grpc.StatusCode.UNIMPLEMENTED}),
    ("empty_request", b"", LOGS_METHOD, {grpc.StatusCode.OK}),
]


def test_malformed_and_oversized_requests(cli, engine, tmp_path):
    gport, hport = free_port(), free_port()
    wait = {"wait_for_result": True, "timeout": "30s"}
    dataset = tmp_path / "dataset"
    config = {"version": "otel_dataflow/v1", "groups": {"default": {"pipelines": {"main": {
        "nodes": {
            "otlp": {"type": "receiver:otlp", "config": {"protocols": {
                "grpc": {"listening_addr": f"127.0.0.1:{gport}",
                         "max_decoding_message_size": "64KiB", **wait},
                "http": {"listening_addr": f"127.0.0.1:{hport}",
                         "max_request_body_size": "64KiB", **wait}}}},
            "out": {"type": "exporter:parquet", "config": {
                "storage": {"file": {"base_uri": str(dataset)}},
                "writer_options": {"target_rows_per_file": 1,
                                   "flush_when_older_than": "20ms"}}}},
        "connections": [{"from": "otlp", "to": "out"}]}}}}}
    path = tmp_path / "engine.yaml"
    path.write_text(json.dumps(config))
    proc = engine(path)
    expected, wrong, valid_failed = {}, [], []
    k = 0

    def valid(protocol):
        nonlocal k
        request = logs_request(f"valid-{protocol}-{k}", 5)
        k += 1
        data = request.SerializeToString()
        ok = (http(hport, data) == 200 if protocol == "http"
              else grpc_call(gport, data) == grpc.StatusCode.OK)
        if ok:
            expected.update(canonical_records(request))
        else:
            valid_failed.append(request.resource_logs[0].scope_logs[0].scope.version)

    for name, body, content_type, headers, want in HTTP_CASES:
        got = http(hport, body, content_type, headers)
        if got not in want:
            wrong.append(f"http {name}: {got}, want {want}")
        valid("http")
    for name, method, path_, want in [("get", "GET", "/v1/logs", {405}),
                                      ("unknown_path", "POST", "/v2/logs", {404})]:
        got = http(hport, GOOD if method == "POST" else None, method=method, path=path_)
        if got not in want:
            wrong.append(f"http {name}: {got}, want {want}")
        valid("http")
    short = short_body(hport)
    valid("http")
    for name, payload, method, want in GRPC_CASES:
        got = grpc_call(gport, payload, method)
        if got not in want:
            wrong.append(f"grpc {name}: {got}, want {want}")
        valid("grpc")
    proc.check_running()
    proc.stop(signal.SIGTERM)

    proc_c, counts, records, stats = convert_dataset(cli, dataset, tmp_path / "replay.logs.pb")
    lost, duplicates, misjoined, phantom = compare(expected, counts, records)
    bad = len(HTTP_CASES) + len(GRPC_CASES) + 3
    summary("malformed", trials=bad, records=len(expected), lost=lost, duplicates=duplicates,
            misjoined=misjoined, crashes=0, wrong_status=len(wrong),
            valid_refused=len(valid_failed), short_body=short)
    assert wrong == []
    assert valid_failed == []
    assert (lost, duplicates, misjoined, phantom) == (0, 0, 0, 0), proc_c.stdout
