# SPDX-License-Identifier: Apache-2.0
"""What Go's OTAP producer (otel-arrow/go v0.46.0, the encoder of the Collector's
otelarrowexporter) loses, applied to OTLP JSON lines, so that a replay of what it
sent can be compared exactly with its source. Each rule is a documented Go quirk
(docs/otap.md, "Traps", with the upstream source line); anything else that differs
is ours to fix."""
import json
import math

# Attribute lists that Go encodes as attribute tables (top level).
ATTRIBUTE_LISTS = ("attributes", "filteredAttributes")
# Histogram fields Go writes with AppendNonZero: 0 and -0.0 become null, read back
# as absent (metrics/arrow/histogram_dp.go:242,280,285, ehistogram_dp.go:283,291,296).
OPTIONAL_NON_ZERO = ("sum", "min", "max")


def _unsigned_zero(x):
    """AppendNonZero writes 0 and -0.0 as null, read back as +0.0 where the field
    is not optional: summary `sum`, quantile and value of a quantile, histogram
    explicit bounds (metrics/arrow/summary_dp.go:213, quantile_value.go:78-79,
    histogram_dp.go:262; common/schema/builder/float.go:41)."""
    return 0.0 if isinstance(x, float) and x == 0 and math.copysign(1, x) < 0 else x


def _drop_empty_nested_bytes(value):
    """CBOR (common/cbor.go:106-109): an empty bytes value inside a map or array is
    encoded as nil and read back as an empty value."""
    if "kvlistValue" in value:
        for kv in value["kvlistValue"].get("values", []):
            inner = kv.get("value")
            if inner is not None:
                kv["value"] = _nested(inner)
    elif "arrayValue" in value:
        value["arrayValue"]["values"] = [_nested(v)
                                         for v in value["arrayValue"].get("values", [])]
    return value


def _nested(value):
    if value.get("bytesValue") == "":
        return {}
    return _drop_empty_nested_bytes(value)


def _attributes(attrs):
    """Go drops an attribute with an empty key or an empty value
    (common/arrow/attributes.go:147,216,270)."""
    kept = []
    for kv in attrs:
        value = kv.get("value") or {}
        if not kv.get("key") or not value:
            continue
        _drop_empty_nested_bytes(value)
        kept.append(kv)
    return kept


def _walk(node, parent_key=None):
    if isinstance(node, dict):
        for key in list(node):
            if key in ATTRIBUTE_LISTS and isinstance(node[key], list):
                node[key] = _attributes(node[key])
            elif key == "body" and isinstance(node[key], dict):
                _drop_empty_nested_bytes(node[key])
            elif key == "metadata" and parent_key == "metrics":
                # Not sent: no METRIC_ATTRS (metrics/arrow/metrics.go:231-234).
                del node[key]
            else:
                if key in ("histogram", "exponentialHistogram"):
                    for point in node[key].get("dataPoints", []):
                        for field in OPTIONAL_NON_ZERO:
                            if point.get(field) == 0:  # 0 and -0.0
                                del point[field]
                        if "explicitBounds" in point:
                            point["explicitBounds"] = [_unsigned_zero(b) for b in
                                                       point["explicitBounds"]]
                elif key == "summary":
                    for point in node[key].get("dataPoints", []):
                        if "sum" in point:
                            point["sum"] = _unsigned_zero(point["sum"])
                        for q in point.get("quantileValues", []):
                            for field in ("quantile", "value"):
                                if field in q:
                                    q[field] = _unsigned_zero(q[field])
                _walk(node[key], key)
    elif isinstance(node, list):
        for item in node:
            _walk(item, parent_key)


def _omit_zero(point, fields):
    for field in fields:
        if point.get(field) == 0:  # 0 and -0.0
            del point[field]


def _go_json(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "summary" and isinstance(value, dict):
                for point in value.get("dataPoints", []):
                    _omit_zero(point, ("sum",))
                    for q in point.get("quantileValues", []):
                        _omit_zero(q, ("quantile", "value"))
            elif key == "exponentialHistogram" and isinstance(value, dict):
                for point in value.get("dataPoints", []):
                    _omit_zero(point, ("zeroThreshold",))
            _go_json(value)
    elif isinstance(node, list):
        for item in node:
            _go_json(item)


def apply_go_json(line):
    """Not a wire loss: Go's pdata JSON marshaler leaves a plain (not optional, not
    oneof) double field out when it equals 0, so it writes a -0.0 that the wire kept
    as absent: summary `sum`, quantile `quantile` and `value`, exponential histogram
    `zero_threshold`. For OTLP JSON written by Go (tests/peers/otap_sender
    -go-decoded, the Collector's fileexporter)."""
    request = json.loads(line)
    _go_json(request)
    return json.dumps(request, ensure_ascii=False)


def apply(line):
    """One OTLP JSON request, normalised as Go's producer would deliver it."""
    request = json.loads(line)
    _walk(request)
    return json.dumps(request, ensure_ascii=False)


def apply_file(src, dst, rule=apply):
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            if line.strip():
                out.write(rule(line) + "\n")
