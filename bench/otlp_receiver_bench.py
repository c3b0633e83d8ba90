#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""OTLP/gRPC in → Parquet out (or → noop): logs/s through `receiver:otlp` on one core.

The engine runs `--num-cores 1` pinned to CPU 0; this load generator runs on CPU 1
and keeps `--concurrency` Export calls in flight, each a pre-serialized request of
realistic generated logs (`otap-parquet generate`, 10 attributes per log), sent as
raw bytes so the client does no protobuf work per call. Reported: logs/s the
receiver answered OK during the window, logs/s end to end (rows in the
dataset / time until the engine had exited, including the final flush), and logs
per CPU-second of the engine process (what one idle core would do; the wall-clock
rates depend on the machine's load).

In the same run, under the same load and on the same core, the baseline: the
OpenTelemetry Collector's own OTLP receiver into its nop exporter (the Collector
distribution of the real-client tests, made by the Collector builder from
tests/peers/collector/manifest.yaml by scripts/build_peers.sh into build/peers/otelcol;
`--baseline none` skips it). `--rounds N` alternates the two.

    .venv/bin/python bench/otlp_receiver_bench.py --seconds 10 --exporter parquet
    .venv/bin/python bench/otlp_receiver_bench.py --seconds 10 --exporter noop
"""
import argparse
import json
import os
import pathlib
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

ROOT = pathlib.Path(__file__).resolve().parent.parent
LOGS_METHOD = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load(port, payloads, seconds, concurrency):
    """Keeps `concurrency` Export calls in flight for `seconds`; logs answered OK."""
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[
        ("grpc.max_send_message_length", 64 << 20)])
    call = channel.unary_unary(LOGS_METHOD)
    lock = threading.Lock()
    totals = {"ok_logs": 0, "errors": 0}
    stop_at = time.monotonic() + seconds

    def worker(index):
        i = index
        while time.monotonic() < stop_at:
            payload, logs = payloads[i % len(payloads)]
            i += 1
            try:
                call(payload, timeout=30)
                with lock:
                    totals["ok_logs"] += logs
            except grpc.RpcError as e:
                with lock:
                    if not totals["errors"]:
                        print(f"first error: {e.code()} {e.details()}", file=sys.stderr)
                    totals["errors"] += 1

    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    channel.close()
    return totals, start


def measure(name, command, port, payloads, args, count_rows=None):
    """Runs `command` (an engine listening for OTLP/gRPC on `port`) on CPU 0 under
    the load, stops it with SIGINT; its CPU seconds, what the load got, and the
    logs it delivered per CPU second (`count_rows()` after it exited, if given,
    else the logs answered OK)."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    engine = subprocess.Popen(["taskset", "-c", "0", *command],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    os.sched_setaffinity(0, {1})
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or engine.poll() is not None:
                sys.exit(f"{command[0]} did not start: {engine.stderr.read()}")
            time.sleep(0.05)
    totals, started = load(port, payloads, args.seconds, args.concurrency)
    window = time.monotonic() - started
    engine.send_signal(signal.SIGINT)
    engine.communicate(timeout=120)
    total = time.monotonic() - started  # until the engine exited (final flush)
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    engine_cpu = ((cpu_after.ru_utime + cpu_after.ru_stime) -
                  (cpu_before.ru_utime + cpu_before.ru_stime))
    rows = count_rows() if count_rows else None
    delivered = rows if rows is not None else totals["ok_logs"]
    return {"engine": name, "window_s": round(window, 2),
            "answered_ok_logs": totals["ok_logs"], "errors": totals["errors"],
            "answered_logs_per_s": round(totals["ok_logs"] / window),
            "rows_in_dataset": rows,
            "end_to_end_logs_per_s": round(rows / total) if rows is not None else None,
            "engine_cpu_s": round(engine_cpu, 2), "engine_exit": engine.returncode,
            "logs_per_engine_cpu_s": round(delivered / engine_cpu) if engine_cpu else None,
            "load_average": os.getloadavg()[0]}


def generated_payloads(cli, path, requests, items):
    """`otap-parquet generate` logs into `path`, read back as (serialized
    ExportLogsServiceRequest, logs in it) pairs, to be sent as raw bytes."""
    subprocess.run([str(cli), "generate", "--signal", "logs", "--requests", str(requests),
                    "--items", str(items), str(path)], check=True, capture_output=True)
    payloads, data, pos = [], path.read_bytes(), 0
    while pos < len(data):  # varint-length-delimited ExportLogsServiceRequests
        size, shift = 0, 0
        while True:
            byte = data[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        payload = data[pos:pos + size]
        pos += size
        request = ExportLogsServiceRequest.FromString(payload)
        logs = sum(len(sl.log_records) for rl in request.resource_logs
                   for sl in rl.scope_logs)
        payloads.append((payload, logs))
    return payloads


def build_collector():
    """The Collector of scripts/build_peers.sh (OTLP receiver, batch processor, nop
    exporter among its components: the Collector's own, v0.165.0), built with the
    machine's Go on first use; None without Go."""
    try:
        out = subprocess.run([str(ROOT / "scripts" / "build_peers.sh")], cwd=ROOT, check=True,
                             stdout=subprocess.PIPE, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"no Collector baseline: {e}", file=sys.stderr)
        return None
    return next(ROOT / line for line in out.split() if line.endswith("/otelcol"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cli", default=str(ROOT / "build" / "otap-parquet"))
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--logs-per-request", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--exporter", choices=["parquet", "noop"], default="parquet")
    ap.add_argument("--wait-for-result", action="store_true")
    ap.add_argument("--compression", default="zstd",
                    help="exporter:parquet's codec (zstd, our default; none is upstream's)")
    ap.add_argument("--baseline", choices=["collector", "none"], default="collector",
                    help="also run the OpenTelemetry Collector (build/peers/otelcol: OTLP "
                         "receiver → nop exporter) under the same load")
    ap.add_argument("--collector", help="a built Collector with the otlp receiver and nop "
                    "exporter (default: build/peers/otelcol, built if needed)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="alternate otap-parquet and the baseline this many times")
    args = ap.parse_args()

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="otlp-bench-"))
    payloads = generated_payloads(args.cli, tmp / "bench.logs.pb", requests=8,
                                  items=args.logs_per_request)

    collector = None
    if args.baseline == "collector":
        collector = pathlib.Path(args.collector) if args.collector else build_collector()

    results = []
    for round_index in range(args.rounds):
        port = free_port()
        out = tmp / f"out{round_index}"
        exporter = {"type": "exporter:noop"} if args.exporter == "noop" else {
            "type": "exporter:parquet",
            "config": {"storage": {"file": {"base_uri": str(out)}},
                       "partitioning_strategies": [{"schema_metadata": ["_part_id"]}],
                       "writer_options": {"target_rows_per_file": 1000000,
                                          "compression": args.compression,
                                          "flush_when_older_than": "30s"}}}
        config = {"version": "otel_dataflow/v1",
                  "policies": {"channel_capacity": {"pdata": 16}},
                  "groups": {"default": {"pipelines": {"main": {
                      "nodes": {"otlp": {"type": "receiver:otlp", "config": {"protocols": {
                          "grpc": {"listening_addr": f"127.0.0.1:{port}",
                                   "max_decoding_message_size": "64MiB",
                                   "wait_for_result": args.wait_for_result,
                                   "timeout": "30s"}}}},
                                "out": exporter},
                      "connections": [{"from": "otlp", "to": "out"}]}}}}}
        (tmp / "bench.yaml").write_text(json.dumps(config))
        def count_rows(out=out):
            import pyarrow.dataset as ds
            return ds.dataset(out / "logs", format="parquet", partitioning="hive",
                              ignore_prefixes=["."]).count_rows()

        results.append(measure(
            f"otap-parquet ({args.exporter})",
            [args.cli, "run", "-c", str(tmp / "bench.yaml"), "--num-cores", "1",
             "--metrics-file", str(tmp / "metrics.prom")], port, payloads, args,
            count_rows if args.exporter == "parquet" else None))
        if collector is not None:
            port = free_port()
            (tmp / "collector.yaml").write_text(json.dumps({
                "receivers": {"otlp": {"protocols": {"grpc": {
                    "endpoint": f"127.0.0.1:{port}", "max_recv_msg_size_mib": 64}}}},
                "exporters": {"nop": {}},
                "service": {"pipelines": {"logs": {"receivers": ["otlp"],
                                                   "exporters": ["nop"]}},
                            "telemetry": {"logs": {"level": "warn"},
                                          "metrics": {"level": "none"}}}}))
            results.append(measure(
                "otelcol (otlp → nop)",
                [str(collector), "--config", str(tmp / "collector.yaml")], port,
                payloads, args))
    print(json.dumps({"wait_for_result": args.wait_for_result,
                      "concurrency": args.concurrency,
                      "logs_per_request": args.logs_per_request, "runs": results}, indent=1))
    ours = [r["logs_per_engine_cpu_s"] for r in results
            if r["engine"].startswith("otap-parquet")]
    base = [r["logs_per_engine_cpu_s"] for r in results
            if not r["engine"].startswith("otap-parquet")]
    print(f"otap-parquet ({args.exporter}): "
          f"{', '.join(f'{v:,}' for v in ours)} logs per engine CPU-s")
    if base:
        print(f"Collector baseline (otlp → nop, same run): "
              f"{', '.join(f'{v:,}' for v in base)} logs per engine CPU-s; "
              f"ratio {sum(ours) / len(ours) / (sum(base) / len(base)):.2f}x (means)")
    print("upstream df_engine, published: 273K-385K logs/s/core OTLP")


if __name__ == "__main__":
    main()
