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


def apply_sender(request):
    """OTLP → OTAP in df_engine (`encode/mod.rs:137-141`): a span's duration is
    end - start only when both times are present, else 0; the end time is read back
    as start + duration, so a span without an end time gets its start time as end
    time, and one without a start time loses its end time."""
    for span in _spans(request):
        start = span.get("startTimeUnixNano")
        if start is None:
            span.pop("endTimeUnixNano", None)
        elif span.get("endTimeUnixNano") is None:
            span["endTimeUnixNano"] = start


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


def apply(line, sender=True, receiver=True):
    """One OTLP JSON request, normalised as it comes out of df_engine."""
    request = json.loads(line)
    if sender:
        apply_sender(request)
    if receiver:
        apply_receiver(request)
    return json.dumps(request, ensure_ascii=False)


def apply_file(src, dst, sender=True, receiver=True):
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            if line.strip():
                out.write(apply(line, sender, receiver) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("sender", "receiver", "both"):
        sys.exit(__doc__)
    mode = sys.argv[1]
    apply_file(sys.argv[2], sys.argv[3], sender=mode in ("sender", "both"),
               receiver=mode in ("receiver", "both"))
