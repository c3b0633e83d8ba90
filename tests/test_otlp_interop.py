# SPDX-License-Identifier: Apache-2.0
"""OTLP files written and read by an independent implementation (the official Python
protobuf classes from opentelemetry-proto) against otap-parquet's `convert`."""
import base64
import json

from google.protobuf import json_format
from google.protobuf.internal.decoder import _DecodeVarint32
from google.protobuf.internal.encoder import _VarintBytes
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

TRACE_ID = bytes(range(16))
SPAN_ID = bytes(range(8, 16))


def kv(key, **value):
    return KeyValue(key=key, value=AnyValue(**value))


def logs_request():
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add(schema_url="https://opentelemetry.io/schemas/1.26.0")
    rl.resource.attributes.append(kv("service.name", string_value="cart"))
    rl.resource.dropped_attributes_count = 2
    sl = rl.scope_logs.add(schema_url="s")
    sl.scope.name, sl.scope.version = "lib", "1.0"
    sl.scope.attributes.append(kv("scope.k", int_value=-5))
    rec = sl.log_records.add(
        time_unix_nano=1_700_000_000_000_000_123,
        observed_time_unix_nano=1_700_000_000_000_000_456,
        severity_number=17,
        severity_text="ERROR",
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        flags=1,
        dropped_attributes_count=3,
        event_name="payment.failed",
    )
    rec.body.kvlist_value.values.append(kv("a", array_value={"values": [{"int_value": 1}, {"double_value": 2.5}]}))
    rec.attributes.extend(
        [
            kv("s", string_value="héllo"),
            kv("i", int_value=-(2**63)),
            kv("d", double_value=0.1),
            kv("b", bool_value=True),
            kv("y", bytes_value=b"\x00\xff"),
            kv("m", kvlist_value={"values": [kv("x", bool_value=False)]}),
        ]
    )
    return req


def traces_request():
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.SetInParent()  # OTAP always carries a resource and a scope
    ss = rs.scope_spans.add()
    ss.scope.SetInParent()
    span = ss.spans.add(
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        parent_span_id=bytes(8 * [7]),
        trace_state="k=v",
        flags=0x301,
        name="GET /cart",
        kind=2,
        start_time_unix_nano=10,
        end_time_unix_nano=5,  # end before start must survive
        dropped_attributes_count=1,
        dropped_events_count=2,
        dropped_links_count=3,
    )
    span.status.code, span.status.message = 2, "boom"
    span.attributes.append(kv("http.method", string_value="GET"))
    ev = span.events.add(time_unix_nano=11, name="exception", dropped_attributes_count=4)
    ev.attributes.append(kv("exception.type", string_value="IOError"))
    link = span.links.add(trace_id=TRACE_ID, span_id=SPAN_ID, trace_state="a=b", flags=1)
    link.dropped_attributes_count = 6
    link.attributes.append(kv("l", int_value=1))
    return req


def metrics_request():
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.SetInParent()
    sm = rm.scope_metrics.add()
    sm.scope.SetInParent()
    gauge = sm.metrics.add(name="g", description="d", unit="1")
    gauge.metadata.append(kv("meta", string_value="x"))
    p = gauge.gauge.data_points.add(time_unix_nano=5, as_int=-3, flags=1)
    p.attributes.append(kv("dp", string_value="v"))
    ex = p.exemplars.add(time_unix_nano=4, as_double=1.25, trace_id=TRACE_ID, span_id=SPAN_ID)
    ex.filtered_attributes.append(kv("fa", int_value=9))
    s = sm.metrics.add(name="s")
    s.sum.aggregation_temporality, s.sum.is_monotonic = 1, True
    s.sum.data_points.add(start_time_unix_nano=1, time_unix_nano=2, as_double=2.5)
    h = sm.metrics.add(name="h")
    h.histogram.aggregation_temporality = 2
    h.histogram.data_points.add(count=3, sum=6.0, bucket_counts=[1, 2], explicit_bounds=[1.0], min=1.0, max=3.0)
    e = sm.metrics.add(name="e")
    e.exponential_histogram.aggregation_temporality = 1
    ep = e.exponential_histogram.data_points.add(count=4, scale=-2, zero_count=1, zero_threshold=0.001)
    ep.positive.offset, ep.negative.offset = 3, -7
    ep.positive.bucket_counts.extend([1, 0, 2])
    ep.negative.bucket_counts.extend([1])
    q = sm.metrics.add(name="q")
    qp = q.summary.data_points.add(count=2, sum=3.0)
    qp.quantile_values.add(quantile=0.5, value=1.0)
    qp.quantile_values.add(quantile=1.0, value=2.0)
    return req


def write_delimited(path, messages):
    with open(path, "wb") as f:
        for m in messages:
            data = m.SerializeToString()
            f.write(_VarintBytes(len(data)))
            f.write(data)


def read_delimited(path, cls):
    data = path.read_bytes()
    out, pos = [], 0
    while pos < len(data):
        size, pos = _DecodeVarint32(data, pos)
        msg = cls()
        msg.ParseFromString(data[pos : pos + size])
        out.append(msg)
        pos += size
    return out


ID_KEYS = {"traceId", "spanId", "parentSpanId"}


def hex_ids_to_base64(node):
    """OTLP/JSON ids are hex; protobuf's JSON mapping wants base64."""
    if isinstance(node, dict):
        return {
            k: (base64.b64encode(bytes.fromhex(v)).decode() if k in ID_KEYS else hex_ids_to_base64(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [hex_ids_to_base64(v) for v in node]
    return node


def check_otlp_json_conventions(node, path="$"):
    """OTLP/JSON: lowerCamelCase keys, hex ids, enums as integers, 64-bit ints as strings."""
    if isinstance(node, dict):
        for k, v in node.items():
            assert "_" not in k, f"{path}.{k}: keys must be lowerCamelCase"
            if k in ID_KEYS:
                assert isinstance(v, str) and all(c in "0123456789abcdef" for c in v), f"{path}.{k}={v!r}"
                assert len(v) in (16, 32), f"{path}.{k}: {v!r}"
            if k in ("severityNumber", "kind", "code", "aggregationTemporality"):
                assert isinstance(v, int), f"{path}.{k}: enums are integers, got {v!r}"
            if k.endswith("UnixNano") or k in ("intValue", "asInt", "count"):
                assert isinstance(v, str), f"{path}.{k}: 64-bit integers are strings, got {v!r}"
            check_otlp_json_conventions(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            check_otlp_json_conventions(v, f"{path}[{i}]")


def roundtrip(tmp_path, run, name, request, cls):
    src = tmp_path / f"in.{name}.pb"
    write_delimited(src, [request])
    jsonl = tmp_path / f"mid.{name}.jsonl"
    run("convert", src, jsonl)
    lines = [json.loads(line) for line in jsonl.read_text().splitlines() if line.strip()]
    assert len(lines) == 1
    check_otlp_json_conventions(lines[0])
    parsed = json_format.ParseDict(hex_ids_to_base64(lines[0]), cls())
    assert parsed == request, f"JSON written by otap-parquet differs:\n{parsed}\nvs\n{request}"
    back = tmp_path / f"back.{name}.pb"
    run("convert", jsonl, back)
    messages = read_delimited(back, cls)
    assert messages == [request]


def test_logs_roundtrip_with_python_protobuf(tmp_path, run):
    roundtrip(tmp_path, run, "logs", logs_request(), ExportLogsServiceRequest)


def test_traces_roundtrip_with_python_protobuf(tmp_path, run):
    roundtrip(tmp_path, run, "traces", traces_request(), ExportTraceServiceRequest)


def test_metrics_roundtrip_with_python_protobuf(tmp_path, run):
    roundtrip(tmp_path, run, "metrics", metrics_request(), ExportMetricsServiceRequest)


def test_reads_json_written_by_python(tmp_path, run):
    """OTLP/JSON produced by Python's protobuf JSON printer (ids rewritten to hex)."""
    doc = json_format.MessageToDict(logs_request())

    def to_hex(node):
        if isinstance(node, dict):
            return {k: (base64.b64decode(v).hex() if k in ID_KEYS else to_hex(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [to_hex(v) for v in node]
        return node

    src = tmp_path / "py.jsonl"
    src.write_text(json.dumps(to_hex(doc)) + "\n")
    out = tmp_path / "out.logs.pb"
    run("convert", src, out)
    assert read_delimited(out, ExportLogsServiceRequest) == [logs_request()]


def test_bad_inputs_exit_nonzero_with_context(tmp_path, run):
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text('{"resourceLogs": []}\n{"resourceLogs": [\n')
    proc = run("convert", bad_json, tmp_path / "o.jsonl", check=False)
    assert proc.returncode == 1 and "bad.jsonl:2" in proc.stderr, proc.stderr

    bad_hex = tmp_path / "hex.jsonl"
    bad_hex.write_text(
        '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"0102030405060708"}]}]}]}\n'
    )
    proc = run("convert", bad_hex, tmp_path / "o.jsonl", check=False)
    assert proc.returncode == 1 and "hex.jsonl:1" in proc.stderr and "traceId" in proc.stderr, proc.stderr

    truncated = tmp_path / "t.logs.pb"
    data = logs_request().SerializeToString()
    truncated.write_bytes(_VarintBytes(len(data)) + data[: len(data) // 2])
    proc = run("convert", truncated, tmp_path / "o.jsonl", check=False)
    assert proc.returncode == 1 and "t.logs.pb" in proc.stderr, proc.stderr

    proc = run("convert", tmp_path / "missing.jsonl", tmp_path / "o.jsonl", check=False)
    assert proc.returncode == 1 and "missing.jsonl" in proc.stderr

    proc = run("convert", bad_json, check=False)
    assert proc.returncode == 2


def test_demo_runs(tmp_path, run):
    proc = run("demo", "--dir", tmp_path / "demo")
    assert "nothing lost" in proc.stdout
