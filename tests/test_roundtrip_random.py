# SPDX-License-Identifier: Apache-2.0
"""Seeded adversarial OTLP (tests/otlp_adversarial.py, independent of the C++
generator and of the C++ equivalence checker) round-tripped through every path, each
compared with the source by the Python canonical form:

(a) `convert`: OTLP protobuf → Parquet dataset (layouts vary by seed) → OTLP, and
    OTLP protobuf → OTLP/JSON lines → OTLP protobuf;
(b) the engine: grpcio client → receiver:otlp → processor:batch → exporter:parquet;
    that dataset by `convert`, its metrics replayed by receiver:parquet →
    exporter:otlp_grpc → a grpcio sink (tests/otlp_peer.py), and all of it by
    receiver:parquet → exporter:otap → receiver:otap → exporter:otlp_grpc → a
    grpcio sink.

A failure names the seed, the path and the items only on one side."""
import os
import signal

import grpc
import otlp_adversarial as adv
import pytest
from google.protobuf.internal.encoder import _VarintBytes
from otlp_peer import OtlpPeer
from s3_server import free_port
from test_engine_e2e import SERVICES, parquet_exporter, read_delimited, write_config

SIGNALS = ("logs", "traces", "metrics")
# OTAP_ROUNDTRIP_SEEDS=1,2,...,40 hunts with more seeds (a few seconds each).
SEEDS = tuple(int(s) for s in os.environ.get("OTAP_ROUNDTRIP_SEEDS", "1,2,3").split(","))
REQUESTS = 3  # per seed and signal
LAYOUTS = [  # dataset layouts of `convert`, one per seed in turn
    [],
    ["--max-batch-rows", "5", "--rows-per-file", "7"],
    ["--partition-by", "hour", "--partition-by", "part_id"],
]


def write_pb(path, reqs):
    with open(path, "wb") as f:
        for req in reqs:
            data = req.SerializeToString()
            f.write(_VarintBytes(len(data)) + data)
    return path


def read_pb(path, signal_name):
    out = []
    for data in read_delimited(path):
        req = adv.REQUEST_TYPES[signal_name]()
        req.ParseFromString(data)
        out.append(req)
    return out


def short(item, limit=1500):
    text = repr(item)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def first_difference(a, b, path=()):
    """The index path and values of the first place where two canonical items differ."""
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, path + (i,))
    return path, a, b


def assert_same_items(signal_name, expected, actual, what,
                      valueless_exemplars_first=False):
    want = adv.items(signal_name, expected, valueless_exemplars_first)
    got = adv.items(signal_name, actual, valueless_exemplars_first)
    if want == got:
        return
    missing, extra = want - got, got - want
    lines = [f"{what}: {signal_name}: {sum(want.values())} items sent, "
             f"{sum(got.values())} back; {sum(missing.values())} only in the source, "
             f"{sum(extra.values())} only in the round trip"]
    unpaired = list(extra)
    for item in list(missing)[:3]:
        # The round-trip item that differs least (longest equal prefix of fields).
        twin = max(unpaired, default=None,
                   key=lambda other: len(first_difference(item, other)[0]))
        lines.append(f"--- only in source:\n{short(item)}")
        if twin is not None:
            path, want_part, got_part = first_difference(item, twin)
            lines.append(f"    closest round-trip item differs at {path}: "
                         f"{short(want_part, 400)} != {short(got_part, 400)}")
    for item in unpaired[:3]:
        lines.append(f"--- only in round trip:\n{short(item)}")
    raise AssertionError("\n".join(lines))


START = 946_684_800 * 10**9  # 2000-01-01T00:00:00Z


def from_start(signal_name, reqs, start):
    """Copies of `reqs` keeping what `convert --start` keeps (docs/cli.md): records
    whose event time, an unsigned 64-bit value, is at or after `start`."""
    out = []
    for req in reqs:
        req = type(req).FromString(req.SerializeToString())
        for rx in getattr(req, adv.LEVELS[signal_name][0]):
            for sx in getattr(rx, adv.LEVELS[signal_name][1]):
                records = getattr(sx, adv.LEVELS[signal_name][2])
                if signal_name == "logs":
                    keep = [r for r in records
                            if (r.time_unix_nano or r.observed_time_unix_nano) >= start]
                elif signal_name == "traces":
                    keep = [r for r in records if r.start_time_unix_nano >= start]
                else:
                    keep = []
                    for metric in records:
                        kind = metric.WhichOneof("data")
                        if kind is None:
                            continue
                        points = getattr(metric, kind).data_points
                        inside = [p for p in points if p.time_unix_nano >= start]
                        if inside:
                            del points[:]
                            points.extend(inside)
                            keep.append(metric)
                kept = [type(r).FromString(r.SerializeToString()) for r in keep]
                del records[:]
                records.extend(kept)
        out.append(req)
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_convert_paths_keep_every_item(tmp_path, run, seed):
    # Scenario: REQUESTS adversarial requests per signal through `convert` into a
    # dataset (layout of the seed) and back (whole, and from 2000-01-01 on), and
    # through OTLP/JSON lines and back.
    # Guarantees: the round trips hold exactly the source's items (from 2000-01-01:
    # those whose event time, unsigned, is not earlier).
    for signal_name in SIGNALS:
        reqs = adv.requests(signal_name, seed, REQUESTS)
        src = write_pb(tmp_path / f"in.{signal_name}.pb", reqs)
        lake = tmp_path / f"lake-{signal_name}"
        run("convert", src, lake, *LAYOUTS[seed % len(LAYOUTS)])
        back = tmp_path / f"back.{signal_name}.pb"
        run("convert", "--signal", signal_name, lake, back)
        assert_same_items(signal_name, reqs, read_pb(back, signal_name),
                          f"seed {seed}, OTLP -> dataset -> OTLP")
        # A time range with an open end (times past 2^63 ns included).
        later = tmp_path / f"later.{signal_name}.pb"
        run("convert", "--signal", signal_name, "--start", "2000-01-01T00:00:00Z", lake,
            later)
        assert_same_items(signal_name, from_start(signal_name, reqs, START),
                          read_pb(later, signal_name),
                          f"seed {seed}, OTLP -> dataset -> OTLP from 2000-01-01")
        mid = tmp_path / f"mid-{signal_name}.jsonl"
        run("convert", src, mid)
        again = tmp_path / f"again.{signal_name}.pb"
        run("convert", "--signal", signal_name, mid, again)
        assert_same_items(signal_name, reqs, read_pb(again, signal_name),
                          f"seed {seed}, OTLP -> OTLP/JSON -> OTLP")


def test_bulk_request_splits_and_keeps_every_record(tmp_path, run):
    # Scenario: one request of 66,000 log records (more than a batch's 65,535 UInt16
    # root ids) into a dataset and back.
    # Guarantees: every record comes back once, with its attributes.
    reqs = [adv.bulk_logs(5)]
    src = write_pb(tmp_path / "in.logs.pb", reqs)
    run("convert", src, tmp_path / "lake")
    back = tmp_path / "back.logs.pb"
    run("convert", "--signal", "logs", tmp_path / "lake", back)
    assert_same_items("logs", reqs, read_pb(back, "logs"),
                      "bulk, OTLP -> dataset -> OTLP")


def test_engine_paths_keep_every_item(engine, run, tmp_path):
    # Scenario: every seed's requests of every signal sent by grpcio to receiver:otlp
    # → processor:batch (40-45 items) → exporter:parquet (engine A, stopped after);
    # A's dataset converted by `convert`, its metrics replayed by receiver:parquet
    # (one root per batch) → exporter:otlp_grpc → a grpcio sink, and all by
    # receiver:parquet → exporter:otap → receiver:otap (engine B) →
    # exporter:otlp_grpc → a grpcio sink.
    # Guarantees: every call is answered OK; the dataset and the sink hold exactly
    # the source's items, per signal.
    sources = {s: [r for seed in SEEDS for r in adv.requests(s, seed, REQUESTS)]
               for s in SIGNALS}
    lake = tmp_path / "lake"
    port = free_port()
    config = write_config(
        tmp_path / "a.yaml",
        {"otlp": {"type": "receiver:otlp",
                  "config": {"protocols": {"grpc": {
                      "listening_addr": f"127.0.0.1:{port}", "wait_for_result": True,
                      "timeout": "60s"}}}},
         # Merges and splits requests (OTAP concatenation, id offsets).
         "batch": {"type": "processor:batch",
                   "config": {"otap": {"min_size": 40, "max_size": 45, "sizer": "items"},
                              "max_batch_duration": "100ms"}},
         "parquet": parquet_exporter(lake)},
        [{"from": "otlp", "to": "batch"}, {"from": "batch", "to": "parquet"}])
    engine_a = engine(config, "--num-cores", "1", "--shutdown-timeout", "30s", name="a")
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        # All calls at once: each is answered once its rows are in published files.
        calls = [channel.unary_unary(SERVICES[signal_name][0]).future(
                     req.SerializeToString(), timeout=60)
                 for signal_name, reqs in sources.items() for req in reqs]
        for call in calls:
            call.result()
    engine_a.stop(signal.SIGINT, timeout=120)

    for signal_name, reqs in sources.items():
        back = tmp_path / f"back.{signal_name}.pb"
        run("convert", "--signal", signal_name, lake, back)
        assert_same_items(signal_name, reqs, read_pb(back, signal_name),
                          "receiver:otlp -> exporter:parquet -> convert")

    with OtlpPeer("grpc") as sink:
        # Metrics one root row per batch: batches of a metric without data points
        # (no items). Logs and traces take this exporter in the OTAP path below.
        config = write_config(
            tmp_path / "direct.yaml",
            {"parquet": {"type": "receiver:parquet",
                         "config": {"base_uri": str(lake), "signal_types": ["metrics"],
                                    "processing_options": {"batch_size": 1}}},
             "otlp": {"type": "exporter:otlp_grpc",
                      "config": {"grpc_endpoint": sink.endpoint}}},
            [{"from": "parquet", "to": "otlp"}])
        proc = run("run", "-c", config, "--num-cores", "1")
        assert "Pipeline run successfully" in proc.stdout, proc.stderr[-4000:]
        assert_same_items("metrics", sources["metrics"], [r for _, r, _ in sink.accepted],
                          "receiver:parquet -> exporter:otlp_grpc")

    with OtlpPeer("grpc") as sink:
        otap_port = free_port()
        config = write_config(
            tmp_path / "b.yaml",
            {"otap": {"type": "receiver:otap",
                      "config": {"listening_addr": f"127.0.0.1:{otap_port}"}},
             "otlp": {"type": "exporter:otlp_grpc",
                      "config": {"grpc_endpoint": sink.endpoint}}},
            [{"from": "otap", "to": "otlp"}])
        engine_b = engine(config, "--num-cores", "1", "--shutdown-timeout", "30s",
                          name="b")
        config = write_config(
            tmp_path / "c.yaml",
            {"parquet": {"type": "receiver:parquet",
                         "config": {"base_uri": str(lake), "signal_types": list(SIGNALS),
                                    "processing_options": {"batch_size": 7}}},
             "otap": {"type": "exporter:otap",
                      "config": {"grpc_endpoint": f"http://127.0.0.1:{otap_port}"}}},
            [{"from": "parquet", "to": "otap"}])
        proc = run("run", "-c", config, "--num-cores", "1")
        assert "Pipeline run successfully" in proc.stdout, proc.stderr[-4000:]
        engine_b.stop(signal.SIGINT, timeout=120)
        for signal_name, reqs in sources.items():
            got = [r for s, r, _ in sink.accepted if s == signal_name]
            # exporter:otap sends a data point's exemplars without a value first
            # (docs/otap.md): the only difference allowed.
            assert_same_items(signal_name, reqs, got,
                              "receiver:parquet -> exporter:otap -> receiver:otap -> "
                              "exporter:otlp_grpc", valueless_exemplars_first=True)
