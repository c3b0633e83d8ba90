# SPDX-License-Identifier: Apache-2.0
"""A real S3 API server process (moto in server mode) on 127.0.0.1 for tests.

With `request_log` set, every request the server answers is appended to that file
(one JSON line: method, path, query, Range header, copy source), and `requests()`
counts them by kind: what a lake operation costs on a store that bills per request.
Run as a script, this module is that server (moto's WSGI application wrapped in a
logging one)."""
import collections
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

ACCESS_KEY = "otap-test-key"
SECRET_KEY = "otap-test-secret"
REGION = "us-east-1"


_GIVEN_PORTS: set[int] = set()


def free_port() -> int:
    """A free loopback port, never one this test process was given before: the
    kernel may hand the same port out again right after it was closed, and two
    listeners of one test (say OTLP/gRPC and OTLP/HTTP) must not get the same."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _GIVEN_PORTS:
            _GIVEN_PORTS.add(port)
            return port


class S3Server:
    """Starts, stops and restarts `moto_server` on a fixed loopback port."""

    def __init__(self, port: int | None = None, request_log=None):
        self.port = port or free_port()
        self.proc = None
        self.request_log = request_log

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "S3Server":
        if self.request_log is None:
            cmd = [os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H",
                   "127.0.0.1", "-p", str(self.port)]
        else:
            cmd = [sys.executable, os.path.abspath(__file__), str(self.port),
                   str(self.request_log)]
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1)
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("moto_server exited at start")
                time.sleep(0.1)
        raise RuntimeError("moto_server did not answer within 30s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def requests(self) -> collections.Counter:
        """Requests logged so far (`request_log`), by kind (request_kind) and in all
        ("total"); the server's own readiness probes are left out."""
        counts = collections.Counter()
        with open(self.request_log) as f:
            for line in f:
                kind = request_kind(json.loads(line))
                if kind is not None:
                    counts[kind] += 1
                    counts["total"] += 1
        return counts

    def reset_requests(self) -> None:
        """Forgets the requests logged so far."""
        open(self.request_log, "w").close()

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def env(self) -> dict:
        """Environment for the CLI: standard AWS variables pointing at this server."""
        env = dict(os.environ)
        env.update(
            AWS_ACCESS_KEY_ID=ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY=SECRET_KEY,
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_EC2_METADATA_DISABLED="true",
        )
        return env


def request_kind(request: dict) -> str | None:
    """What one logged S3 request is: HEAD, GET, GET range, LIST, PUT, COPY, DELETE,
    DELETE batch, multipart create / part / complete / abort, bucket (HEAD or
    creation of a bucket); None for moto's own API."""
    method, path, query = request["method"], request["path"], request["query"]
    if path.startswith("/moto-api"):
        return None
    params = {p.split("=", 1)[0] for p in query.split("&") if p}
    bucket_only = path.strip("/").count("/") == 0
    if method == "POST" and "uploads" in params:
        return "multipart create"
    if method == "PUT" and "partNumber" in params:
        return "multipart part"
    if method == "POST" and "uploadId" in params:
        return "multipart complete"
    if method == "DELETE" and "uploadId" in params:
        return "multipart abort"
    if method == "POST" and "delete" in params:
        return "DELETE batch"
    if bucket_only and method == "GET":
        return "LIST"
    if bucket_only:
        return "bucket"
    if method == "GET":
        return "GET range" if request.get("range") else "GET"
    if method == "PUT":
        return "COPY" if request.get("copy_source") else "PUT"
    return method


def _serve(port: int, log_path: str) -> None:
    """moto's server application, each request logged to `log_path` first."""
    import threading

    from moto.moto_server.werkzeug_app import (DomainDispatcherApplication,
                                               create_backend_app)
    from werkzeug.serving import run_simple

    moto_app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def app(environ, start_response):
        line = json.dumps({
            "method": environ["REQUEST_METHOD"],
            "path": environ.get("PATH_INFO", ""),
            "query": environ.get("QUERY_STRING", ""),
            "range": environ.get("HTTP_RANGE", ""),
            "copy_source": environ.get("HTTP_X_AMZ_COPY_SOURCE", ""),
        })
        with lock, open(log_path, "a") as f:
            f.write(line + "\n")
        return moto_app(environ, start_response)

    os.environ.setdefault("MOTO_PORT", str(port))
    run_simple("127.0.0.1", port, app, threaded=True)


if __name__ == "__main__":
    _serve(int(sys.argv[1]), sys.argv[2])
