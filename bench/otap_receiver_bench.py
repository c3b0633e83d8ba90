#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""receiver:otap vs receiver:otlp into exporter:noop: log records per engine CPU-second.

The same realistic logs (`otap-parquet generate`) are sent once as OTel Arrow
batches by the Go test peer (tests/peers/otap_sender: upstream's producer, zstdarrow5
gRPC compression, IPC zstd bodies) to `receiver:otap`, and once as pre-serialized
OTLP Export requests (grpcio, raw bytes) to `receiver:otlp`; each engine runs
`--num-cores 1` with `wait_for_result: true`. Reported: the engine process's CPU
seconds (user + system, from /proc) spent from the first request to the last answer,
and records per CPU-second. The sender's own encoding is not counted.

    .venv/bin/python bench/otap_receiver_bench.py --requests 40 --items 250

`--exporter parquet` writes Parquet instead (receivers answer once the batch is in
the pipeline; the files are written at the graceful stop, whose CPU is counted);
`--cli` runs another build (before/after comparisons); `--perf DIR` records each
engine with `perf record --call-graph dwarf`.
"""
import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

import grpc

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from engines import Engine, wait_until  # noqa: E402
from s3_server import free_port  # noqa: E402
from test_engine_e2e import read_delimited, write_config  # noqa: E402

CLI = ROOT / "build" / "otap-parquet"
SENDER = ROOT / "build" / "peers" / "otap_sender"


def cpu_seconds(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def exporter_config(kind, out):
    if kind == "noop":
        return {"type": "exporter:noop", "config": {}}
    # One file per table at shutdown, as otlp_receiver_bench.py writes them.
    return {"type": "exporter:parquet",
            "config": {"storage": {"file": {"base_uri": str(out)}},
                       "partitioning_strategies": [{"schema_metadata": ["_part_id"]}],
                       "writer_options": {"target_rows_per_file": 10000000,
                                          "flush_when_older_than": "300s"}}}


def start(cli, tmp, name, receiver, port, exporter):
    config = write_config(tmp / f"{name}.yaml",
                          {"in": {"type": receiver[0], "config": receiver[1](port)},
                           "out": exporter_config(exporter, tmp / f"{name}-out")},
                          [{"from": "in", "to": "out"}])
    engine = Engine(cli, config, ["--num-cores", "1"], tmp / f"{name}.out",
                    tmp / f"{name}.err")
    engine.wait_log("start node=in")
    return engine


def start_perf(args, name, pid):
    if not args.perf:
        return None
    pathlib.Path(args.perf).mkdir(parents=True, exist_ok=True)
    perf = subprocess.Popen(["perf", "record", "--call-graph", "dwarf,16384", "-F", "2000", "-o",
                             str(pathlib.Path(args.perf) / f"{name}.perf.data"), "-p",
                             str(pid)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(1)  # perf attaches asynchronously
    return perf


def stop_perf(perf):
    if perf:
        perf.send_signal(2)
        perf.wait()


def finish(eng, args, before, perf):
    """Engine CPU since `before`: at once with exporter:noop; with exporter:parquet
    after a graceful stop (the files are written at shutdown), from wait4."""
    if args.exporter == "noop":
        cpu = cpu_seconds(eng.proc.pid) - before
        stop_perf(perf)
        eng.stop()
        return cpu
    eng.proc.send_signal(signal.SIGTERM)
    _, status, usage = os.wait4(eng.proc.pid, 0)
    eng.proc.returncode = os.waitstatus_to_exitcode(status)
    assert eng.proc.returncode == 0, eng.tail()
    stop_perf(perf)
    return usage.ru_utime + usage.ru_stime - before


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--items", type=int, default=250)
    parser.add_argument("--exporter", choices=["noop", "parquet"], default="noop",
                        help="exporter:parquet: receivers answer once the batch is in "
                             "the pipeline (wait_for_result: false), files are written "
                             "at shutdown, whose CPU is counted")
    parser.add_argument("--cli", type=pathlib.Path, default=CLI,
                        help="engine binary (default build/otap-parquet), to compare "
                             "builds in one run")
    parser.add_argument("--perf", metavar="DIR",
                        help="also record each engine with `perf record --call-graph dwarf` into "
                             "DIR/{otap,otlp}.perf.data")
    args = parser.parse_args()
    subprocess.run(["go", "build", "-mod=readonly", "-buildvcs=false", "-o", str(SENDER), "."],
                   cwd=ROOT / "tests" / "peers" / "otap_sender", check=True)
    with tempfile.TemporaryDirectory() as d:
        tmp = pathlib.Path(d)
        common = ["generate", "--signal", "logs", "--seed", "5", "--requests",
                  str(args.requests), "--items", str(args.items)]
        subprocess.run([CLI, *common, tmp / "logs.jsonl"], check=True, capture_output=True)
        subprocess.run([CLI, *common, tmp / "logs.pb"], check=True, capture_output=True)
        records = sum(line.count('"timeUnixNano"')
                      for line in (tmp / "logs.jsonl").read_text().splitlines())
        results = {}

        port = free_port()
        wait = args.exporter == "noop"
        eng = start(args.cli, tmp, "otap", ("receiver:otap", lambda p: {
            "listening_addr": f"127.0.0.1:{p}", "wait_for_result": wait}), port,
            args.exporter)
        perf = start_perf(args, "otap", eng.proc.pid)
        before = cpu_seconds(eng.proc.pid)
        out = subprocess.run([SENDER, "-endpoint", f"127.0.0.1:{port}", "-logs",
                              tmp / "logs.jsonl"], check=True, capture_output=True,
                             text=True)
        assert json.loads(out.stdout)[0]["statuses"] == {"OK": args.requests}, out.stdout
        results["otap"] = finish(eng, args, before, perf)

        port = free_port()
        eng = start(args.cli, tmp, "otlp", ("receiver:otlp", lambda p: {"protocols": {"grpc": {
            "listening_addr": f"127.0.0.1:{p}", "wait_for_result": wait}}}), port,
            args.exporter)
        channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[
            ("grpc.max_send_message_length", 64 << 20)])
        call = channel.unary_unary("/opentelemetry.proto.collector.logs.v1.LogsService/Export")
        payloads = list(read_delimited(tmp / "logs.pb"))
        perf = start_perf(args, "otlp", eng.proc.pid)
        before = cpu_seconds(eng.proc.pid)
        for payload in payloads:
            call(payload, timeout=60)
        channel.close()
        results["otlp"] = finish(eng, args, before, perf)

    for name, cpu in results.items():
        print(f"{name}: {records} log records, engine CPU {cpu:.2f} s, "
              f"{records / cpu:,.0f} records per CPU-second")
    print(f"otap/otlp records per CPU-second: {results['otlp'] / results['otap']:.2f}x")


if __name__ == "__main__":
    main()
