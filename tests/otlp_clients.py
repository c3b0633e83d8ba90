# SPDX-License-Identifier: Apache-2.0
"""Real OTLP clients for tests/test_real_clients.py: telemetrygen and an
OpenTelemetry Collector, both built from pinned sources by scripts/build_peers.sh
into build/peers/ (the `peers` fixture of conftest.py), and what the tests read
back: the clients' own logs and metrics, and the dataset counted with DuckDB."""
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import urllib.request

import duckdb

from engines import wait_until
from s3_server import free_port

ROOT = pathlib.Path(__file__).resolve().parent.parent
# `real clients: ...` lines printed at the end of the pytest run (conftest.py).
SUMMARIES = []


def summary(name, **values):
    line = f"real clients: {name} " + " ".join(f"{k}={v}" for k, v in values.items())
    SUMMARIES.append(line)
    print(line)
    return line


def build_peers(*names):
    """Runs scripts/build_peers.sh for `names` (all peers when none; instant once
    built); returns {name: path}."""
    script = ROOT / "scripts" / "build_peers.sh"
    try:
        proc = subprocess.run([str(script), *names], cwd=ROOT, capture_output=True,
                              text=True, timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RuntimeError(f"{script} could not run: {e}")
    if proc.returncode != 0:
        raise RuntimeError(
            f"{script} exited {proc.returncode}: the real-client, object-store and "
            f"arrow-rs tests need Go and the Go module proxy (telemetrygen, an "
            f"OpenTelemetry Collector, fake-gcs-server), npm (Azurite) and cargo with "
            f"crates.io (arrow_rs_reader) to build their peers"
            f"\n{proc.stderr[-3000:]}")
    paths = [ROOT / line for line in proc.stdout.split()]
    return {path.name: path for path in paths}


def wait_listening(port, what, timeout=60):
    def listening():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    wait_until(listening, f"{what} listening on {port}", timeout, interval=0.05)


class Process:
    """A background peer whose stdout and stderr go to one file under tmp_path.
    Every one started is in Process.started (the tests kill what is left)."""

    started = []

    def __init__(self, args, log_path, env=None):
        self.args, self.log_path = [str(a) for a in args], log_path
        Process.started.append(self)
        with open(log_path, "w") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT,
                                         env=None if env is None else {**os.environ, **env})

    def log(self):
        return self.log_path.read_text(errors="replace")

    def tail(self, lines=40):
        return f"--- {self.log_path.name} ---\n" + "\n".join(self.log().splitlines()[-lines:])

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.args[:2]} still running after {timeout}s\n{self.tail()}")

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    @classmethod
    def kill_all(cls):
        while cls.started:
            cls.started.pop().kill()


# zap console lines: "<time>\t<LEVEL>\t<caller>\t<message>\t<json fields>".
ZAP_LINE = re.compile(r"^\S+\t([A-Za-z]+)\t\S+\t([^\t]*)(?:\t(.*))?$")
# The Go SDK's global error handler (standard `log` format): how the trace
# batch span processor reports a failed export; telemetrygen still exits 0.
GO_LOG_ERROR = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d .*(export|error|fail)", re.I)


class Telemetrygen(Process):
    """One telemetrygen run of `count` logs or traces per worker, unthrottled
    (--rate 0: each worker sends as fast as its acknowledgements come back).

    Logs: each worker exports its batches synchronously and exits non-zero if an
    export fails (after the exporter's own retries, within `timeout`). Traces go
    through the SDK's batch span processor, which drops spans silently when its
    queue is full: the queue is sized to hold every span of the run
    (OTEL_BSP_MAX_QUEUE_SIZE), so no span is dropped whatever the timing."""

    def __init__(self, binary, signal_, endpoint, log_path, *, count, workers=1,
                 batch_size=500, http=False, body=None, timeout="60s"):
        self.signal, self.workers, self.count = signal_, workers, count
        args = [binary, signal_, "--otlp-endpoint", endpoint, "--otlp-insecure",
                "--workers", workers, f"--{signal_}", count, "--rate", 0,
                "--batch-size", batch_size, "--timeout", timeout]
        if http:
            args.append("--otlp-http")
        if body is not None:
            args += ["--body", body]
        env = None
        if signal_ == "traces":
            env = {"OTEL_BSP_MAX_QUEUE_SIZE": str(workers * count * 2 + batch_size)}
        super().__init__(args, log_path, env)

    def _events(self):
        for line in self.log().splitlines():
            m = ZAP_LINE.match(line)
            if m:
                fields = {}
                if m.group(3):
                    try:
                        fields = json.loads(m.group(3))
                    except ValueError:
                        pass
                yield m.group(1).upper(), m.group(2), fields

    def generated(self):
        """Items the workers generated ("logs generated" / "traces generated")."""
        key = "logs" if self.signal == "logs" else "traces"
        return sum(fields.get(key, 0) for _, message, fields in self._events()
                   if message == f"{key} generated")

    def expected_items(self):
        """Log records, or spans (a trace is a parent and one child span)."""
        return self.generated() * (1 if self.signal == "logs" else 2)

    def acked(self):
        """Log records whose export was acknowledged (the worker's debug line after
        each successful batch export)."""
        return sum(fields.get("count", 0) for _, message, fields in self._events()
                   if message == "exported batched logs")

    def failures(self):
        """Lines that report a failed or dropped export."""
        bad = [line for line in self.log().splitlines() if GO_LOG_ERROR.match(line)]
        bad += [f"{level} {message} {fields}" for level, message, fields in self._events()
                if level in ("ERROR", "DPANIC", "PANIC", "FATAL")]
        return bad

    def check(self, timeout=120):
        """Waits for the exit; asserts exit 0, no failure line, every worker done."""
        code = self.wait(timeout)
        failures = self.failures()
        assert code == 0 and not failures, (
            f"telemetrygen {self.signal} exited {code}, failures: {failures[:5]}\n{self.tail()}")
        assert self.generated() == self.workers * self.count, self.tail()
        return self.expected_items()


class Collector(Process):
    """The built Collector: OTLP/gRPC receiver → batch processor → one exporter
    (`otlp_grpc` or `otlp_http`, default sending_queue and retry_on_failure, 10
    consumers) to the engine, for logs and traces; its own metrics on a
    Prometheus endpoint. `timeout` is the exporter's per-request timeout."""

    def __init__(self, binary, tmp_path, exporter, grpc_port, http_port, name="collector",
                 timeout="30s"):
        self.port, self.metrics_port = free_port(), free_port()
        if exporter == "otlp_grpc":
            target = {"endpoint": f"127.0.0.1:{grpc_port}", "tls": {"insecure": True}}
        else:
            target = {"endpoint": f"http://127.0.0.1:{http_port}"}
        target.update({"timeout": timeout, "sending_queue": {"num_consumers": 10}})
        pipeline = {"receivers": ["otlp"], "processors": ["batch"], "exporters": [exporter]}
        config = {
            "receivers": {"otlp": {"protocols": {"grpc": {
                "endpoint": f"127.0.0.1:{self.port}"}}}},
            "processors": {"batch": {}},
            "exporters": {exporter: target},
            "service": {
                "telemetry": {"logs": {"level": "info"}, "metrics": {
                    "level": "detailed", "readers": [{"pull": {"exporter": {"prometheus": {
                        "host": "127.0.0.1", "port": self.metrics_port}}}}]}},
                "pipelines": {"logs": pipeline, "traces": pipeline}}}
        path = tmp_path / f"{name}.yaml"
        path.write_text(json.dumps(config, indent=1))  # JSON is YAML
        super().__init__([binary, "--config", path], tmp_path / f"{name}.log")
        self.exporter = exporter
        wait_listening(self.port, "the Collector's OTLP receiver")
        wait_listening(self.metrics_port, "the Collector's metrics")

    def metric(self, name):
        """Sum of a Collector metric over its label sets (0 if absent)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                    timeout=10) as res:
            text = res.read().decode()
        total = 0.0
        for line in text.splitlines():
            m = re.match(rf"otelcol_{name}(?:_total)?(?:\{{[^}}]*\}})? (\S+)$", line)
            if m:
                total += float(m.group(1))
        return total

    def wait_sent(self, logs, spans, timeout=180):
        """Waits until the exporter has sent (acknowledged by the engine) `logs`
        records and `spans` spans and its queue is empty."""
        def sent():
            return (self.metric("exporter_sent_log_records") >= logs
                    and self.metric("exporter_sent_spans") >= spans
                    and self.metric("exporter_queue_size") == 0)
        try:
            wait_until(sent, f"the Collector to send {logs} logs and {spans} spans", timeout,
                       interval=0.2)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.tail()}")

    def failed(self):
        """Items the exporter dropped or could not enqueue."""
        return sum(self.metric(f"exporter_{kind}_failed_{items}")
                   for kind in ("send", "enqueue") for items in ("log_records", "spans"))

    def retries(self):
        return sum(1 for line in self.log().splitlines() if "Exporting failed" in line)

    def failures(self):
        """Lines that report dropped data or an error."""
        return [line for line in self.log().splitlines()
                if "\terror\t" in line or "Dropping data" in line or "dropped" in line]


def _count(query):
    try:
        return duckdb.connect().execute(query).fetchall()
    except duckdb.IOException:  # no file yet
        return []


def log_counts(dataset):
    """{body: (rows, distinct time_unix_nano)} of the dataset's logs table. Each
    telemetrygen logs run has one worker and its own body: its records' times
    (wall clock, ns) strictly increase, so (body, time) names one record."""
    rows = _count(f"""SELECT body.str, count(*), count(DISTINCT time_unix_nano)
                      FROM read_parquet('{dataset}/logs/**/*.parquet', hive_partitioning=true)
                      GROUP BY 1""")
    return {body: (n, distinct) for body, n, distinct in rows}


def span_counts(dataset):
    """(rows, distinct (trace_id, span_id)) of the dataset's spans table."""
    rows = _count(f"""SELECT count(*), count(DISTINCT (trace_id, span_id))
                      FROM read_parquet('{dataset}/spans/**/*.parquet', hive_partitioning=true)""")
    return rows[0] if rows else (0, 0)


def cpu_seconds(pid):
    """User + system CPU seconds of a running process (/proc)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
