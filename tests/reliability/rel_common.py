# SPDX-License-Identifier: Apache-2.0
"""Shared parts of the reliability suite (tests/reliability/): the budget knobs,
uniquely tagged OTLP log records, reading a dataset back through `convert`, exact
record comparison and the per-scenario summary line.

Budget: the CI run uses the defaults below; `scripts/reliability.sh` raises them
through the environment (OTAP_RELIABILITY_TRIALS, OTAP_RELIABILITY_SEED)."""
import base64
import collections
import json
import os
import random
import re
import subprocess

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (AnyValue, ArrayValue,
                                                      InstrumentationScope, KeyValue,
                                                      KeyValueList)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

T0 = 1_795_000_000_000_000_000  # 2026-11-18, Unix ns
# Kill/restart trials per kill -9 scenario (CI: 10).
TRIALS = int(os.environ.get("OTAP_RELIABILITY_TRIALS", "10"))
SEED = int(os.environ.get("OTAP_RELIABILITY_SEED", str(random.SystemRandom().randrange(1 << 30))))
# Summary lines of this session, printed at the end (conftest.py).
SUMMARIES = []


def rng(name):
    """A random source per scenario, reproducible with OTAP_RELIABILITY_SEED."""
    return random.Random(f"{SEED}-{name}")


def summary(scenario, **counts):
    """Records `reliability: <scenario> k=v ...` for the end of the run (and the
    file OTAP_RELIABILITY_SUMMARY, if set); returns the line."""
    line = f"reliability: {scenario} " + " ".join(f"{k}={v}" for k, v in counts.items())
    line += f" seed={SEED}"
    SUMMARIES.append(line)
    print(line)
    path = os.environ.get("OTAP_RELIABILITY_SUMMARY")
    if path:
        with open(path, "a") as out:
            out.write(line + "\n")
    return line


def kv(key, **value):
    return KeyValue(key=key, value=AnyValue(**value))


def logs_request(tag, n, t0=T0):
    """An ExportLogsServiceRequest of `n` records whose bodies are `<tag>-<i>`; every
    record carries its body again as attribute `rec` (a mis-join shows as rec !=
    body), attributes of every AnyValue type, ids, and the resource `svc-<tag>`
    (two resources, so resource attributes must join to the right records), event
    times from `t0` on."""
    resources = []
    for r in range(2):
        records = []
        for i in range(r, n, 2):
            body = f"{tag}-{i}"
            seq = int.from_bytes(body.encode()[-4:].rjust(4, b"\0"), "big")
            records.append(LogRecord(
                time_unix_nano=t0 + i, observed_time_unix_nano=t0 + 1000 + i,
                severity_number=9 + (i % 4), severity_text="INFO",
                body=AnyValue(string_value=body),
                attributes=[
                    kv("rec", string_value=body), kv("i", int_value=i - 5),
                    kv("f", double_value=i / 3), kv("ok", bool_value=bool(i % 2)),
                    kv("raw", bytes_value=body.encode()),
                    KeyValue(key="arr", value=AnyValue(array_value=ArrayValue(values=[
                        AnyValue(int_value=i), AnyValue(string_value=tag)]))),
                    KeyValue(key="kv", value=AnyValue(kvlist_value=KeyValueList(values=[
                        kv("a", string_value=body), kv("b", int_value=seq)]))),
                ],
                dropped_attributes_count=i % 3, flags=1,
                trace_id=(body.encode() * 16)[:16], span_id=(body.encode() * 8)[:8]))
        resources.append(ResourceLogs(
            resource=Resource(attributes=[kv("service.name", string_value=f"svc-{tag}-{r}"),
                                          kv("req", string_value=tag)]),
            scope_logs=[ScopeLogs(scope=InstrumentationScope(name="reliability",
                                                             version=tag),
                                  log_records=records)]))
    return ExportLogsServiceRequest(resource_logs=resources)


def _sorted_attrs(message):
    attrs = sorted(message.attributes, key=lambda a: a.key)
    del message.attributes[:]
    message.attributes.extend(attrs)
    return message


def _canonical(request):
    """(body, canonical bytes of (resource, scope, record)) of every log record of a
    protobuf request, in order."""
    for rl in request.resource_logs:
        resource = _sorted_attrs(Resource.FromString(rl.resource.SerializeToString()))
        for sl in rl.scope_logs:
            for rec in sl.log_records:
                rec = _sorted_attrs(LogRecord.FromString(rec.SerializeToString()))
                yield rec.body.string_value, b"|".join(
                    m.SerializeToString(deterministic=True) for m in (resource, sl.scope, rec))


def canonical_records(request):
    """{body: canonical bytes of (resource, scope, record)} of a protobuf request."""
    return dict(_canonical(request))


def _hex_ids_to_base64(record):
    for key in ("traceId", "spanId"):
        if record.get(key):
            record[key] = base64.b64encode(bytes.fromhex(record[key])).decode()
    return record


def replayed_records(jsonl_text):
    """Counter of bodies and {body: canonical bytes} of OTLP/JSON log lines (what
    `convert DATASET out.jsonl` writes)."""
    counts, records = collections.Counter(), {}
    for line in jsonl_text.splitlines():
        if not line.strip():
            continue
        for rl in json.loads(line).get("resourceLogs", []):
            resource = _sorted_attrs(json_format.ParseDict(rl.get("resource", {}), Resource()))
            for sl in rl.get("scopeLogs", []):
                scope = json_format.ParseDict(sl.get("scope", {}), InstrumentationScope())
                for rec in sl.get("logRecords", []):
                    message = _sorted_attrs(json_format.ParseDict(_hex_ids_to_base64(rec),
                                                                  LogRecord()))
                    body = message.body.string_value
                    counts[body] += 1
                    records[body] = (resource.SerializeToString(deterministic=True) + b"|"
                                     + scope.SerializeToString(deterministic=True) + b"|"
                                     + message.SerializeToString(deterministic=True))
    return counts, records


def replayed_pb_records(path):
    """replayed_records of a length-delimited protobuf file (what `convert DATASET
    out.logs.pb` writes): the same canonical bytes, without the slow pure-Python
    JSON parse (about 12 times faster for the kill trials' growing datasets)."""
    from test_engine_e2e import read_delimited

    counts, records = collections.Counter(), {}
    for data in read_delimited(path) if path.exists() else ():
        for body, canonical in _canonical(ExportLogsServiceRequest.FromString(data)):
            counts[body] += 1
            records[body] = canonical
    return counts, records


STATS = re.compile(r"files (\d+) read, (\d+) corrupt skipped.*?orphan rows (\d+)", re.S)


def convert_dataset(cli, dataset, out, timeout=120):
    """`convert DATASET out` (out: a .logs.pb file); returns (proc, counts, records,
    stats) with stats = {files, corrupt, orphans} parsed from its summary."""
    if out.exists():
        out.unlink()
    proc = subprocess.run([str(cli), "convert", str(dataset), str(out)], capture_output=True,
                          text=True, timeout=timeout)
    counts, records = replayed_pb_records(out)
    m = STATS.search(proc.stdout + proc.stderr)
    stats = ({"files": int(m.group(1)), "corrupt": int(m.group(2)), "orphans": int(m.group(3))}
             if m else None)
    return proc, counts, records, stats


def compare(expected, counts, records, may_appear=None):
    """Compares acknowledged records `expected` {body: canonical} with a replay.
    Returns (lost, duplicates, misjoined, phantom): lost = acknowledged bodies
    missing; misjoined = present but not exactly as sent (attributes, resource,
    scope or fields differ), also among `may_appear` {body: canonical} (sent without
    a known outcome: may be present or not); duplicates = extra copies of any body;
    phantom = bodies never sent."""
    may_appear = may_appear or {}
    lost = sum(1 for body in expected if body not in counts)
    misjoined = sum(1 for want in (expected, may_appear) for body, canon in want.items()
                    if body in records and records[body] != canon)
    duplicates = sum(c - 1 for c in counts.values() if c > 1)
    phantom = sum(1 for body in counts if body not in expected and body not in may_appear)
    return lost, duplicates, misjoined, phantom
