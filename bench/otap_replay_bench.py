#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`receiver:parquet → exporter:otap` replay CPU vs a bare Arrow scan (issue #16),
in one run on the same dataset:

- replay: `otap-parquet run` (one core, one shot) with receiver:parquet (logs with
  their attributes, rebuilt as OtapBatches) → exporter:otap (IPC zstd on, one
  stream) → a second engine process with receiver:otap → exporter:noop, whose CPU is
  not counted. The replaying process's CPU (user + system, from wait4) is the
  measure: reading, rebuilding batches, OTAP encoding and gRPC sending.
- reader: the same replay into exporter:noop (reading, rebuilding batches and the
  engine's startup, without OTAP encoding and sending);
- floor: bench/replay_baselines.py's bare Arrow scan (pyarrow, same Arrow C++ build,
  one thread) of every Parquet file of the dataset, all columns, nothing else.

The dataset (realistic logs, 10 attributes each) comes from replay_baselines.py's
cache (built on first use). Goal: replay CPU <= 1.3x the scan's.

Usage: .venv/bin/python bench/otap_replay_bench.py [--logs 1000000] [--runs 3]
"""
import argparse
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import replay_baselines as rb  # noqa: E402

CLI = rb.CLI


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pipeline(nodes, connections):
    return json.dumps({"version": "otel_dataflow/v1", "groups": {"default": {"pipelines": {
        "main": {"nodes": nodes, "connections": connections}}}}})


def noop_once(tmp, lake, batch_size):
    """The same replay into exporter:noop: the reader's share and engine startup."""
    cfg = tmp / "noop.yaml"
    cfg.write_text(pipeline(
        {"src": {"type": "receiver:parquet",
                 "config": {"base_uri": str(lake), "signal_types": ["logs"],
                            "processing_options": {"batch_size": batch_size}}},
         "out": {"type": "exporter:noop"}}, [{"from": "src", "to": "out"}]))
    wall = time.perf_counter()
    proc = subprocess.Popen([str(CLI), "run", "--num-cores", "1", "-c", str(cfg)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("noop replay failed")
    return {"wall": time.perf_counter() - wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mib": usage.ru_maxrss / 1024}


def replay_once(tmp, lake, batch_size, zstd):
    port = free_port()
    sink_cfg = tmp / "sink.yaml"
    sink_cfg.write_text(pipeline(
        {"otap": {"type": "receiver:otap", "config": {"listening_addr": f"127.0.0.1:{port}"}},
         "noop": {"type": "exporter:noop"}}, [{"from": "otap", "to": "noop"}]))
    sink = subprocess.Popen([str(CLI), "run", "--num-cores", "1", "-c", str(sink_cfg)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        cfg = tmp / "replay.yaml"
        cfg.write_text(pipeline(
            {"src": {"type": "receiver:parquet",
                     "config": {"base_uri": str(lake), "signal_types": ["logs"],
                                "processing_options": {"batch_size": batch_size}}},
             "otap": {"type": "exporter:otap",
                      "config": {"grpc_endpoint": f"http://127.0.0.1:{port}",
                                 "arrow": {"payload_compression": "zstd" if zstd else "none",
                                           "max_stream_lifetime": "0s"}}}},
            [{"from": "src", "to": "otap"}]))
        metrics = tmp / "replay.prom"
        wall = time.perf_counter()
        proc = subprocess.Popen([str(CLI), "run", "--num-cores", "1", "-c", str(cfg),
                                 "--metrics-file", str(metrics)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - wall
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"replay failed: {proc.stderr.read().decode()[-2000:]}")
        text = metrics.read_text()
        rows = sum(int(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("otap_node_otap_items_exported"))
        sent = sum(int(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("otap_node_otap_message_bytes"))
        return {"rows": rows, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                "rss_mib": usage.ru_maxrss / 1024, "bytes": sent}
    finally:
        sink.terminate()
        sink.wait(timeout=60)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logs", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16384)
    parser.add_argument("--cache", type=pathlib.Path, default=rb.ROOT / "build" / "bench-data")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    lake = rb.dataset(args.cache, args.logs)
    tmp = pathlib.Path(tempfile.mkdtemp())
    results = {
        "replay → exporter:otap (IPC zstd)":
            rb.median_run(lambda: replay_once(tmp, lake, args.batch_size, True), args.runs),
        "replay → exporter:otap (IPC uncompressed)":
            rb.median_run(lambda: replay_once(tmp, lake, args.batch_size, False), args.runs),
        "replay → exporter:noop (reader, startup)":
            rb.median_run(lambda: noop_once(tmp, lake, args.batch_size), args.runs),
        "bare Arrow scan (floor)": rb.median_run(lambda: rb.python(rb.SCAN, lake), args.runs),
    }
    scan = results["bare Arrow scan (floor)"]
    logs = results["replay → exporter:otap (IPC zstd)"]["rows"]
    print(f"{logs:,} realistic logs, {args.runs} runs, median by CPU; batch size "
          f"{args.batch_size}")
    print(f"{'':<42} {'CPU s':>7} {'logs/CPU-s':>12} {'wire MiB':>9} {'CPU / scan':>10}")
    for name, r in results.items():
        wire = f"{r['bytes'] / 2**20:9.1f}" if "bytes" in r else f"{'':>9}"
        print(f"{name:<42} {r['cpu']:7.2f} {logs / r['cpu']:12,.0f} {wire} "
              f"{r['cpu'] / scan['cpu']:9.2f}x")
    print("goal: replay CPU <= 1.3x the bare scan's")


if __name__ == "__main__":
    main()
