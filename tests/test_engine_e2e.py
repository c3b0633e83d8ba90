# SPDX-License-Identifier: Apache-2.0
"""Issue #5's end-to-end path across two engine processes:

    OTLP client (grpcio / urllib, not ours) → instance A: receiver:otlp → exporter:parquet
    → dataset A → instance C: receiver:parquet → exporter:otlp_grpc
    → instance B: receiver:otlp → exporter:parquet → dataset B

with every OTLP field covered (the generator's edge-case mode), and checked by
`otap-parquet compare` against the telemetry the client sent."""
import json
import pathlib
import signal
import urllib.request

import grpc
from google.protobuf.internal.decoder import _DecodeVarint32
from s3_server import free_port

SERVICES = {
    "logs": ("/opentelemetry.proto.collector.logs.v1.LogsService/Export", "/v1/logs"),
    "traces": ("/opentelemetry.proto.collector.trace.v1.TraceService/Export", "/v1/traces"),
    "metrics": ("/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
                "/v1/metrics"),
}


def write_config(path, nodes, connections):
    config = {"version": "otel_dataflow/v1",
              "groups": {"default": {"pipelines": {"main": {
                  "nodes": nodes, "connections": connections}}}}}
    path.write_text(json.dumps(config, indent=1))
    return path


def parquet_exporter(base):
    return {"type": "exporter:parquet",
            "config": {"storage": {"file": {"base_uri": str(base)}},
                       "partitioning_strategies": [{"schema_metadata": ["_part_id"]}],
                       "writer_options": {"target_rows_per_file": 500,
                                          "flush_when_older_than": "500ms"}}}


def start_otlp_to_parquet(start, tmp_path, name, base, grpc_port, http_port=None):
    protocols = {"grpc": {"listening_addr": f"127.0.0.1:{grpc_port}",
                          "wait_for_result": True, "timeout": "30s"}}
    if http_port:
        protocols["http"] = {"listening_addr": f"127.0.0.1:{http_port}",
                             "wait_for_result": True, "timeout": "30s"}
    config = write_config(tmp_path / f"{name}.yaml",
                          {"otlp": {"type": "receiver:otlp",
                                    "config": {"protocols": protocols}},
                           "parquet": parquet_exporter(base)},
                          [{"from": "otlp", "to": "parquet"}])
    # Ready = every receiver listening.
    return start(config, "--num-cores", "1", "--shutdown-timeout", "30s", name=name)


def read_delimited(path):
    """The messages of a length-delimited protobuf file (varint length prefixes)."""
    data = path.read_bytes()
    pos = 0
    while pos < len(data):
        size, pos = _DecodeVarint32(data, pos)
        yield data[pos:pos + size]
        pos += size


def send_files(files, grpc_port, http_port):
    """Sends every request of length-delimited OTLP protobuf files; traces and logs
    over gRPC, metrics over HTTP. Every call must succeed (wait_for_result: the
    answer comes once the rows are in published Parquet files)."""
    channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
    sent = 0
    for signal_name, path in files:
        method, http_path = SERVICES[signal_name]
        for payload in read_delimited(path):
            if signal_name == "metrics":
                req = urllib.request.Request(
                    f"http://127.0.0.1:{http_port}{http_path}", data=payload,
                    headers={"Content-Type": "application/x-protobuf"}, method="POST")
                with urllib.request.urlopen(req, timeout=60) as resp:
                    assert resp.status == 200
            else:
                call = channel.unary_unary(method, request_serializer=None,
                                           response_deserializer=None)
                call(payload, timeout=60)
            sent += 1
    channel.close()
    return sent


def test_otlp_to_parquet_to_otlp_to_parquet(engine, run, tmp_path):
    # Scenario: edge-case telemetry of all three signals (every OTLP field) plus
    # realistic logs, sent by grpcio/urllib clients to instance A (OTLP → Parquet);
    # A stops; instance C replays A's dataset with exporter:otlp_grpc into instance
    # B (OTLP → Parquet); B stops.
    # Guarantees: every client call and every replayed batch is acknowledged; all
    # three processes exit 0; dataset A and dataset B, converted back to OTLP, hold
    # exactly the telemetry the client sent.
    # The same deterministic telemetry twice: protobuf files to send, one
    # OTLP/JSON-lines file (all signals) to compare against.
    files, expected = [], []
    for signal_name, args in (("logs", ["--edge-cases", "--requests", "3"]),
                              ("traces", ["--edge-cases", "--requests", "3"]),
                              ("metrics", ["--edge-cases", "--requests", "3"]),
                              ("logs", ["--requests", "4", "--items", "50"])):
        stem = tmp_path / f"source-{len(files)}-{signal_name}"
        common = ["--signal", signal_name, "--seed", str(7 + len(files)), *args]
        run("generate", *common, f"{stem}.pb")
        run("generate", *common, f"{stem}.jsonl")
        files.append((signal_name, pathlib.Path(f"{stem}.pb")))
        expected.append(pathlib.Path(f"{stem}.jsonl").read_text())
    source = tmp_path / "source.jsonl"
    source.write_text("".join(expected))
    requests = len(source.read_text().splitlines())

    lake_a, lake_b = tmp_path / "lake-a", tmp_path / "lake-b"
    b_grpc = free_port()
    engine_b = start_otlp_to_parquet(engine, tmp_path, "b", lake_b, b_grpc)
    a_grpc, a_http = free_port(), free_port()
    engine_a = start_otlp_to_parquet(engine, tmp_path, "a", lake_a, a_grpc, a_http)
    assert send_files(files, a_grpc, a_http) == requests
    engine_a.stop(signal.SIGINT, timeout=120)

    replay = write_config(
        tmp_path / "c.yaml",
        {"parquet": {"type": "receiver:parquet",
                     "config": {"base_uri": str(lake_a),
                                "signal_types": ["logs", "traces", "metrics"],
                                "processing_options": {"batch_size": 100}}},
         "otlp": {"type": "exporter:otlp_grpc",
                  "config": {"grpc_endpoint": f"http://127.0.0.1:{b_grpc}",
                             "compression": "gzip"}}},
        [{"from": "parquet", "to": "otlp"}])
    metrics = tmp_path / "c.prom"
    proc = run("run", "-c", replay, "--num-cores", "1", "--metrics-file", metrics)
    assert "Pipeline run successfully" in proc.stdout
    text = metrics.read_text()
    nacks = [line for line in text.splitlines()
             if line.startswith("otap_node_nacked") and not line.endswith(" 0")]
    assert nacks == [], proc.stderr[-4000:]
    engine_b.stop(signal.SIGINT, timeout=120)

    for lake in (lake_a, lake_b):
        back = tmp_path / f"{lake.name}.jsonl"
        run("convert", lake, back)
        proc = run("compare", source, back)
        assert "hold the same telemetry" in proc.stdout
