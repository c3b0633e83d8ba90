# SPDX-License-Identifier: Apache-2.0
"""A real S3 API server process (moto in server mode) on 127.0.0.1 for tests."""
import contextlib
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

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.proc = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "S3Server":
        exe = os.path.join(os.path.dirname(sys.executable), "moto_server")
        self.proc = subprocess.Popen(
            [exe, "-H", "127.0.0.1", "-p", str(self.port)],
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
