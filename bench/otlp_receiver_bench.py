#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""OTLP/gRPC or OTLP/HTTP in → Parquet out (or → noop): logs/s through `receiver:otlp` on one core.

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

`--protocol http` sends the same requests as OTLP/HTTP protobuf POSTs (one
keep-alive connection per in-flight request). Its baseline is upstream's Rust
engine `df_engine` (otel-arrow `rust/otap-dataflow`; `--df-engine PATH` or
$OTAP_DF_ENGINE; skipped, and said so, without it): its `receiver:otlp` (HTTP) →
`exporter:parquet` on the same requests, no batch processor on either side (each
request is one batch), `--num-cores 1` on the same CPU. Upstream's writer has no
codec option (Arrow's default: uncompressed), so `--compression zstd,none` runs
ours both ways and gives both ratios. Every engine's dataset is checked to hold
every record the load got an OK for (logs rows counted with pyarrow), and its
size on disk is reported. CPU is the engine process's own (utime + stime, from
/proc at the end of the load window and from wait4() after the final flush).

    .venv/bin/python bench/otlp_receiver_bench.py --seconds 10 --exporter parquet
    .venv/bin/python bench/otlp_receiver_bench.py --seconds 10 --exporter noop
    .venv/bin/python bench/otlp_receiver_bench.py --protocol http --seconds 10 \
        --compression zstd,none --rounds 3 --df-engine PATH/TO/df_engine
"""
import argparse
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import http.client

import grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

ROOT = pathlib.Path(__file__).resolve().parent.parent
LOGS_METHOD = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_workers(worker, concurrency):
    """Runs worker(0..concurrency-1) on as many threads until all return; returns
    the monotonic time they started at."""
    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return start


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

    start = run_workers(worker, concurrency)
    channel.close()
    return totals, start


def load_http(port, payloads, seconds, concurrency):
    """As `load`, over OTLP/HTTP: `concurrency` keep-alive connections, each POSTing
    one request at a time to /v1/logs; logs answered 200."""
    lock = threading.Lock()
    totals = {"ok_logs": 0, "errors": 0}
    stop_at = time.monotonic() + seconds

    def worker(index):
        i = index
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop_at:
            payload, logs = payloads[i % len(payloads)]
            i += 1
            try:
                conn.request("POST", "/v1/logs", body=payload,
                             headers={"Content-Type": "application/x-protobuf"})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
                detail = f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as e:
                ok, detail = False, repr(e)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with lock:
                if ok:
                    totals["ok_logs"] += logs
                else:
                    if not totals["errors"]:
                        print(f"first error: {detail}", file=sys.stderr)
                    totals["errors"] += 1
        conn.close()

    start = run_workers(worker, concurrency)
    return totals, start


def proc_cpu_s(pid):
    """utime + stime of process `pid` (all its threads) from /proc, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dir_bytes(path, skip=("_wal",)):
    """Bytes of the files under `path` (its WAL directory left out)."""
    total = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d not in skip]
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def measure(name, command, port, payloads, args, count_rows=None, out=None):
    """Runs `command` (an engine listening for OTLP on `port`) on CPU 0 under
    the load, stops it with SIGINT; its CPU seconds, what the load got, and the
    logs it delivered per CPU second (`count_rows()` after it exited, if given,
    else the logs answered OK)."""
    log_path = pathlib.Path(tempfile.mkstemp(prefix="engine-", suffix=".log")[1])
    with open(log_path, "w") as log:
        engine = subprocess.Popen(["taskset", "-c", "0", *command],
                                  stdout=subprocess.DEVNULL, stderr=log)
    os.sched_setaffinity(0, {1})
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or engine.poll() is not None:
                sys.exit(f"{command[0]} did not start: {log_path.read_text()[-4000:]}")
            time.sleep(0.05)
    loadavg_before = pathlib.Path("/proc/loadavg").read_text().split()[:3]
    send = load_http if args.protocol == "http" else load
    totals, started = send(port, payloads, args.seconds, args.concurrency)
    window = time.monotonic() - started
    window_cpu = proc_cpu_s(engine.pid)
    engine.send_signal(signal.SIGINT)
    _, status, usage = os.wait4(engine.pid, 0)
    engine.returncode = os.waitstatus_to_exitcode(status)
    total = time.monotonic() - started  # until the engine exited (final flush)
    engine_cpu = usage.ru_utime + usage.ru_stime  # this process only, all threads
    if engine.returncode != 0:
        print(f"{name} exited {engine.returncode}: {log_path.read_text()[-4000:]}",
              file=sys.stderr)
    log_path.unlink()
    rows = count_rows() if count_rows else None
    delivered = rows if rows is not None else totals["ok_logs"]
    return {"engine": name, "window_s": round(window, 2),
            "answered_ok_logs": totals["ok_logs"], "errors": totals["errors"],
            "answered_logs_per_s": round(totals["ok_logs"] / window),
            "rows_in_dataset": rows,
            "end_to_end_logs_per_s": round(rows / total) if rows is not None else None,
            "all_rows_stored": None if rows is None else rows == totals["ok_logs"],
            "dataset_bytes": dir_bytes(out) if out is not None and out.exists() else None,
            "bytes_per_log": round(dir_bytes(out) / rows, 1) if rows else None,
            "engine_cpu_s": round(engine_cpu, 2), "window_cpu_s": round(window_cpu, 2),
            # Page faults (zeroed pages handed back and faulted in again) and peak RSS.
            "engine_minor_faults_per_1k_logs":
                round(usage.ru_minflt * 1000 / delivered, 1) if delivered else None,
            "engine_peak_rss_mb": round(usage.ru_maxrss / 1024),
            "engine_exit": engine.returncode,
            "logs_per_engine_cpu_s": round(delivered / engine_cpu) if engine_cpu else None,
            "loadavg_before": loadavg_before,
            "loadavg_after": pathlib.Path("/proc/loadavg").read_text().split()[:3]}


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


def count_logs(out):
    """Rows of the dataset's logs table (None without one)."""
    import pyarrow.dataset as ds
    if not (out / "logs").exists():
        return 0
    # Not the default ignore_prefixes: the partition directories are `_part_id=...`.
    return ds.dataset(out / "logs", format="parquet", partitioning="hive",
                      ignore_prefixes=["."]).count_rows()


def receiver_config(args, port):
    if args.protocol == "http":
        return {"http": {"listening_addr": f"127.0.0.1:{port}",
                         "max_request_body_size": "64MiB",
                         "wait_for_result": args.wait_for_result, "timeout": "30s"}}
    return {"grpc": {"listening_addr": f"127.0.0.1:{port}",
                     "max_decoding_message_size": "64MiB",
                     "wait_for_result": args.wait_for_result, "timeout": "30s"}}


def ours(args, tmp, name, compression):
    """(name, command, port, out, config) of otap-parquet: receiver:otlp → exporter."""
    port = free_port()
    out = tmp / name
    exporter = {"type": "exporter:noop"} if args.exporter == "noop" else {
        "type": "exporter:parquet",
        "config": {"storage": {"file": {"base_uri": str(out)}},
                   "partitioning_strategies": [{"schema_metadata": ["_part_id"]}],
                   "writer_options": {"target_rows_per_file": 1000000,
                                      "compression": compression,
                                      "flush_when_older_than": "30s"}}}
    if args.wal and args.exporter == "parquet":  # its default path: <base_uri>/_wal
        exporter["config"]["wal"] = {"enabled": True}
    config = {"version": "otel_dataflow/v1",
              "policies": {"channel_capacity": {"pdata": 16}},
              "groups": {"default": {"pipelines": {"main": {
                  "nodes": {"otlp": {"type": "receiver:otlp", "config": {
                      "protocols": receiver_config(args, port)}},
                            "out": exporter},
                  "connections": [{"from": "otlp", "to": "out"}]}}}}}
    path = tmp / f"{name}.yaml"
    path.write_text(json.dumps(config))
    return ([args.cli, "run", "-c", str(path), "--num-cores", "1",
             "--metrics-file", str(tmp / "metrics.prom")], port, out)


def df_engine(args, tmp, name):
    """Upstream's df_engine: receiver:otlp → exporter:parquet (its defaults: Arrow's
    WriterProperties, uncompressed), one core: its own pinning to CPU 0 (`--core-id-range`)."""
    port = free_port()
    out = tmp / name
    out.mkdir()  # its file store wants the directory to exist
    exporter = {"type": "exporter:noop"} if args.exporter == "noop" else {
        "type": "exporter:parquet",
        "config": {"storage": {"file": {"base_uri": str(out)}},
                   "partitioning_strategies": [{"schema_metadata": ["_part_id"]}],
                   "writer_options": {"target_rows_per_file": 1000000,
                                      "flush_when_older_than": "30s"}}}
    protocols = receiver_config(args, port)
    for p in protocols.values():  # its names differ from ours
        p.pop("max_decoding_message_size", None)
        p.pop("max_request_body_size", None)
        if args.protocol == "http":
            p["max_request_body_size"] = "64MiB"
    config = {"version": "otel_dataflow/v1", "engine": {},
              "groups": {"default": {"pipelines": {"main": {
                  "nodes": {"receiver": {"type": "receiver:otlp",
                                         "config": {"protocols": protocols}},
                            "exporter": exporter},
                  "connections": [{"from": "receiver", "to": "exporter"}]}}}}}
    path = tmp / f"{name}.yaml"
    path.write_text(json.dumps(config))
    return ([args.df_engine, "-c", str(path), "--core-id-range", "0-0",
             "--http-admin-bind", f"127.0.0.1:{free_port()}"], port, out)


def median(values):
    values = sorted(values)
    n = len(values)
    return (values[n // 2] + values[(n - 1) // 2]) / 2 if n else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cli", default=str(ROOT / "build" / "otap-parquet"))
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--logs-per-request", type=int, default=1000,
                    help="logs per scope (`generate --items`); a request holds 4 scopes")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--protocol", choices=["grpc", "http"], default="grpc")
    ap.add_argument("--exporter", choices=["parquet", "noop"], default="parquet")
    ap.add_argument("--wait-for-result", action="store_true")
    ap.add_argument("--wal", action="store_true",
                    help="exporter:parquet's write-ahead log on (ours only)")
    ap.add_argument("--compression", default="zstd",
                    help="exporter:parquet's codec, or a comma-separated list run in turn "
                         "(zstd, our default; none is upstream's)")
    ap.add_argument("--baseline", choices=["collector", "df_engine", "none"],
                    help="also run under the same load: the OpenTelemetry Collector "
                         "(build/peers/otelcol: OTLP receiver → nop exporter; gRPC only) "
                         "or upstream's df_engine (--df-engine). Default: collector for "
                         "gRPC, df_engine for HTTP")
    ap.add_argument("--collector", help="a built Collector with the otlp receiver and nop "
                    "exporter (default: build/peers/otelcol, built if needed)")
    ap.add_argument("--df-engine", default=os.environ.get("OTAP_DF_ENGINE"),
                    help="upstream's built df_engine binary (default $OTAP_DF_ENGINE)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="alternate otap-parquet and the baseline this many times")
    args = ap.parse_args()
    if args.baseline is None:
        args.baseline = "df_engine" if args.protocol == "http" else "collector"
    if args.baseline == "collector" and args.protocol == "http":
        sys.exit("the Collector baseline is gRPC only here; use --baseline df_engine")
    compressions = args.compression.split(",")

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="otlp-bench-"))
    payloads = generated_payloads(args.cli, tmp / "bench.logs.pb", requests=8,
                                  items=args.logs_per_request)

    collector = None
    if args.baseline == "collector":
        collector = pathlib.Path(args.collector) if args.collector else build_collector()
    if args.baseline == "df_engine" and not args.df_engine:
        print("df_engine skipped: no --df-engine PATH (or $OTAP_DF_ENGINE); "
              "measuring otap-parquet only", file=sys.stderr)
        args.baseline = "none"
    parquet = args.exporter == "parquet"

    results = []
    for round_index in range(args.rounds):
        for compression in compressions:
            command, port, out = ours(args, tmp, f"ours-{compression}-{round_index}",
                                      compression)
            label = f"otap-parquet ({args.exporter}" + (
                f", {compression})" if parquet else ")")
            results.append(measure(label, command, port, payloads, args,
                                   (lambda out=out: count_logs(out)) if parquet else None,
                                   out if parquet else None))
            if parquet:
                shutil.rmtree(out, ignore_errors=True)
        if args.baseline == "df_engine":
            command, port, out = df_engine(args, tmp, f"df-{round_index}")
            label = f"df_engine ({args.exporter}" + (", none)" if parquet else ")")
            results.append(measure(label, command, port, payloads, args,
                                   (lambda out=out: count_logs(out)) if parquet else None,
                                   out if parquet else None))
            shutil.rmtree(out, ignore_errors=True)
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
    shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"protocol": args.protocol, "wait_for_result": args.wait_for_result,
                      "wal": args.wal,
                      "concurrency": args.concurrency,
                      "logs_per_request": payloads[0][1], "runs": results}, indent=1))

    by_engine = {}
    for r in results:
        by_engine.setdefault(r["engine"], []).append(r)
    print(f"\nOTLP/{args.protocol.upper()} → {args.exporter}, {payloads[0][1]:,} logs per "
          f"request, {len(results) // max(1, len(by_engine))} round(s), medians:")
    print(f"{'engine':32} {'logs/engine CPU-s':>18} {'bytes/log':>10} {'all rows':>9}")
    medians = {}
    for name, runs in by_engine.items():
        medians[name] = median([r["logs_per_engine_cpu_s"] for r in runs])
        size = median([r["bytes_per_log"] for r in runs if r["bytes_per_log"]])
        stored = ("-" if runs[0]["all_rows_stored"] is None else
                  "yes" if all(r["all_rows_stored"] for r in runs) else "NO")
        print(f"{name:32} {medians[name]:>18,.0f} "
              f"{size if size is not None else '-':>10} {stored:>9}")
    base = [v for k, v in medians.items() if not k.startswith("otap-parquet")]
    for name, value in medians.items():
        if base and name.startswith("otap-parquet"):
            print(f"ratio {name} / {next(k for k in medians if not k.startswith('otap'))}: "
                  f"{value / base[0]:.2f}x")
    if args.baseline == "none":
        print("baseline skipped" + (" (df_engine: no --df-engine PATH)"
                                    if args.protocol == "http" else ""))
    loads = [r["loadavg_before"][0] for r in results]
    print(f"load average (1 min) before each run: {', '.join(loads)}")
    if args.protocol == "grpc":
        print("upstream df_engine, published: 273K-385K logs/s/core OTLP")


if __name__ == "__main__":
    main()
