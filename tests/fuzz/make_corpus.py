#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora of the libFuzzer targets (fuzz/*_fuzz.cc) into
tests/fuzz/corpus/<target>/: a few small valid inputs per target, from the
official OTLP protobuf classes and, for OTLP/JSON and Parquet, the CLI's own
output (WAL segments: its tables as Arrow IPC streams in WAL frames). Inputs named `regression-*` are crashes a target found once (kept, never
regenerated). Re-run after changing an input format:

    .venv/bin/python tests/fuzz/make_corpus.py build/otap-parquet
"""
import pathlib
import struct
import subprocess
import sys
import tempfile
import zlib

import pyarrow as pa
import pyarrow.parquet as pq

from google.protobuf.internal.encoder import _VarintBytes
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (AnyValue, ArrayValue,
                                                      InstrumentationScope, KeyValue,
                                                      KeyValueList)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.metrics.v1 import metrics_pb2 as m
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

HERE = pathlib.Path(__file__).resolve().parent
T = 1_795_000_000_000_000_000


def kv(key, **value):
    return KeyValue(key=key, value=AnyValue(**value))


ATTRS = [kv("s", string_value="v"), kv("i", int_value=-3), kv("d", double_value=0.5),
         kv("b", bool_value=True), kv("y", bytes_value=b"\x00\x01"),
         KeyValue(key="a", value=AnyValue(array_value=ArrayValue(values=[
             AnyValue(int_value=1), AnyValue(string_value="x")]))),
         KeyValue(key="m", value=AnyValue(kvlist_value=KeyValueList(values=[
             kv("k", string_value="v")])))]
RESOURCE = Resource(attributes=[kv("service.name", string_value="fuzz")])
SCOPE = InstrumentationScope(name="seed", version="1", attributes=[kv("sa", int_value=1)])


def logs():
    records = [LogRecord(time_unix_nano=T + i, severity_number=9, severity_text="INFO",
                         body=AnyValue(string_value=f"log {i}"), attributes=ATTRS[: i + 2],
                         trace_id=bytes(range(16)), span_id=bytes(range(8)), flags=1)
               for i in range(3)]
    records.append(LogRecord(body=AnyValue(kvlist_value=KeyValueList(values=ATTRS))))
    return ExportLogsServiceRequest(resource_logs=[
        ResourceLogs(resource=RESOURCE, scope_logs=[ScopeLogs(scope=SCOPE, log_records=records)]),
        ResourceLogs(scope_logs=[ScopeLogs(log_records=[LogRecord(time_unix_nano=T)])])])


def traces():
    spans = [Span(trace_id=bytes(range(16)), span_id=bytes([i] * 8), name=f"span {i}",
                  kind=i % 5, start_time_unix_nano=T, end_time_unix_nano=T + 10,
                  attributes=ATTRS[:i + 1], status=Status(code=i % 3, message="m"),
                  events=[Span.Event(time_unix_nano=T + 1, name="e", attributes=ATTRS[:2])],
                  links=[Span.Link(trace_id=bytes(16), span_id=bytes(8), attributes=ATTRS[:1])])
             for i in range(3)]
    return ExportTraceServiceRequest(resource_spans=[
        ResourceSpans(resource=RESOURCE, scope_spans=[ScopeSpans(scope=SCOPE, spans=spans)])])


def metrics():
    point = dict(attributes=ATTRS[:2], start_time_unix_nano=T, time_unix_nano=T + 5)
    ms = [
        m.Metric(name="g", unit="1", gauge=m.Gauge(data_points=[
            m.NumberDataPoint(as_double=1.5, **point), m.NumberDataPoint(as_int=7, **point)])),
        m.Metric(name="s", sum=m.Sum(aggregation_temporality=2, is_monotonic=True, data_points=[
            m.NumberDataPoint(as_int=3, exemplars=[m.Exemplar(as_double=1.0, time_unix_nano=T,
                                                              span_id=bytes(8))], **point)])),
        m.Metric(name="h", histogram=m.Histogram(aggregation_temporality=1, data_points=[
            m.HistogramDataPoint(count=3, sum=6.0, bucket_counts=[1, 2], explicit_bounds=[1.0],
                                 min=1.0, max=3.0, **point)])),
        m.Metric(name="e", exponential_histogram=m.ExponentialHistogram(data_points=[
            m.ExponentialHistogramDataPoint(
                count=2, scale=1, zero_count=1,
                positive=m.ExponentialHistogramDataPoint.Buckets(offset=-1, bucket_counts=[1]),
                **point)])),
        m.Metric(name="q", summary=m.Summary(data_points=[
            m.SummaryDataPoint(count=2, sum=3.0, quantile_values=[
                m.SummaryDataPoint.ValueAtQuantile(quantile=0.5, value=1.0)], **point)])),
    ]
    return ExportMetricsServiceRequest(resource_metrics=[m.ResourceMetrics(
        resource=RESOURCE, scope_metrics=[m.ScopeMetrics(scope=SCOPE, metrics=ms)])])


# --- CBOR (RFC 8949), only what the AnyValue decoder reads ---------------------------
def cbor_head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for extra, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if n < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | extra]) + struct.pack(fmt, n)


def cbor(v):
    if v is None:
        return b"\xf6"
    if v is True or v is False:
        return b"\xf5" if v else b"\xf4"
    if isinstance(v, int):
        return cbor_head(0, v) if v >= 0 else cbor_head(1, -1 - v)
    if isinstance(v, float):
        return b"\xfb" + struct.pack(">d", v)
    if isinstance(v, str):
        return cbor_head(3, len(v.encode())) + v.encode()
    if isinstance(v, bytes):
        return cbor_head(2, len(v)) + v
    if isinstance(v, list):
        return cbor_head(4, len(v)) + b"".join(map(cbor, v))
    return cbor_head(5, len(v)) + b"".join(cbor(k) + cbor(x) for k, x in v.items())


CBOR_SEEDS = {
    "map": {"s": "v", "i": -3, "d": 0.5, "b": True, "y": b"\x00\x01", "n": None},
    "array": [1, "two", 3.0, [4, {"five": 5}], False],
    "nested": {"a": [{"b": [{"c": "deep"}]}]},
    "big_ints": [2**63 - 1, -(2**63), 0, 23, 24, 255, 256, 65536],
    # Indefinite-length map, array and chunked text, half-precision float.
    "indefinite": b"\xbf\x61a\x9f\x01\x02\xff\x61b\x7f\x62he\x63llo\xff\x61c\xf9\x3c\x00\xff",
}


# --- write-ahead log segments (src/otap_parquet/wal/wal.h) ---------------------------
SIGNALS = {"logs": 0, "traces": 1, "metrics": 2}
PAYLOAD_TYPES = {"logs": 30, "log_attrs": 31, "resource_attrs": 1, "scope_attrs": 2,
                 "spans": 40, "span_attrs": 41, "span_events": 42, "span_links": 43,
                 "univariate_metrics": 10, "number_data_points": 11, "number_dp_attrs": 15,
                 "metric_attrs": 26}


def wal_record(signal, tables):
    """A WAL record's payload: version, signal, then per table its type and IPC stream."""
    payload = bytes([1, SIGNALS[signal], len(tables)])
    for name, table in tables:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            for batch in table.to_batches():
                writer.write_batch(batch)
        stream = sink.getvalue().to_pybytes()
        payload += bytes([PAYLOAD_TYPES[name]]) + struct.pack("<I", len(stream)) + stream
    return payload


def wal_frame(payload, crc=True):
    """[magic | payload length | crc32(payload) | payload], little endian."""
    return struct.pack("<III", 0x4C41574F, len(payload),
                       zlib.crc32(payload) if crc else 0) + payload


def write(target, name, data):
    d = HERE / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def main():
    cli = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "build/otap-parquet").resolve()
    # Inputs that once crashed a target (`regression-*`) stay, and so do the corpora
    # this script does not write (otap_bar_fuzz's seed streams).
    made = {"otlp_wire_fuzz", "otlp_json_fuzz", "cbor_fuzz", "parquet_table_fuzz", "wal_fuzz"}
    for old in (HERE / "corpus").glob("*/*"):
        if old.parent.name in made and not old.name.startswith("regression-"):
            old.unlink()
    requests = {"logs": logs(), "traces": traces(), "metrics": metrics()}
    for selector, (signal, request) in enumerate(requests.items()):
        write("otlp_wire_fuzz", signal, bytes([selector]) + request.SerializeToString())
    write("otlp_wire_fuzz", "logs_empty", b"\x00")
    for name, value in CBOR_SEEDS.items():
        write("cbor_fuzz", name, value if isinstance(value, bytes) else cbor(value))

    tables = ["logs", "log_attrs", "resource_attrs", "scope_attrs", "spans", "span_attrs",
              "span_events", "span_links", "span_event_attrs", "univariate_metrics",
              "number_data_points", "number_dp_attrs", "histogram_data_points",
              "metric_attrs"]  # the order of kTables in fuzz/parquet_table_fuzz.cc
    groups = {"logs": ["logs", "log_attrs", "resource_attrs", "scope_attrs"],
              "traces": ["spans", "span_attrs", "span_events", "span_links"],
              "metrics": ["univariate_metrics", "number_data_points", "number_dp_attrs",
                          "metric_attrs"]}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for signal, request in requests.items():
            src = tmp / f"in.{signal}.pb"
            data = request.SerializeToString()
            src.write_bytes(_VarintBytes(len(data)) + data)
            out = tmp / f"{signal}.jsonl"
            subprocess.run([str(cli), "convert", str(src), str(out)], check=True,
                           capture_output=True)
            write("otlp_json_fuzz", signal, out.read_text().strip().encode())
            lake = tmp / f"lake-{signal}"
            subprocess.run([str(cli), "convert", "--compression", "none", str(src), str(lake)],
                           check=True, capture_output=True)
            packed = b""
            for table in groups[signal]:
                files = sorted((lake / table).glob("*/*.parquet"))
                if files:
                    body = files[0].read_bytes()
                    packed += bytes([tables.index(table)]) + struct.pack("<I", len(body)) + body
            write("parquet_table_fuzz", signal, packed)
            first = sorted((lake / groups[signal][0]).glob("*/*.parquet"))[0].read_bytes()
            write("parquet_table_fuzz", f"{signal}_root_only",
                  bytes([tables.index(groups[signal][0])]) + struct.pack("<I", len(first)) + first)
            # wal_fuzz: a flag byte (1: the target fixes the CRCs), then a segment.
            read = {t: pq.read_table(sorted((lake / t).glob("*/*.parquet"))[0])
                    for t in groups[signal] if list((lake / t).glob("*/*.parquet"))}
            whole = wal_record(signal, list(read.items()))
            root = wal_record(signal, [(groups[signal][0], read[groups[signal][0]])])
            write("wal_fuzz", signal, b"\x00" + wal_frame(whole) + wal_frame(root))
            write("wal_fuzz", f"{signal}_torn",
                  b"\x00" + wal_frame(root) + wal_frame(whole)[: len(whole) // 2])
            if signal == "logs":
                bad = bytearray(wal_frame(whole))
                bad[len(bad) // 2] ^= 0x5A
                write("wal_fuzz", "logs_corrupt_middle",
                      b"\x00" + wal_frame(root) + bytes(bad) + wal_frame(root))
                write("wal_fuzz", "logs_crc_fixed",
                      b"\x01" + wal_frame(root, crc=False) + wal_frame(whole, crc=False))
    write("otlp_json_fuzz", "empty_object", b"{}")
    for d in sorted((HERE / "corpus").iterdir()):
        print(f"{d.name}: {len(list(d.iterdir()))} files, "
              f"{sum(f.stat().st_size for f in d.iterdir())} bytes")


if __name__ == "__main__":
    main()
