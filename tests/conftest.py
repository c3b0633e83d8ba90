# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures for the interop tests: the built CLI and a scratch directory."""
import os
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Every `otap-parquet run` of the suite starts its admin server on a free port
# instead of the default 127.0.0.1:8080, so that concurrent runs (and a developer's
# own engine) never compete for it. Tests that need a known port pass
# --http-admin-bind.
os.environ.setdefault("OTAP_PARQUET_HTTP_ADMIN_BIND", "127.0.0.1:0")


@pytest.fixture(scope="session")
def cli() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("OTAP_PARQUET_CLI", ROOT / "build" / "otap-parquet"))
    if not path.exists():
        pytest.fail(f"{path} not built: run scripts/setup.sh")
    return path


@pytest.fixture
def run(cli):
    """Runs the CLI; returns the CompletedProcess (text mode)."""

    def _run(*args, check=True):
        proc = subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"otap-parquet {' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stderr}"
            )
        return proc

    return _run


@pytest.fixture
def s3_server():
    """A fresh moto S3 server process on 127.0.0.1 (stopped after the test)."""
    from s3_server import S3Server

    server = S3Server().start()
    try:
        yield server
    finally:
        server.stop()
