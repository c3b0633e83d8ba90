#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Scaling with `--num-cores` (issue #18 item 1): records/s and records per CPU-second
at 1..N cores, in one run, for

- replay: `receiver:parquet → exporter:noop` over a dataset of `--partitions` id
  spaces (one `convert` each of `--requests` generated requests of logs: 125 give
  500,000 realistic logs). The instances share one core assignment
  (dataset/sharding.h) that deals the partitions round-robin, so they split evenly
  (within one partition) however few there are; the per-core record counts are
  printed. `--before PATH` also runs another build (e.g. main before a change) on
  the same dataset, interleaved, labelled `before`.
- ingest: `receiver:traffic_generator → processor:batch → exporter:parquet`
  (configs/traffic-parquet.yaml, `--batches` batches of 100 items per core): every
  core generates and writes its own share, so the work grows with the cores and
  records/s is the measure. Generation is part of the CPU.

CPU is the engine process's user + system time (wait4). A machine with fewer free
CPUs than the engine's threads want caps the speedup; compare records per CPU-second
(flat = nothing serializes) as well as records/s.

Usage: .venv/bin/python bench/cores_bench.py [--cores 1 2] [--partitions 16]
           [--requests 125] [--batches 4000] [--runs 3] [--before PATH]
"""
import argparse
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
CLI = ROOT / "build" / "otap-parquet"

REPLAY = """version: otel_dataflow/v1
groups:
  default:
    pipelines:
      main:
        nodes:
          src: {{type: "receiver:parquet", config: {{base_uri: "{lake}", signal_types: [logs]}}}}
          out: {{type: "exporter:noop"}}
        connections:
          - {{from: src, to: out}}
"""


def run(cli, config, cores, metrics, env=None):
    # The engine logs to stderr: a file, not a pipe nobody reads (it would fill up).
    log = metrics.with_suffix(".log")
    with open(log, "wb") as err:
        wall = time.perf_counter()
        proc = subprocess.Popen([str(cli), "run", "-c", str(config), "--num-cores",
                                 str(cores), "--metrics-file", str(metrics)],
                                stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - wall
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"engine failed: {log.read_text()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def items_per_core(metrics, urn):
    out = []
    for line in metrics.read_text().splitlines():
        if line.startswith("otap_node_received_items_total") and urn in line:
            out.append(int(float(line.split()[-1])))
    return out


def report(kind, cores, wall, cpu, per_core, base):
    items = sum(per_core)
    rate = items / wall
    speedup = f"{rate / base:.2f}x" if base else "1.00x"
    print(f"{kind:14} cores={cores} records={items:>9} per-core={per_core} wall={wall:6.2f}s "
          f"cpu={cpu:6.2f}s  {rate:>10,.0f} rec/s ({speedup})  {items / cpu:>10,.0f} rec/CPU-s",
          flush=True)
    return rate


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", default=str(CLI))
    ap.add_argument("--cores", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--requests", type=int, default=125,
                    help="replay: generated requests per partition (4,000 logs each)")
    ap.add_argument("--batches", type=int, default=4000, help="ingest: batches per core")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", choices=["replay", "ingest"])
    ap.add_argument("--before", help="replay: also run this build on the same dataset")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="otap_cores_") as tmp:
        tmp = pathlib.Path(tmp)
        if args.only != "ingest":
            source = tmp / "logs.pb"
            subprocess.run([args.cli, "generate", "--signal", "logs", "--requests",
                            str(args.requests), "--items", "1000",
                            "--seed", "2", str(source)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            lake = tmp / "lake"
            for _ in range(args.partitions):  # one writer, so one id space, per convert
                subprocess.run([args.cli, "convert", str(source), str(lake)], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            config = tmp / "replay.yaml"
            config.write_text(REPLAY.format(lake=lake))
            builds = [("replay", args.cli)]
            if args.before:
                builds = [("replay before", args.before), ("replay after", args.cli)]
            for _ in range(args.runs):
                for label, cli in builds:
                    base = None
                    for cores in args.cores:
                        metrics = tmp / "replay.prom"
                        wall, cpu = run(cli, config, cores, metrics)
                        rate = report(label, cores, wall, cpu,
                                      items_per_core(metrics, "exporter:noop"), base)
                        base = base or rate
        if args.only != "replay":
            for _ in range(args.runs):
                base = None
                for cores in args.cores:
                    out = tmp / "ingest"
                    shutil.rmtree(out, ignore_errors=True)
                    env = dict(os.environ, OTAP_MAX_BATCHES=str(args.batches),
                               OTAP_PARQUET_OUT=str(out))
                    metrics = tmp / "ingest.prom"
                    wall, cpu = run(args.cli, ROOT / "configs" / "traffic-parquet.yaml",
                                    cores, metrics, env)
                    rate = report("ingest", cores, wall, cpu,
                                  items_per_core(metrics, "exporter:parquet"), base)
                    base = base or rate


if __name__ == "__main__":
    main()
