#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""OTLP/HTTP under slow clients: latency of a valid client while other connections
are idle or drip their headers.

Starts `otap-parquet run` with receiver:otlp (HTTP only) → exporter:noop, opens
`--idle` connections that send nothing and `--drip` connections that send one
header byte every `--drip-interval` seconds (re-opened when the server closes
them), then a valid client POSTs `--requests` small OTLP/protobuf log requests one
after another, each on a new connection (`--keep-alive`: one connection), with a
`--timeout` per request. Reported: latency percentiles of the valid requests and
how many failed or timed out.

    .venv/bin/python bench/otlp_http_slow_clients.py --idle 64 --drip 16 --requests 200
    OTAP_PARQUET_CLI=/path/to/other/otap-parquet .venv/bin/python bench/...  # compare
"""
import argparse
import http.client
import json
import os
import pathlib
import signal
import socket
import subprocess
import tempfile
import threading
import time

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs

ROOT = pathlib.Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def payload(n=10):
    records = [LogRecord(time_unix_nano=1_700_000_000_000_000_000 + i, severity_number=9,
                         body=AnyValue(string_value=f"bench {i}")) for i in range(n)]
    return ExportLogsServiceRequest(resource_logs=[ResourceLogs(
        scope_logs=[ScopeLogs(log_records=records)])]).SerializeToString()


def wait_listening(port, deadline=30):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"engine not listening on {port}")


def dripper(port, interval, stop):
    request = b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                for i in range(10_000):
                    if stop.wait(interval):
                        return
                    s.sendall(request[i % len(request):][:1])
        except OSError:
            stop.wait(0.2)


class SlowClients:
    """`idle` connections that send nothing and `drip` connections that send one
    header byte every `interval` seconds (re-opened when the server closes them), to
    127.0.0.1:port until close(). Also used by tests/test_real_clients.py."""

    def __init__(self, port, idle, drip, interval=2.0):
        self.idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(idle)]
        self.stop = threading.Event()
        self.drips = [threading.Thread(target=dripper, args=(port, interval, self.stop),
                                       daemon=True) for _ in range(drip)]
        for t in self.drips:
            t.start()

    def close(self):
        self.stop.set()
        for s in self.idle:
            s.close()
        for t in self.drips:
            t.join()


def valid_requests(port, body, requests, timeout, keep_alive=False):
    """POSTs `body` to /v1/logs `requests` times, one after another (each on a new
    connection unless keep_alive); returns (latencies in s, {failure: count})."""
    latencies, failures = [], {}
    conn = None
    for _ in range(requests):
        start = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            conn.request("POST", "/v1/logs", body, {"Content-Type": "application/x-protobuf"})
            res = conn.getresponse()
            res.read()
            if res.status != 200:
                failures[res.status] = failures.get(res.status, 0) + 1
        except (OSError, http.client.HTTPException) as e:
            failures[type(e).__name__] = failures.get(type(e).__name__, 0) + 1
            conn = None
        latencies.append(time.monotonic() - start)
        if not keep_alive and conn is not None:
            conn.close()
            conn = None
    if conn is not None:
        conn.close()
    return latencies, failures


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=64)
    parser.add_argument("--drip", type=int, default=16)
    parser.add_argument("--drip-interval", type=float, default=2.0)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--keep-alive", action="store_true")
    parser.add_argument("--warmup", type=float, default=3.0,
                        help="seconds the slow connections are open before measuring")
    args = parser.parse_args()
    cli = pathlib.Path(os.environ.get("OTAP_PARQUET_CLI", ROOT / "build" / "otap-parquet"))
    port = free_port()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="otlp-http-slow-"))
    config = {"version": "otel_dataflow/v1", "groups": {"default": {"pipelines": {"main": {
        "nodes": {"otlp": {"type": "receiver:otlp", "config": {"protocols": {"http": {
            "listening_addr": f"127.0.0.1:{port}"}}}},
                  "out": {"type": "exporter:noop"}},
        "connections": [{"from": "otlp", "to": "out"}]}}}}}
    (tmp / "c.yaml").write_text(json.dumps(config))
    with open(tmp / "stderr", "w") as err:
        proc = subprocess.Popen([str(cli), "run", "-c", str(tmp / "c.yaml"),
                                 "--num-cores", "1"], stdout=err, stderr=err)
    try:
        wait_listening(port)
        slow = SlowClients(port, args.idle, args.drip, args.drip_interval)
        time.sleep(args.warmup)
        latencies, failures = valid_requests(port, payload(), args.requests, args.timeout,
                                             args.keep_alive)
        slow.close()
        latencies.sort()

        def pct(p):
            return percentile(latencies, p) * 1000

        print(json.dumps({"binary": str(cli), "idle": args.idle, "drip": args.drip,
                          "requests": args.requests, "keep_alive": args.keep_alive,
                          "p50_ms": round(pct(50), 1), "p90_ms": round(pct(90), 1),
                          "p99_ms": round(pct(99), 1), "max_ms": round(latencies[-1] * 1000, 1),
                          "failures": failures}))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
