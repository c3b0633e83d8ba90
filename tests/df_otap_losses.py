# SPDX-License-Identifier: Apache-2.0
"""What upstream's Rust engine (otel-arrow `rust/otap-dataflow`, `df_engine`) loses
when it converts OTLP to OTAP (it sends) or OTAP to OTLP (it receives), applied to
OTLP JSON lines, so that telemetry that went through it can be compared exactly with
its source. Each rule is a documented df_engine quirk (docs/otap.md, "Compatibility
notes", with the upstream source line, pdata crate `crates/pdata/src`); anything
else that differs is ours to fix.

    python tests/df_otap_losses.py sender|receiver|both SRC.jsonl OUT.jsonl

`sender`: df_engine encoded the OTAP (its receiver:otlp → exporter:otap);
`receiver`: df_engine decoded it (its receiver:otap → exporter:otlp_grpc); `both`:
df_engine on both sides."""
import json
import sys

ZERO_TRACE_ID = "0" * 32
ZERO_SPAN_ID = "0" * 16


def _spans(request):
    for rs in request.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            yield from ss.get("spans", [])


def _exemplars(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "exemplars" and isinstance(value, list):
                yield from value
            else:
                yield from _exemplars(value)
    elif isinstance(node, list):
        for item in node:
            yield from _exemplars(item)


_ATTRIBUTE_LISTS = ("attributes", "filteredAttributes", "metadata")
_LAZY_POINT_DOUBLES = ("sum", "min", "max", "zeroThreshold")
_LAZY_POINT_TABLES = ("histogram", "exponentialHistogram", "summary")


def _is_lazy_double(path, key):
    """A double that df_engine's encoder appends to a column it builds lazily
    (`optional: true` with the default `default_values_optional`): attribute and
    body values, exemplar values, histogram / summary sum, min, max, zero threshold.
    Not a number data point's value (`encode/record/metrics.rs:313-317`, built
    eagerly), nor values inside arrays and maps (CBOR)."""
    if key == "doubleValue":
        return path[-1:] == ("body",) or (
            path[-1:] == ("value",) and path[-2:-1] in [(a,) for a in _ATTRIBUTE_LISTS])
    if key == "asDouble":
        return path[-1:] == ("exemplars",)
    return (key in _LAZY_POINT_DOUBLES and path[-1:] == ("dataPoints",)
            and path[-2:-1] in [(t,) for t in _LAZY_POINT_TABLES])


def _lazy_doubles(node, path, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                # Gauge and sum points share one table (NUMBER_DATA_POINTS) and so
                # one builder per column.
                _lazy_doubles(value, path + ("sum" if key == "gauge" else key,), found)
            elif _is_lazy_double(path, key):
                found.append((path + (key,), node, key))
    elif isinstance(node, list):
        for item in node:
            _lazy_doubles(item, path, found)


def apply_sender(request, initialized=None):
    """OTLP → OTAP in df_engine. `initialized`: the lazily built double columns that
    already hold a value other than ±0.0 in the OTAP batch this request goes into
    (a set shared by the requests of one batch; None: the request is a batch)."""
    # `encode/mod.rs:137-141`: a span's duration is end - start only when both times
    # are present, else 0; the end time is read back as start + duration, so a span
    # without an end time gets its start time as end time, and one without a start
    # time loses its end time.
    for span in _spans(request):
        start = span.get("startTimeUnixNano")
        if start is None:
            span.pop("endTimeUnixNano", None)
        elif span.get("endTimeUnixNano") is None:
            span["endTimeUnixNano"] = start
    # A lazily built column (`encode/record/array.rs:190-197`) only counts the
    # leading values equal to its default 0.0 (`array.rs:266-276`, `:367-369`) and
    # writes the default that many times when the first other value arrives
    # (`array/prefix.rs:93-105`), or is not built at all (`array.rs:683-689`; an
    # absent column reads as 0.0). Rust's `-0.0 == 0.0`, so a -0.0 before the first
    # other value of its column in the batch (appended in document order; nulls of
    # other value types aside) arrives as +0.0.
    found = []
    _lazy_doubles(request, (), found)
    if initialized is None:
        initialized = set()
    for column, node, key in found:
        if column in initialized:
            continue
        value = node[key]
        if isinstance(value, float) and value == 0.0:
            node[key] = 0.0
        elif not (isinstance(value, int) and value == 0):
            initialized.add(column)


def apply_receiver(request):
    """OTAP → OTLP in df_engine."""
    for span in _spans(request):
        for link in span.get("links", []):
            # Written under the Span's field number 10 instead of Link's 5
            # (`otlp/traces/span_link.rs:99-104`): an unknown field to the reader.
            link.pop("droppedAttributesCount", None)
            # df_engine refuses a null in these required columns
            # (`schema/schema.rs:280-287`), so absent ids travel as zero bytes, which
            # it writes into OTLP (`otlp/traces/span_link.rs:70-80`).
            link.setdefault("traceId", ZERO_TRACE_ID)
            link.setdefault("spanId", ZERO_SPAN_ID)
    for exemplar in _exemplars(request):
        # Absent exemplar ids travel as zero bytes (Go needs them; Rust's encoder
        # writes them too, `encode/mod.rs:620-621`) and df_engine writes whatever
        # bytes it got into OTLP (`otlp/metrics/exemplar.rs:108-119`).
        exemplar.setdefault("traceId", ZERO_TRACE_ID)
        exemplar.setdefault("spanId", ZERO_SPAN_ID)


def apply(line, sender=True, receiver=True, initialized=None):
    """One OTLP JSON request, normalised as it comes out of df_engine."""
    request = json.loads(line)
    if sender:
        apply_sender(request, initialized)
    if receiver:
        apply_receiver(request)
    return json.dumps(request, ensure_ascii=False)


def apply_file(src, dst, sender=True, receiver=True):
    """The requests of `src` as one OTAP batch of df_engine's: the tests replay a
    source of a few thousand rows to it as one OTLP request (one reader batch), in
    file order."""
    initialized = set()
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            if line.strip():
                out.write(apply(line, sender, receiver, initialized) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("sender", "receiver", "both"):
        sys.exit(__doc__)
    mode = sys.argv[1]
    apply_file(sys.argv[2], sys.argv[3], sender=mode in ("sender", "both"),
               receiver=mode in ("receiver", "both"))
