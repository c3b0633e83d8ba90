# SPDX-License-Identifier: Apache-2.0
"""Real object-store API servers on 127.0.0.1 for tests, as s3_server.py is for S3:
fake-gcs-server (Google Cloud Storage JSON API) and Azurite (Azure Blob Storage),
both built or installed from pinned versions by scripts/build_peers.sh into
build/peers/. Each server keeps its objects in memory and is stopped after its test."""
import contextlib
import datetime
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from s3_server import free_port

# Azurite's well-known development account (documented by Microsoft; no secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
               "KBHBeksoGMGw==")


class _Server:
    """A server process on a fixed loopback port, answering `ready_path` when up."""

    name = "server"
    ready_path = "/"

    def __init__(self, exe, port: int | None = None):
        self.exe = str(exe)
        self.port = port or free_port()
        self.proc = None
        self.log = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list:
        raise NotImplementedError

    def start(self):
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.endpoint + self.ready_path, timeout=1)
                return self
            except urllib.error.HTTPError:
                return self  # answering, if only with an error status
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited at start: {self.output()}")
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer within 60s: {self.output()}")

    def output(self) -> str:
        if not self.log:
            return ""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.log:
            self.log.close()
            self.log = None


class GcsServer(_Server):
    """fake-gcs-server, plain http, objects in memory."""

    name = "fake-gcs-server"
    ready_path = "/storage/v1/b"

    def command(self):
        return [self.exe, "-scheme", "http", "-host", "127.0.0.1", "-port", str(self.port),
                "-backend", "memory", "-public-host", f"127.0.0.1:{self.port}",
                "-external-url", self.endpoint, "-log-level", "warn"]

    def create_bucket(self, name: str) -> None:
        request = urllib.request.Request(
            self.endpoint + "/storage/v1/b", data=f'{{"name": "{name}"}}'.encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(request, timeout=10).read()

    def filesystem(self):
        import pyarrow.fs as pafs

        return pafs.GcsFileSystem(anonymous=True, endpoint_override=f"127.0.0.1:{self.port}",
                                  scheme="http",
                                  retry_time_limit=datetime.timedelta(seconds=5))

    def env(self) -> dict:
        """Environment for the CLI: the emulator variable of Google's client libraries."""
        env = dict(os.environ)
        env["STORAGE_EMULATOR_HOST"] = self.endpoint
        return env


class AzuriteServer(_Server):
    """Azurite's Blob service, plain http, objects in memory, no telemetry."""

    name = "azurite"
    ready_path = f"/{AZURITE_ACCOUNT}?comp=list"

    def command(self):
        return [self.exe, "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
                "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck",
                "--loose", "--silent"]

    def create_bucket(self, name: str) -> None:
        self.filesystem().create_dir(name)

    def filesystem(self, key: str = AZURITE_KEY):
        import pyarrow.fs as pafs

        authority = f"127.0.0.1:{self.port}"
        return pafs.AzureFileSystem(
            account_name=AZURITE_ACCOUNT, account_key=key,
            blob_storage_authority=authority, dfs_storage_authority=authority,
            blob_storage_scheme="http", dfs_storage_scheme="http")

    def env(self) -> dict:
        """Environment for the CLI: account, key and endpoint variables."""
        env = dict(os.environ)
        env.update(AZURE_STORAGE_ACCOUNT_NAME=AZURITE_ACCOUNT,
                   AZURE_STORAGE_ACCOUNT_KEY=AZURITE_KEY,
                   AZURE_STORAGE_ENDPOINT=self.endpoint)
        return env
