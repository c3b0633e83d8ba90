# SPDX-License-Identifier: Apache-2.0
"""Seeded, deterministic generator of adversarial but valid OTLP requests (all three
signals), written independently of the C++ generator (`generate --edge-cases`) so
that the two do not share blind spots, and a canonical form of OTLP telemetry for
comparing a round trip with its source.

What it adds to `generate --edge-cases`: duplicate attribute keys (also inside
kvlists), many resources and scopes per request, identical resources repeated,
times at and around 2^63, deep nesting, 64 KiB strings, 300-byte keys, NaN quantiles,
data points and exemplars without a value, metrics without data points, and a
request of more than 65,535 log records (root ids are UInt16).

The canonical form (`items`) is what docs/formats.md says a round trip keeps: the
multiset of items (log record, span, or metric data point with its metric), each
with its resource and scope. It deliberately differs from the C++ equivalence
checker: events, links, exemplars, quantiles, array and kvlist elements keep their
order; only the order of attribute lists is free (docs/datasets.md: "the order of a
record's attributes is not kept"). An absent message equals an empty one (OTAP has
no column telling them apart), and so does a KeyValue without value and one with an
empty AnyValue; doubles compare by bits (so -0.0 differs from 0.0), every NaN
equals every NaN.
"""
import collections
import math
import random
import struct

from google.protobuf.descriptor import FieldDescriptor
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2

REQUEST_TYPES = {
    "logs": logs_service_pb2.ExportLogsServiceRequest,
    "traces": trace_service_pb2.ExportTraceServiceRequest,
    "metrics": metrics_service_pb2.ExportMetricsServiceRequest,
}

U64_MAX = 2**64 - 1
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
U32_MAX = 2**32 - 1

STRINGS = [
    "", "a", "0", " ", "héllo wörld", "日本語テキスト", "emoji 🚀🔥👩‍👩‍👧",
    "שלום עולם", "tab\tnewline\nquote\"backslash\\", "nul\0byte", "\ufeffbom",
    "\U0010ffff", "\x7f\x01",
    "ünïcödé " * 40, "x" * 4096, "{\"json\": [1, 2]}",
]
KEYS = ["", "k", "service.name", "kéy", "キー", "a.b.c", "nul\0key", "dup", "dup",
        "k" * 300]
DOUBLES = [0.0, -0.0, 1.0, -1.5, 0.1, math.nan, math.inf, -math.inf, 5e-324, -5e-324,
           2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308,
           1e-300, 9007199254740993.0, 3.4028234663852886e38, 65504.0, 1.0000001]
INTS = [0, 1, -1, I64_MIN, I64_MAX, I64_MIN + 1, I64_MAX - 1, 2**31, -(2**31) - 1, 2**32,
        255, -65536]
TIMES = [0, 1, U64_MAX, U64_MAX - 1, 2**63, 2**63 - 1, 2**63 + 1, 2**62, 10**18, 999,
         1_700_000_000_000_000_000, 1_700_000_003_600_000_000]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.seed = seed

    def chance(self, p):
        return self.r.random() < p

    def pick(self, xs):
        return xs[self.r.randrange(len(xs))]

    def string(self):
        if self.chance(0.02):
            return "長" * 22000  # 64 KiB of UTF-8
        if self.chance(0.15):
            return "".join(chr(self.r.choice([self.r.randrange(0x20, 0x7f),
                                               self.r.randrange(0xa0, 0xd7ff),
                                               self.r.randrange(0x10000, 0x10ffff)]))
                           for _ in range(self.r.randrange(1, 30)))
        return self.pick(STRINGS)

    def int64(self):
        return self.pick(INTS) if self.chance(0.6) else self.r.randrange(I64_MIN, I64_MAX)

    def double(self):
        if self.chance(0.3):
            value = struct.unpack("<d", self.r.getrandbits(64).to_bytes(8, "little"))[0]
            return math.nan if math.isnan(value) else value
        return self.pick(DOUBLES)

    def u32(self):
        return self.pick([0, 0, 0, 1, 7, U32_MAX, self.r.randrange(U32_MAX)])

    def time(self):
        return self.pick(TIMES) if self.chance(0.5) else (
            1_700_000_000_000_000_000 + self.r.randrange(10**15))

    def bytes_(self):
        if self.chance(0.4):
            return self.pick([b"", b"\0", b"\xff" * 4, bytes(range(256))])
        return self.r.randbytes(self.r.randrange(1, 64))

    def id_(self, size, present=0.75):
        return self.r.randbytes(size) if self.chance(present) else b""

    def any_value(self, value, depth=0):
        kinds = ["empty", "str", "int", "double", "bool", "bytes", "array", "kvlist",
                 "str_empty"]
        kind = self.pick(kinds if depth < 12 else kinds[:6])
        if kind == "str":
            value.string_value = self.string()
        elif kind == "str_empty":
            value.string_value = ""
        elif kind == "int":
            value.int_value = self.int64()
        elif kind == "double":
            value.double_value = self.double()
        elif kind == "bool":
            value.bool_value = self.chance(0.5)
        elif kind == "bytes":
            value.bytes_value = self.bytes_()
        elif kind == "array":
            array = value.array_value  # set even when it stays empty
            array.SetInParent()
            # Deep chains are narrow: one element that nests again, sometimes.
            n = 1 if depth >= 3 else self.r.randrange(0, 5)
            for _ in range(n):
                self.any_value(array.values.add(), depth + 1)
        elif kind == "kvlist":
            kvlist = value.kvlist_value
            kvlist.SetInParent()
            if depth < 3:
                self.attributes(kvlist.values, depth + 1)
            elif self.chance(0.7):
                kv = kvlist.values.add(key=self.pick(KEYS))
                self.any_value(kv.value, depth + 1)

    def attributes(self, attrs, depth=0):
        n = self.pick([0, 0, 1, 2, 3, 5, 8] if depth else [0, 0, 1, 2, 3, 5, 8, 40])
        for _ in range(n):
            # Keys repeat (invalid OTLP but seen in the wild: the receivers take them).
            key = self.pick(KEYS) if self.chance(0.4) else self.string()[:50]
            kv = attrs.add(key=key)
            if self.chance(0.05):
                continue  # KeyValue without value
            self.any_value(kv.value, depth)

    # ---- resources and scopes -------------------------------------------------------
    def resource(self, rx):
        if self.chance(0.15):
            pass  # absent Resource
        else:
            rx.resource.SetInParent()
            self.attributes(rx.resource.attributes)
            rx.resource.dropped_attributes_count = self.u32()
        if self.chance(0.5):
            rx.schema_url = self.pick(["https://opentelemetry.io/schemas/1.26.0",
                                       self.string()])

    def scope(self, sx):
        if not self.chance(0.15):
            sx.scope.SetInParent()
            if self.chance(0.8):
                sx.scope.name = self.string()
            if self.chance(0.6):
                sx.scope.version = self.string()
            self.attributes(sx.scope.attributes)
            sx.scope.dropped_attributes_count = self.u32()
        if self.chance(0.5):
            sx.schema_url = self.string()

    def shape(self):
        """(resources, scopes per resource, records per scope) of one request."""
        return self.pick([(1, 1, 5), (2, 2, 3), (3, 1, 8), (25, 1, 1), (1, 20, 1),
                          (4, 4, 2)])

    def request(self, signal):
        req = REQUEST_TYPES[signal]()
        resources, scopes, records = self.shape()
        top = {"logs": "resource_logs", "traces": "resource_spans",
               "metrics": "resource_metrics"}[signal]
        mid = {"logs": "scope_logs", "traces": "scope_spans",
               "metrics": "scope_metrics"}[signal]
        previous = None
        for _ in range(resources):
            rx = getattr(req, top).add()
            if previous is not None and self.chance(0.2):
                rx.CopyFrom(previous)  # the same resource again (with its records)
                continue
            self.resource(rx)
            for _ in range(scopes if not self.chance(0.1) else 0):  # empty resource
                sx = getattr(rx, mid).add()
                self.scope(sx)
                n = 0 if self.chance(0.08) else self.r.randrange(1, records + 1)
                for _ in range(n):
                    getattr(self, signal)(sx)
            previous = rx
        return req

    # ---- logs -------------------------------------------------------------------
    def logs(self, sx):
        log = sx.log_records.add()
        if self.chance(0.7):
            log.time_unix_nano = self.time()
        if self.chance(0.8):
            log.observed_time_unix_nano = self.time()  # sometimes the only time
        log.severity_number = self.r.randrange(0, 25) if self.chance(0.7) else 0
        if self.chance(0.5):
            log.severity_text = self.string()
        body = self.r.randrange(4)
        if body == 1:
            self.any_value(log.body)
        elif body == 2:
            log.body.string_value = ""  # empty, not absent
        elif body == 3:
            log.body.SetInParent()  # an empty AnyValue
        self.attributes(log.attributes)
        log.dropped_attributes_count = self.u32()
        log.flags = self.pick([0, 1, 0x101, U32_MAX, self.r.getrandbits(32)])
        log.trace_id = self.id_(16)
        log.span_id = self.id_(8)
        if self.chance(0.3):
            log.event_name = self.string()

    # ---- traces -----------------------------------------------------------------
    def traces(self, sx):
        span = sx.spans.add()
        span.trace_id = self.id_(16, 0.9)
        span.span_id = self.id_(8, 0.9)
        if self.chance(0.4):
            span.trace_state = self.pick(["rojo=00f067aa0ba902b7", self.string()])
        span.parent_span_id = self.id_(8, 0.5)
        span.flags = self.pick([0, 1, 0x100, 0x301, U32_MAX, self.r.getrandbits(32)])
        span.name = self.string()
        span.kind = self.r.randrange(6)
        span.start_time_unix_nano = self.time()
        span.end_time_unix_nano = self.pick([0, self.time(), span.start_time_unix_nano])
        self.attributes(span.attributes)
        span.dropped_attributes_count = self.u32()
        for _ in range(self.pick([0, 0, 1, 3, 12])):
            event = span.events.add()
            event.time_unix_nano = self.time()
            if self.chance(0.8):
                event.name = self.string()
            self.attributes(event.attributes)
            event.dropped_attributes_count = self.u32()
        span.dropped_events_count = self.u32()
        for _ in range(self.pick([0, 0, 1, 2, 7])):
            link = span.links.add()
            link.trace_id = self.id_(16, 0.8)
            link.span_id = self.id_(8, 0.8)
            if self.chance(0.5):
                link.trace_state = self.string()
            self.attributes(link.attributes)
            link.dropped_attributes_count = self.u32()
            link.flags = self.pick([0, 1, 0x300, U32_MAX])
        span.dropped_links_count = self.u32()
        status = self.r.randrange(4)
        if status == 1:
            span.status.message = self.string()  # UNSET with a message
        elif status >= 2:
            span.status.code = status - 1
            if self.chance(0.6):
                span.status.message = self.string()

    # ---- metrics ----------------------------------------------------------------
    def exemplars(self, dp):
        for _ in range(self.pick([0, 0, 1, 3])):
            ex = dp.exemplars.add()
            self.attributes(ex.filtered_attributes)
            ex.time_unix_nano = self.time()
            kind = self.r.randrange(3)
            if kind == 0:
                ex.as_int = self.int64()
            elif kind == 1:
                ex.as_double = self.double()
            ex.span_id = self.id_(8, 0.6)
            ex.trace_id = self.id_(16, 0.6)

    def dp_common(self, dp):
        self.attributes(dp.attributes)
        if self.chance(0.8):
            dp.start_time_unix_nano = self.time()
        dp.time_unix_nano = self.time()
        dp.flags = self.pick([0, 0, 1, U32_MAX, self.r.getrandbits(32)])

    def buckets(self, b):
        b.offset = self.pick([0, -1, 1, -(2**31), 2**31 - 1, self.r.randrange(-500, 500)])
        for _ in range(self.pick([0, 1, 4, 30])):
            b.bucket_counts.append(self.pick([0, 1, U64_MAX, self.r.getrandbits(64)]))

    def metrics(self, sx):
        metric = sx.metrics.add()
        metric.name = self.string()
        if self.chance(0.6):
            metric.description = self.string()
        if self.chance(0.6):
            metric.unit = self.pick(["ms", "By", "{request}", "1", self.string()])
        self.attributes(metric.metadata)
        kind = self.pick(["gauge", "sum", "histogram", "exponential_histogram", "summary",
                          "gauge", "sum", "histogram", "exponential_histogram", "summary",
                          "none"])
        if kind == "none":
            return  # a Metric without data
        data = getattr(metric, kind)
        data.SetInParent()
        if kind in ("sum", "histogram", "exponential_histogram"):
            data.aggregation_temporality = self.r.randrange(3)
        if kind == "sum":
            data.is_monotonic = self.chance(0.5)
        for _ in range(self.pick([0, 1, 1, 2, 4])):
            dp = data.data_points.add()
            self.dp_common(dp)
            if kind in ("gauge", "sum"):
                value = self.r.randrange(3)
                if value == 0:
                    dp.as_int = self.int64()
                elif value == 1:
                    dp.as_double = self.double()
                # else: a point without a value
                self.exemplars(dp)
            elif kind == "histogram":
                dp.count = self.pick([0, 1, U64_MAX, self.r.getrandbits(64)])
                for name in ("sum", "min", "max"):
                    if self.chance(0.6):
                        setattr(dp, name, self.double())
                n = self.pick([0, 1, 3, 10])
                bound = -1e3 * self.r.random()
                for _ in range(n):
                    dp.explicit_bounds.append(bound)
                    bound += self.r.random() * 100 + 1e-9
                counts = n + 1 if n or self.chance(0.5) else 0
                for _ in range(counts):
                    dp.bucket_counts.append(self.pick([0, 3, U64_MAX]))
                self.exemplars(dp)
            elif kind == "exponential_histogram":
                dp.count = self.pick([0, 5, U64_MAX])
                for name in ("sum", "min", "max"):
                    if self.chance(0.6):
                        setattr(dp, name, self.double())
                dp.scale = self.pick([0, -10, 20, -1, 8])
                dp.zero_count = self.pick([0, 1, U64_MAX])
                dp.zero_threshold = self.pick([0.0, 1e-9, 5e-324, 0.5, -0.0])
                if self.chance(0.8):
                    self.buckets(dp.positive)
                if self.chance(0.8):
                    self.buckets(dp.negative)
                self.exemplars(dp)
            else:
                dp.count = self.pick([0, 1, U64_MAX])
                dp.sum = self.double()
                for _ in range(self.pick([0, 1, 3, 6])):
                    q = dp.quantile_values.add()
                    q.quantile = self.pick([0.0, 0.5, 0.99, 1.0, self.r.random()])
                    q.value = self.double()


def requests(signal, seed, count):
    gen = Gen(seed * 31 + {"logs": 1, "traces": 2, "metrics": 3}[signal])
    return [gen.request(signal) for _ in range(count)]


def bulk_logs(seed, records=66_000):
    """One request of more than 65,535 small log records: a batch of the receivers
    must split it (UInt16 root ids)."""
    r = random.Random(seed)
    req = REQUEST_TYPES["logs"]()
    rl = req.resource_logs.add()
    rl.resource.attributes.add(key="service.name").value.string_value = "bulk"
    scopes = [rl.scope_logs.add() for _ in range(3)]
    for i, sl in enumerate(scopes):
        sl.scope.name = f"scope-{i}"
    for i in range(records):
        log = scopes[i % 3].log_records.add()
        log.time_unix_nano = 1_700_000_000_000_000_000 + i
        log.severity_number = i % 25
        log.body.int_value = i
        if i % 7 == 0:
            log.attributes.add(key="i").value.int_value = r.getrandbits(63)
    return req


# ---- canonical form -------------------------------------------------------------------
UNORDERED = {"attributes", "filtered_attributes", "metadata"}


def _scalar(field, value):
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return "NaN" if math.isnan(value) else struct.pack("<d", value).hex()
    return value


def canon(message, valueless_exemplars_first=False):
    """A hashable canonical form of a protobuf message (see the module docstring).
    `valueless_exemplars_first`: exemplars without a value moved before the others
    (stable), as exporter:otap sends them (docs/otap.md)."""
    if isinstance(message, common_pb2.KeyValue):
        return (message.key, canon(message.value))
    out = []
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if field.is_repeated:
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                elems = [canon(v, valueless_exemplars_first) for v in value]
                if field.name in UNORDERED:
                    elems.sort(key=repr)
                elif field.name == "exemplars" and valueless_exemplars_first:
                    pairs = list(zip(value, elems))
                    elems = ([e for v, e in pairs if v.WhichOneof("value") is None]
                             + [e for v, e in pairs if v.WhichOneof("value") is not None])
            else:
                elems = [_scalar(field, v) for v in value]
            out.append(tuple(elems))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            in_oneof = field.containing_oneof is not None
            out.append(canon(value) if not in_oneof or message.HasField(field.name)
                       else None)
        elif field.has_presence and not message.HasField(field.name):
            out.append(None)
        else:
            out.append(_scalar(field, value))
    return tuple(out)


def _without(message, *fields):
    copy = type(message)()
    copy.CopyFrom(message)
    for f in fields:
        copy.ClearField(f)
    return copy


LEVELS = {"logs": ("resource_logs", "scope_logs", "log_records"),
          "traces": ("resource_spans", "scope_spans", "spans"),
          "metrics": ("resource_metrics", "scope_metrics", "metrics")}


def items(signal, reqs, valueless_exemplars_first=False):
    """Counter of (resource, resource schema_url, scope, scope schema_url, item);
    `valueless_exemplars_first` as for `canon`."""
    top, mid, leaf = LEVELS[signal]
    out = collections.Counter()
    for req in reqs:
        for rx in getattr(req, top):
            resource = (canon(_without(rx.resource, "entity_refs")), rx.schema_url)
            for sx in getattr(rx, mid):
                scope = (canon(sx.scope), sx.schema_url)
                for record in getattr(sx, leaf):
                    if signal != "metrics":
                        out[(resource, scope, canon(record))] += 1
                        continue
                    kind = record.WhichOneof("data")
                    if kind is None or not getattr(record, kind).data_points:
                        out[(resource, scope, canon(record), None)] += 1
                        continue
                    header = _without(record)
                    getattr(header, kind).ClearField("data_points")
                    header_canon = canon(header)
                    for dp in getattr(record, kind).data_points:
                        out[(resource, scope, header_canon,
                             canon(dp, valueless_exemplars_first))] += 1
    return out
