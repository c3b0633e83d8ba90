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

`--zstd-level 1 --zstd-level -1` compares IPC zstd levels (runs alternating);
`--cli A --cli B` compares builds in one run (their runs alternate, as this machine's
rates move between minutes); `--perf DIR` records the replaying process of each build with `perf record
--call-graph dwarf` into DIR/<n>.perf.data (one extra replay each, not timed).
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


def perf_prefix(perf):
    """`perf record` running the replay (attaching to a running process misses the
    start of a few-second run)."""
    if not perf:
        return []
    pathlib.Path(perf[0]).mkdir(parents=True, exist_ok=True)
    return ["perf", "record", "--call-graph", "dwarf,16384", "-F", "1000", "-o",
            str(pathlib.Path(perf[0]) / f"{perf[1]}.perf.data"), "--"]


def noop_once(cli, tmp, lake, batch_size):
    """The same replay into exporter:noop: the reader's share and engine startup."""
    cfg = tmp / "noop.yaml"
    cfg.write_text(pipeline(
        {"src": {"type": "receiver:parquet",
                 "config": {"base_uri": str(lake), "signal_types": ["logs"],
                            "processing_options": {"batch_size": batch_size}}},
         "out": {"type": "exporter:noop"}}, [{"from": "src", "to": "out"}]))
    wall = time.perf_counter()
    proc = subprocess.Popen([str(cli), "run", "--num-cores", "1", "-c", str(cfg)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("noop replay failed")
    return {"wall": time.perf_counter() - wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mib": usage.ru_maxrss / 1024}


def replay_once(cli, tmp, lake, batch_size, zstd, perf=None, level=None):
    port = free_port()
    sink_cfg = tmp / "sink.yaml"
    sink_cfg.write_text(pipeline(
        {"otap": {"type": "receiver:otap", "config": {"listening_addr": f"127.0.0.1:{port}"}},
         "noop": {"type": "exporter:noop"}}, [{"from": "otap", "to": "noop"}]))
    sink = subprocess.Popen([str(rb.CLI), "run", "--num-cores", "1", "-c", str(sink_cfg)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        arrow = {"payload_compression": "zstd" if zstd else "none",
                 "max_stream_lifetime": "0s"}
        if level is not None:
            arrow["payload_compression_level"] = level
        cfg = tmp / "replay.yaml"
        cfg.write_text(pipeline(
            {"src": {"type": "receiver:parquet",
                     "config": {"base_uri": str(lake), "signal_types": ["logs"],
                                "processing_options": {"batch_size": batch_size}}},
             "otap": {"type": "exporter:otap",
                      "config": {"grpc_endpoint": f"http://127.0.0.1:{port}",
                                 "arrow": arrow}}},
            [{"from": "src", "to": "otap"}]))
        metrics = tmp / "replay.prom"
        wall = time.perf_counter()
        proc = subprocess.Popen([*perf_prefix(perf), str(cli), "run", "--num-cores", "1",
                                 "-c", str(cfg), "--metrics-file", str(metrics)],
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
    parser.add_argument("--cli", type=pathlib.Path, action="append",
                        help="engine binary to replay with (repeat to compare builds; "
                             "default build/otap-parquet)")
    parser.add_argument("--no-uncompressed", action="store_true",
                        help="skip the uncompressed replay")
    parser.add_argument("--zstd-level", type=int, action="append",
                        help="arrow.payload_compression_level of the IPC zstd replay "
                             "(repeat to compare levels, runs alternating; default: "
                             "the engine's)")
    parser.add_argument("--perf", metavar="DIR")
    args = parser.parse_args()
    clis = args.cli or [CLI]
    args.cache.mkdir(parents=True, exist_ok=True)
    lake = rb.dataset(args.cache, args.logs)
    tmp = pathlib.Path(tempfile.mkdtemp())
    runs = {}

    def label(i, text):
        return f"{text} [{i}]" if len(clis) > 1 else text

    for _ in range(args.runs):
        # One run of everything per round: slow drifts of the machine hit all alike.
        for i, cli in enumerate(clis):
            for level in args.zstd_level or [None]:
                name = "replay → exporter:otap (IPC zstd" + (
                    f" level {level})" if level is not None else ")")
                runs.setdefault(label(i, name), []).append(
                    replay_once(cli, tmp, lake, args.batch_size, True, level=level))
            if not args.no_uncompressed:
                runs.setdefault(label(i, "replay → exporter:otap (IPC uncompressed)"),
                                []).append(replay_once(cli, tmp, lake, args.batch_size,
                                                       False))
            runs.setdefault(label(i, "replay → exporter:noop (reader, startup)"),
                            []).append(noop_once(cli, tmp, lake, args.batch_size))
        runs.setdefault("bare Arrow scan (floor)", []).append(rb.python(rb.SCAN, lake))
    results = {name: rb.median_run(lambda r=r: r.pop(0), len(r)) for name, r in runs.items()}
    if results:
        report(results, clis, args)
    if args.perf:  # --runs 0 --perf DIR: profiles only
        for i, cli in enumerate(clis):
            for level in args.zstd_level or [None]:
                tag = str(i) if level is None else f"{i}-level{level}"
                replay_once(cli, tmp, lake, args.batch_size, True, perf=(args.perf, tag),
                            level=level)
        print(f"perf data in {args.perf}/<n>.perf.data")


def report(results, clis, args):
    scan = results["bare Arrow scan (floor)"]
    logs = next(r["rows"] for r in results.values() if "rows" in r)
    print(f"{logs:,} realistic logs, {args.runs} runs, median by CPU; batch size "
          f"{args.batch_size}")
    for i, cli in enumerate(clis):
        if len(clis) > 1:
            print(f"[{i}] {cli}")
    print(f"{'':<50} {'CPU s':>7} {'logs/CPU-s':>12} {'wire MiB':>9} {'CPU / scan':>10}")
    for name, r in results.items():
        wire = f"{r['bytes'] / 2**20:9.1f}" if "bytes" in r else f"{'':>9}"
        print(f"{name:<50} {r['cpu']:7.2f} {logs / r['cpu']:12,.0f} {wire} "
              f"{r['cpu'] / scan['cpu']:9.2f}x")
    print("goal: replay CPU <= 1.3x the bare scan's")


if __name__ == "__main__":
    main()
