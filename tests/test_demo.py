# SPDX-License-Identifier: Apache-2.0
"""The README's main job (`otap-parquet demo`) and exporter:file in a pipeline, with
the files checked by an independent reader (the OTLP protobuf classes of PyPI's
opentelemetry-proto, through their JSON mapping)."""
import json

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

REQUESTS = {
    "logs": logs_service_pb2.ExportLogsServiceRequest,
    "traces": trace_service_pb2.ExportTraceServiceRequest,
    "metrics": metrics_service_pb2.ExportMetricsServiceRequest,
}


def count_items(path, signal):
    """Items of an OTLP/JSON-lines file, parsed by the protobuf JSON mapping."""
    total = 0
    for line in path.read_text().splitlines():
        request = json_format.Parse(line, REQUESTS[signal]())
        if signal == "logs":
            total += sum(len(s.log_records) for r in request.resource_logs for s in r.scope_logs)
        elif signal == "traces":
            total += sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        else:
            for r in request.resource_metrics:
                for s in r.scope_metrics:
                    for m in s.metrics:
                        kind = m.WhichOneof("data")
                        total += len(getattr(m, kind).data_points)
    return total


def test_demo_runs_end_to_end(run, tmp_path):
    # Scenario: `otap-parquet demo` into a fresh directory (no network, no config).
    # Guarantees: exit 0; the file round trip is equivalent; the pipeline part
    # (traffic generator → exporter:parquet → receiver:parquet → exporter:file)
    # replays as many items as it generated, and its OTLP/JSON files parse with
    # the reference protobuf classes.
    proc = run("demo", "--dir", tmp_path / "demo")
    assert proc.returncode == 0, proc.stderr
    assert "hold the same telemetry" in proc.stdout
    assert "the pipelines lost nothing either" in proc.stdout
    generated = int(proc.stdout.split(" items generated")[0].rsplit(" ", 1)[1])
    replayed = sum(
        count_items(tmp_path / "demo" / f"pipeline-replay-{s}.jsonl", s) for s in REQUESTS
    )
    assert replayed == generated > 0


def test_file_exporter_in_a_pipeline_two_cores(run, tmp_path):
    # Scenario: traffic generator → exporter:file with {signal} and {core_id}, two
    # cores, then a second run appending to the same files.
    # Guarantees: one file per signal and core; every generated item is in them
    # (counted by an independent parser); append mode keeps the first run's lines.
    config = tmp_path / "file.yaml"
    config.write_text(f"""
version: otel_dataflow/v1
groups:
  g:
    pipelines:
      p:
        nodes:
          gen:
            type: receiver:traffic_generator
            config:
              traffic_config: {{signals_per_second: null, max_batch_size: 50, log_weight: 2,
                               trace_weight: 1, metric_weight: 1}}
              max_batches: 30
          file:
            type: exporter:file
            config:
              path: {tmp_path}/out/{{signal}}-{{core_id}}.jsonl
              create_directories: true
              durability: sync_data
        connections:
          - {{from: gen, to: file}}
""")
    metrics = tmp_path / "m.prom"
    for attempt in (1, 2):
        proc = run("run", "--num-cores", "2", "-c", config, "--metrics-file", metrics)
        assert proc.returncode == 0, proc.stderr
        total = 0
        for core in (0, 1):
            for signal in REQUESTS:
                path = tmp_path / "out" / f"{signal}-{core}.jsonl"
                if path.exists():
                    total += count_items(path, signal)
        assert total == attempt * 2 * 30 * 50
    text = metrics.read_text()
    assert 'otap_node_file_write_errors_total{' in text
    assert not any(
        line.startswith("otap_node_nacked") and not line.endswith(" 0")
        for line in text.splitlines()
    )
