#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Acknowledgement latency of OTLP/gRPC → exporter:parquet at a fixed offered rate,
with the write-ahead log on or off and `wait_for_result` true or false (issue 14).

For each variant the engine runs `--num-cores 1` (receiver:otlp → processor:batch →
exporter:parquet with 1 M rows / `--age` files, as configs/otlp-parquet.yaml) and
this driver sends pre-serialized log requests (`otap-parquet generate`) on a fixed
schedule (`--rate` log records/s, counted in the requests), from `--workers`
threads; latency is measured from each request's scheduled time (so a stalled
engine shows as latency, not as a lower rate). Reported per variant: p50/p90/p99/max
of the answers, errors, records/s answered, the engine's CPU seconds (utime+stime
from /proc, until the end of the load) and records per engine CPU-second, WAL
fsyncs/s (admin metrics), and the Parquet files: those the size/age rules cut
during the load (the engine's `file.flush` log lines; the shutdown's last partial
files left out) as files per hour of data at this rate and their mean size, all
tables and the `logs` table, plus the `logs` files on disk after the graceful stop.
`--repeat N` runs the variants N times (interleaved) and ends with the range
(min–max) of each number per variant. The machine's load changes every number;
compare variants of one run.

    .venv/bin/python bench/otlp_ack_latency.py --seconds 20 --rate 50000 --repeat 3
    .venv/bin/python bench/otlp_ack_latency.py --variants wal-wait,nowal-wait --age 30s
"""
import argparse
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import grpc

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from otlp_receiver_bench import free_port, generated_payloads  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
LOGS_METHOD = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
VARIANTS = {  # name: (wal enabled, wait_for_result)
    "wal-wait": (True, True),
    "nowal-wait": (False, True),
    "wal-nowait": (True, False),
    "nowal-nowait": (False, False),
}


def payloads_from(cli, tmp, logs_per_request):
    return generated_payloads(cli, tmp / "ack.logs.pb", requests=16, items=logs_per_request)


def cpu_seconds(pid):
    """(user, system) CPU seconds of a process."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def metric(admin, name):
    with urllib.request.urlopen(f"http://{admin}/api/v1/metrics", timeout=10) as res:
        text = res.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") or line.startswith(name + " "))


FLUSH_LINE = re.compile(r"exporter\.parquet\.file\.flush table=(\w+) rows=(\d+) "
                        r"bytes=(\d+) reason=(\w+)")


def rule_files(log_path):
    """(table, bytes) of the files a size/age rule cut (not the shutdown's)."""
    files = []
    for line in pathlib.Path(log_path).read_text().splitlines():
        m = FLUSH_LINE.search(line)
        if m and m.group(4) != "shutdown":
            files.append((m.group(1), int(m.group(3))))
    return files


def run_variant(args, name, payloads, tmp, run=0):
    wal, wait = VARIANTS[name]
    port, admin_port = free_port(), free_port()
    name_run = f"{name}.{run}"
    out = tmp / name_run
    exporter = {"storage": {"file": {"base_uri": str(out)}},
                "writer_options": {"target_rows_per_file": 1000000,
                                   "flush_when_older_than": args.age}}
    if wal:
        exporter["wal"] = {"enabled": True}
    config = {"version": "otel_dataflow/v1", "policies": {"channel_capacity": {"pdata": 64}},
              "groups": {"default": {"pipelines": {"main": {
                  "nodes": {
                      "otlp": {"type": "receiver:otlp", "config": {"protocols": {"grpc": {
                          "listening_addr": f"127.0.0.1:{port}",
                          "max_decoding_message_size": "16MiB",
                          "wait_for_result": wait}}}},
                      "batch": {"type": "processor:batch", "config": {
                          "otap": {"min_size": 2000, "max_size": 8000, "sizer": "items"},
                          "max_batch_duration": args.batch_duration}},
                      "parquet": {"type": "exporter:parquet", "config": exporter}},
                  "connections": [{"from": "otlp", "to": "batch"},
                                  {"from": "batch", "to": "parquet"}]}}}}}
    config_path = tmp / f"{name_run}.yaml"
    config_path.write_text(json.dumps(config))
    log_path = tmp / f"{name_run}.log"
    log = open(log_path, "w")
    engine = subprocess.Popen([args.cli, "run", "-c", str(config_path), "--num-cores", "1",
                               "--http-admin-bind", f"127.0.0.1:{admin_port}"],
                              stdout=log, stderr=log)
    admin = f"127.0.0.1:{admin_port}"
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://{admin}/api/v1/readyz", timeout=1) as r:
                if r.status == 200:
                    break
        except Exception:
            time.sleep(0.05)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}",
                                    options=[("grpc.max_send_message_length", 64 << 20)])
    call = channel.unary_unary(LOGS_METHOD)
    mean_logs = sum(n for _, n in payloads) / len(payloads)
    interval = mean_logs / args.rate  # seconds between requests
    total = int(args.seconds / interval)
    latencies, errors, lock = [], [], threading.Lock()
    answered = [0]
    start = time.monotonic() + 0.5
    wall_offset = time.time() - time.monotonic()  # for --trace
    trace = []
    cpu0 = cpu_seconds(engine.pid)
    fsync0 = metric(admin, "otap_node_wal_fsyncs_total") if wal else 0
    append0 = metric(admin, "otap_node_wal_appends_total") if wal else 0

    def worker(w):
        for k in range(w, total, args.workers):
            at = start + k * interval
            delay = at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            payload, logs = payloads[k % len(payloads)]
            try:
                call(payload, timeout=60)
                done = time.monotonic()
                with lock:
                    latencies.append(done - at)
                    answered[0] += logs
                    trace.append((at + wall_offset, done - at))
            except grpc.RpcError as e:
                with lock:
                    errors.append(e.code().name)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    cpu1 = cpu_seconds(engine.pid)
    user, system = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    cpu = user + system
    fsyncs = (metric(admin, "otap_node_wal_fsyncs_total") - fsync0) if wal else 0
    appends = (metric(admin, "otap_node_wal_appends_total") - append0) if wal else 0
    channel.close()
    engine.send_signal(signal.SIGTERM)
    engine.wait(timeout=300)
    log.close()
    files = sorted(p.stat().st_size for p in (out / "logs").rglob("*.parquet"))
    latencies.sort()
    if args.trace:
        (tmp / f"{name_run}.latencies.json").write_text(json.dumps(sorted(trace)))
    cut = rule_files(log_path)
    cut_logs = [b for t, b in cut if t == "logs"]
    per_hour = 3600 / elapsed

    def pct(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0

    records = answered[0]
    return {
        "variant": name, "wal": wal, "wait_for_result": wait,
        "p50_ms": round(pct(0.50), 1), "p90_ms": round(pct(0.90), 1),
        "p99_ms": round(pct(0.99), 1), "max_ms": round(pct(1.0), 1),
        "errors": len(errors), "error_codes": sorted(set(errors)),
        "records_per_s": round(records / elapsed),
        "engine_cpu_s": round(cpu, 2), "engine_user_s": round(user, 2),
        "engine_system_s": round(system, 2),
        "records_per_cpu_s": round(records / cpu) if cpu else None,
        "fsyncs_per_s": round(fsyncs / elapsed, 1),
        "appends_per_fsync": round(appends / fsyncs, 1) if fsyncs else None,
        "files_per_hour": round(len(cut) * per_hour),
        "file_mean_bytes": round(sum(b for _, b in cut) / len(cut)) if cut else 0,
        "logs_files_per_hour": round(len(cut_logs) * per_hour),
        "logs_cut_file_mean_bytes": round(sum(cut_logs) / len(cut_logs)) if cut_logs else 0,
        "logs_files": len(files),
        "logs_file_mean_bytes": round(sum(files) / len(files)) if files else 0,
        "logs_file_max_bytes": files[-1] if files else 0,
        "exit": engine.returncode,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cli", default=str(ROOT / "build" / "otap-parquet"))
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--rate", type=float, default=50000, help="offered records/s")
    ap.add_argument("--logs-per-request", type=int, default=500,
                    help="`generate --items` (logs per scope; a request holds several)")
    ap.add_argument("--workers", type=int, default=64)
    ap.add_argument("--age", default="30s", help="flush_when_older_than")
    ap.add_argument("--batch-duration", default="200ms",
                    help="processor:batch max_batch_duration")
    ap.add_argument("--variants", default="wal-wait,nowal-wait,wal-nowait,nowal-nowait")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run the variants this many times and print ranges")
    ap.add_argument("--trace", action="store_true",
                    help="keep each request's (scheduled wall time, latency) in "
                         "<tmp>/<variant>.latencies.json beside the engine's log")
    args = ap.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="otlp-ack-"))
    if args.trace:
        print(f"# trace: {tmp}", flush=True)
    payloads = payloads_from(args.cli, tmp, args.logs_per_request)
    print(f"# load average before: {os.getloadavg()}, cpus: {os.cpu_count()}", flush=True)
    results = {}
    for run in range(args.repeat):
        for name in args.variants.split(","):
            r = run_variant(args, name, payloads, tmp, run)
            results.setdefault(name, []).append(r)
            print(json.dumps(r), flush=True)
    print(f"# load average after: {os.getloadavg()}", flush=True)
    if args.repeat > 1:
        keys = ["p50_ms", "p90_ms", "p99_ms", "max_ms", "errors", "records_per_s",
                "records_per_cpu_s", "files_per_hour", "file_mean_bytes",
                "logs_files_per_hour", "logs_cut_file_mean_bytes"]
        for name, runs in results.items():
            summary = {"variant": name, "runs": len(runs)}
            for k in keys:
                values = [r[k] for r in runs if r[k] is not None]
                summary[k] = [min(values), max(values)] if values else None
            print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
